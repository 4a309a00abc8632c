"""The fault matrix: the real command against the simulator over HTTP, once for each fault, at
the start of a wait and in the middle of one.

Every run is checked for the invariants (no traceback; the token on neither stdout, stderr nor
any file hn-wait wrote) and for its documented outcome: the exit code and the one clear
stderr line. The runs are independent (one simulator each) and run side by side in a
module-scoped fixture, so the whole matrix costs seconds; each row is still its own test.
RELIABILITY.md lists these rows; ``test_reliability_md_matches_the_matrix`` keeps it so.
"""

from __future__ import annotations

import email.utils
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from hn_wait.simulator import Fault, LogbookSimulator, SimFlow, http_error
from tests.cli_helpers import (
    ROOT,
    Result,
    clean_env,
    run_cli,
    start_cli,
    without_file_override,
)

START, MIDDLE = "start", "middle"
LOADING = "loading"
"""Only for signals: while hn-wait is still loading, before it has read its settings."""
MID_AFTER = 3
"""A mid-wait fault strikes the 4th request: the flow is followed and running by then."""
TASK_SECONDS = 0.5
FAST = {"HN_WAIT_MIN_INTERVAL": "100ms", "HN_WAIT_MAX_INTERVAL": "300ms"}
BASE_ARGS = ["update_node", "--request-timeout", "1s", "--timeout", "25s"]

DNS_SITECUSTOMIZE = """
import os, socket
_real = socket.getaddrinfo
_calls = [0]
_plan = os.environ.get("HN_WAIT_TEST_DNS", "")


def getaddrinfo(host, *args, **kwargs):
    if host == "localhost" and _plan:
        _calls[0] += 1
        first, last = (int(x) for x in _plan.split("-"))
        if first <= _calls[0] <= last:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
"""
"""Loaded by the command under test (PYTHONPATH): name resolution fails for the resolver calls
numbered in $HN_WAIT_TEST_DNS, without any packet leaving the machine."""

SIGNAL_SITECUSTOMIZE = """
import os, sys


class _SignalOnImport:
    # The signal named in $HN_WAIT_TEST_SIGNAL arrives while typer is being imported: in the
    # middle of hn-wait's start-up, every run, without guessing a delay.
    fired = False

    def find_spec(self, name, path=None, target=None):
        if name == "typer" and not self.fired:
            self.fired = True
            os.kill(os.getpid(), int(os.environ["HN_WAIT_TEST_SIGNAL"]))
        return None


sys.meta_path.insert(0, _SignalOnImport())
"""
"""Loaded by the command under test (PYTHONPATH) for the signal rows' loading phase."""


@dataclass
class Run:
    """One run of the command, with what it left behind."""

    result: Result
    sim: LogbookSimulator
    flow: SimFlow | None
    files: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """A fault, and what hn-wait must do about it."""

    id: str
    area: str
    fault: str
    behaviour: str
    code: int
    line: str
    """A regular expression the one clear stderr line must match ("" for none)."""
    phases: tuple[str, ...] = (START, MIDDLE)
    inject: Callable[[LogbookSimulator, str], None] | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[LogbookSimulator, str, Path], dict[str, str]] | None = None
    """Returns extra environment; may start threads that act on the simulator."""
    run: Callable[[Row, str, Path], Run] | None = None
    """Runs the case itself, when the standard run does not fit."""
    check: Callable[[Run, str], None] | None = None
    at_start: tuple[int, str, tuple[str, ...]] | None = None
    """(exit code, line, extra args) at the start, when they differ from the middle's."""
    file_modes: bool = False
    """Run the command as an ordinary user would be, for whom file permissions hold."""

    def expected(self, phase: str) -> tuple[int, str, tuple[str, ...]]:
        if phase == START and self.at_start is not None:
            return self.at_start
        return self.code, self.line, self.args


def _flow(sim: LogbookSimulator, **kw: Any) -> SimFlow:
    values: dict[str, Any] = {
        "name": "update_node",
        "created": time.time(),
        "tasks": [(f"task_{i}", TASK_SECONDS) for i in range(1, 4)],
    }
    values.update(kw)
    return sim.add_flow("shop", SimFlow(**values))


def _flow_once_polling(sim: LogbookSimulator) -> SimFlow:
    """The flow to follow, created when hn-wait first reads the logbook: however long the
    command takes to start (the matrix runs many side by side), it sees the whole flow."""
    flow = SimFlow(
        name="update_node",
        created=0.0,
        tasks=[(f"task_{i}", TASK_SECONDS) for i in range(1, 4)],
    )
    return sim.add_flow("shop", flow, when_polled=True)


