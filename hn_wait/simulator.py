"""A faithful local stand-in for the Hypernode Logbook API, on loopback.

Used by ``hn-wait --demo``, by the tests, and by anyone who wants to try a pipeline without a
real Hypernode::

    python -m hn_wait.simulator --scenario xgrade

It serves the flows endpoint on the current and the legacy ``/api`` path, checks the
``Authorization: Token`` header, pages newest first with absolute ``next``/``previous``
links, filters on ``tracker_uuid``, plays flows along a clock (queued, running with tasks
completing, then success or reverted), and injects faults on request. The clock is
injectable, so tests can run a 20-minute xgrade in milliseconds of real time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import socket
import sys
import threading
import time
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from hn_wait.timefmt import format_api_time

_FLOWS_PREFIXES = ("/logbook/v1/logbooks/", "/api/logbook/v1/logbooks/")


@dataclass
class SimFlow:
    """A flow's whole life, played along the clock from ``created``.

    Queued for ``queued`` seconds, then runs ``tasks`` one after the other. A flow whose
    ``end_state`` is not ``success`` stops after ``fail_after`` tasks (half by default),
    passes ``reverting`` for ``revert_seconds``, and ends in ``end_state``.
    """

    name: str
    created: float
    tasks: Sequence[tuple[str, float]] = (("run", 1.0),)
    queued: float = 0.0
    end_state: str = "success"
    fail_after: int | None = None
    revert_seconds: float = 0.0
    tracker_uuid: str | None = None
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    removed: bool = False

    @property
    def duration(self) -> float:
        """Seconds from creation to the end state."""
        return self.queued + sum(d for _, d in self._tasks_run()) + self._revert_time()

    @property
    def ends_at(self) -> float:
        return self.created + self.duration

    def _failing(self) -> bool:
        return self.end_state != "success"

    def _tasks_run(self) -> Sequence[tuple[str, float]]:
        if not self._failing():
            return self.tasks
        stop = self.fail_after if self.fail_after is not None else len(self.tasks) // 2
        return self.tasks[: min(stop + 1, len(self.tasks))]

    def _revert_time(self) -> float:
        return self.revert_seconds if self._failing() else 0.0

    def view(self, now: float, logbook: str) -> dict[str, Any] | None:
        """The flow as the API shows it at ``now``; None before it is created."""
        if now < self.created or self.removed:
            return None
        elapsed = now - self.created
        total = len(self.tasks)
        state: str | None
        running: list[str] = []
        updated: float | None
        if elapsed < self.queued:
            state, completed, total, updated = None, 0, 0, None
        else:
            clock = self.created + self.queued
            run = self._tasks_run()
            completed = 0
            state = "running"
            updated = clock
            for index, (name, seconds) in enumerate(run):
                if now < clock + seconds:
                    running = [name]
                    completed = index
                    break
                clock += seconds
                completed = index + 1
                updated = clock
            else:
                if self._failing():
                    completed = max(len(run) - 1, 0)
                    if now < clock + self._revert_time():
                        state = "reverting"
                    else:
                        state = self.end_state
                        updated = clock + self._revert_time()
                else:
                    state = "success"
        return {
            "uuid": self.uuid,
            "state": state,
            "name": self.name,
            "created_at": format_api_time(self.created),
            "updated_at": format_api_time(updated) if updated is not None else None,
            "progress": {"running": running, "total": total, "completed": completed},
            "logbook": logbook,
            "tracker": {"uuid": self.tracker_uuid, "description": None},
        }


@dataclass(frozen=True)
class Fault:
    """Something to go wrong with a flows request.

    ``kind``: ``status`` (answer ``status`` with ``body``), ``drop`` (close without an answer),
    ``reset`` (close in the middle of the body), ``slow`` (answer after ``delay`` seconds),
    ``hang`` (say nothing for ``delay`` seconds, then close), ``trickle`` (the body one byte
    every ``delay`` seconds), ``body`` (200 with ``body`` as is), ``redirect`` (``status`` to
    ``location``), ``transform`` (the real page, passed through ``transform`` first: it may
    change the data, or return a str or bytes to send as the body).
    """

    kind: str
    status: int = 500
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    location: str = ""
    transform: Callable[[dict[str, Any]], Any] | None = field(default=None, compare=False)


HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)


def http_error(status: int, retry_after: str | None = None, html: bool = True) -> Fault:
    """A status answer with an HTML body (as proxies send) or a DRF-style JSON body."""
    body = (
        HTML_502.replace("502 Bad Gateway", f"{status} Error")
        if html
        else json.dumps({"detail": f"Simulated error {status}."})
    )
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    return Fault("status", status=status, body=body, headers=headers)


@dataclass
class _Rule:
    fault: Fault
    start: int
    times: int


@dataclass
class SimApp:
    name: str
    flows: list[SimFlow] = field(default_factory=list)
    exists_from: float = float("-inf")
    """Before this time the logbook answers 404 (a Brancher node being created)."""
    pending: list[SimFlow] = field(default_factory=list)
    """Flows that start when the logbook is first read (see ``add_flow``)."""


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float
    accept: str = ""
    user_agent: str = ""
    authorized: bool = False
    """Whether ``Authorization: Token <the simulator's token>`` came along (never the value)."""


