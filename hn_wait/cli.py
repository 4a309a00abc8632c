"""The command line: parse, build the objects, run, and map every outcome to an exit code.

The only module that imports typer, prints, or exits. Heavy modules (requests, tenacity,
the simulator) are imported only when a wait or a listing really runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Annotated, Any, Callable, List, Optional

import typer

from hn_wait import __version__
from hn_wait.config import DEFAULT_API_URL, DEFAULT_ETC_DIR, RawOptions, Settings, resolve
from hn_wait.errors import HnWaitError
from hn_wait.events import OutcomeKind
from hn_wait.exit_codes import ExitCode
from hn_wait.secret import Secret, redact_all

if TYPE_CHECKING:
    from hn_wait.api import LogbookClient
    from hn_wait.events import Event, Outcome

PROG = "hn-wait"


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C does, and exit 143."""


class Output:
    """stdout for results, stderr for progress and errors; every line passes redaction."""

    def __init__(self, out: IO[str], err: IO[str], *, quiet: bool, json_mode: bool) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self.json_mode = json_mode
        self.secret: Optional[Secret] = None

    def _write(self, stream: IO[str], text: str) -> None:
        try:
            stream.write(redact_all(text, self.secret) + "\n")
            stream.flush()
        except BrokenPipeError:
            # The reader went away (``| head``): nothing more can be said there, and Python
            # must not complain about it at exit either.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass

    def result(self, text: str) -> None:
        self._write(self.out, text)

    def error(self, text: str) -> None:
        self._write(self.err, text)

    def progress(self, text: str) -> None:
        if not self.quiet:
            self._write(self.err, text)

    def document(self, data: Mapping[str, Any]) -> None:
        self._write(self.out, json.dumps(data, indent=2))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(0)


app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

_HELP = """Wait until a Hypernode Logbook flow has finished, and exit with its outcome.

FLOW is a flow name or glob (xgrade_app, 'ensure_app,ensure_copied_app'), a flow or tracker
uuid, or the job URL from a settings change's Location header. Without FLOW, wait until
nothing in the logbook is queued or running.

Exit codes: 0 success, 1 flow failed, 2 usage, 3 not found, 4 token refused,
5 API unusable, 124 timed out, 130/143 interrupted.
"""


