"""Lint and types are part of the test command: ruff clean, ruff formatted, mypy strict."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli_helpers import ROOT


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "hn_wait", "tests", "bench"],
        ["ruff", "format", "--check", "hn_wait", "tests", "bench"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_static_checks(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=str(ROOT), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