def _faults(*faults: Fault, times: int = 2) -> Callable[[LogbookSimulator, str], None]:
    def inject(sim: LogbookSimulator, phase: str) -> None:
        after = 0 if phase == START else MID_AFTER
        for fault in faults:
            sim.inject(fault, times=times, after=after)

    return inject


def _after_requests(sim: LogbookSimulator, count: int, action: Callable[[], None]) -> None:
    """Run ``action`` in a thread once the simulator has answered ``count`` flows requests."""

    def watch() -> None:
        deadline = time.time() + 30
        while sim.flows_requests() < count and time.time() < deadline:
            time.sleep(0.01)
        action()

    threading.Thread(target=watch, daemon=True).start()


def _standard_run(row: Row, phase: str, tmp: Path) -> Run:
    sim = LogbookSimulator().start()
    sim.add_app("shop")
    env = {
        "HYPERNODE_API_URL": sim.url,
        "HYPERNODE_API_TOKEN": sim.token,
        "HYPERNODE_APP_NAME": "shop",
        **FAST,
        **row.env,
    }
    if row.setup is not None:
        env.update(row.setup(sim, phase, tmp))
    if row.inject is not None:
        row.inject(sim, phase)
    flow = None
    if row.expected(phase)[0] != 2 and not any(
        f.name == "update_node" for app in sim.apps.values() for f in app.flows
    ):
        flow = _flow_once_polling(sim)
    before = {p.name for p in tmp.iterdir()}
    prefix = without_file_override() if row.file_modes else []
    result = run_cli([*BASE_ARGS, *row.expected(phase)[2]], env, check=False, prefix=prefix)
    files = {
        p.name: p.read_text(errors="replace")
        for p in tmp.iterdir()
        if p.is_file() and p.name not in before
    }
    return Run(result, sim, flow, files)


# Network ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refused_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    if phase == START:
        return {"HYPERNODE_API_URL": f"http://127.0.0.1:{_free_port()}"}

    # Close the kept-alive connection with the next answer, then stop listening for a second.
    def closing() -> None:
        sim.keep_alive = False
        _after_requests(sim, MID_AFTER + 1, lambda: sim.outage(1.0))

    _after_requests(sim, MID_AFTER, closing)
    return {}


def _site(tmp: Path, code: str) -> str:
    """A PYTHONPATH folder whose sitecustomize.py (``code``) the command under test loads."""
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(code)
    return str(site)


def _dns_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    sim.keep_alive = False  # every request connects, and so resolves, anew
    port = sim.url.rsplit(":", 1)[1]
    plan = "1-1000" if phase == START else f"{MID_AFTER + 1}-{MID_AFTER + 3}"
    return {
        "HYPERNODE_API_URL": f"http://localhost:{port}",
        "HN_WAIT_TEST_DNS": plan,
        "PYTHONPATH": _site(tmp, DNS_SITECUSTOMIZE),
    }


# HTTP ---------------------------------------------------------------------------------------


def _redirect_same_host(status: int) -> Callable[[LogbookSimulator, str], None]:
    def inject(sim: LogbookSimulator, phase: str) -> None:
        location = "/logbook/v1/logbooks/shop/flows/?limit=50&offset=0"
        after = 0 if phase == START else MID_AFTER
        sim.inject(Fault("redirect", status=status, location=location), times=1, after=after)

    return inject


def _redirect_elsewhere_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    other = LogbookSimulator().start()
    other.add_app("shop")
    _OTHERS[(id(sim))] = other
    after = 0 if phase == START else MID_AFTER
    location = other.url + "/logbook/v1/logbooks/shop/flows/"
    sim.inject(Fault("redirect", status=302, location=location), times=1, after=after)
    return {}


_OTHERS: dict[int, LogbookSimulator] = {}


def _check_other_host_untouched(run: Run, phase: str) -> None:
    other = _OTHERS[id(run.sim)]
    assert other.requests == [], "the redirect was followed to another host"
    other.stop()


def _redirect_loop(sim: LogbookSimulator, phase: str) -> None:
    after = 0 if phase == START else MID_AFTER
    location = "/logbook/v1/logbooks/shop/flows/?limit=50&offset=0"
    sim.inject(Fault("redirect", status=302, location=location), times=50, after=after)


def _retry_after(value: Callable[[], str]) -> Callable[[LogbookSimulator, str], None]:
    """A 429 whose Retry-After is made when the fault is armed, just before it strikes (an
    HTTP date must still lie ahead when it is served)."""

    def inject(sim: LogbookSimulator, phase: str) -> None:
        if phase == START:
            sim.inject(http_error(429, retry_after=value()), times=1)
        else:
            _after_requests(
                sim, MID_AFTER, lambda: sim.inject(http_error(429, retry_after=value()), times=1)
            )

    return inject


