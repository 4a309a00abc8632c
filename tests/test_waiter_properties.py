"""The waiter under random answers and faults, in virtual time (hypothesis), and a 4-hour soak.

Properties: it always ends with an exit code from the table; it never sleeps past the
deadline; it never polls sooner than a Retry-After; and it reports success only when the
last answer for every followed flow said ``success``.
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.policy import InProcessSource
from hn_wait.api import Answer, ApiRefused, AuthRefused, LogbookMissing, TransientError
from hn_wait.events import OutcomeKind
from hn_wait.exit_codes import ExitCode
from hn_wait.flows import parse_page, parse_selector
from hn_wait.secret import Secret
from hn_wait.simulator import LogbookSimulator, SimFlow
from hn_wait.waiter import Waiter
from tests.fakes import FakeClock

UUID = "0b616154-212e-4f78-badf-e60695cb5df9"
TIMEOUT = 3600.0

states = st.sampled_from([None, "waiting", "running", "reverting", "success", "reverted", "weird"])
steps = st.one_of(
    st.tuples(
        st.just("page"),
        states,
        st.integers(min_value=-3, max_value=40),
        st.integers(min_value=-3, max_value=40),
    ),
    st.tuples(
        st.just("transient"),
        st.sampled_from(["HTTP 503", "HTTP 429", "connection", "timeout", "bad body"]),
        st.one_of(st.none(), st.floats(min_value=0.0, max_value=400.0)),
    ),
    st.tuples(st.just("missing")),
    st.tuples(st.just("vanished")),
    st.tuples(st.just("auth")),
    st.tuples(st.just("refused")),
)


def _settings(**kw: Any) -> Any:
    from hn_wait.config import Settings

    values: dict[str, Any] = {
        "app": "shop",
        "api_url": "http://127.0.0.1:9/",
        "token": Secret("t"),
        "token_source": "test",
        "selectors": (parse_selector("update_node"),),
        "since": None,
        "since_text": "all",
        "timeout": TIMEOUT,
        "appear_timeout": 300.0,
        "min_interval": 2.0,
        "max_interval": 30.0,
        "request_timeout": 5.0,
    }
    values.update(kw)
    return Settings(**values)


@dataclass
class Scripted:
    """Answers from a script of steps; after it, the last page again and again."""

    clock: FakeClock
    script: list[tuple[Any, ...]]
    requests_sent: int = 0
    times: list[float] = field(default_factory=list)
    not_before: float = 0.0
    early: list[float] = field(default_factory=list)
    last_state: dict[str, str | None] = field(default_factory=dict)
    last_page: dict[str, Any] = field(default_factory=lambda: {"results": []})

    def get_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        tracker_uuid: str | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        now = self.clock.monotonic()
        if now < self.not_before - 1e-9:
            self.early.append(self.not_before - now)
        self.requests_sent += 1
        self.times.append(now)
        step = self.script.pop(0) if self.script else ("again",)
        kind = step[0]
        if kind == "transient":
            retry_after = step[2]
            if retry_after is not None:
                self.not_before = now + retry_after
            raise TransientError(step[1], f"simulated {step[1]}", retry_after)
        if kind == "missing":
            raise LogbookMissing("Not found.")
        if kind == "auth":
            raise AuthRefused("HTTP 401", 401)
        if kind == "refused":
            raise ApiRefused("the API answered HTTP 400", 400)
        if kind == "vanished":
            data: dict[str, Any] = {"results": []}
        elif kind == "page":
            _, state, completed, total = step
            data = {
                "results": [
                    {
                        "uuid": UUID,
                        "name": "update_node",
                        "state": state,
                        "created_at": "2027-01-15T07:59:00Z",
                        "updated_at": "2027-01-15T08:00:00Z",
                        "progress": {"total": total, "completed": completed, "running": []},
                    }
                ]
            }
            self.last_page = data
        else:
            data = self.last_page
        for item in data["results"]:
            self.last_state[item["uuid"]] = item["state"]
        return Answer(page=parse_page(data, offset), server_time=None)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=st.lists(steps, max_size=40), seed=st.integers(min_value=0, max_value=2**16))
def test_waiter_under_random_answers_and_faults(script: list[tuple[Any, ...]], seed: int) -> None:
    clock = FakeClock()
    source = Scripted(clock, list(script))
    waiter = Waiter(_settings(), source, clock=clock, rng=random.Random(seed))
    outcome = waiter.run()

    assert outcome.exit_code in set(ExitCode)
    assert clock.now <= TIMEOUT + 1e-6, "slept past the deadline"
    assert not source.early, f"polled {max(source.early):.2f}s before a Retry-After"
    if outcome.kind is OutcomeKind.SUCCESS:
        assert outcome.flows, "success without a followed flow"
        for flow in outcome.flows:
            assert source.last_state.get(flow.uuid) == "success", (
                "success reported although the last answer said "
                f"{source.last_state.get(flow.uuid)!r}"
            )
    if outcome.exit_code == ExitCode.FLOW_FAILED:
        assert any(source.last_state.get(f.uuid) not in (None, "success") for f in outcome.failed)


# The soak --------------------------------------------------------------------------------


class FlakySource(InProcessSource):
    """The simulator's own answers, in-process, with 10% of requests failing at random."""

    def __init__(self, clock: FakeClock, sim: LogbookSimulator, rng: random.Random) -> None:
        super().__init__(sim, clock)
        self.rng = rng
        self.memory: dict[int, int] = {}

    def get_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        tracker_uuid: str | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        number = self.requests_sent + 1
        if number % 100 == 0:
            # A full collection also empties CPython's free lists (tuples, floats), which
            # tracemalloc would otherwise count as memory still in use.
            gc.collect()
            self.memory[number] = tracemalloc.get_traced_memory()[0]
        roll = self.rng.random()
        if roll < 0.1:
            self.requests_sent = number
        if roll < 0.04:
            raise TransientError("HTTP 503", "the API answered HTTP 503")
        if roll < 0.07:
            raise TransientError("connection", "the connection was reset")
        if roll < 0.085:
            raise TransientError("HTTP 429", "the API answered HTTP 429", 20.0)
        if roll < 0.1:
            raise TransientError("bad body", "the API answered 200 but results is missing")
        return super().get_page(offset=offset, limit=limit, tracker_uuid=tracker_uuid)


