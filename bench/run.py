"""Run every benchmark and rewrite bench/RESULTS.md:  .venv/bin/python -m bench.run

Run it with the project's virtual environment (the README's set-up), so the installed
``hn-wait`` next to that Python is the one measured.

Options: --timelines N (default 60), --seed S, --quick (policy only, no real-time parts),
--output PATH (default bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

from bench import e2e, process
from bench.policy import Summary, run_policy
from bench.timelines import make_timelines
from hn_wait import __version__

COMMAND = ".venv/bin/python -m bench.run"
TARGET_SHARE = 1 / 3
TARGET_P95 = 5.0


def _machine() -> str:
    return (
        f"{platform.system()} {platform.release()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def policy_section(results: list[Summary], count: int, seed: int) -> list[str]:
    hn, fixed3 = results[0], next(s for s in results if s.name == "fixed every 3s")
    kinds = "update_node (30-90 s, 4-8 tasks), xgrade_app (5-25 min, 20-35 heavy-tailed tasks and one long one), Brancher ensure_app (404 for 30-120 s, then 3-15 min)"
    lines = [
        "## 1. Policy, in virtual time",
        "",
        f"{count} timelines from seed {seed}: {kinds}; each queued 0-60 s, about 15% ending "
        "`reverted`. hn-wait is the real Waiter with an injected clock; the API is the "
        "simulator's answer logic called in-process. Latency: from the flow's end to the moment "
        "the waiter knows it.",
        "",
        "| poller | requests | latency median | p95 | max | requests per flow-minute |",
        "|---|---|---|---|---|---|",
    ]
    for s in results:
        lines.append(
            f"| {s.name} | {s.requests} | {s.median:.2f} s | {s.latency(0.95):.2f} s | "
            f"{s.latency(1.0):.2f} s | {s.per_flow_minute:.2f} |"
        )
    share = hn.requests / fixed3.requests
    lines += [
        "",
        "Targets against the 3 s poller:",
        "",
        f"- at most 1/3 of its requests: {share:.2f} of them ({hn.requests} vs "
        f"{fixed3.requests}): {_mark(share <= TARGET_SHARE)}",
        f"- median latency no worse: {hn.median:.2f} s vs {fixed3.median:.2f} s: "
        f"{_mark(hn.median <= fixed3.median)}",
        f"- p95 latency at most {TARGET_P95:g} s: {hn.latency(0.95):.2f} s: "
        f"{_mark(hn.latency(0.95) <= TARGET_P95)}",
        f"- every run ended with the flow's own exit code: "
        f"{_mark(all(r.exit_code in (0, 1) for r in hn.runs))}",
        "",
    ]
    return lines


def e2e_section(results: list[e2e.EndToEnd]) -> list[str]:
    def off(measured: float, predicted: float) -> float:
        return abs(measured - predicted) / predicted if predicted else 0.0

    lines = [
        "## 2. End to end, in real time",
        "",
        f"The installed `hn-wait update_node --json` follows a 60 s flow (4 s queued, 8 uneven "
        f"tasks) in the simulator over HTTP on loopback, {len(results)} times, each with its own "
        "`HN_WAIT_JITTER_SEED`. Prediction: the policy benchmark's virtual run of the same "
        "timeline with the same seed, its first poll where the real first request fell, and "
        "each exchange costing what one took on this machine (measured apart). Latency: from "
        "the flow's end to the `time` of hn-wait's `finished` document.",
        "",
        "| run | requests | predicted | latency | predicted |",
        "|---|---|---|---|---|",
    ]
    for index, r in enumerate(results, 1):
        lines.append(
            f"| {index} | {r.requests} | {r.predicted_requests} | {r.latency:.2f} s | "
            f"{r.predicted_latency:.2f} s |"
        )
    n = len(results)
    requests = sum(r.requests for r in results) / n
    predicted_requests = sum(r.predicted_requests for r in results) / n
    latency = sum(r.latency for r in results) / n
    predicted_latency = sum(r.predicted_latency for r in results) / n
    lines += [
        f"| mean | {requests:.1f} | {predicted_requests:.1f} | {latency:.2f} s | "
        f"{predicted_latency:.2f} s |",
        "",
        f"- mean requests within 20% of the prediction: {off(requests, predicted_requests):.0%} "
        f"off: {_mark(off(requests, predicted_requests) <= 0.2)}",
        f"- mean latency within 20% of the prediction: {off(latency, predicted_latency):.0%} "
        f"off: {_mark(off(latency, predicted_latency) <= 0.2)}",
        f"- exit codes: {', '.join(str(r.exit_code) for r in results)}; one exchange took "
        f"{results[0].exchange * 1000:.1f} ms",
        "",
    ]
    return lines


def process_section(startup: dict[str, float], result: e2e.EndToEnd) -> list[str]:
    typer_time = startup["python -c 'import typer'"]
    lines = [
        "## 3. Costs of the process",
        "",
        "Start-up: median of 21 interleaved runs of each command. The rest: the first run of "
        "part 2 (60 s of waiting), from `wait4()`'s resource usage of that process.",
        "",
        "| command | median wall time | ratio to `import typer` |",
        "|---|---|---|",
    ]
    for name, seconds in startup.items():
        lines.append(f"| `{name}` | {seconds * 1000:.0f} ms | {seconds / typer_time:.2f} |")
    version_ratio = startup["hn-wait --version"] / typer_time
    cpu_share = result.cpu / result.wall
    lines += [
        "",
        f"- `hn-wait --version` at most 1.3 x `import typer`: {version_ratio:.2f} x: "
        f"{_mark(version_ratio <= 1.3)}",
        f"- first request within 0.35 s of start: {result.first_request:.3f} s: "
        f"{_mark(result.first_request <= 0.35)}",
        f"- peak RSS at most 40 MB over the 60 s wait: {result.max_rss_mb:.1f} MB: "
        f"{_mark(result.max_rss_mb <= 40)}",
        f"- CPU at most 1% of wall time while waiting: {result.cpu:.2f} s CPU over "
        f"{result.wall:.1f} s = {cpu_share:.2%}: {_mark(cpu_share <= 0.01)}",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--timelines", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--quick", action="store_true", help="policy only, no real time")
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    args = parser.parse_args(argv)

    started = time.time()
    timelines = make_timelines(args.timelines, seed=args.seed)
    results = run_policy(timelines)
    policy_seconds = time.time() - started
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{COMMAND}` on {dt.date.today().isoformat()}, hn-wait {__version__}, "
        f"on {_machine()}. Rerun that command to rewrite this file.",
        "",
    ]
    lines += policy_section(results, args.timelines, args.seed)
    lines.append(f"The policy benchmark took {policy_seconds:.1f} s of real time.")
    lines.append("")
    if not args.quick:
        print("end to end: following a 60 s flow in real time, 3 times ...", file=sys.stderr)
        real = e2e.runs()
        lines += e2e_section(real)
        print("start-up: timing --version and --help ...", file=sys.stderr)
        lines += process_section(process.startup(), real[0])
    text = "\n".join(lines)
    Path(args.output).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