def _check_retry_after_honoured(run: Run, phase: str) -> None:
    flows = [r for r in run.sim.requests if r.path.endswith("/flows/")]
    index = next(i for i, r in enumerate(flows) if r.status == 429)
    assert flows[index + 1].at - flows[index].at >= 0.95, "polled sooner than Retry-After"


def _http_date(seconds_ahead: float) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


def _logbook_404_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    if phase == START:
        # A Brancher node: the logbook answers 404 until the node exists, a second after
        # hn-wait's first request.
        sim.apps.clear()
        app = sim.add_app("shop", exists_from=float("inf"))

        def appear() -> None:
            app.exists_from = time.time() + 1.0
            _flow(sim, created=app.exists_from)

        _after_requests(sim, 1, appear)
    else:
        sim.inject(Fault("status", status=404, body='{"detail": "Not found."}'), after=MID_AFTER)
    return {}


# Bodies -------------------------------------------------------------------------------------


def _transform(fn: Callable[[dict[str, Any]], Any], times: int = 2) -> Callable[..., None]:
    def inject(sim: LogbookSimulator, phase: str) -> None:
        after = 0 if phase == START else MID_AFTER
        sim.inject(Fault("transform", transform=fn), times=times, after=after)

    return inject


def _junk_flows(data: dict[str, Any]) -> dict[str, Any]:
    junk: list[Any] = [
        {"uuid": "a1", "name": None, "state": 7, "progress": "lots", "created_at": None},
        {"uuid": None, "name": "no_uuid"},
        {"uuid": "a2", "name": "update_node"},  # fields missing
        {"uuid": "a3", "name": ["list"], "state": {"x": 1}, "progress": {"total": "x"}},
        "a string",
        None,
        12,
    ]
    data["results"] = [*data["results"], *junk]
    return data


def _absurd_progress(data: dict[str, Any]) -> dict[str, Any]:
    for item in data["results"]:
        item["progress"] = {"total": 10**15, "completed": -5, "running": [None, 3, "x" * 10_000]}
    return data


def _bad_dates(data: dict[str, Any]) -> dict[str, Any]:
    for item in data["results"]:
        item["created_at"] = "yesterday, around noon"
        item["updated_at"] = "2026-13-45T99:99:99Z"
    return data


def _duplicate_uuid(data: dict[str, Any]) -> dict[str, Any]:
    if data["results"]:
        copy = dict(data["results"][0], state="reverted", name="update_node_copy")
        data["results"] = [*data["results"], copy]
    return data


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    for item in data["results"]:
        item["name"] = "update_node_renamed"
    return data


def _claims_success(data: dict[str, Any]) -> dict[str, Any]:
    for item in data["results"]:
        item["state"] = "success"
    return data


# Logbook behaviour ----------------------------------------------------------------------------


def _vanish_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    def remove() -> None:
        for app in sim.apps.values():
            for flow in app.flows:
                flow.removed = True

    _after_requests(sim, MID_AFTER, remove)
    return {}


def _shifting_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    # 60 older flows, so the first poll reads two pages; new flows land between requests.
    for index in range(60):
        sim.add_flow("shop", SimFlow(name="create_backup", created=time.time() - 9000 + index))
    arrivals = 3 if phase == START else 15

    def arrive(data: dict[str, Any]) -> dict[str, Any]:
        for _ in range(arrivals):
            sim.add_flow("shop", SimFlow(name="block_attack", created=time.time()))
        return data

    sim.inject(Fault("transform", transform=arrive), times=1, after=0 if phase == START else 4)
    return {}


def _clock_setup(skew: float) -> Callable[[LogbookSimulator, str, Path], dict[str, str]]:
    def setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
        sim.now = lambda: time.time() + skew
        sim.apps.clear()
        sim.add_app("shop")
        server_now = time.time() + skew
        # An old update_node that finished 30 minutes ago by the server's clock...
        sim.add_flow(
            "shop", SimFlow(name="update_node", created=server_now - 1800, tasks=[("x", 30)])
        )
        # ... and the new one, created a moment after hn-wait starts.
        new = _flow(sim, created=server_now + (0.5 if phase == START else 1.5))
        _NEW[id(sim)] = new
        return {}

    return setup


_NEW: dict[int, SimFlow] = {}


def _check_new_flow_followed(run: Run, phase: str) -> None:
    new = _NEW[id(run.sim)]
    assert run.result.stdout.startswith(f"update_node {new.uuid[:8]} success"), run.result.stdout


# Process -------------------------------------------------------------------------------------