class LogbookSimulator:
    """The simulated API. Use as a context manager: ``with LogbookSimulator() as sim: sim.url``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        now: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        server_skew: float = 0.0,
    ) -> None:
        self.token = token or "sim-" + secrets.token_hex(16)
        self.forbidden_tokens: set[str] = set()
        self.now = now
        self.server_skew = server_skew
        self.keep_alive = True
        """False: close every connection after its answer (clients reconnect, and resolve)."""
        self.settings_end_state = "success"
        """How the flow a settings change (PATCH) starts ends: ``success`` or ``reverted``."""
        self.apps: dict[str, SimApp] = {}
        self.requests: list[LoggedRequest] = []
        self._rules: list[_Rule] = []
        self._flows_requests = 0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Set-up ---------------------------------------------------------------------------

    def add_app(self, name: str, *, exists_from: float = float("-inf")) -> SimApp:
        with self._lock:
            app = self.apps.setdefault(name, SimApp(name))
            app.exists_from = exists_from
            return app

    def add_flow(self, app: str, flow: SimFlow, *, when_polled: bool = False) -> SimFlow:
        """Add ``flow`` to ``app``'s logbook. ``when_polled``: the flow is created the moment
        the logbook is next read, however long the client takes to start (tests)."""
        with self._lock:
            sim_app = self.apps.setdefault(app, SimApp(app))
            (sim_app.pending if when_polled else sim_app.flows).append(flow)
            return flow

    def inject(self, fault: Fault, *, times: int = 1, after: int = 0) -> None:
        """Apply ``fault`` to ``times`` flows requests, starting ``after`` requests from now."""
        with self._lock:
            self._rules.append(_Rule(fault, self._flows_requests + after, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def flows_requests(self) -> int:
        with self._lock:
            return self._flows_requests

    # Running --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    def start(self) -> LogbookSimulator:
        handler = _make_handler(self)
        self._server = _Server((self._host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def outage(self, seconds: float) -> None:
        """Stop listening for ``seconds`` (connections are refused), then listen again on the
        same address. Blocks for ``seconds``."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        self._server.shutdown()
        self._server.server_close()
        time.sleep(seconds)
        self._host, self._port = str(host), int(port)
        self.start()

    def __enter__(self) -> LogbookSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Answering ------------------------------------------------------------------------

    def _next_fault(self) -> Fault | None:
        with self._lock:
            index = self._flows_requests
            self._flows_requests += 1
            for rule in self._rules:
                if rule.start <= index and rule.times > 0:
                    rule.times -= 1
                    return rule.fault
        return None

    def page(self, app_name: str, query: dict[str, str], base: str) -> tuple[int, dict[str, Any]]:
        """The flows page for a request; (404, detail) for an app without a logbook."""
        now = self.now()
        with self._lock:
            app = self.apps.get(app_name)
            if app is None or now < app.exists_from:
                return 404, {"detail": "Not found."}
            for flow in app.pending:
                flow.created = now
                app.flows.append(flow)
            app.pending.clear()
            views = [v for v in (f.view(now, app_name) for f in app.flows) if v is not None]
        views.sort(key=lambda v: v["created_at"], reverse=True)
        tracker = query.get("tracker_uuid")
        if tracker:
            views = [v for v in views if v["tracker"]["uuid"] == tracker]
        try:
            limit = max(1, min(int(query.get("limit", "50")), 500))
            offset = max(0, int(query.get("offset", "0")))
        except ValueError:
            return 400, {"detail": "Invalid limit or offset."}
        window = views[offset : offset + limit]
        extra = f"&tracker_uuid={tracker}" if tracker else ""
        next_url = (
            f"{base}?limit={limit}&offset={offset + limit}{extra}"
            if offset + limit < len(views)
            else None
        )
        prev_url = (
            f"{base}?limit={limit}&offset={max(offset - limit, 0)}{extra}" if offset > 0 else None
        )
        return 200, {"count": len(views), "next": next_url, "previous": prev_url, "results": window}

    def trigger_settings_change(self, app_name: str, base_url: str) -> str:
        """What ``PATCH /v2/app/<app>/`` does: start an update_node flow; the job URL."""
        now = self.now()
        tracker = str(uuidlib.uuid4())
        self.add_flow(
            app_name,
            SimFlow(
                name="update_node",
                created=now + 1,
                queued=1.0,
                tasks=[(f"update_node_task_{i}", 1.0) for i in range(1, 5)],
                tracker_uuid=tracker,
                end_state=self.settings_end_state,
                revert_seconds=1.0,
            ),
        )
        return f"{base_url}/logbook/v1/jobs/{tracker}/"

    def trigger_xgrade(self, app_name: str) -> None:
        """What ``PATCH /v2/app/xgrade/<app>/`` does: start an xgrade_app flow, no tracker."""
        self.add_flow(app_name, xgrade_flow(self.now() + 1, seconds=20))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (after a timeout) is normal here: no noise."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    allow_reuse_address = True


