"""LogbookClient: one request to the flows endpoint, its errors classified.

The client never retries on its own and never prints: it answers a Page, or raises one of
the errors below, and the waiter decides what an error means for the wait. The token is
sent only in the ``Authorization`` header, only to the configured origin (redirects to
another host are refused), and never appears in an error message.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
import urllib3

from hn_wait import __version__
from hn_wait.config import is_loopback
from hn_wait.errors import HnWaitError
from hn_wait.exit_codes import ExitCode
from hn_wait.flows import Flow, Page, PayloadError, parse_page
from hn_wait.secret import Secret
from hn_wait.timefmt import parse_http_date

USER_AGENT = f"hn-wait/{__version__} (+python-requests)"
MAX_BODY_BYTES = 8 * 1024 * 1024
PAGE_SIZE = 50
MAX_PAGES = 40
"""Pages read in one go at most (2,000 flows): a logbook is never read without end."""
MAX_REDIRECTS = 5
_READ_CHUNK = 16 * 1024


class TransientError(Exception):
    """No usable answer this time; worth asking again later.

    ``kind`` groups errors for reporting once per kind (``HTTP 502``, ``timeout``, ...);
    ``retry_after`` is the server's ``Retry-After`` in seconds from now, when it sent one.
    """

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class LogbookMissing(Exception):
    """404 on the flows endpoint: the logbook does not exist (yet), or the app name is wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthRefused(HnWaitError):
    """401 or 403: exit 4 at once."""

    exit_code = ExitCode.AUTH

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiRefused(HnWaitError):
    """An answer that asking again will not change (another 4xx, a redirect away): exit 5."""

    exit_code = ExitCode.API

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    """A page of flows and the server's clock (``Date`` header) when it answered."""

    page: Page
    server_time: float | None


def flows_url(api_url: str, app: str) -> str:
    """The flows endpoint of ``app`` (a base ending in ``/api`` gives the legacy path)."""
    return f"{api_url.rstrip('/')}/logbook/v1/logbooks/{app}/flows/"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def _detail(response: requests.Response, body: bytes) -> str:
    """The API's ``detail`` (DRF style) or the HTTP reason, short and printable."""
    text = ""
    try:
        data = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        text = data["detail"]
    elif response.reason:
        text = str(response.reason)
    text = " ".join(text.split())[:200]
    return "".join(ch for ch in text if ch.isprintable())


def _retry_after(value: str | None, server_now: float | None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date (against ``Date``)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 24 * 3600.0)
    when = parse_http_date(value)
    if when is None:
        return None
    now = server_now if server_now is not None else time.time()
    return min(max(when - now, 0.0), 24 * 3600.0)