@app.command(help=_HELP, no_args_is_help=False)
def main(
    flows: Annotated[
        Optional[List[str]],
        typer.Argument(metavar="FLOW", hidden=True, show_default=False),
    ] = None,
    app_name: Annotated[
        Optional[str],
        typer.Option(
            "--app",
            "-a",
            envvar="HYPERNODE_APP_NAME",
            metavar="NAME",
            help="The app whose logbook to read. [default: on a Hypernode, its own app]",
        ),
    ] = None,
    token_file: Annotated[
        Optional[str],
        typer.Option(
            "--token-file",
            envvar="HYPERNODE_API_TOKEN_FILE",
            metavar="PATH",
            help="File holding the API token; without it, $HYPERNODE_API_TOKEN, then "
            f"{DEFAULT_ETC_DIR}/hypernode_api_token.",
        ),
    ] = None,
    api_url: Annotated[
        Optional[str],
        typer.Option(
            "--api-url",
            envvar="HYPERNODE_API_URL",
            metavar="URL",
            help=f"API base URL. [default: {DEFAULT_API_URL}]",
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_SINCE",
            metavar="WHEN",
            help="Ignore finished flows created before WHEN: ISO-8601, Unix time, a duration "
            "ago (90s, 10m), 'now' or 'all'.",
        ),
    ] = "2m",
    timeout: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_TIMEOUT",
            metavar="DURATION",
            help="Give up after this long in all (0 = never).",
        ),
    ] = "1h",
    appear_timeout: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_APPEAR_TIMEOUT",
            metavar="DURATION",
            help="Give up when no flow matches for this long (0 = as long as --timeout).",
        ),
    ] = "5m",
    min_interval: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_MIN_INTERVAL", metavar="DURATION", help="Shortest pause between polls."
        ),
    ] = "2s",
    max_interval: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_MAX_INTERVAL", metavar="DURATION", help="Longest pause between polls."
        ),
    ] = "30s",
    request_timeout: Annotated[
        str,
        typer.Option(
            envvar="HN_WAIT_REQUEST_TIMEOUT",
            metavar="DURATION",
            help="Timeout of one request (at most 15s).",
        ),
    ] = "15s",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress on stderr, only errors.")
    ] = False,
    list_flows: Annotated[
        bool,
        typer.Option(
            "--list", help="Print the logbook like hypernode-log and exit (with --json: as JSON)."
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Run a real wait against the built-in simulator (no Hypernode needed)."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    output = Output(sys.stdout, sys.stderr, quiet=quiet, json_mode=json_output)
    raw = RawOptions(
        app=app_name,
        token_file=token_file,
        api_url=api_url,
        since=since,
        timeout=timeout,
        appear_timeout=appear_timeout,
        min_interval=min_interval,
        max_interval=max_interval,
        request_timeout=request_timeout,
        flows=tuple(flows or ()),
    )
    code = execute(raw, output, list_flows=list_flows, demo=demo, env=os.environ)
    raise typer.Exit(int(code))


def execute(
    raw: RawOptions,
    output: Output,
    *,
    list_flows: bool = False,
    demo: bool = False,
    env: Mapping[str, str],
) -> ExitCode:
    """Everything after parsing; every failure becomes one line and a documented exit code."""
    simulator = None
    in_main = threading.current_thread() is threading.main_thread()
    previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        if demo:
            simulator, raw, env = _start_demo(raw, env, output)
        settings = _settings(raw, env)
        output.secret = settings.token
        for warning in settings.warnings:
            output.error(f"warning: {warning}")
        if list_flows:
            return _list(settings, output)
        return _wait(settings, output)
    except HnWaitError as exc:
        return _fail(output, exc.exit_code, exc.message)
    except KeyboardInterrupt:
        return _fail(output, ExitCode.SIGINT, "interrupted by SIGINT")
    except Terminated:
        return _fail(output, ExitCode.SIGTERM, "interrupted by SIGTERM")
    except Exception as exc:  # a bug: say so in one line, never a traceback with locals
        return _fail(
            output,
            ExitCode.INTERNAL,
            f"internal error ({type(exc).__name__}: {exc}); please report this bug",
        )
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous_sigterm)
        if simulator is not None:
            simulator.stop()


_KINDS = {
    ExitCode.USAGE: "usage_error",
    ExitCode.NOT_FOUND: OutcomeKind.NOT_FOUND.value,
    ExitCode.AUTH: OutcomeKind.AUTH_ERROR.value,
    ExitCode.API: OutcomeKind.API_ERROR.value,
    ExitCode.INTERNAL: "internal_error",
    ExitCode.SIGINT: OutcomeKind.INTERRUPTED.value,
    ExitCode.SIGTERM: OutcomeKind.INTERRUPTED.value,
}
"""The JSON ``outcome`` of an error raised before or outside a wait."""


def _fail(output: Output, code: ExitCode, message: str, kind: Optional[str] = None) -> ExitCode:
    output.error(f"{PROG}: {message}")
    if output.json_mode:
        from hn_wait.render import error_json

        output.document(error_json(kind or _KINDS.get(code, "error"), int(code), message))
    return code


def _settings(raw: RawOptions, env: Mapping[str, str]) -> Settings:
    import time

    return resolve(
        raw, env, now=time.time(), etc_dir=DEFAULT_ETC_DIR, hostname=socket.gethostname()
    )


def _start_demo(
    raw: RawOptions, env: Mapping[str, str], output: Output
) -> tuple[Any, RawOptions, Mapping[str, str]]:
    from hn_wait.simulator import LogbookSimulator, load_scenario

    sim = LogbookSimulator().start()
    selector = load_scenario(sim, "xgrade", "demo")
    output.progress(
        f"demo: a simulated Logbook API at {sim.url} (no Hypernode is contacted), "
        f"app 'demo', with a ~20s {selector} flow starting now"
    )
    raw = replace(raw, app="demo", api_url=sim.url, token_file=None, flows=raw.flows or (selector,))
    demo_env = {k: v for k, v in env.items() if k != "HYPERNODE_API_TOKEN_FILE"}
    demo_env["HYPERNODE_API_TOKEN"] = sim.token
    return sim, raw, demo_env


def _client(settings: Settings) -> LogbookClient:
    from hn_wait.api import LogbookClient

    return LogbookClient(settings.api_url, settings.app, settings.token)


def _event_printer(output: Output, wall: Callable[[], float]) -> Callable[[Event], None]:
    from hn_wait.render import event_line, stamp

    def on_event(event: Event) -> None:
        line = event_line(event)
        if line is not None:
            output.progress(f"{stamp(wall())} {line}")

    return on_event


def _wait(settings: Settings, output: Output) -> ExitCode:
    from hn_wait.clock import SystemClock
    from hn_wait.waiter import Waiter

    clock = SystemClock()
    client = _client(settings)
    waiter = Waiter(settings, client, clock=clock, on_event=_event_printer(output, clock.time))
    try:
        try:
            outcome = waiter.run()
        except KeyboardInterrupt:
            outcome = waiter.interrupted(ExitCode.SIGINT)
        except Terminated:
            outcome = waiter.interrupted(ExitCode.SIGTERM)
    finally:
        client.close()
    return _report(outcome, settings, output, clock.time())


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _report(outcome: Outcome, settings: Settings, output: Output, now: float) -> ExitCode:
    from hn_wait.render import error_line, outcome_json, result_lines

    message = ""
    if outcome.exit_code != ExitCode.SUCCESS:
        message = error_line(outcome, settings.token_source, now)
        output.error(message)
    if output.json_mode:
        output.document(outcome_json(outcome, message.removeprefix(f"{PROG}: ") if message else ""))
    else:
        for line in result_lines(outcome):
            output.result(line)
    return outcome.exit_code


def _list(settings: Settings, output: Output) -> ExitCode:
    from hn_wait.api import AuthRefused, LogbookMissing, TransientError, read_logbook
    from hn_wait.render import logbook_table

    client = _client(settings)
    try:
        flows = read_logbook(client, timeout=settings.request_timeout)
    except TransientError as exc:
        return _fail(output, ExitCode.API, f"{exc.message}; try again later")
    except AuthRefused as exc:
        return _fail(
            output,
            ExitCode.AUTH,
            f"the API refused the token from {settings.token_source} ({exc.message})",
        )
    except LogbookMissing:
        return _fail(
            output,
            ExitCode.NOT_FOUND,
            f"the logbook of app {settings.app!r} does not exist (404); check --app",
        )
    finally:
        client.close()
    if settings.selectors:
        flows = [f for f in flows if any(s.matches(f) for s in settings.selectors)]
    if output.json_mode:
        output.document(
            {"app": settings.app, "count": len(flows), "flows": [f.to_json() for f in flows]}
        )
    else:
        output.result(logbook_table(flows))
    return ExitCode.SUCCESS


def run(argv: Optional[List[str]] = None) -> None:
    """The console script: run the command and exit with its code.

    Parsing errors are reported in one line like every other error, not as click's
    multi-line usage block.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except Exception as exc:
        # click's usage errors (typer bundles click) carry a message and an exit code.
        format_message = getattr(exc, "format_message", None)
        exit_code = getattr(exc, "exit_code", None)
        if not callable(format_message) or not isinstance(exit_code, int):
            raise
        output = Output(sys.stdout, sys.stderr, quiet=False, json_mode="--json" in args)
        code = _fail(output, ExitCode.USAGE, f"{format_message()} (see {PROG} --help)")
    sys.exit(code if isinstance(code, int) else 0)
