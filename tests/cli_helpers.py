"""Running the real command, as a user would, against a simulator on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hn_wait.simulator import LogbookSimulator

ROOT = Path(__file__).resolve().parent.parent
FAST = {"HN_WAIT_MIN_INTERVAL": "100ms", "HN_WAIT_MAX_INTERVAL": "400ms"}


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any hn-wait, Hypernode or CI variables of the machine.

    A ``PYTHONPATH`` in ``extra`` comes before the project's own, which is always there.
    """
    prefixes = ("HYPERNODE_", "HN_WAIT_", "GITHUB_", "GITLAB_", "CI")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [(extra or {}).get("PYTHONPATH"), str(ROOT)]))
    return env


def sim_env(sim: LogbookSimulator, app: str = "shop", **extra: str) -> dict[str, str]:
    env = {
        "HYPERNODE_API_URL": sim.url,
        "HYPERNODE_API_TOKEN": sim.token,
        "HYPERNODE_APP_NAME": app,
        **FAST,
    }
    env.update(extra)
    return env


def check_output(result: Result, secrets: Sequence[str]) -> None:
    """What must hold for every run: no traceback, and no secret anywhere."""
    for secret in secrets:
        assert secret not in result.stdout, "token on stdout"
        assert secret not in result.stderr, "token on stderr"
    assert "Traceback" not in result.stderr, result.stderr


def start_cli(
    args: Sequence[str], env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.Popen[Any]:
    """Start ``python -m hn_wait ARGS`` with a clean environment, without waiting for it.

    stdout and stderr are text pipes unless ``popen`` says otherwise.
    """
    options: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    options.update(popen)
    return subprocess.Popen(
        [sys.executable, "-m", "hn_wait", *args],
        env=clean_env(env),
        stdin=subprocess.DEVNULL,
        cwd=str(ROOT),
        **options,
    )


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    secrets: Sequence[str] = (),
    timeout: float = 60,
    check: bool = True,
    prefix: Sequence[str] = (),
) -> Result:
    """Run ``python -m hn_wait ARGS`` with a clean environment; check the invariants
    (``check=False``: the caller checks them). ``prefix`` goes before the interpreter, e.g.
    ``without_file_override()``."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "hn_wait", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
        cwd=str(ROOT),
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    if not check:
        return result
    check_output(
        result,
        [
            *secrets,
            *([env["HYPERNODE_API_TOKEN"]] if env and env.get("HYPERNODE_API_TOKEN") else []),
        ],
    )
    return result


def without_file_override() -> list[str]:
    """A command prefix under which file permissions hold, as for an ordinary user.

    Root reads and writes any file whatever its mode, so a test of an unreadable or read-only
    file would prove nothing. As root, the command runs without the two capabilities that
    override file modes (setpriv, from util-linux); as anyone else, the modes hold already.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("setpriv (util-linux) is needed to test file permissions as root")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