class _TokenAuth(requests.auth.AuthBase):
    """``Authorization: Token <token>``. Passed as ``auth`` so that requests never replaces
    it with credentials from ~/.netrc."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self._token.reveal()}"
        return request


class LogbookClient:
    """Reads pages of one app's logbook over a requests.Session."""

    def __init__(
        self,
        api_url: str,
        app: str,
        token: Secret,
        *,
        session: requests.Session | None = None,
        max_body: int = MAX_BODY_BYTES,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        self.url = flows_url(api_url, app)
        self._debug = debug
        """Told one line per exchange (``--debug``): method, URL, status, size, time; never
        a header, so never the token."""
        self.app = app
        self._token = token
        self._session = session or requests.Session()
        if is_loopback(urlsplit(self.url).hostname or ""):
            # Never route a loopback URL (the simulator) through a proxy from the environment.
            self._session.trust_env = False
        self._max_body = max_body
        self.requests_sent = 0

    def close(self) -> None:
        self._session.close()

    def get_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        tracker_uuid: str | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        """Fetch one page. The whole exchange, redirects included, ends within ~``timeout``."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if tracker_uuid:
            params["tracker_uuid"] = tracker_uuid
        started = time.monotonic()
        url = self.url
        for _hop in range(MAX_REDIRECTS + 1):
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise TransientError("timeout", f"no answer within {timeout:.0f}s")
            try:
                response, body = self._exchange(url, params, remaining)
            except TransientError as exc:
                self._log(url, params, started, exc.message)
                raise
            status = response.status_code
            where = response.headers.get("Location", "") if 300 <= status < 400 else ""
            self._log(
                url,
                params,
                started,
                f"HTTP {status}, {len(body)} bytes" + (f", Location: {where}" if where else ""),
            )
            if status in (301, 302, 303, 307, 308):
                url = self._redirect_target(url, response.headers.get("Location"))
                params = {}
                continue
            return self._interpret(response, body, offset)
        raise ApiRefused(f"the API redirected more than {MAX_REDIRECTS} times (a redirect loop)")

    def _log(self, url: str, params: dict[str, Any], started: float, outcome: str) -> None:
        if self._debug is None:
            return
        query = "&".join(f"{key}={value}" for key, value in params.items())
        took = (time.monotonic() - started) * 1000
        self._debug(f"GET {url}{'?' + query if query else ''} -> {outcome} ({took:.0f} ms)")

    def _redirect_target(self, current: str, location: str | None) -> str:
        if not location:
            raise ApiRefused("the API answered a redirect without a Location")
        target = urljoin(current, location)
        here, there = _origin(self.url), _origin(target)
        same_host = here[1] == there[1]
        upgrade = here[0] == "http" and there[0] == "https" and same_host
        if here != there and not upgrade:
            raise ApiRefused(
                f"the API redirected to {there[0]}://{there[1]}; hn-wait does not send the "
                "token to another host (check --api-url)"
            )
        return target

    def _exchange(
        self, url: str, params: dict[str, Any], timeout: float
    ) -> tuple[requests.Response, bytes]:
        """Send one GET and read its body within the budget; transport failures are transient."""
        # Each socket operation may take half the budget; the body is checked against the
        # whole budget after each read, so the exchange ends within 1.5 x timeout at most.
        per_op = max(timeout / 2, 0.05)
        started = time.monotonic()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self.requests_sent += 1
        try:
            response = self._session.get(
                url,
                params=params,
                headers=headers,
                auth=_TokenAuth(self._token),
                timeout=(per_op, per_op),
                stream=True,
                allow_redirects=False,
            )
            try:
                body = self._read_body(response, started, timeout)
            finally:
                response.close()
        except TransientError:
            raise
        except requests.exceptions.Timeout as exc:
            raise TransientError("timeout", f"no answer within {timeout:.0f}s") from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise TransientError("timeout", f"no answer within {timeout:.0f}s") from exc
        except requests.exceptions.ConnectionError as exc:
            raise TransientError("connection", _connection_reason(exc)) from exc
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
        ) as exc:
            raise TransientError(
                "connection", f"the connection failed ({type(exc).__name__})"
            ) from exc
        return response, body

    def _read_body(self, response: requests.Response, started: float, budget: float) -> bytes:
        # read1 (urllib3 2.2+) returns what has arrived; read() would wait for a whole chunk,
        # and a trickling answer would then outlive the budget.
        read1 = response.raw.read1
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = read1(_READ_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > self._max_body:
                raise TransientError(
                    "oversized body",
                    f"the API answered more than {self._max_body // (1024 * 1024)} MiB",
                )
            chunks.append(chunk)
            if time.monotonic() - started > budget:
                raise TransientError("timeout", f"the answer took longer than {budget:.0f}s")
        return b"".join(chunks)

    def _interpret(self, response: requests.Response, body: bytes, offset: int) -> Answer:
        status = response.status_code
        server_time = parse_http_date(response.headers.get("Date"))
        if status == 200:
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                kind = "HTML" if body.lstrip()[:1] == b"<" else "not JSON"
                raise TransientError(
                    "bad body", f"the API answered 200 with a body that is {kind}"
                ) from exc
            try:
                page = parse_page(data, offset)
            except PayloadError as exc:
                raise TransientError("bad body", f"the API answered 200 but {exc}") from exc
            return Answer(page=page, server_time=server_time)
        detail = _detail(response, body)
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            raise AuthRefused(f"HTTP {status}{suffix}", status)
        if status == 404:
            raise LogbookMissing(detail)
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"), server_time)
            raise TransientError(f"HTTP {status}", f"the API answered HTTP {status}", retry_after)
        raise ApiRefused(f"the API answered HTTP {status}{suffix}", status)


def retry_wait(state: tenacity.RetryCallState) -> float:
    """1, 2, 4 ... seconds, or the server's Retry-After when it asks for longer (30 s at most)."""
    backoff = min(2.0 ** (state.attempt_number - 1), 8.0)
    error = state.outcome.exception() if state.outcome is not None else None
    asked = error.retry_after if isinstance(error, TransientError) and error.retry_after else 0.0
    return min(max(backoff, asked), 30.0)


def read_pages(
    get_page: Callable[[int], Answer],
    *,
    max_pages: int = MAX_PAGES,
    more: Callable[[dict[str, Flow]], bool] = lambda flows: True,
) -> tuple[dict[str, Flow], bool]:
    """Page through the logbook from offset 0: every flow once (newest first), and whether
    the last page was reached.

    ``get_page(offset)`` answers one page; after each page that has a next one, ``more``
    (given the flows so far) decides whether to read on. ``next`` links are used only for
    their offset, so pages shifted by new flows give duplicates, which are dropped.
    """
    flows: dict[str, Flow] = {}
    offset = 0
    for _ in range(max_pages):
        page = get_page(offset).page
        for flow in page.flows:
            flows.setdefault(flow.uuid, flow)
        if page.next_offset is None:
            return flows, True
        if not more(flows):
            break
        offset = page.next_offset
    return flows, False


def read_logbook(
    client: LogbookClient,
    *,
    max_pages: int = MAX_PAGES,
    page_size: int = PAGE_SIZE,
    timeout: float = 15.0,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Flow]:
    """Every flow of the logbook (up to ``max_pages`` pages), newest first, each once.

    Each page request is retried on transient errors, ``attempts`` times in all; a page
    that still fails raises its TransientError. Other errors are raised at once.
    """
    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=tenacity.stop_after_attempt(attempts),
        wait=retry_wait,
        retry=tenacity.retry_if_exception_type(TransientError),
        reraise=True,
    )

    def get_page(offset: int) -> Answer:
        return retrying(client.get_page, offset=offset, limit=page_size, timeout=timeout)

    flows, _complete = read_pages(get_page, max_pages=max_pages)
    return list(flows.values())


def _connection_reason(exc: requests.exceptions.ConnectionError) -> str:
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return "the API's host name does not resolve"
    if "Connection refused" in text:
        return "the connection was refused"
    if "reset" in text.lower() or "aborted" in text.lower():
        return "the connection was reset"
    if "SSL" in text or "certificate" in text.lower():
        return "the TLS handshake failed (certificate?)"
    return "the connection failed"