def _signal_run(sig: int) -> Callable[[Row, str, Path], Run]:
    def run(row: Row, phase: str, tmp: Path) -> Run:
        sim = LogbookSimulator().start()
        sim.add_app("shop")
        flow = _flow(sim, tasks=[("long", 60.0)])
        env = {
            "HYPERNODE_API_URL": sim.url,
            "HYPERNODE_API_TOKEN": sim.token,
            "HYPERNODE_APP_NAME": "shop",
            **FAST,
        }
        if phase == LOADING:
            env.update(
                PYTHONPATH=_site(tmp, SIGNAL_SITECUSTOMIZE), HN_WAIT_TEST_SIGNAL=str(int(sig))
            )
            proc = start_cli([*BASE_ARGS, "--json"], env)
            stdout, stderr = proc.communicate(timeout=30)
            return Run(Result(proc.returncode, stdout, stderr), sim, flow)
        proc = start_cli(BASE_ARGS, env)
        # start: the first request is out, nothing is followed yet (the flow comes later);
        # middle: the flow is followed and running.
        if phase == START:
            sim.apps["shop"].flows.clear()
        wanted = 1 if phase == START else MID_AFTER
        deadline = time.time() + 20
        while sim.flows_requests() < wanted and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        return Run(Result(proc.returncode, stdout, stderr), sim, flow)

    return run


def _check_signal(run: Run, phase: str) -> None:
    if phase == LOADING:
        assert run.sim.flows_requests() == 0, "a request went out after the signal"
        document = json.loads(run.result.stdout)  # --json: still one document
        assert document["outcome"] == "interrupted"
        assert document["exit_code"] == run.result.code
    if phase == MIDDLE and run.flow is not None:
        assert "goes on on the Hypernode" in run.result.stderr
        assert f"resume with: hn-wait --app shop {run.flow.uuid}" in run.result.stderr


def _closed_stdout_run(row: Row, phase: str, tmp: Path) -> Run:
    sim = LogbookSimulator().start()
    sim.add_app("shop")
    flow = _flow(sim)
    env = clean_env(
        {
            "HYPERNODE_API_URL": sim.url,
            "HYPERNODE_API_TOKEN": sim.token,
            "HYPERNODE_APP_NAME": "shop",
            **FAST,
        }
    )
    # start: the reader goes away after the first event; middle: before the final document.
    output = "--output ndjson" if phase == START else "--json"
    script = (
        f"'{sys.executable}' -m hn_wait {' '.join(BASE_ARGS)} {output} | head -c 10; "
        'echo; echo "exit=${PIPESTATUS[0]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=str(ROOT),
    )
    code = int(proc.stdout.strip().rsplit("exit=", 1)[1])
    return Run(Result(code, proc.stdout, proc.stderr), sim, flow)


def _github_files_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    # start: files that cannot be opened (a directory); middle: a full disk (/dev/full).
    if phase == START:
        blocked = tmp / "not-a-file"
        blocked.mkdir()
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(blocked),
            "GITHUB_OUTPUT": str(blocked),
        }
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": "/dev/full",
        "GITHUB_OUTPUT": "/dev/full",
    }


def _github_files_read_only_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    env = _github_files_ok_setup(sim, phase, tmp)
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        path = Path(env[name])
        path.write_text("")
        path.chmod(0o444)
    return env


def _check_both_github_warnings(run: Run, phase: str) -> None:
    for what in ("step summary", "outputs"):
        assert f"warning: could not write the {what}" in run.result.stderr, run.result.stderr


def _github_files_ok_setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_OUTPUT": str(tmp / "output"),
    }


def _check_github_files(run: Run, phase: str) -> None:
    assert "summary.md" in run.files and "output" in run.files
    assert "flow_uuid=" in run.files["output"]


# Configuration -------------------------------------------------------------------------------


def _token_file(kind: str) -> Callable[[LogbookSimulator, str, Path], dict[str, str]]:
    def setup(sim: LogbookSimulator, phase: str, tmp: Path) -> dict[str, str]:
        path = tmp / "token"
        if kind == "missing":
            pass
        elif kind == "unreadable":
            path.write_text(sim.token + "\n")
            path.chmod(0o000)
        elif kind == "directory":
            path.mkdir()
        elif kind == "empty":
            path.write_text("\n")
        elif kind == "shared":
            path.write_text(sim.token + "\n")
            path.chmod(0o644)
        return {"HYPERNODE_API_TOKEN_FILE": str(path), "HYPERNODE_API_TOKEN": ""}

    return setup