def _make_handler(sim: LogbookSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls
        server_version = "HypernodeLogbookSimulator/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and the demo own the terminal."""

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header follows the simulator's clock (and its configured skew).
            return super().date_time_string(sim.now() + sim.server_skew)

        def _log(self, status: int) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            entry = LoggedRequest(
                self.command,
                parts.path,
                query,
                status,
                sim.now(),
                accept=self.headers.get("Accept", ""),
                user_agent=self.headers.get("User-Agent", ""),
                authorized=self.headers.get("Authorization") == f"Token {sim.token}",
            )
            with sim._lock:
                sim.requests.append(entry)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: Sequence[tuple[str, str]] = (),
        ) -> None:
            self._log(status)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            if not sim.keep_alive:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any, headers: Sequence[tuple[str, str]] = ()) -> None:
            self._send(status, json.dumps(data).encode(), headers=headers)

        def _base(self) -> str:
            return f"http://{self.headers.get('Host', sim.url.split('//', 1)[1])}"

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization")
            if not auth:
                self._json(401, {"detail": "Authentication credentials were not provided."})
                return False
            scheme, _, value = auth.partition(" ")
            if scheme == "Token" and value in sim.forbidden_tokens:
                self._json(403, {"detail": "You do not have permission to perform this action."})
                return False
            if scheme != "Token" or value != sim.token:
                self._json(401, {"detail": "Invalid token."})
                return False
            return True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            prefix = next((p for p in _FLOWS_PREFIXES if path.startswith(p)), None)
            if prefix is None:
                self._json(404, {"detail": "Not found."})
                return
            rest = path[len(prefix) :]
            app_name, _, tail = rest.partition("/")
            if tail not in ("flows", "flows/"):
                self._json(404, {"detail": "Not found."})
                return
            if tail == "flows":
                # As Django REST Framework does (APPEND_SLASH): redirect to the slashed path.
                target = path + "/" + (f"?{parts.query}" if parts.query else "")
                self._send(301, b"", "text/html", headers=[("Location", target)])
                return
            fault = sim._next_fault()
            if fault is not None and fault.kind != "transform" and self._fault(fault):
                return
            if not self._authorized():
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, data = sim.page(app_name, query, self._base() + path)
            if fault is not None and fault.transform is not None and status == 200:
                changed = fault.transform(data)
                if isinstance(changed, (str, bytes)):
                    raw = changed.encode() if isinstance(changed, str) else changed
                    self._send(200, raw, "application/json")
                    return
                data = changed
            self._json(status, data)

        def do_PATCH(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 65536))
            if not self._authorized():
                return
            parts = [p for p in urlsplit(self.path).path.split("/") if p]
            if parts[:1] == ["api"]:
                parts = parts[1:]
            if len(parts) == 4 and parts[:3] == ["v2", "app", "xgrade"]:
                sim.trigger_xgrade(parts[3])
                self._send(200, b"", "application/json")
            elif len(parts) == 3 and parts[:2] == ["v2", "app"]:
                location = sim.trigger_settings_change(parts[2], self._base())
                self._json(202, {}, headers=[("Location", location)])
            else:
                self._json(404, {"detail": "Not found."})

        def _fault(self, fault: Fault) -> bool:
            """Play a fault; True when it answered (or dropped) the request."""
            kind = fault.kind
            if kind == "slow":
                sim._stopping.wait(fault.delay)
                return False
            if kind == "status":
                is_html = fault.body.lstrip().startswith("<")
                self._send(
                    fault.status,
                    fault.body.encode(),
                    "text/html" if is_html else "application/json",
                    headers=fault.headers,
                )
                return True
            if kind == "body":
                self._send(200, fault.body.encode(), "application/json", headers=fault.headers)
                return True
            if kind == "redirect":
                self._send(fault.status, b"", "text/html", headers=[("Location", fault.location)])
                return True
            if kind == "hang":
                self._log(0)
                sim._stopping.wait(fault.delay or 60)
            elif kind == "drop":
                self._log(0)
            elif kind in ("reset", "trickle"):
                self._log(200)
                body = b'{"count": 1, "next": null, "previous": null, "results": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) + (100 if kind == "reset" else 0)))
                self.end_headers()
                if kind == "reset":
                    self.wfile.write(body[:10])
                else:
                    for byte in body:
                        if sim._stopping.wait(fault.delay):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True

    return Handler


