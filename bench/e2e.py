"""End to end, in real time: the installed hn-wait follows a 60 s flow in the simulator over
HTTP, and its requests and detection latency are compared with the policy benchmark's
prediction for the same timeline. The same run measures the process: peak RSS and CPU.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.policy import run_hn_wait
from bench.timelines import Timeline
from hn_wait.simulator import LogbookSimulator, SimFlow


def sixty_second_timeline(seed: int = 60) -> Timeline:
    """update_node: 5 s queued, then 8 tasks of uneven length, 60 s in all."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0.0, 0.6) for _ in range(8)]
    scale = 55.0 / sum(weights)
    tasks = [(f"update_node_task_{i + 1}", w * scale) for i, w in enumerate(weights)]
    flow = SimFlow(name="update_node", created=1.0, queued=4.0, tasks=tasks)
    return Timeline(kind="update_node", exists_from=0.0, flow=flow)


def hn_wait_command() -> list[str]:
    found = shutil.which(
        "hn-wait",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    return [found] if found else [sys.executable, "-m", "hn_wait"]


SEED = 4242
"""The poll jitter's seed, shared by the real run and its prediction ($HN_WAIT_JITTER_SEED)."""


def process_env() -> dict[str, str]:
    """The environment of a measured command: this one, with the bytecode cache allowed (a
    sandbox's PYTHONDONTWRITEBYTECODE would make every start compile hn-wait anew, which no
    installed copy does: pip compiles it at install time)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up() -> None:
    """One run first, so the file cache and the bytecode cache are what they are for a user."""
    subprocess.run(
        [*hn_wait_command(), "--help"],
        env=process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


@dataclass
class EndToEnd:
    requests: int
    latency: float
    predicted_requests: int
    predicted_latency: float
    first_request: float
    wall: float
    cpu: float
    max_rss_mb: float
    exit_code: int
    exchange: float


def exchange_seconds(sim: LogbookSimulator, app: str, count: int = 30) -> float:
    """The mean time of one poll's request and answer on this machine, measured apart from
    the run it serves to predict: the real client against the simulator, in-process."""
    from hn_wait.api import LogbookClient
    from hn_wait.secret import Secret

    client = LogbookClient(sim.url, app, Secret(sim.token))
    try:
        client.get_page(limit=10)  # connect once, as the real waiter's first poll does
        started = time.perf_counter()
        for _ in range(count):
            client.get_page(limit=10)
        return (time.perf_counter() - started) / count
    finally:
        client.close()


def run(timeline: Timeline | None = None, seed: int = SEED) -> EndToEnd:
    """Follow the timeline's flow with the installed command, then predict the same run.

    The prediction is the policy benchmark's virtual run of the same timeline, with the same
    jitter seed, its first poll where the real first request fell and its clock on the real
    run's wall time (the API's timestamps have whole seconds, so the fraction matters).
    """
    timeline = timeline or sixty_second_timeline()
    with LogbookSimulator() as sim:
        sim.add_app("calibration")
        sim.add_flow("calibration", SimFlow(name="update_node", created=time.time() - 60))
        exchange = exchange_seconds(sim, "calibration")
        sim.requests.clear()
        start = time.time()
        sim.add_app("shop")
        flow = timeline.flow
        live = SimFlow(**{**flow.__dict__, "created": start + flow.created})
        sim.add_flow("shop", live)
        prefixes = ("HYPERNODE_", "HN_WAIT_", "GITHUB_", "GITLAB_")
        env = {k: v for k, v in process_env().items() if not k.startswith(prefixes)}
        env.update(
            HYPERNODE_API_URL=sim.url,
            HYPERNODE_API_TOKEN=sim.token,
            HYPERNODE_APP_NAME="shop",
            HN_WAIT_JITTER_SEED=str(seed),
        )
        launched = time.time()
        proc = subprocess.Popen(
            [*hn_wait_command(), "update_node", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
        document = json.loads(stdout)
        first = min(r.at for r in sim.requests if r.path.endswith("/flows/"))
    known = dt.datetime.fromisoformat(document["time"].replace("Z", "+00:00")).timestamp()
    predicted = run_hn_wait(timeline, seed, start=first - start, request_cost=exchange, wall0=start)
    return EndToEnd(
        requests=int(document["requests"]),
        latency=known - live.ends_at,
        predicted_requests=predicted.requests,
        predicted_latency=predicted.latency,
        first_request=first - launched,
        wall=ended - launched,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024.0,
        exit_code=os.waitstatus_to_exitcode(status),
        exchange=exchange,
    )


def runs(count: int = 3, timeline: Timeline | None = None) -> list[EndToEnd]:
    """``count`` real runs one after the other, each with its own jitter seed."""
    warm_up()
    return [run(timeline, SEED + index) for index in range(count)]
