"""Settings: resolved from flags > environment > files on a Hypernode > defaults, then frozen.

The CLI hands over what the user wrote (typer has already merged flags with their
environment variables); everything is validated here, and every problem is a ConfigError
(exit 2) whose message names the option. The token is read here and nowhere else.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hn_wait.errors import ConfigError
from hn_wait.flows import Selector, parse_selector
from hn_wait.secret import Secret
from hn_wait.timefmt import parse_duration, parse_since

DEFAULT_API_URL = "https://api.hypernode.com"
DEFAULT_ETC_DIR = Path("/etc/hypernode")
TOKEN_FILE_NAME = "hypernode_api_token"  # noqa: S105 - a file name
MAX_REQUEST_TIMEOUT = 15.0
MIN_INTERVAL_FLOOR = 0.1

TOKEN_ENV = "HYPERNODE_API_TOKEN"  # noqa: S105 - a variable name

_APP_RE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62})")
_HOSTNAME_RE = re.compile(r"[a-z0-9]+-(?P<app>[a-z0-9][a-z0-9_-]*?)-magweb-[a-z0-9]+")
_TOKEN_RE = re.compile(r"[\x21-\x7e]{4,4096}")


@dataclass(frozen=True)
class RawOptions:
    """What the user wrote, flags already merged with their environment variables."""

    app: str | None = None
    token_file: str | None = None
    api_url: str | None = None
    since: str = "2m"
    timeout: str = "1h"
    appear_timeout: str = "5m"
    min_interval: str = "2s"
    max_interval: str = "30s"
    request_timeout: str = "15s"
    flows: Sequence[str] = ()


@dataclass(frozen=True)
class Settings:
    """Everything a wait needs, validated. ``repr`` never shows the token."""

    app: str
    api_url: str
    token: Secret = field(repr=False)
    token_source: str
    selectors: tuple[Selector, ...] = ()
    since: float | None = None
    since_text: str = "all"
    since_relative: bool = False
    """``since`` counts back from now (``2m``, ``now``): it moves with the server's clock."""
    timeout: float | None = 3600.0
    appear_timeout: float | None = 300.0
    min_interval: float = 2.0
    max_interval: float = 30.0
    request_timeout: float = MAX_REQUEST_TIMEOUT
    warnings: tuple[str, ...] = ()