# Scenarios --------------------------------------------------------------------------------

XGRADE_TASKS = (
    "verify_node_fits_on_new_product",
    "create_snapshot",
    "stop_mysql_on_volume",
    "ensure_nodes",
    "attach_volume",
    "start_mysql",
    "update_dns",
    "verify_services",
)


def xgrade_flow(
    created: float, *, seconds: float = 20.0, end_state: str = "success", queued: float = 2.0
) -> SimFlow:
    """An ``xgrade_app`` flow of about ``seconds``: queued briefly, then its tasks one by one."""
    task_seconds = max(seconds - queued, 0.1) / len(XGRADE_TASKS)
    return SimFlow(
        name="xgrade_app",
        created=created,
        queued=queued,
        tasks=[(name, task_seconds) for name in XGRADE_TASKS],
        end_state=end_state,
        revert_seconds=2.0 if end_state != "success" else 0.0,
    )


SCENARIOS = ("xgrade", "reverted", "settings", "brancher", "busy")


def load_scenario(sim: LogbookSimulator, scenario: str, app: str, *, speed: float = 1.0) -> str:
    """Fill the simulator with a scenario; answers the FLOW selector that follows it."""
    now = sim.now()
    sim.add_app(app)
    history = [
        SimFlow(name="create_backup", created=now - 7200, tasks=[("backup", 15.0)]),
        SimFlow(name="xgrade_app", created=now - 3600, queued=3, tasks=[("xgrade", 300.0)]),
        SimFlow(name="update_node", created=now - 1800, tasks=[("update", 40.0)]),
    ]
    for flow in history:
        sim.add_flow(app, flow)
    if scenario in ("xgrade", "reverted"):
        end = "success" if scenario == "xgrade" else "reverted"
        sim.add_flow(app, xgrade_flow(now + 1, seconds=20 * speed, end_state=end))
        return "xgrade_app"
    if scenario == "settings":
        return sim.trigger_settings_change(app, sim.url)
    if scenario == "brancher":
        node = f"{app}-eph{secrets.token_hex(3)}"
        sim.add_app(node, exists_from=now + 8 * speed)
        sim.add_flow(
            node,
            SimFlow(
                name="ensure_copied_app",
                created=now + 8 * speed,
                queued=2 * speed,
                tasks=[(f"copy_step_{i}", 2.0 * speed) for i in range(1, 6)],
            ),
        )
        return f"ensure_app,ensure_copied_app --app {node}"
    if scenario == "busy":
        sim.add_flow(
            app, SimFlow(name="update_node", created=now - 5, tasks=[("update", 10 * speed)])
        )
        sim.add_flow(
            app, SimFlow(name="create_backup", created=now, tasks=[("backup", 15 * speed)])
        )
        return ""
    raise ValueError(f"unknown scenario {scenario!r} (one of {', '.join(SCENARIOS)})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hn_wait.simulator",
        description="Serve a simulated Hypernode Logbook API on loopback.",
    )
    parser.add_argument("--scenario", choices=SCENARIOS, default="xgrade")
    parser.add_argument("--app", default="demo")
    parser.add_argument("--host", default="127.0.0.1", help="an address on this machine (loopback)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--token", default=None, help="the token clients must send (random by default)"
    )
    args = parser.parse_args(argv)
    sim = LogbookSimulator(token=args.token, host=args.host, port=args.port)
    try:
        sim.start()
    except OSError as exc:
        parser.exit(2, f"simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
    selector = load_scenario(sim, args.scenario, args.app)
    print(f"# Hypernode Logbook simulator, scenario {args.scenario}; Ctrl-C stops it", flush=True)
    print(f"export HYPERNODE_API_URL={sim.url}")
    print(f"export HYPERNODE_API_TOKEN={sim.token}")
    print(f"export HYPERNODE_APP_NAME={args.app}")
    print(f"# then: hn-wait {selector}".rstrip(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
