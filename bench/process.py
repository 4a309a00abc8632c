"""What the process costs: start-up of --version and --help next to ``import typer``."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench.e2e import hn_wait_command, process_env


def _wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        args,
        env=process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started


def startup(runs: int = 21) -> dict[str, float]:
    """Median wall seconds of each command, interleaved so they share the machine's state."""
    commands = {
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "hn-wait --version": [*hn_wait_command(), "--version"],
        "hn-wait --help": [*hn_wait_command(), "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for args in commands.values():
        _wall(args)  # warm the file cache
    for _ in range(runs):
        for name, args in commands.items():
            times[name].append(_wall(args))
    return {name: statistics.median(values) for name, values in times.items()}
