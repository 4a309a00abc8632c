"""The command line: parse, build the objects, run, and map every outcome to an exit code.

The only module that imports typer, prints, or exits. Heavy modules (requests, tenacity,
the simulator) are imported only when a wait or a listing really runs.
"""

# No ``from __future__ import annotations`` here: on Python 3.9 typer reads the signature
# without evaluating string annotations, and would not see the Annotated options at all.
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import typer

from hn_wait import __version__
from hn_wait.config import DEFAULT_API_URL, DEFAULT_ETC_DIR, RawOptions, Settings, resolve
from hn_wait.errors import ConfigError, HnWaitError, Terminated, raise_terminated
from hn_wait.exit_codes import ExitCode
from hn_wait.output import Output
from hn_wait.report import fail as _fail

if TYPE_CHECKING:
    import random

    from hn_wait.api import LogbookClient
    from hn_wait.report import Reporter

__all__ = ["Output", "app", "execute", "run"]

PROG = "hn-wait"


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
5 API unusable, 70 bug in hn-wait, 124 timed out, 130/143 interrupted.
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
    output_format: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            envvar="HN_WAIT_OUTPUT",
            metavar="FORMAT",
            help="stdout: text (result lines), json (one document at the end) or ndjson "
            "(one JSON event per line as it happens).",
        ),
    ] = "text",
    json_output: Annotated[bool, typer.Option("--json", help="Short for --output json.")] = False,
    ci_system: Annotated[
        str,
        typer.Option(
            "--ci",
            envvar="HN_WAIT_CI",
            metavar="SYSTEM",
            help="Speak to the CI system: auto, github, gitlab or none. auto detects "
            "$GITHUB_ACTIONS / $GITLAB_CI.",
        ),
    ] = "auto",
    no_progress: Annotated[
        bool,
        typer.Option(
            "--no-progress",
            envvar="HN_WAIT_NO_PROGRESS",
            help="No live display on a terminal: log one line per change instead.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress on stderr, only errors.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="HN_WAIT_DEBUG",
            help="Log each request and its answer's status on stderr, for support (the token "
            "is never shown).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Make one poll, show what each FLOW picks now, exit with the code a problem "
            "found gives (0 if none); no waiting.",
        ),
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
    fmt = output_format.strip().lower()
    # --json is the shorthand for --output json; with another --output it is a contradiction.
    json_conflict = json_output and fmt not in ("text", "json")
    if json_output and not json_conflict:
        fmt = "json"
    output = Output(
        sys.stdout, sys.stderr, quiet=quiet, json_mode=fmt == "json", ndjson=fmt == "ndjson"
    )
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
    view = View(
        output_format=fmt,
        json_conflict=json_conflict,
        ci=ci_system,
        no_progress=no_progress or debug,
        debug=debug,
    )
    code = execute(
        raw, output, list_flows=list_flows, demo=demo, dry_run=dry_run, view=view, env=os.environ
    )
    raise typer.Exit(int(code))


@dataclass(frozen=True)
class View:
    """How the user asked to see the wait (checked in ``execute``, like every other option)."""

    output_format: str = "text"
    json_conflict: bool = False
    """``--json`` was given with another ``--output``."""
    ci: str = "auto"
    no_progress: bool = False
    debug: bool = False


FORMATS = ("text", "json", "ndjson")


def _check_view(view: View, *, list_flows: bool, dry_run: bool) -> None:
    if view.json_conflict:
        raise ConfigError(
            f"--json is short for --output json; it does not go with --output {view.output_format}"
        )
    if view.output_format not in FORMATS:
        raise ConfigError(
            f"--output (or $HN_WAIT_OUTPUT): {view.output_format!r} is not one of "
            + ", ".join(FORMATS)
        )
    if view.ci.strip().lower() not in ci_choices():
        raise ConfigError(
            f"--ci (or $HN_WAIT_CI): {view.ci!r} is not one of " + ", ".join(ci_choices())
        )
    if list_flows and dry_run:
        raise ConfigError("--list and --dry-run do not go together; give one of them")
    if list_flows and view.output_format == "ndjson":
        raise ConfigError("--list prints a table or one JSON document; use --json with it")


def ci_choices() -> tuple[str, ...]:
    from hn_wait.ci import CHOICES

    return CHOICES


def execute(
    raw: RawOptions,
    output: Output,
    *,
    list_flows: bool = False,
    demo: bool = False,
    dry_run: bool = False,
    view: Optional[View] = None,
    env: Mapping[str, str],
) -> ExitCode:
    """Everything after parsing; every failure becomes one line and a documented exit code."""
    view = view or View()
    simulator = None
    reporter: Optional[Reporter] = None
    in_main = threading.current_thread() is threading.main_thread()
    previous_sigterm = signal.signal(signal.SIGTERM, raise_terminated) if in_main else None
    try:
        _check_view(view, list_flows=list_flows, dry_run=dry_run)
        reporter = _reporter(output, view, env)
        if demo:
            simulator, raw, env = _start_demo(raw, env, output)
        settings = _settings(raw, env)
        output.secret = settings.token
        for warning in settings.warnings:
            output.error(f"warning: {warning}")
        client = _client(settings, output if view.debug else None)
        if list_flows:
            return _list(settings, output, client)
        if dry_run:
            return _dry_run(settings, output, reporter, client)
        return _wait(settings, output, reporter, env, client)
    except HnWaitError as exc:
        return _fail(output, exc.exit_code, exc.message, reporter=reporter)
    except KeyboardInterrupt:
        return _fail(output, ExitCode.SIGINT, "interrupted by SIGINT", reporter=reporter)
    except Terminated:
        return _fail(output, ExitCode.SIGTERM, "interrupted by SIGTERM", reporter=reporter)
    except Exception as exc:  # a bug: say so in one line, never a traceback with locals
        return _fail(
            output,
            ExitCode.INTERNAL,
            f"internal error ({type(exc).__name__}: {exc}); please report this bug",
            reporter=reporter,
        )
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous_sigterm)
        if simulator is not None:
            simulator.stop()


