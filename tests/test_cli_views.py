"""The real command in each of its views: a terminal (pty), a pipe, ndjson, --dry-run, GitHub
Actions; and what it must not load or accept."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hn_wait.simulator import LogbookSimulator, SimFlow
from tests.cli_helpers import ROOT, Result, check_output, clean_env, run_cli, sim_env, start_cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TOKEN = "tok-7b1f0c9a2e"


def _quick(name: str = "update_node", end_state: str = "success", seconds: float = 0.4) -> SimFlow:
    return SimFlow(
        name=name,
        created=time.time(),
        tasks=[("first_task", seconds), ("second_task", seconds)],
        end_state=end_state,
        fail_after=1,
    )


# Terminal or pipe ----------------------------------------------------------------------------


def _run_with_stderr_on_a_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    master, slave = pty.openpty()
    proc = start_cli(args, {"TERM": "xterm-256color", **env}, stderr=slave, text=False)
    os.close(slave)
    chunks = []
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other end closed (Linux says EIO)
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait(timeout=10)
    return proc.returncode, stdout, b"".join(chunks).decode(errors="replace")


def test_only_a_terminal_gets_the_live_display(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(), when_polled=True)
    env = sim_env(live_sim)
    code, stdout, tty = _run_with_stderr_on_a_pty(["update_node"], env)
    check_output(Result(code, stdout, tty), [live_sim.token])
    assert code == 0
    assert "\x1b[?25l" in tty and "\x1b[2K" in tty  # the cursor is hidden and lines redrawn
    assert f"update_node {flow.uuid[:8]} success" in ANSI.sub("", tty)
    assert stdout.startswith(f"update_node {flow.uuid[:8]} success in ")
    assert "\x1b" not in stdout  # stdout is a pipe: no colour there

    live_sim.add_flow("shop", _quick(), when_polled=True)
    piped = run_cli(["update_node", "--since", "now"], env)
    assert piped.code == 0
    assert "\x1b" not in piped.stderr + piped.stdout  # no cursor code, no colour, no spinner


def test_no_progress_and_dumb_terminal_log_lines(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    env = sim_env(live_sim)
    code, _stdout, tty = _run_with_stderr_on_a_pty(["update_node", "--no-progress"], env)
    assert code == 0
    assert "\x1b[2K" not in tty and "\x1b[?25l" not in tty
    assert "following update_node" in tty
    live_sim.add_flow("shop", _quick(), when_polled=True)
    code, _stdout, tty = _run_with_stderr_on_a_pty(
        ["update_node", "--since", "now"], {**env, "TERM": "dumb"}
    )
    assert code == 0
    assert "\x1b" not in tty


# Machine output -------------------------------------------------------------------------------


def test_ndjson_stream_on_stdout(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(end_state="reverted"), when_polled=True)
    result = run_cli(["update_node", "--output", "ndjson"], sim_env(live_sim))
    assert result.code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    events = [r["event"] for r in records]
    assert events[0] == "started" and events[1] == "picked" and events[-1] == "finished"
    assert "progress" in events
    last = records[-1]
    assert last["outcome"] == "failure" and last["exit_code"] == 1
    assert last["message"] and last["message"] in result.stderr

    live_sim.add_flow("shop", _quick(end_state="reverted"), when_polled=True)
    doc = json.loads(run_cli(["update_node", "--json", "--since", "now"], sim_env(live_sim)).stdout)
    assert set(doc) == set(last)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--output", "yaml", "x"],
            "--output (or $HN_WAIT_OUTPUT): 'yaml' is not one of text, json, ndjson",
        ),
        (["--json", "--output", "ndjson", "x"], "--json is short for --output json"),
        (
            ["--ci", "jenkins", "x"],
            "--ci (or $HN_WAIT_CI): 'jenkins' is not one of auto, github, gitlab, none",
        ),
        (["--list", "--dry-run"], "--list and --dry-run do not go together"),
    ],
)
def test_bad_view_options_exit_2(args: list[str], message: str) -> None:
    result = run_cli(args, {"HYPERNODE_API_TOKEN": TOKEN, "HYPERNODE_APP_NAME": "shop"})
    assert result.code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --dry-run ------------------------------------------------------------------------------------


def test_dry_run_shows_the_pick_without_waiting(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(seconds=30), when_polled=True)
    started = time.monotonic()
    result = run_cli(["update_node", "--dry-run"], sim_env(live_sim))
    assert time.monotonic() - started < 20
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"'update_node' picks update_node {flow.uuid}: ")
    assert live_sim.flows_requests() == 1


def test_dry_run_exit_codes(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", SimFlow(name="ensure_app", created=time.time() - 10))
    missing = run_cli(["ensure_copied_app", "--dry-run"], sim_env(live_sim))
    assert missing.code == 3
    assert "'ensure_copied_app' picks nothing now; similar names: ensure_app" in missing.stdout
    assert "hn-wait: dry run: no flow matching 'ensure_copied_app'" in missing.stderr

    failed = live_sim.add_flow(
        "shop", SimFlow(name="update_node", created=time.time() - 5, end_state="reverted")
    )
    result = run_cli(["update_node", "--dry-run", "--json"], sim_env(live_sim))
    assert result.code == 1
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True and doc["outcome"] == "failure"
    assert doc["picks"][0]["flows"][0]["uuid"] == failed.uuid

    refused = run_cli(
        ["update_node", "--dry-run"], {**sim_env(live_sim), "HYPERNODE_API_TOKEN": "wrong"}
    )
    assert refused.code == 4


# GitHub Actions, end to end ----------------------------------------------------------------------


def test_github_actions_run(live_sim: LogbookSimulator, tmp_path: Path) -> None:
    flow = live_sim.add_flow("shop", _quick(end_state="reverted"), when_polled=True)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    env = sim_env(
        live_sim,
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(outputs),
    )
    result = run_cli(["update_node"], env)
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("::group::")
    # After the group, the reason once: as the ::error GitHub shows in the log and on the page.
    assert lines[lines.index("::endgroup::") + 1 :] == [lines[-1]]
    assert lines[-1].startswith("::error title=hn-wait%3A update_node ")
    assert "::hn-wait: update_node " in lines[-1] and " ended reverted" in lines[-1]
    assert not any(line.startswith("hn-wait: ") for line in lines)
    assert flow.uuid in summary.read_text()
    assert f"flow_uuid={flow.uuid}\n" in outputs.read_text()
    for path in (summary, outputs):
        assert live_sim.token not in path.read_text()


def test_github_actions_early_error_is_annotated(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    result = run_cli(
        ["x", "--timeout", "soon"],
        {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), "HYPERNODE_API_TOKEN": TOKEN},
    )
    assert result.code == 2
    assert result.stderr.startswith(
        "::error title=hn-wait%3A could not start waiting::hn-wait: --timeout "
    )
    assert len(result.stderr.splitlines()) == 1  # the annotation is the one error line
    assert "outcome=usage_error\nexit_code=2\n" in outputs.read_text()


# Start-up cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["--timeout", "x", "f"]])
def test_rich_is_not_imported_when_not_drawing(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hn_wait", *args],
        env=clean_env({"HYPERNODE_API_TOKEN": TOKEN, "HYPERNODE_APP_NAME": "shop"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=str(ROOT),
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "rich" not in modules
    assert "requests" not in modules and "tenacity" not in modules


# --debug --------------------------------------------------------------------------------------


def test_debug_logs_each_request_without_the_token(live_sim: LogbookSimulator) -> None:
    from hn_wait.simulator import http_error

    live_sim.add_flow("shop", _quick(), when_polled=True)
    live_sim.inject(http_error(503), times=1, after=1)
    result = run_cli(["update_node", "--debug"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    debug = [line for line in result.stderr.splitlines() if " debug: " in line]
    assert len(debug) == live_sim.flows_requests()
    assert re.search(
        r"debug: GET http://127\.0\.0\.1:\d+/logbook/v1/logbooks/shop/flows/\?limit=50&offset=0 "
        r"-> HTTP 200, \d+ bytes \(\d+ ms\)",
        debug[0],
    )
    assert any("-> HTTP 503" in line for line in debug)
    assert "Authorization" not in result.stderr and "Token" not in result.stderr

    live_sim.add_flow("shop", _quick(), when_polled=True)
    by_env = run_cli(["update_node", "--since", "now"], sim_env(live_sim, HN_WAIT_DEBUG="1"))
    assert by_env.code == 0 and " debug: GET " in by_env.stderr