class LeanClock(FakeClock):
    """Virtual time that keeps no record of its sleeps (a record would grow with the polls)."""

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_four_hour_soak_with_ten_percent_faults() -> None:
    clock = LeanClock()
    sim = LogbookSimulator(now=clock.time)  # never started: its answers are called directly
    sim.add_app("shop")
    for index in range(40):
        sim.add_flow("shop", SimFlow(name="create_backup", created=clock.time() - 90_000 + index))
    rng = random.Random(4)
    tasks = [(f"step_{i}", rng.uniform(60.0, 240.0)) for i in range(96)]
    scale = 4 * 3600.0 / sum(seconds for _, seconds in tasks)
    flow = sim.add_flow(
        "shop",
        SimFlow(
            name="update_node",
            created=clock.time() + 1,
            tasks=[(name, seconds * scale) for name, seconds in tasks],
        ),
    )
    source = FlakySource(clock, sim, random.Random(10))
    # A dense schedule (2-8 s) makes some two thousand polls in the four hours.
    settings_ = _settings(
        timeout=5 * 3600.0, since=clock.time() - 120, since_text="2m", max_interval=8.0
    )
    tracemalloc.start()
    try:
        waiter = Waiter(settings_, source, clock=clock, rng=random.Random(1))
        outcome = waiter.run()
    finally:
        tracemalloc.stop()
    assert outcome.kind is OutcomeKind.SUCCESS, outcome
    assert [f.uuid for f in outcome.flows] == [flow.uuid]
    # Noticed soon after the end, faults (and a 20 s Retry-After) notwithstanding.
    assert 0 <= clock.now - (flow.ends_at - clock.wall0) < 60
    assert source.requests_sent >= 1500, source.requests_sent
    # Memory does not grow with the number of polls: from poll 500 to the last, 1000 polls
    # more add at most a few kilobytes; a leak of one small object a poll would add 50 KB.
    last = max(source.memory)
    growth = source.memory[last] - source.memory[500]
    assert growth < 8 * 1024, f"traced memory grew by {growth} bytes from poll 500 to {last}"