ROWS: list[Row] = [
    # Network
    Row(
        "net-refused",
        "Network",
        "connection refused",
        "retried; at the start nothing ever answers, so `--timeout` ends it; mid-wait the API "
        "comes back and the wait goes on",
        0,
        r"warning: the connection was refused; retrying",
        setup=_refused_setup,
        at_start=(
            124,
            r"^hn-wait: timed out after 4s with no usable answer from the API \(last: the "
            r"connection was refused\)",
            ("--timeout", "4s"),
        ),
    ),
    Row(
        "net-dns",
        "Network",
        "a name that does not resolve",
        "retried like any connection failure, reported once",
        0,
        r"warning: the API's host name does not resolve; retrying",
        setup=_dns_setup,
        at_start=(
            124,
            r"^hn-wait: timed out after 4s with no usable answer from the API \(last: the "
            r"API's host name does not resolve\)",
            ("--timeout", "4s"),
        ),
    ),
    Row(
        "net-reset",
        "Network",
        "connection reset in the middle of the body",
        "retried, reported once",
        0,
        r"warning: the connection (was reset|failed)",
        inject=_faults(Fault("reset")),
    ),
    Row(
        "net-hang",
        "Network",
        "a request that hangs",
        "cut off by `--request-timeout` (here 1s), retried",
        0,
        r"warning: no answer within 1s; retrying",
        inject=_faults(Fault("hang", delay=8.0), times=1),
    ),
    Row(
        "net-trickle",
        "Network",
        "an answer that trickles in slower than the request timeout",
        "cut off after 1.5 x `--request-timeout` in all, retried",
        0,
        r"warning: (the answer took longer than \d+s|no answer within 1s); retrying",
        inject=_faults(Fault("trickle", delay=0.3), times=1),
    ),
    # HTTP
    *[
        Row(
            f"http-{status}",
            "HTTP",
            f"HTTP {status} with an HTML body",
            "retried, reported once; fatal (exit 5) only after 5 minutes without a usable answer",
            0,
            rf"warning: the API answered HTTP {status}; retrying",
            inject=_faults(http_error(status)),
        )
        for status in (500, 502, 503, 504)
    ],
    Row(
        "http-429-seconds",
        "HTTP",
        "429 with `Retry-After` in seconds",
        "no request before the time it asks for",
        0,
        r"warning: the API answered HTTP 429; retrying, no sooner than the 1s it asks for",
        inject=_retry_after(lambda: "1"),
        check=_check_retry_after_honoured,
    ),
    Row(
        "http-429-date",
        "HTTP",
        "429 with `Retry-After` as an HTTP date",
        "no request before that date",
        0,
        r"warning: the API answered HTTP 429; retrying, no sooner than the \d+s it asks for",
        inject=_retry_after(lambda: _http_date(3.0)),
        check=_check_retry_after_honoured,
    ),
    Row(
        "http-429-bare",
        "HTTP",
        "429 without `Retry-After`",
        "backs off and retries",
        0,
        r"warning: the API answered HTTP 429; retrying \(",
        inject=_faults(http_error(429), times=1),
    ),
    Row(
        "http-400",
        "HTTP",
        "400",
        "an unexpected client error: not retried",
        5,
        r"^hn-wait: the API answered HTTP 400",
        inject=_faults(http_error(400, html=False), times=1),
    ),
    Row(
        "http-401",
        "HTTP",
        "401",
        "the token is refused: says where it came from",
        4,
        r"^hn-wait: the API refused the token from \$HYPERNODE_API_TOKEN \(HTTP 401",
        inject=_faults(http_error(401, html=False), times=1),
    ),
    Row(
        "http-403",
        "HTTP",
        "403",
        "the request is refused: asks whether the token belongs to the app",
        4,
        r"^hn-wait: the API refused the request \(HTTP 403.*does this token belong to app shop",
        inject=_faults(http_error(403, html=False), times=1),
    ),
    Row(
        "http-404",
        "HTTP",
        "404 before flows existed (start: a Brancher node not there yet) and after (middle)",
        "before: waits for the logbook to appear (until `--appear-timeout`, then exit 3); "
        "after: a passing glitch, retried",
        0,
        r"(does not exist yet \(404\); waiting for it to appear|warning: the logbook answered "
        r"404 after it had answered)",
        setup=_logbook_404_setup,
    ),
    *[
        Row(
            f"http-{status}",
            "HTTP",
            f"{status} redirect on the same host",
            "followed (at most 5 in a row), with the token",
            0,
            "",
            inject=_redirect_same_host(status),
        )
        for status in (301, 302, 307)
    ],
    Row(
        "http-redirect-elsewhere",
        "HTTP",
        "a redirect to another host",
        "refused without following it: the `Authorization` header never leaves the API host",
        5,
        r"^hn-wait: the API redirected to http://127\.0\.0\.1; hn-wait does not send the "
        r"token to another host",
        setup=_redirect_elsewhere_setup,
        check=_check_other_host_untouched,
    ),
    Row(
        "http-redirect-loop",
        "HTTP",
        "a redirect loop",
        "given up after 5 redirects",
        5,
        r"^hn-wait: .*redirect",
        inject=_redirect_loop,
    ),
    # Bodies
    *[
        Row(
            f"body-{name}",
            "Bodies",
            fault,
            "an unusable answer: retried, reported once",
            0,
            rf"warning: the API answered 200 (with a body that is|but) {message}",
            inject=_faults(Fault("body", body=body)),
        )
        for name, fault, body, message in [
            ("empty", "an empty body", "", "(not JSON|empty)"),
            ("html", "HTML with status 200", "<html><body>maintenance</body></html>", "HTML"),
            ("truncated", "truncated JSON", '{"count": 1, "results": [{"uu', "not JSON"),
            ("list", "valid JSON of the wrong shape: a list", "[1, 2, 3]", ".*"),
            ("string", "valid JSON of the wrong shape: a string", '"results"', ".*"),
            ("no-results", "`results` missing", '{"count": 3}', ".*results"),
            ("results-not-list", "`results` not a list", '{"results": {"a": 1}}', ".*results"),
        ]
    ],
    Row(
        "body-junk-flows",
        "Bodies",
        "flows with fields missing, null or of the wrong type",
        "entries that are not readable flows are skipped; readable ones are used",
        0,
        "",
        inject=_transform(_junk_flows),
    ),
    Row(
        "body-absurd-progress",
        "Bodies",
        "negative or absurd progress",
        "clamped for display and estimates; never a crash",
        0,
        "",
        inject=_transform(_absurd_progress),
    ),
    Row(
        "body-bad-dates",
        "Bodies",
        "dates that do not parse",
        "treated as unknown times; a flow in progress is still followed",
        0,
        "",
        inject=_transform(_bad_dates),
    ),
    Row(
        "body-huge",
        "Bodies",
        "a huge body (9 MiB)",
        "reading stops at 8 MiB; retried as an unusable answer",
        0,
        r"warning: the API answered more than 8 MiB; retrying",
        inject=_faults(Fault("body", body='{"results": [' + " " * (9 * 1024 * 1024) + "]}")),
    ),
    # Logbook behaviour
    Row(
        "logbook-vanished",
        "Logbook",
        "the followed flow disappears mid-wait",
        "a warning at once; never success; exit 5 after 5 minutes still missing (here "
        "`--timeout 4s` ends it first: exit 124)",
        124,
        r"warning: update_node \w+ is no longer in the logbook",
        phases=(MIDDLE,),
        setup=_vanish_setup,
        args=("--timeout", "4s"),
    ),
    Row(
        "logbook-shifting-pages",
        "Logbook",
        "new flows arrive between two page requests and shift the offsets",
        "a flow seen twice counts once; a followed flow pushed off the first page is looked "
        "for on the next pages",
        0,
        "",
        setup=_shifting_setup,
    ),
    Row(
        "logbook-duplicate-uuid",
        "Logbook",
        "the same uuid twice in one answer",
        "the first (newest-first) entry counts",
        0,
        "",
        inject=_transform(_duplicate_uuid),
    ),
    Row(
        "logbook-renamed",
        "Logbook",
        "the same uuid changing name",
        "once picked, followed by uuid whatever its name (the result shows the last name); a "
        "flow renamed before it is picked is not the named flow: exit 3 with the new name as a "
        "similar name",
        0,
        "",
        inject=_transform(_renamed, times=1000),
        at_start=(
            3,
            r"^hn-wait: no flow matching 'update_node'.*similar names: update_node_renamed",
            ("--appear-timeout", "2s"),
        ),
    ),
    Row(
        "logbook-unknown-state",
        "Logbook",
        "a state never seen before",
        "final and a failure (exit 1), named in the message: never a hang, never a pass",
        1,
        r"is in state 'exploded', which hn-wait does not know",
        setup=lambda sim, phase, tmp: (
            sim.apps["shop"].flows.clear(),
            _flow(sim, end_state="exploded", fail_after=0 if phase == START else 2),
            {},
        )[2],
    ),
    Row(
        "logbook-success-then-running",
        "Logbook",
        "a flow that answers `success`, then `running` again",
        "the first final answer decides: hn-wait reports that success and stops",
        0,
        "",
        inject=_transform(_claims_success, times=1),
    ),
    # Clock
    Row(
        "clock-ahead",
        "Clock",
        "the server's clock 3 hours ahead of this machine",
        "`--since` is counted on the server's clock: the old flow is not taken, the new one is",
        0,
        "",
        setup=_clock_setup(3 * 3600.0),
        check=_check_new_flow_followed,
    ),
    Row(
        "clock-behind",
        "Clock",
        "the server's clock 3 hours behind this machine",
        "as above",
        0,
        "",
        setup=_clock_setup(-3 * 3600.0),
        check=_check_new_flow_followed,
    ),
    # Process
    Row(
        "proc-sigint",
        "Process",
        "SIGINT (Ctrl-C)",
        "stops waiting, says the flow goes on and how to resume; while still loading (before any "
        "request), says nothing was started or stopped",
        130,
        r"^hn-wait: interrupted by SIGINT",
        phases=(LOADING, START, MIDDLE),
        run=_signal_run(signal.SIGINT),
        check=_check_signal,
    ),
    Row(
        "proc-sigterm",
        "Process",
        "SIGTERM",
        "as SIGINT",
        143,
        r"^hn-wait: interrupted by SIGTERM",
        phases=(LOADING, START, MIDDLE),
        run=_signal_run(signal.SIGTERM),
        check=_check_signal,
    ),
    Row(
        "proc-stdout-closed",
        "Process",
        "stdout closed early (`| head -c 10`)",
        "the rest of the output is dropped silently; the exit code is the wait's own",
        0,
        "",
        run=_closed_stdout_run,
    ),
    Row(
        "proc-github-files",
        "Process",
        "`$GITHUB_STEP_SUMMARY`/`$GITHUB_OUTPUT` that cannot be written (start: not a file; "
        "middle: a full disk)",
        "a warning; the wait's outcome is unchanged",
        0,
        r"warning: could not write the (step summary|outputs) to \$GITHUB_",
        setup=_github_files_setup,
    ),
    Row(
        "proc-github-files-read-only",
        "Process",
        "`$GITHUB_STEP_SUMMARY`/`$GITHUB_OUTPUT` read-only (mode 444)",
        "a warning for each; the wait's outcome is unchanged",
        0,
        r"warning: could not write the (step summary|outputs) to \$GITHUB_.*Permission denied",
        phases=(MIDDLE,),
        setup=_github_files_read_only_setup,
        check=_check_both_github_warnings,
        file_modes=True,
    ),
    Row(
        "proc-github-files-written",
        "Process",
        "`$GITHUB_STEP_SUMMARY`/`$GITHUB_OUTPUT` written",
        "the token is in neither",
        0,
        "",
        phases=(MIDDLE,),
        setup=_github_files_ok_setup,
        check=_check_github_files,
    ),
    # Configuration
    *[
        Row(
            f"cfg-token-file-{kind}",
            "Configuration",
            f"a token file {label}",
            behaviour,
            code,
            line,
            phases=(START,),
            setup=_token_file(kind),
            file_modes=True,
        )
        for kind, label, behaviour, code, line in [
            ("missing", "missing", "a usage error naming the file", 2, r"^hn-wait: .*token"),
            (
                "unreadable",
                "unreadable (mode 000)",
                "a usage error naming the file",
                2,
                r"^hn-wait: token file .*token is not readable by this user$",
            ),
            (
                "directory",
                "that is a directory",
                "a usage error naming the file",
                2,
                r"^hn-wait: .*token",
            ),
            ("empty", "empty", "a usage error naming the file", 2, r"^hn-wait: .*empty"),
            (
                "shared",
                "readable by other users",
                "a warning, as ssh gives; the wait goes on",
                0,
                r"^warning: .*readable by other users",
            ),
        ]
    ],
    *[
        Row(
            f"cfg-{name}",
            "Configuration",
            fault,
            "a usage error naming the option (exit 2)",
            2,
            rf"^hn-wait: .*{pattern}",
            phases=(START,),
            env=env,
        )
        for name, fault, env, pattern in [
            (
                "app-name",
                "an app name with invalid characters",
                {"HYPERNODE_APP_NAME": "shop;rm"},
                "app",
            ),
            (
                "url-not-url",
                "`--api-url` that is not a URL",
                {"HYPERNODE_API_URL": "api dot com"},
                "api-url",
            ),
            (
                "url-plain-http",
                "plain `http://` to a host that is not loopback",
                {"HYPERNODE_API_URL": "http://api.hypernode.com"},
                "http",
            ),
            ("since", "`--since` given a bad value", {"HN_WAIT_SINCE": "last tuesday"}, "since"),
            (
                "appear-timeout",
                "`--appear-timeout` given a bad value",
                {"HN_WAIT_APPEAR_TIMEOUT": "soon"},
                "appear-timeout",
            ),
            (
                "min-interval",
                "`--min-interval` given a bad value",
                {"HN_WAIT_MIN_INTERVAL": "1ms"},
                "min-interval",
            ),
            (
                "max-interval",
                "`--max-interval` given a bad value",
                {"HN_WAIT_MAX_INTERVAL": "x"},
                "max-interval",
            ),
            ("output", "`--output` given a bad value", {"HN_WAIT_OUTPUT": "yaml"}, "output"),
            ("ci", "`--ci` given a bad value", {"HN_WAIT_CI": "jenkins"}, "ci"),
            (
                "jitter-seed",
                "`$HN_WAIT_JITTER_SEED` given a bad value",
                {"HN_WAIT_JITTER_SEED": "abc"},
                "HN_WAIT_JITTER_SEED",
            ),
            (
                "debug",
                "`$HN_WAIT_DEBUG` (`--debug`) given a value that is not a boolean",
                {"HN_WAIT_DEBUG": "maybe"},
                "--debug.*HN_WAIT_DEBUG",
            ),
            (
                "no-progress",
                "`$HN_WAIT_NO_PROGRESS` (`--no-progress`) given a value that is not a boolean",
                {"HN_WAIT_NO_PROGRESS": "2"},
                "--no-progress.*HN_WAIT_NO_PROGRESS",
            ),
        ]
    ],
]