def _reporter(output: Output, view: View, env: Mapping[str, str]) -> "Reporter":
    import time

    from hn_wait import ci
    from hn_wait.report import Reporter
    from hn_wait.term import wants_colour, wants_live

    isatty = _isatty(output.err)
    colour = wants_colour(env, isatty)
    live = None
    if wants_live(env, isatty, no_progress=view.no_progress, quiet=output.quiet):
        from hn_wait.live import LiveDisplay

        live = LiveDisplay(output.err, colour=colour, now=time.time, redact=output.redact)
    return Reporter(
        output,
        ci_system=ci.detect(view.ci.strip().lower(), env),
        env=env,
        colour=colour,
        colour_out=wants_colour(env, _isatty(output.out)),
        wall=time.time,
        live=live,
    )


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


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


def _client(settings: Settings, debug_to: Optional[Output] = None) -> "LogbookClient":
    from hn_wait.api import LogbookClient

    debug = None
    if debug_to is not None:
        import time

        from hn_wait.render import stamp

        out = debug_to

        def debug(line: str) -> None:
            out.error(f"{stamp(time.time())} debug: {line}")

    return LogbookClient(settings.api_url, settings.app, settings.token, debug=debug)


def _wait(
    settings: Settings,
    output: Output,
    reporter: "Reporter",
    env: Mapping[str, str],
    client: "LogbookClient",
) -> ExitCode:
    from hn_wait.clock import SystemClock
    from hn_wait.render import error_line
    from hn_wait.waiter import Waiter

    clock = SystemClock()
    waiter = Waiter(settings, client, clock=clock, on_event=reporter.event, rng=_jitter(env))
    if reporter.live is not None:
        live = reporter.live
        live.view.set_clock(lambda: clock.time() + waiter.clock_skew)
        live.start()
    try:
        try:
            outcome = waiter.run()
        except KeyboardInterrupt:
            outcome = waiter.interrupted(ExitCode.SIGINT)
        except Terminated:
            outcome = waiter.interrupted(ExitCode.SIGTERM)
    finally:
        client.close()
    message = ""
    if outcome.exit_code != ExitCode.SUCCESS:
        message = error_line(outcome, settings.token_source, clock.time() + waiter.clock_skew)
    reporter.finish_wait(outcome, message)
    return outcome.exit_code


def _jitter(env: Mapping[str, str]) -> "random.Random":
    """The poll jitter's random source; ``HN_WAIT_JITTER_SEED`` makes it reproducible."""
    import random

    seed = env.get("HN_WAIT_JITTER_SEED", "").strip()
    if not seed:
        return random.Random()
    try:
        return random.Random(int(seed))
    except ValueError:
        raise ConfigError(f"$HN_WAIT_JITTER_SEED: {seed!r} is not a whole number") from None


def _dry_run(
    settings: Settings, output: Output, reporter: "Reporter", client: "LogbookClient"
) -> ExitCode:
    from hn_wait.clock import SystemClock
    from hn_wait.render import preview_error_line, preview_json, preview_lines
    from hn_wait.waiter import Waiter

    clock = SystemClock()
    try:
        preview = Waiter(settings, client, clock=clock).preview()
    finally:
        client.close()
    outcome = preview.outcome
    now = clock.time()
    message = ""
    if outcome.exit_code != ExitCode.SUCCESS:
        message = preview_error_line(preview, settings.token_source, now)
    document = preview_json(preview, message.removeprefix(f"{PROG}: "), now)
    if not output.json_mode:
        for line in preview_lines(preview, now):
            output.result(line)
    reporter.finish(outcome, message, document=document, results=False)
    return outcome.exit_code


def _list(settings: Settings, output: Output, client: "LogbookClient") -> ExitCode:
    from hn_wait.api import AuthRefused, LogbookMissing, TransientError, read_logbook
    from hn_wait.render import logbook_table

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
    except typer.Abort:
        # click turns a Ctrl-C while it parses (before execute) into Abort: it is one still.
        raise KeyboardInterrupt from None
    except Exception as exc:
        # click's usage errors (typer bundles click) carry a message and an exit code.
        format_message = getattr(exc, "format_message", None)
        exit_code = getattr(exc, "exit_code", None)
        if not callable(format_message) or not isinstance(exit_code, int):
            raise
        output = Output(sys.stdout, sys.stderr, quiet=False, json_mode="--json" in args)
        message = _from_environment(exc, format_message())
        code = _fail(output, ExitCode.USAGE, f"{message} (see {PROG} --help)")
    sys.exit(code if isinstance(code, int) else 0)


def _from_environment(exc: Exception, message: str) -> str:
    """Name the environment variable a bad value came from, when click's message does not
    (click before 8.2 says only ``--debug``, which the user never typed)."""
    param, ctx = getattr(exc, "param", None), getattr(exc, "ctx", None)
    envvar = getattr(param, "envvar", None)
    name = getattr(param, "name", None)
    if not isinstance(envvar, str) or not name or ctx is None or envvar in message:
        return message
    from click.core import ParameterSource

    if ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT:
        return message
    return f"{message.rstrip('.')} (set in ${envvar})"
