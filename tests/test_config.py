from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from hn_wait.config import RawOptions, check_api_url, is_loopback, read_token, resolve
from hn_wait.errors import ConfigError
from hn_wait.exit_codes import ExitCode

NOW = 1_800_000_000.0
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def _resolve(
    tmp_path: Path, env: dict[str, str] | None = None, hostname: str = "laptop", **raw: Any
):
    options = RawOptions(**{"app": "shop", **raw})
    return resolve(
        options,
        {"HYPERNODE_API_TOKEN": TOKEN} if env is None else env,
        now=NOW,
        etc_dir=tmp_path,
        hostname=hostname,
    )


def test_defaults(tmp_path: Path) -> None:
    s = _resolve(tmp_path)
    assert s.app == "shop"
    assert s.api_url == "https://api.hypernode.com"
    assert s.token.reveal() == TOKEN
    assert s.token_source == "$HYPERNODE_API_TOKEN"
    assert s.since == NOW - 120
    assert (s.timeout, s.appear_timeout, s.min_interval, s.max_interval) == (3600, 300, 2, 30)
    assert s.selectors == ()


def test_settings_repr_never_shows_the_token(tmp_path: Path) -> None:
    s = _resolve(tmp_path)
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert TOKEN not in repr(s.token) and TOKEN not in f"{s.token}"


def test_token_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "tok"
    path.write_text("  filetoken123\n")
    path.chmod(0o600)
    s = _resolve(tmp_path, token_file=str(path))
    assert s.token.reveal() == "filetoken123"
    assert s.token_source == f"token file {path}"
    assert s.warnings == ()


def test_token_file_readable_by_others_warns(tmp_path: Path) -> None:
    path = tmp_path / "tok"
    path.write_text("filetoken123")
    path.chmod(0o644)
    s = _resolve(tmp_path, token_file=str(path))
    assert len(s.warnings) == 1 and "chmod 600" in s.warnings[0]
    assert "filetoken123" not in s.warnings[0]


def test_default_token_file_on_a_hypernode(tmp_path: Path) -> None:
    (tmp_path / "hypernode_api_token").write_text("nodetoken123\n")
    s = _resolve(tmp_path, env={})
    assert s.token.reveal() == "nodetoken123"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "is empty"),
        ("blank", "is empty"),
        ("directory", "is a directory"),
        ("binary", "is not text"),
        ("spaces", "contains spaces"),
    ],
)
def test_bad_token_files(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "tok"
    if setup == "empty":
        path.write_text("")
    elif setup == "blank":
        path.write_text(" \n\t\n")
    elif setup == "directory":
        path.mkdir()
    elif setup == "binary":
        path.write_bytes(b"\xff\xfe\x00")
    elif setup == "spaces":
        path.write_text("secret token with spaces")
    with pytest.raises(ConfigError, match=message) as info:
        _resolve(tmp_path, token_file=str(path))
    assert info.value.exit_code == ExitCode.USAGE
    assert "secret token" not in info.value.message


def _read_token_message(path: Path) -> str:
    try:
        read_token(str(path), {}, Path("/nonexistent"))
    except ConfigError as exc:
        return exc.message
    return "no error"


def test_unreadable_token_file() -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        path = folder / "tok"
        path.write_text("x" * 10)
        path.chmod(0)
        if os.geteuid() != 0:
            message = _read_token_message(path)
        else:
            # Root reads any file: read it from a child that gave up root for 'nobody'.
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    os.write(write_end, _read_token_message(path).encode())
                finally:
                    os._exit(0)
            os.close(write_end)
            message = os.read(read_end, 4096).decode()
            os.close(read_end)
            os.waitpid(pid, 0)
        assert "is not readable by this user" in message
    finally:
        shutil.rmtree(folder)


def test_no_token_anywhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no API token") as info:
        _resolve(tmp_path, env={})
    assert "HYPERNODE_API_TOKEN" in info.value.message


def test_empty_token_variable_is_an_error_not_a_fallthrough(tmp_path: Path) -> None:
    (tmp_path / "hypernode_api_token").write_text("nodetoken123\n")
    with pytest.raises(ConfigError, match="set but empty"):
        _resolve(tmp_path, env={"HYPERNODE_API_TOKEN": "  "})


def test_token_with_a_newline_inside_is_refused_without_echo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _resolve(tmp_path, env={"HYPERNODE_API_TOKEN": "abcd\nefgh"})
    assert "abcd" not in info.value.message


def test_app_from_app_json(tmp_path: Path) -> None:
    (tmp_path / "app.json").write_text(json.dumps({"tag": "vdloo", "other": 1}))
    assert _resolve(tmp_path, app=None).app == "vdloo"


def test_app_from_hostname(tmp_path: Path) -> None:
    assert _resolve(tmp_path, app=None, hostname="pup1l6-vdloo-magweb-cmbl").app == "vdloo"
    assert (
        _resolve(tmp_path, app=None, hostname="abc1-shop-eph12ab-magweb-do").app == "shop-eph12ab"
    )


def test_no_app_name(tmp_path: Path) -> None:
    (tmp_path / "app.json").write_text("not json")
    with pytest.raises(ConfigError, match="no app name") as info:
        _resolve(tmp_path, app=None, hostname="laptop")
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    "app", ["Shop", "shop app", "shop/../x", "-shop", "a" * 80, "shöp", "shop\x1b"]
)
def test_invalid_app_names(tmp_path: Path, app: str) -> None:
    with pytest.raises(ConfigError, match="not a Hypernode app name"):
        _resolve(tmp_path, app=app)


@pytest.mark.parametrize("app", ["vdloo", "shop-eph12ab", "my_app", "a1"])
def test_valid_app_names(tmp_path: Path, app: str) -> None:
    assert _resolve(tmp_path, app=app).app == app


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("api.hypernode.com", "not an http"),
        ("ftp://api.hypernode.com", "not an http"),
        ("https://", "not an http"),
        ("http://api.hypernode.com", "plain http"),
        ("http://10.0.0.8:8000", "plain http"),
        ("https://user:pw@api.hypernode.com", "credentials"),
        ("https://api.hypernode.com/?x=1", "without"),
        ("https://api.hypernode.com:99999", "not a URL"),
        ("https://[::1", "not a URL"),
    ],
)
def test_bad_api_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_api_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.hypernode.com",
        "https://api.hypernode.com/api/",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
    ],
)
def test_good_api_urls(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timeout", "soon", "--timeout"),
        ("appear_timeout", "-1", "--appear-timeout"),
        ("min_interval", "0", "--min-interval"),
        ("max_interval", "5ms", "--max-interval"),
        ("request_timeout", "30s", "--request-timeout"),
        ("request_timeout", "0", "--request-timeout"),
        ("since", "yesterday", "--since"),
    ],
)
def test_bad_option_values_name_the_option(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _resolve(tmp_path, **{option: value})


def test_zero_timeouts_mean_never(tmp_path: Path) -> None:
    s = _resolve(tmp_path, timeout="0", appear_timeout="0")
    assert s.timeout is None and s.appear_timeout is None


def test_max_interval_below_min_lowers_the_min(tmp_path: Path) -> None:
    s = _resolve(tmp_path, min_interval="10s", max_interval="3s")
    assert (s.min_interval, s.max_interval) == (3, 3)


def test_bad_flow_selector_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLOW"):
        _resolve(tmp_path, flows=("bad name",))