ROWS += [
    Row(
        f"cfg-{option}",
        "Configuration",
        f"`--{option}` given a bad value",
        "a usage error naming the option (exit 2)",
        2,
        rf"^hn-wait: --{option}",
        phases=(START,),
        args=(f"--{option}", value),
    )
    for option, value in [("timeout", "-1m"), ("request-timeout", "1h")]
]

CASES = [(row, phase) for row in ROWS for phase in row.phases]


def _execute(row: Row, phase: str) -> Run:
    tmp = Path(tempfile.mkdtemp(prefix=f"hn-wait-{row.id}-{phase}-"))
    runner = row.run or _standard_run
    try:
        return runner(row, phase, tmp)
    except Exception as exc:  # reported by the row's own test, not by the fixture
        return Run(Result(-1, "", f"the harness failed: {type(exc).__name__}: {exc}"), None, None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[tuple[str, str], Run]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {(row.id, phase): pool.submit(_execute, row, phase) for row, phase in CASES}
        runs = {key: future.result() for key, future in futures.items()}
    yield runs
    for run in runs.values():
        if run.sim is not None:
            run.sim.stop()


@pytest.mark.parametrize(("row", "phase"), CASES, ids=[f"{r.id}-{p}" for r, p in CASES])
def test_fault(matrix: dict[tuple[str, str], Run], row: Row, phase: str) -> None:
    run = matrix[(row.id, phase)]
    result = run.result
    token = run.sim.token if run.sim is not None else None
    detail = f"exit {result.code}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, detail
    assert "the harness failed" not in result.stderr, detail
    if token:
        assert token not in result.stdout and token not in result.stderr, "token in the output"
        for name, text in run.files.items():
            assert token not in text, f"token in {name}"
    expected, pattern, _args = row.expected(phase)
    assert result.code == expected, detail
    if pattern:
        lines = result.stderr.splitlines()
        assert any(re.search(pattern, line) for line in lines), detail
        if expected != 0:
            errors = [line for line in lines if line.startswith("hn-wait: ")]
            assert len(errors) == 1, detail  # one clear line, not a cascade
    if expected == 0 and row.run is None:
        assert re.match(r"update_node(_renamed)? \w{8} success", result.stdout), detail
    if row.check is not None:
        row.check(run, phase)


def test_reliability_md_matches_the_matrix() -> None:
    text = (ROOT / "RELIABILITY.md").read_text()
    table = text.split("<!-- matrix:start -->", 1)[1].split("<!-- matrix:end -->", 1)[0]
    assert table.strip() == reliability_table().strip(), (
        "RELIABILITY.md is out of date: regenerate it with "
        "python -c 'from tests.test_fault_matrix import reliability_table as t; print(t())'"
    )


def reliability_table() -> str:
    """The matrix as RELIABILITY.md shows it: one line per row, with the tests that prove it."""
    lines = [
        "| area | fault | what hn-wait does | exit | tests |",
        "|---|---|---|---|---|",
    ]
    for row in ROWS:
        tests = ", ".join(f"`test_fault[{row.id}-{phase}]`" for phase in row.phases)
        code = str(row.code)
        if row.at_start is not None and row.at_start[0] != row.code:
            code = f"{row.at_start[0]} at the start, {row.code} mid-wait"
        fault = row.fault.replace("|", "\\|")
        lines.append(f"| {row.area} | {fault} | {row.behaviour} | {code} | {tests} |")
    return "\n".join(lines)
