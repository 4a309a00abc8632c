"""End to end: the real command, as a subprocess, against the simulator over HTTP.

Each exit code of the documented table is reached here at least once. Every run is also
checked for the invariants: no traceback, and the token on neither stdout nor stderr.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hn_wait.simulator import Fault, LogbookSimulator, SimFlow, http_error
from tests.cli_helpers import (
    ROOT,
    Result,
    check_output,
    clean_env,
    run_cli,
    sim_env,
    start_cli,
)

TRACKER = "0dd83d83-6b9b-4fb5-9665-79fcf8235069"


def _quick(
    name: str = "update_node",
    *,
    start: float = 0.0,
    end_state: str = "success",
    tracker: str | None = None,
    seconds: float = 0.4,
) -> SimFlow:
    return SimFlow(
        name=name,
        created=time.time() + start,
        tasks=[("first_task", seconds), ("second_task", seconds)],
        end_state=end_state,
        fail_after=1,
        tracker_uuid=tracker,
    )


# Exit 0 ---------------------------------------------------------------------------------


def test_success_by_name_exits_0(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(), when_polled=True)
    result = run_cli(["update_node"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"update_node {flow.uuid[:8]} success in ")
    assert len(result.stdout.splitlines()) == 1
    assert f"following update_node {flow.uuid}" in result.stderr
    assert "first_task" in result.stderr or "second_task" in result.stderr


def test_success_by_flow_uuid(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(), when_polled=True)
    live_sim.add_flow("shop", _quick(seconds=30), when_polled=True)
    result = run_cli([flow.uuid], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert f"{flow.uuid[:8]} success" in result.stdout


def test_success_by_tracker_uuid(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(tracker=TRACKER), when_polled=True)
    result = run_cli([TRACKER], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert f"{flow.uuid[:8]} success" in result.stdout
    assert "picked by tracker" in result.stderr


def test_success_by_job_url(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(tracker=TRACKER, start=0.5))
    result = run_cli([f"https://api.hypernode.com/logbook/v1/jobs/{TRACKER}/"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert f"{flow.uuid[:8]} success" in result.stdout


def test_success_by_glob_and_by_alternatives(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick("xgrade_app_flow"), when_polled=True)
    assert run_cli(["xgrade_app*"], sim_env(live_sim)).code == 0
    result = run_cli(["ensure_app,xgrade_app_flow"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert flow.uuid[:8] in result.stdout


def test_flow_that_appears_late(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(start=1.5))
    result = run_cli(["update_node"], sim_env(live_sim))
    assert result.code == 0, result.stderr


def test_brancher_logbook_that_is_404_first(live_sim: LogbookSimulator) -> None:
    live_sim.add_app("shop-eph12ab", exists_from=time.time() + 1.0)
    live_sim.add_flow("shop-eph12ab", _quick("ensure_copied_app", start=1.0))
    result = run_cli(["ensure_app,ensure_copied_app", "--app", "shop-eph12ab"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert result.stderr.count("does not exist yet (404)") == 1


def test_old_finished_flow_is_not_taken_for_the_new_one(live_sim: LogbookSimulator) -> None:
    old = SimFlow(name="xgrade_app", created=time.time() - 3600, tasks=[("t", 60.0)])
    live_sim.add_flow("shop", old)
    new = live_sim.add_flow("shop", _quick("xgrade_app", start=1.0))
    result = run_cli(["xgrade_app"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert new.uuid[:8] in result.stdout and old.uuid[:8] not in result.stdout
    result = run_cli(["xgrade_app", "--since", "all"], sim_env(live_sim))
    assert result.code == 0
    assert new.uuid[:8] in result.stdout  # the newest of all


def test_flow_beyond_the_first_page(live_sim: LogbookSimulator) -> None:
    target = live_sim.add_flow(
        "shop", SimFlow(name="update_node", created=time.time() - 500, tasks=[("long", 600.0)])
    )
    for i in range(60):
        live_sim.add_flow(
            "shop", SimFlow(name="create_backup", created=time.time() - 400 + i, tasks=[("b", 1.0)])
        )
    result = run_cli([target.uuid, "--timeout", "1s"], sim_env(live_sim))
    assert result.code == 124  # found on page 2 and followed until the timeout
    assert f"following update_node {target.uuid}" in result.stderr


def test_idle_wait_without_failure(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    live_sim.add_flow("shop", _quick("create_backup"), when_polled=True)
    result = run_cli([], sim_env(live_sim))
    assert result.code == 0, result.stderr
    assert "until nothing in the logbook" in result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_idle_wait_on_an_idle_logbook(live_sim: LogbookSimulator) -> None:
    result = run_cli([], sim_env(live_sim))
    assert result.code == 0
    assert result.stdout.strip() == "the logbook of app shop is idle"


def test_quiet_prints_only_the_result(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    result = run_cli(["update_node", "-q"], sim_env(live_sim))
    assert result.code == 0
    assert result.stderr == ""
    assert "success" in result.stdout


def test_json_document(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick(), when_polled=True)
    result = run_cli(["update_node", "--json"], sim_env(live_sim))
    assert result.code == 0
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "success" and doc["exit_code"] == 0
    assert doc["app"] == "shop"
    assert doc["message"] == ""
    assert [f["uuid"] for f in doc["flows"]] == [flow.uuid]
    assert doc["flows"][0]["state"] == "success"
    assert doc["flows"][0]["progress"] == {"total": 2, "completed": 2, "running": []}
    assert doc["requests"] >= 2
    assert doc["elapsed_seconds"] > 0


def test_faults_in_the_middle_of_a_wait_are_ridden_out(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(seconds=1.0), when_polled=True)
    for i, fault in enumerate(
        [
            http_error(502),
            http_error(429, retry_after="1"),
            Fault("drop"),
            Fault("body", body='{"count": 1, "results": [{"uuid"'),
            http_error(503),
            Fault("hang", delay=5),
            Fault("slow", delay=0.3),
        ]
    ):
        live_sim.inject(fault, after=1 + i)
    result = run_cli(["update_node", "--request-timeout", "1s"], sim_env(live_sim))
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert any("HTTP 502" in line for line in warnings)
    assert any("HTTP 429" in line for line in warnings)
    assert any("no answer within" in line for line in warnings)
    assert any("not JSON" in line for line in warnings)


def test_legacy_api_path(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    result = run_cli(["update_node"], sim_env(live_sim, HYPERNODE_API_URL=live_sim.url + "/api"))
    assert result.code == 0
    assert live_sim.requests[-1].path.startswith("/api/logbook/")


def test_list_prints_the_logbook_like_hypernode_log(live_sim: LogbookSimulator) -> None:
    done = live_sim.add_flow(
        "shop", SimFlow(name="create_backup", created=time.time() - 100, tasks=[("b", 10.0)])
    )
    live_sim.add_flow(
        "shop", SimFlow(name="update_node", created=time.time() - 5, tasks=[("update_dns", 100.0)])
    )
    result = run_cli(["--list"], sim_env(live_sim))
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ACTION", "START", "END", "STATE", "TASKS", "RUNNING"]
    assert lines[1].split()[0] == "update_node" and lines[1].split()[-1] == "update_dns"
    assert lines[2].split()[0] == "create_backup" and lines[2].split()[-1] == "finished"
    assert lines[2].split("\t")[0].rstrip() == "create_backup"
    doc = json.loads(run_cli(["--list", "--json"], sim_env(live_sim)).stdout)
    assert doc["count"] == 2 and doc["flows"][1]["uuid"] == done.uuid
    only = run_cli(["--list", "create_*"], sim_env(live_sim)).stdout.splitlines()
    assert len(only) == 2


# Exit 1 ---------------------------------------------------------------------------------


def test_reverted_flow_exits_1(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow("shop", _quick("xgrade_app", end_state="reverted"), when_polled=True)
    result = run_cli(["xgrade_app"], sim_env(live_sim))
    assert result.code == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"hn-wait: xgrade_app {flow.uuid[:8]} ended reverted")
    assert "last running: second_task" in error
    assert f"xgrade_app {flow.uuid[:8]} reverted" in result.stdout


def test_unknown_state_exits_1_naming_it(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(end_state="exploded"), when_polled=True)
    result = run_cli(["update_node", "--json"], sim_env(live_sim))
    assert result.code == 1
    assert "'exploded'" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["outcome"] == "failure" and doc["exit_code"] == 1
    assert "exploded" in doc["message"]


def test_idle_wait_with_a_failure_exits_1(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    bad = live_sim.add_flow("shop", _quick("create_backup", end_state="reverted"), when_polled=True)
    result = run_cli([], sim_env(live_sim))
    assert result.code == 1
    assert f"create_backup {bad.uuid[:8]} ended reverted" in result.stderr


# Exit 2 ---------------------------------------------------------------------------------


def test_missing_token_exits_2(live_sim: LogbookSimulator) -> None:
    env = sim_env(live_sim)
    del env["HYPERNODE_API_TOKEN"]
    result = run_cli(["update_node"], env)
    assert result.code == 2
    assert result.stderr.startswith("hn-wait: no API token")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_token_file_exits_2(live_sim: LogbookSimulator, tmp_path: Path) -> None:
    result = run_cli(["update_node", "--token-file", str(tmp_path / "nope")], sim_env(live_sim))
    assert result.code == 2
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--timeout", "5x"], "--timeout"),
        (["--min-interval", "-1s"], "--min-interval"),
        (["--since", "yesterday"], "--since"),
        (["--app", "Bad App"], "not a Hypernode app name"),
        (["--api-url", "http://api.hypernode.com"], "plain http"),
        (["--api-url", "not a url"], "not an http"),
        (["bad name"], "FLOW"),
        (["https://example.com/other/"], "not a Logbook job URL"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    live_sim: LogbookSimulator, args: list[str], needle: str
) -> None:
    result = run_cli(["update_node", *args] if args[0].startswith("-") else args, sim_env(live_sim))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hn-wait: ") and needle in lines[0]
    assert result.stdout == ""
    assert live_sim.requests == []  # nothing was sent


def test_usage_error_from_the_parser_exits_2_in_one_line(live_sim: LogbookSimulator) -> None:
    result = run_cli(["--no-such-flag"], sim_env(live_sim))
    assert result.code == 2
    # The wording inside is click's, which differs between the typer releases we admit.
    assert re.fullmatch(
        r"hn-wait: No such option(: --no-such-flag| '--no-such-flag'\.) \(see hn-wait --help\)\n",
        result.stderr,
    ), result.stderr
    result = run_cli(["x", "--timeout", "--json"], sim_env(live_sim))
    assert result.code == 2
    assert result.stderr.startswith("hn-wait: ") and len(result.stderr.splitlines()) == 1
    result = run_cli(["x", "--json", "--timeout"], sim_env(live_sim))
    assert json.loads(result.stdout)["outcome"] == "usage_error"


def test_config_error_with_json_prints_a_document(live_sim: LogbookSimulator) -> None:
    result = run_cli(["update_node", "--json", "--timeout", "soon"], sim_env(live_sim))
    assert result.code == 2
    doc = json.loads(result.stdout)
    assert (
        doc["outcome"] == "usage_error" and doc["exit_code"] == 2 and "--timeout" in doc["message"]
    )


def test_bad_environment_value_names_the_option(live_sim: LogbookSimulator) -> None:
    result = run_cli(["update_node"], sim_env(live_sim, HN_WAIT_TIMEOUT="forever"))
    assert result.code == 2
    assert "--timeout (or $HN_WAIT_TIMEOUT)" in result.stderr


# Exit 3 ---------------------------------------------------------------------------------


def test_not_found_exits_3_with_near_matches_and_a_since_hint(live_sim: LogbookSimulator) -> None:
    old = live_sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=time.time() - 900, tasks=[("t", 60.0)])
    )
    result = run_cli(["xgrade_app", "--appear-timeout", "1s"], sim_env(live_sim))
    assert result.code == 3
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("hn-wait: no flow matching 'xgrade_app' on app shop within 1s")
    assert f"finished before --since 2m: xgrade_app {old.uuid[:8]} success created 15m" in error
    assert "use --since 17m (or --since all)" in error


def test_not_found_with_a_typo_suggests_the_similar_name(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=time.time() - 900, tasks=[("t", 60.0)])
    )
    result = run_cli(["xgrade-app", "--appear-timeout", "500ms"], sim_env(live_sim))
    assert result.code == 3
    assert "similar names: xgrade_app" in result.stderr


def test_logbook_that_stays_404_exits_3(live_sim: LogbookSimulator) -> None:
    result = run_cli(
        ["ensure_app", "--app", "nosuchapp", "--appear-timeout", "1s"], sim_env(live_sim)
    )
    assert result.code == 3
    assert "stayed 404" in result.stderr and "check --app" in result.stderr


# Exit 4 ---------------------------------------------------------------------------------


def test_wrong_token_exits_4_saying_where_it_came_from(live_sim: LogbookSimulator) -> None:
    wrong = "wrong-token-0123456789"
    result = run_cli(["update_node"], sim_env(live_sim, HYPERNODE_API_TOKEN=wrong), secrets=[wrong])
    assert result.code == 4
    assert "refused the token from $HYPERNODE_API_TOKEN (HTTP 401: Invalid token.)" in result.stderr


def test_wrong_token_from_a_file_names_the_file(live_sim: LogbookSimulator, tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("wrong-token-0123456789\n")
    path.chmod(0o600)
    env = sim_env(live_sim)
    del env["HYPERNODE_API_TOKEN"]
    result = run_cli(
        ["update_node", "--token-file", str(path)], env, secrets=["wrong-token-0123456789"]
    )
    assert result.code == 4
    assert f"token file {path}" in result.stderr


def test_forbidden_exits_4(live_sim: LogbookSimulator) -> None:
    live_sim.forbidden_tokens.add(live_sim.token)
    result = run_cli(["update_node"], sim_env(live_sim))
    assert result.code == 4
    assert "403" in result.stderr


# Exit 5 ---------------------------------------------------------------------------------


def test_unexpected_4xx_exits_5(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("status", status=400, body='{"detail": "Unsupported filter."}'))
    result = run_cli(["update_node"], sim_env(live_sim))
    assert result.code == 5
    assert "HTTP 400: Unsupported filter." in result.stderr


def test_redirect_to_another_host_exits_5_without_following(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("redirect", status=302, location="http://127.0.0.2:9/steal/"))
    result = run_cli(["update_node"], sim_env(live_sim))
    assert result.code == 5
    assert "does not send the token to another host" in result.stderr


# Exit 124 -------------------------------------------------------------------------------


def test_timeout_exits_124_with_a_resume_command_that_works(live_sim: LogbookSimulator) -> None:
    flow = live_sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=time.time(), tasks=[("long", 2.5)])
    )
    result = run_cli(["xgrade_app", "--timeout", "1s"], sim_env(live_sim))
    assert result.code == 124
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("hn-wait: timed out after 1s")
    assert "goes on on the Hypernode" in error
    resume = error.split("resume with: ", 1)[1]
    assert resume == f"hn-wait --app shop {flow.uuid}"
    again = run_cli(resume.split()[1:], sim_env(live_sim))
    assert again.code == 0, again.stderr


# Exit 130 / 143 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signals_stop_the_wait(live_sim: LogbookSimulator, sig: int, code: int, name: str) -> None:
    flow = live_sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=time.time(), tasks=[("long", 60.0)])
    )
    proc = start_cli(["xgrade_app", "--json"], sim_env(live_sim))
    deadline = time.time() + 20
    while live_sim.flows_requests() < 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=20)
    check_output(Result(proc.returncode, stdout, stderr), [live_sim.token])
    assert proc.returncode == code
    error = stderr.strip().splitlines()[-1]
    assert error.startswith(f"hn-wait: interrupted by {name}; stopped waiting")
    assert f"resume with: hn-wait --app shop {flow.uuid}" in error
    doc = json.loads(stdout)
    assert doc["outcome"] == "interrupted" and doc["exit_code"] == code


# The installed command and the demo ------------------------------------------------------


def test_installed_console_script_and_module_agree() -> None:
    # The console script sits beside the interpreter that runs the tests (venv or not).
    script = Path(sys.executable).parent / "hn-wait"
    assert script.exists(), "hn-wait is not installed: install the project (see README)"
    installed = subprocess.run(
        [script, "--version"], capture_output=True, text=True, check=False, env=clean_env()
    )
    module = run_cli(["--version"])
    assert installed.returncode == 0 and module.code == 0
    assert installed.stdout == module.stdout
    assert module.stdout.startswith("hn-wait ")


@pytest.mark.realtime
def test_demo_runs_a_real_wait_and_exits_0() -> None:
    result = run_cli(["--demo"], timeout=90)
    assert result.code == 0, result.stderr
    assert "demo: a simulated Logbook API" in result.stderr
    assert "following xgrade_app" in result.stderr
    assert result.stdout.startswith("xgrade_app ") and " success in " in result.stdout


def test_stdout_closed_early_is_not_a_traceback(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", _quick(), when_polled=True)
    env = clean_env(sim_env(live_sim))
    pipeline = subprocess.run(
        [
            "bash",
            "-c",
            f"'{sys.executable}' -m hn_wait update_node --json | head -c 10; echo; echo \"${{PIPESTATUS[0]}}\"",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=str(ROOT),
    )
    check_output(Result(0, pipeline.stdout, pipeline.stderr), [live_sim.token])
    assert pipeline.stdout.startswith("{")
    assert pipeline.stdout.strip().splitlines()[-1] == "0"
    assert "BrokenPipe" not in pipeline.stderr and "Exception ignored" not in pipeline.stderr


def test_simulator_command_prints_what_to_export() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hn_wait.simulator", "--scenario", "xgrade", "--app", "demoshop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=str(ROOT),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports["HYPERNODE_API_URL"].startswith("http://127.0.0.1:")
        assert exports["HYPERNODE_APP_NAME"] == "demoshop"
        assert lines[-1].strip() == "# then: hn-wait xgrade_app"
        result = run_cli(["xgrade_app", "--list"], {**exports})
        assert result.code == 0
        assert "xgrade_app" in result.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0
