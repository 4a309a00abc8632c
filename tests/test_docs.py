"""The README says what the code does: its commands, help block and tables are checked."""

from __future__ import annotations

import re

import typer

from hn_wait.cli import app
from hn_wait.exit_codes import ExitCode
from tests.cli_helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def _table(heading: str) -> list[list[str]]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _setup_commands() -> list[str]:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    assert commands[0].endswith("hn-wait --demo")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert _setup_commands()[1] in script.splitlines()


def test_help_block_matches_the_command() -> None:
    block = README.split("<!-- help:start -->\n```text\n", 1)[1].split(
        "\n```\n<!-- help:end -->", 1
    )[0]
    result = run_cli(["--help"], {"COLUMNS": "100"})
    assert result.code == 0
    assert result.stdout.rstrip("\n") == block


def test_exit_code_table_matches_the_code() -> None:
    rows = _table("Exit codes")
    assert [int(row[0]) for row in rows] == sorted(int(code) for code in ExitCode)


def _options() -> dict[str, str | None]:
    """Every option of the command and its environment variable."""
    command = typer.main.get_command(app)
    found: dict[str, str | None] = {}
    for param in command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                envvar = getattr(param, "envvar", None)
                found[opt] = envvar if isinstance(envvar, str) else None
    return found


def test_environment_table_matches_the_options() -> None:
    rows = _table("Environment variables")
    documented = {row[0].strip("`"): row[1].strip("`") for row in rows}
    options = _options()
    from_code = {env: opt for opt, env in options.items() if env}
    assert {k: v for k, v in documented.items() if v} == from_code
    assert documented["HYPERNODE_API_TOKEN"] == ""


def test_every_option_is_in_the_help_block_and_no_token_flag_exists() -> None:
    options = _options()
    assert "--token" not in options
    for option in options:
        assert option in README


def test_every_state_in_the_readme_is_classified_as_documented() -> None:
    from hn_wait.flows import Phase, classify_state

    rows = {row[0]: row[1] for row in _table("Selectors") if row}  # the States table sits there
    expected = {
        "queued": (Phase.QUEUED,),
        "in progress": (Phase.RUNNING,),
        "success": (Phase.SUCCESS,),
        "failure (exit 1)": (Phase.FAILURE,),
    }
    for cell, meaning in rows.items():
        states = re.findall(r"`([^`]+)`", cell)
        for state in states:
            phase = classify_state(None if state == "null" else state)
            for label, phases in expected.items():
                if meaning.startswith(label):
                    assert phase in phases, (state, meaning)


def test_readme_json_example_has_the_documented_fields() -> None:
    import json

    block = README.split("```json\n", 1)[1].split("```", 1)[0]
    doc = json.loads(block)
    from hn_wait.render import error_json

    assert set(doc) == set(error_json("x", 0, "", 0.0))