def _duration(value: str, option: str, env: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{option} (or ${env}): {exc}") from None


def _optional_limit(value: str, option: str, env: str) -> float | None:
    seconds = _duration(value, option, env)
    return None if seconds == 0 else seconds


def check_app_name(app: str, source: str) -> str:
    """Validate an app name (lowercase letters, digits, ``_`` and ``-``, as Brancher adds)."""
    if not _APP_RE.fullmatch(app):
        shown = "".join(ch if ch.isprintable() else "?" for ch in app[:70])
        if _APP_RE.fullmatch(app.lower()):
            why = f"app names are lowercase (try {app.lower()!r})"
        else:
            why = "use lowercase letters, digits, '_' and '-'"
        raise ConfigError(f"{source}: {shown!r} is not a Hypernode app name; {why}")
    return app


def resolve_app(flag: str | None, etc_dir: Path, hostname: str) -> tuple[str, str]:
    """The app name and where it came from: the flag/env, app.json, or the hostname."""
    if flag is not None and flag.strip():
        return check_app_name(flag.strip(), "--app (or $HYPERNODE_APP_NAME)"), "--app"
    app_json = etc_dir / "app.json"
    try:
        data = json.loads(app_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict):
        for key in ("tag", "name", "app_name"):
            value = data.get(key)
            if isinstance(value, str) and _APP_RE.fullmatch(value):
                return value, str(app_json)
    match = _HOSTNAME_RE.fullmatch(hostname.strip().lower())
    if match:
        return match.group("app"), f"hostname {hostname}"
    raise ConfigError(
        "no app name: pass --app NAME or set HYPERNODE_APP_NAME "
        f"(this is not a Hypernode: no readable {app_json}, and the hostname "
        f"{hostname!r} is not <id>-<app>-magweb-<provider>)"
    )


def check_api_url(value: str) -> str:
    """Validate the API base URL: http(s), a host, no credentials; plain http only to loopback."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"--api-url (or $HYPERNODE_API_URL): {text!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"--api-url (or $HYPERNODE_API_URL): {text!r} is not an http(s) URL "
            "(e.g. https://api.hypernode.com)"
        )
    if parts.username or parts.password:
        raise ConfigError(
            "--api-url (or $HYPERNODE_API_URL): credentials in the URL are refused; "
            "the token goes in HYPERNODE_API_TOKEN or --token-file"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"--api-url (or $HYPERNODE_API_URL): {text!r} must be a base URL without ?query or #"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"--api-url (or $HYPERNODE_API_URL): refusing to send the API token over plain "
            f"http:// to {host}; use https:// (plain http is allowed only to loopback)"
        )
    return text.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and literal loopback addresses (127.0.0.0/8, ::1); no DNS."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_token(raw: str, source: str) -> Secret:
    token = raw.strip()
    if not token:
        raise ConfigError(f"the API token from {source} is empty")
    if not _TOKEN_RE.fullmatch(token):
        # Never echo the value: say only what is wrong with it.
        raise ConfigError(
            f"the API token from {source} contains spaces, control or non-ASCII characters "
            "(or is shorter than 4 characters); it cannot be sent in a header"
        )
    return Secret(token)


def read_token(
    token_file: str | None, env: Mapping[str, str], etc_dir: Path
) -> tuple[Secret, str, tuple[str, ...]]:
    """The token, a description of where it came from, and warnings (loose permissions).

    Order: --token-file / $HYPERNODE_API_TOKEN_FILE, then $HYPERNODE_API_TOKEN, then the
    file on a Hypernode. A set-but-empty $HYPERNODE_API_TOKEN is an error, not a fall-through:
    in CI it means a secret that is not defined.
    """
    if token_file is not None and token_file.strip():
        return _read_token_file(Path(token_file.strip()).expanduser(), explicit=True)
    if TOKEN_ENV in env:
        if not env[TOKEN_ENV].strip():
            raise ConfigError(
                f"${TOKEN_ENV} is set but empty (in CI: is the secret defined and "
                "passed to this job?)"
            )
        return _check_token(env[TOKEN_ENV], f"${TOKEN_ENV}"), f"${TOKEN_ENV}", ()
    default = etc_dir / TOKEN_FILE_NAME
    if default.exists():
        return _read_token_file(default, explicit=False)
    raise ConfigError(
        f"no API token: set ${TOKEN_ENV}, or point --token-file (or "
        f"$HYPERNODE_API_TOKEN_FILE) at a file holding it ({default} does not exist)"
    )


def _read_token_file(path: Path, *, explicit: bool) -> tuple[Secret, str, tuple[str, ...]]:
    source = f"token file {path}"
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{source} is a directory, not a file")
        raw = path.read_bytes()[:8192]
    except ConfigError:
        raise
    except FileNotFoundError:
        raise ConfigError(f"{source} does not exist") from None
    except PermissionError:
        raise ConfigError(f"{source} is not readable by this user") from None
    except OSError as exc:
        raise ConfigError(f"{source} cannot be read ({exc.strerror or 'I/O error'})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{source} is not text") from None
    warnings: tuple[str, ...] = ()
    if os.name == "posix" and info.st_mode & 0o077 and explicit:
        warnings = (
            f"{source} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"chmod 600 {path}",
        )
    return _check_token(text, source), source, warnings


def resolve(
    raw: RawOptions,
    env: Mapping[str, str],
    *,
    now: float,
    etc_dir: Path = DEFAULT_ETC_DIR,
    hostname: str = "",
) -> Settings:
    """Validate everything the user gave and build the Settings. Raises ConfigError (exit 2)."""
    selectors = []
    for text in raw.flows:
        try:
            selectors.append(parse_selector(text))
        except ValueError as exc:
            raise ConfigError(f"FLOW: {exc}") from None
    timeout = _optional_limit(raw.timeout, "--timeout", "HN_WAIT_TIMEOUT")
    appear = _optional_limit(raw.appear_timeout, "--appear-timeout", "HN_WAIT_APPEAR_TIMEOUT")
    min_interval = _duration(raw.min_interval, "--min-interval", "HN_WAIT_MIN_INTERVAL")
    max_interval = _duration(raw.max_interval, "--max-interval", "HN_WAIT_MAX_INTERVAL")
    for seconds, option in ((min_interval, "--min-interval"), (max_interval, "--max-interval")):
        if seconds < MIN_INTERVAL_FLOOR:
            raise ConfigError(f"{option}: must be at least {MIN_INTERVAL_FLOOR * 1000:.0f}ms")
    min_interval = min(min_interval, max_interval)
    request_timeout = _duration(raw.request_timeout, "--request-timeout", "HN_WAIT_REQUEST_TIMEOUT")
    if not 0 < request_timeout <= MAX_REQUEST_TIMEOUT:
        raise ConfigError("--request-timeout: must be more than 0 and at most 15s")
    try:
        since = parse_since(raw.since, now)
        since_relative = since is not None and parse_since(raw.since, now + 1.0) != since
    except ValueError as exc:
        raise ConfigError(f"--since (or $HN_WAIT_SINCE): {exc}") from None
    api_url = check_api_url(raw.api_url or DEFAULT_API_URL)
    app, _app_source = resolve_app(raw.app, etc_dir, hostname)
    token, token_source, warnings = read_token(raw.token_file, env, etc_dir)
    return Settings(
        app=app,
        api_url=api_url,
        token=token,
        token_source=token_source,
        selectors=tuple(selectors),
        since=since,
        since_text=raw.since.strip(),
        since_relative=since_relative,
        timeout=timeout,
        appear_timeout=appear,
        min_interval=min_interval,
        max_interval=max_interval,
        request_timeout=request_timeout,
        warnings=warnings,
    )
