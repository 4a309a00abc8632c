"""Lint and types are part of the test command: ruff clean, ruff formatted, mypy strict."""

from __future__ import annotations

import inspect
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


def test_typer_sees_every_option_without_evaluating_annotations() -> None:
    # Python 3.9 is supported. There typer reads inspect.signature(main) as it is, without
    # evaluating string annotations (as ``from __future__ import annotations`` in cli.py would
    # make them): it would see no option at all and take FLOW for an unexpected argument.
    from typer.models import ParameterInfo

    from hn_wait import cli

    for name, param in inspect.signature(cli.main).parameters.items():
        assert not isinstance(param.annotation, str), name
        metadata = getattr(param.annotation, "__metadata__", ())
        assert any(isinstance(item, ParameterInfo) for item in metadata), name
