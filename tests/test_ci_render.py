"""CI and terminal rendering as text: GitHub workflow commands, the step summary and outputs,
GitLab sections, the ndjson stream, colour rules and the live display at fixed moments."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console

from hn_wait import ci
from hn_wait.events import Outcome, OutcomeKind, Picked, Progressed, Started
from hn_wait.exit_codes import ExitCode
from hn_wait.flows import Flow, Progress
from hn_wait.live import LiveView
from hn_wait.output import Output
from hn_wait.render import error_line, outcome_json
from hn_wait.report import Reporter
from hn_wait.simulator import LogbookSimulator, SimFlow
from hn_wait.term import paint, wants_colour, wants_live
from tests.fakes import FakeClock, make_settings

T0 = 1_800_000_000.0
UUID = "8eee848b-2c5e-4a39-9e8c-0fd2f7d8a1b2"


def _flow(state: str | None = "running", completed: int = 8, total: int = 24, **kw: object) -> Flow:
    values: dict[str, object] = {
        "uuid": UUID,
        "name": "xgrade_app",
        "state": state,
        "created_at": T0,
        "updated_at": T0 + 120,
        "progress": Progress(total, completed, ("stop_mysql_on_volume", "ensure_nodes")),
        "tracker_uuid": None,
        "logbook": "shop",
    }
    values.update(kw)
    return Flow(**values)  # type: ignore[arg-type]


def _outcome(kind: OutcomeKind, code: ExitCode, flows: tuple[Flow, ...], **kw: object) -> Outcome:
    return Outcome(kind=kind, exit_code=code, app="shop", flows=flows, elapsed=362.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "code", "one", "several"),
    [
        (OutcomeKind.TIMEOUT, ExitCode.TIMEOUT, "- it goes on on", "- they go on on"),
        (OutcomeKind.INTERRUPTED, ExitCode.SIGINT, "8eee848b goes on on", "aaaaaaaa go on on"),
    ],
)
def test_the_line_for_flows_left_running_speaks_of_one_or_several(
    kind: OutcomeKind, code: ExitCode, one: str, several: str
) -> None:
    first = _flow()
    second = _flow(uuid="aaaaaaaa-1111-2222-3333-444444444444", name="update_node")
    line = error_line(_outcome(kind, code, (first,), failed=(first,)), "$X", T0)
    assert one in line and f"resume with: hn-wait --app shop {UUID}" in line
    both = error_line(_outcome(kind, code, (first, second), failed=(first, second)), "$X", T0)
    assert several in both and both.endswith(f"{UUID} {second.uuid}")


# GitHub workflow commands ------------------------------------------------------------------


def test_workflow_command_escapes_data_and_properties() -> None:
    line = ci.workflow_command("error", "50% done\r\nnext: a,b", title="app: x, y %")
    assert line == "::error title=app%3A x%2C y %25::50%25 done%0D%0Anext: a,b"
    assert "\n" not in line and "\r" not in line


def test_detect_follows_the_environment_unless_told() -> None:
    assert ci.detect("auto", {"GITHUB_ACTIONS": "true"}) == "github"
    assert ci.detect("auto", {"GITLAB_CI": "true"}) == "gitlab"
    assert ci.detect("auto", {"CI": "true"}) == "none"
    assert ci.detect("none", {"GITHUB_ACTIONS": "true"}) == "none"
    assert ci.detect("gitlab", {}) == "gitlab"


def test_annotations_for_success_and_failure() -> None:
    ok = _outcome(OutcomeKind.SUCCESS, ExitCode.SUCCESS, (_flow("success", 24),))
    assert ci.annotation(ok, "") == (
        "::notice title=hn-wait%3A xgrade_app 8eee848b succeeded on app shop::"
        f"xgrade_app {UUID} success"
    )
    bad = _flow("reverted", 8)
    failed = _outcome(OutcomeKind.FAILURE, ExitCode.FLOW_FAILED, (bad,), failed=(bad,))
    message = "hn-wait: xgrade_app 8eee848b ended reverted (at 8/24; last running: ensure_nodes)"
    assert ci.annotation(failed, message) == (
        "::error title=hn-wait%3A xgrade_app 8eee848b failed on app shop::" + message
    )
    timeout = _outcome(OutcomeKind.TIMEOUT, ExitCode.TIMEOUT, (_flow(),), failed=(_flow(),))
    assert ci.annotation(timeout, "x").startswith(
        "::error title=hn-wait%3A timed out waiting for xgrade_app 8eee848b on app shop::"
    )
    missing = _outcome(OutcomeKind.NOT_FOUND, ExitCode.NOT_FOUND, (), unmatched=("xgrade_app",))
    assert "no flow 'xgrade_app' found on app shop" in ci.annotation(missing, "x")


def test_step_summary_is_a_markdown_table() -> None:
    bad = _flow("reverted", 8, updated_at=T0 + 362)
    outcome = _outcome(
        OutcomeKind.FAILURE, ExitCode.FLOW_FAILED, (bad,), failed=(bad,), requests=14
    )
    text = ci.step_summary(outcome, "hn-wait: xgrade_app 8eee848b ended reverted | badly")
    assert text == (
        "### ❌ hn-wait: xgrade_app 8eee848b failed on app shop\n\n"
        "| flow | uuid | state | tasks | started | took |\n"
        "|---|---|---|---|---|---|\n"
        f"| xgrade_app | `{UUID}` | reverted | 8/24 | 2027-01-15 08:00:00 UTC | 6m02s |\n\n"
        "> hn-wait: xgrade_app 8eee848b ended reverted \\| badly\n\n"
        "_failure, exit code 1, after 6m02s and 14 API requests_\n\n"
    )


def test_step_summary_stays_far_below_githubs_limit() -> None:
    flows = tuple(_flow(name="x" * 300, uuid=f"{i:08d}-0000") for i in range(5000))
    outcome = _outcome(OutcomeKind.SUCCESS, ExitCode.SUCCESS, flows)
    text = ci.step_summary(outcome, "m" * 2_000_000)
    assert len(text.encode()) < 64 * 1024
    assert "4950 more" in text


def test_step_outputs_for_later_steps() -> None:
    outcome = _outcome(OutcomeKind.SUCCESS, ExitCode.SUCCESS, (_flow("success", 24),))
    assert ci.format_outputs(ci.step_outputs(outcome)) == (
        f"outcome=success\nexit_code=0\nflow_uuid={UUID}\nflow_state=success\n"
    )
    assert ci.format_outputs({"a": "x\r\ny"}) == "a=x y\n"


def test_gitlab_section_markers() -> None:
    start = ci.section_start("hn_wait_1", "hn-wait: waiting\nfor x", 1700000000.9)
    assert start == (
        "\x1b[0Ksection_start:1700000000:hn_wait_1[collapsed=true]\r\x1b[0Khn-wait: waiting for x"
    )
    assert ci.section_end("hn_wait_1", 1700000100.2) == (
        "\x1b[0Ksection_end:1700000100:hn_wait_1\r\x1b[0K"
    )
    assert ci.section_name(1700000000.123) == "hn_wait_1700000000123"


# Colour and the live display's conditions -----------------------------------------------------


@pytest.mark.parametrize(
    ("env", "isatty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "dumb", "FORCE_COLOR": "3"}, False, True),
    ],
)
def test_colour_conventions(env: dict[str, str], isatty: bool, expected: bool) -> None:
    assert wants_colour(env, isatty) is expected


def test_live_display_only_on_a_capable_terminal() -> None:
    assert wants_live({}, True, no_progress=False, quiet=False)
    assert not wants_live({}, False, no_progress=False, quiet=False)
    assert not wants_live({"TERM": "dumb"}, True, no_progress=False, quiet=False)
    assert not wants_live({}, True, no_progress=True, quiet=False)
    assert not wants_live({}, True, no_progress=False, quiet=True)


def test_paint() -> None:
    assert paint("ok", "bold green", True) == "\x1b[1;32mok\x1b[0m"
    assert paint("ok", "bold green", False) == "ok"


# The live display, rendered to a fixed-width recording console --------------------------------


def _render(view: LiveView, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system="truecolor")
    console.print(view)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def _words(line: str) -> str:
    return " ".join(line.split())


def test_live_view_at_moments_of_a_flow() -> None:
    now = [T0 + 10]
    view = LiveView(lambda: now[0])
    view.update(
        Started("shop", ("xgrade_app", "ensure_app"), "2m", 3600.0, 300.0),
        "waiting for 'xgrade_app' and 'ensure_app' on app shop",
    )
    assert _render(view) == (
        "waiting for 'xgrade_app' and 'ensure_app' on app shop\n"
        "  no flow matching 'xgrade_app' yet\n"
        "  no flow matching 'ensure_app' yet"
    )
    queued = _flow(None, 0, 0, updated_at=None)
    view.update(Picked("xgrade_app", queued, "name"), None)
    assert _words(_render(view).splitlines()[1]) == "· xgrade_app 8eee848b queued 10s"

    now[0] = T0 + 180
    running = _flow("running", 8, 24)
    view.update(Progressed(running, queued), None)
    lines = _render(view).splitlines()
    # 8 tasks in 120 s: 15 s a task, 16 to go = 240 s, less the 60 s since the last one.
    assert (
        lines[1] == "● xgrade_app 8eee848b running ━━━━━━━━╺━━━━━━━━━━━━━━━ 8/24 3m00s ~3m00s left"
    )
    assert len(lines[1]) < 100
    assert lines[2] == "  ↳ stop_mysql_on_volume, ensure_nodes"
    assert lines[3] == "  no flow matching 'ensure_app' yet"

    now[0] = T0 + 400
    done = _flow("success", 24, 24, updated_at=T0 + 362, progress=Progress(24, 24, ()))
    view.update(Progressed(done, running), None)
    assert _render(view).splitlines()[1] == (
        "✔ xgrade_app 8eee848b success ━━━━━━━━━━━━━━━━━━━━━━━━ 24/24 6m02s"
    )


def test_live_view_fits_a_narrow_terminal() -> None:
    view = LiveView(lambda: T0 + 180)
    view.update(Started("shop", ("xgrade_app",), "2m", 3600.0, 300.0), "waiting for 'xgrade_app'")
    view.update(Picked("xgrade_app", _flow("running", 8, 24), "name"), None)
    # The bar shrinks first ...
    assert _render(view, 60).splitlines()[1] == (
        "● xgrade_app 8eee848b running ━━╺━━━ 8/24 3m00s ~3m00s left"
    )
    # ... then the estimate goes, then the bar; the rest of the row is never cut.
    assert _render(view, 50).splitlines()[1] == "● xgrade_app 8eee848b running ━━╸━━━━━ 8/24 3m00s"
    assert _render(view, 44).splitlines()[1] == "● xgrade_app 8eee848b running 8/24 3m00s"
    for width in (100, 60, 50, 44):
        assert all(len(line) <= width for line in _render(view, width).splitlines())


def test_live_view_aligns_several_flows() -> None:
    view = LiveView(lambda: T0 + 60)
    view.update(Started("shop", (), "2m", None, None), "waiting until idle")
    a = _flow("running", 1, 4, name="update_node", uuid="11111111-a", progress=Progress(4, 1, ()))
    b = _flow("reverted", 2, 4, name="ensure_copied_app", uuid="22222222-b")
    view.update(Picked("", a, "in progress"), None)
    view.update(Picked("", b, "in progress"), None)
    lines = _render(view).splitlines()
    assert lines[1].index("11111111") == lines[2].index("22222222")
    assert lines[2].startswith("✘ ensure_copied_app 22222222 reverted")


# The reporter, fed by a real wait in virtual time --------------------------------------------


def _reporter(
    clock: FakeClock, out: io.StringIO, err: io.StringIO, fmt: str = "text", **kw: object
) -> Reporter:
    output = Output(out, err, quiet=False, json_mode=fmt == "json", ndjson=fmt == "ndjson")
    return Reporter(output, wall=clock.time, **kw)  # type: ignore[arg-type]


def _wait(
    sim: LogbookSimulator, clock: FakeClock, reporter: Reporter, end: str = "success"
) -> Outcome:
    sim.add_flow(
        "shop",
        SimFlow(
            name="xgrade_app",
            created=clock.time(),
            tasks=[("first", 30.0), ("second", 30.0)],
            end_state=end,
            fail_after=1,
        ),
    )
    settings = make_settings(sim, clock, ["xgrade_app"])
    from hn_wait.api import LogbookClient
    from hn_wait.waiter import Waiter

    client = LogbookClient(settings.api_url, settings.app, settings.token)
    try:
        outcome = Waiter(settings, client, clock=clock, on_event=reporter.event).run()
    finally:
        client.close()
    message = "" if outcome.exit_code == 0 else f"hn-wait: {outcome.kind.value}"
    reporter.finish_wait(outcome, message)
    return outcome


def test_plain_log_has_no_control_codes(sim: LogbookSimulator, clock: FakeClock) -> None:
    out, err = io.StringIO(), io.StringIO()
    _wait(sim, clock, _reporter(clock, out, err))
    lines = err.getvalue().splitlines()
    assert "\x1b" not in err.getvalue() + out.getvalue()
    assert lines[0].endswith(
        "waiting for 'xgrade_app' on app shop (since 120s, timeout 1h00m, appear timeout 5m00s)"
    )
    assert all(line[:8].count(":") == 2 for line in lines)  # every line time-stamped
    assert [line[9:] for line in lines[2:]] == [
        "xgrade_app " + lines[1].split()[3][:8] + " running 1/2 second",
        "xgrade_app " + lines[1].split()[3][:8] + " success 2/2",
    ]
    assert out.getvalue().endswith(" success in 1m00s\n")


def test_github_group_annotation_summary_and_outputs(
    sim: LogbookSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "output"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    out, err = io.StringIO(), io.StringIO()
    reporter = _reporter(clock, out, err, ci_system="github", env=env)
    outcome = _wait(sim, clock, reporter, end="reverted")
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("::group::") and "hn-wait: waiting for 'xgrade_app'" in lines[0]
    assert not any("waiting for" in line for line in lines[1:])  # the title is not repeated
    end = lines.index("::endgroup::")
    # The reason, outside the group, once: as the ::error that GitHub shows in the log.
    assert lines[end + 1].startswith("::error title=hn-wait%3A xgrade_app ")
    assert lines[end + 1].endswith("::hn-wait: failure")
    assert "hn-wait: failure" not in lines
    flow = outcome.flows[0]
    assert f"| xgrade_app | `{flow.uuid}` | reverted | 1/2 |" in summary.read_text()
    assert outputs.read_text() == (
        f"outcome=failure\nexit_code=1\nflow_uuid={flow.uuid}\nflow_state=reverted\n"
    )


def test_unwritable_github_files_are_a_warning(
    sim: LogbookSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    summary.chmod(stat.S_IRUSR)
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "no" / "dir")}
    out, err = io.StringIO(), io.StringIO()
    outcome = _wait(sim, clock, _reporter(clock, out, err, ci_system="github", env=env))
    assert outcome.exit_code == 0
    text = err.getvalue()
    assert "warning: could not write the outputs to $GITHUB_OUTPUT" in text
    if os.geteuid() != 0:  # root writes read-only files anyway
        assert "warning: could not write the step summary to $GITHUB_STEP_SUMMARY" in text


def test_gitlab_section_around_the_progress(sim: LogbookSimulator, clock: FakeClock) -> None:
    out, err = io.StringIO(), io.StringIO()
    _wait(sim, clock, _reporter(clock, out, err, ci_system="gitlab"), end="reverted")
    lines = err.getvalue().rstrip("\n").split("\n")
    assert lines[0].startswith("\x1b[0Ksection_start:")
    assert "[collapsed=true]\r\x1b[0K" in lines[0]
    end = next(i for i, line in enumerate(lines) if "section_end:" in line)
    assert lines[end + 1] == "hn-wait: failure"
    assert end + 2 == len(lines)


def test_ndjson_stream_ends_with_the_json_document(sim: LogbookSimulator, clock: FakeClock) -> None:
    out, err = io.StringIO(), io.StringIO()
    outcome = _wait(sim, clock, _reporter(clock, out, err, "ndjson"))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == [
        "started",
        "picked",
        "progress",
        "progress",
        "finished",
    ]
    assert all(r["time"].endswith("Z") for r in records)
    assert records[-1] == json.loads(json.dumps(outcome_json(outcome, "", clock.time())))
    # --json prints the same document, pretty.
    out2 = io.StringIO()
    _reporter(clock, out2, io.StringIO(), "json").finish_wait(outcome, "")
    assert json.loads(out2.getvalue()) == records[-1]
