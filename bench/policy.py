"""Policy benchmark, in virtual time: the real waiter against fixed-interval pollers.

Every timeline is played through hn-wait's own Waiter with an injected clock; its API client
is the simulator's own answer logic called in-process (no HTTP, no real seconds). Fixed
pollers poll at t = 0, P, 2P, ... and notice the end at their first poll after it.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

from bench.timelines import Timeline
from hn_wait.api import Answer, LogbookMissing
from hn_wait.clock import Clock
from hn_wait.config import Settings
from hn_wait.flows import parse_page, parse_selector
from hn_wait.secret import Secret
from hn_wait.simulator import LogbookSimulator
from hn_wait.waiter import Waiter

WALL0 = 1_800_000_000.0
"""The wall-clock time of a timeline's t = 0. The API's timestamps and Date header have whole
seconds, so where t = 0 falls within a second changes what the waiter sees: a prediction of a
real run starts at that run's own wall time."""


class VirtualClock:
    def __init__(self, wall0: float = WALL0) -> None:
        self.now = 0.0
        self.wall0 = wall0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall0 + self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


class InProcessSource:
    """A simulator's answers, called directly: the same pages, without a socket.

    ``request_cost``: virtual seconds one exchange takes (0 in the policy table, where every
    poller would pay it alike).
    """

    def __init__(
        self, sim: LogbookSimulator, clock: Clock, app: str = "shop", request_cost: float = 0.0
    ) -> None:
        self.sim = sim
        self.clock = clock
        self.app = app
        self.request_cost = request_cost
        self.requests_sent = 0

    def get_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        tracker_uuid: str | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        self.requests_sent += 1
        if self.request_cost:
            self.clock.sleep(self.request_cost)
        query = {"offset": str(offset), "limit": str(limit)}
        if tracker_uuid:
            query["tracker_uuid"] = tracker_uuid
        base = f"http://sim/logbook/v1/logbooks/{self.app}/flows/"
        status, data = self.sim.page(self.app, query, base)
        if status == 404:
            raise LogbookMissing("Not found.")
        # The Date header has whole seconds.
        return Answer(page=parse_page(data, offset), server_time=float(int(self.clock.time())))


def timeline_simulator(timeline: Timeline, clock: Clock, wall0: float = WALL0) -> LogbookSimulator:
    """A simulator (never started: it is called in-process) playing one timeline from ``wall0``."""
    sim = LogbookSimulator(now=clock.time)
    sim.add_app("shop", exists_from=wall0 + timeline.exists_from)
    flow = timeline.flow
    sim.add_flow("shop", type(flow)(**{**flow.__dict__, "created": wall0 + flow.created}))
    return sim


@dataclass
class Run:
    requests: int
    latency: float
    """Seconds from the flow's end to the moment the waiter knew it."""
    flow_seconds: float
    exit_code: int = 0


@dataclass
class Summary:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    def latency(self, q: float) -> float:
        values = sorted(r.latency for r in self.runs)
        if q >= 1.0:
            return values[-1]
        return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]

    @property
    def median(self) -> float:
        return statistics.median(r.latency for r in self.runs)

    @property
    def per_flow_minute(self) -> float:
        return self.requests / (sum(r.flow_seconds for r in self.runs) / 60.0)


def settings_for(
    timeline: Timeline,
    min_interval: float = 2.0,
    max_interval: float = 30.0,
    wall0: float = WALL0,
) -> Settings:
    return Settings(
        app="shop",
        api_url="http://127.0.0.1:9/",
        token=Secret("bench"),
        token_source="bench",
        selectors=(parse_selector(timeline.selector),),
        since=wall0 - 120.0,
        since_text="2m",
        since_relative=True,
        timeout=7200.0,
        appear_timeout=300.0,
        min_interval=min_interval,
        max_interval=max_interval,
        request_timeout=15.0,
    )


def run_hn_wait(
    timeline: Timeline,
    seed: int,
    start: float = 0.0,
    request_cost: float = 0.0,
    wall0: float = WALL0,
) -> Run:
    """hn-wait on one timeline that begins at wall time ``wall0``, its first poll at ``start``
    seconds into the timeline, each exchange taking ``request_cost`` virtual seconds."""
    clock = VirtualClock(wall0)
    clock.now = start
    sim = timeline_simulator(timeline, clock, wall0)
    source = InProcessSource(sim, clock, request_cost=request_cost)
    settings = settings_for(timeline, wall0=wall0)
    waiter = Waiter(settings, source, clock=clock, rng=random.Random(seed))
    outcome = waiter.run()
    return Run(
        requests=source.requests_sent,
        latency=clock.now - timeline.ends_at,
        flow_seconds=timeline.ends_at - start,
        exit_code=int(outcome.exit_code),
    )


def run_fixed(timeline: Timeline, interval: float) -> Run:
    """A poller at t = 0, P, 2P, ...: the first poll at or after the end notices it."""
    end = timeline.ends_at
    last = math.ceil(end / interval)
    return Run(requests=last + 1, latency=last * interval - end, flow_seconds=end)


def run_policy(timelines: list[Timeline], seed: int = 1) -> list[Summary]:
    hn = Summary("hn-wait (adaptive, 2s-30s)")
    for index, timeline in enumerate(timelines):
        hn.runs.append(run_hn_wait(timeline, seed + index))
    results = [hn]
    for interval in (2.0, 3.0, 10.0):
        fixed = Summary(f"fixed every {interval:g}s")
        fixed.runs = [run_fixed(t, interval) for t in timelines]
        results.append(fixed)
    return results
