"""Issue 4: the adaptive schedule (properties), the clock-skew alignment of --since, reading no
more than needed, and the benchmark's own smoke run."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hn_wait.events import OutcomeKind
from hn_wait.exit_codes import ExitCode
from hn_wait.schedule import NEAR_FRACTION, adaptive_delay, next_delay
from hn_wait.simulator import LogbookSimulator, SimFlow
from tests.fakes import FakeClock, make_settings, run_wait

intervals = st.tuples(
    st.floats(min_value=0.1, max_value=60.0), st.floats(min_value=0.1, max_value=600.0)
).map(lambda pair: (min(pair), max(pair)))
lefts = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6))
units = st.floats(min_value=0.0, max_value=0.999999)


@settings(max_examples=300, deadline=None)
@given(
    left=lefts,
    polls=st.integers(min_value=0, max_value=10_000),
    bounds=intervals,
    u=units,
    remaining=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    since_change=st.floats(min_value=0.0, max_value=1e6),
)
def test_adaptive_delay_stays_within_the_interval_bounds(
    left: float | None,
    polls: int,
    bounds: tuple[float, float],
    u: float,
    remaining: int | None,
    since_change: float,
) -> None:
    low, high = bounds
    delay = adaptive_delay(
        left, polls, low, high, u, remaining_tasks=remaining, since_change=since_change
    )
    assert low <= delay <= high


@settings(max_examples=300, deadline=None)
@given(
    backoff=st.floats(min_value=0.0, max_value=600.0),
    now=st.floats(min_value=0.0, max_value=1e6),
    deadline_in=st.one_of(st.none(), st.floats(min_value=-100.0, max_value=1e4)),
    retry_in=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e4)),
    checkpoints=st.lists(st.floats(min_value=-1e3, max_value=1e4), max_size=4),
)
def test_next_delay_honours_retry_after_and_never_passes_the_deadline(
    backoff: float,
    now: float,
    deadline_in: float | None,
    retry_in: float | None,
    checkpoints: list[float],
) -> None:
    deadline = None if deadline_in is None else now + deadline_in
    not_before = None if retry_in is None else now + retry_in
    delay = next_delay(
        backoff,
        now=now,
        deadline=deadline,
        checkpoints=[now + c for c in checkpoints],
        not_before=not_before,
    )
    assert delay >= 0
    if deadline is not None:
        assert now + delay <= deadline + 1e-6 or delay == 0
    if not_before is not None and (deadline is None or deadline >= not_before):
        assert now + delay >= not_before - 1e-6  # never sooner than a Retry-After
    if not_before is None and deadline is None:
        assert delay <= backoff + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    near=st.floats(min_value=-1e5, max_value=2.0 / NEAR_FRACTION),
    far=st.floats(min_value=600.0, max_value=1e6),
    u=units,
)
def test_dense_near_the_predicted_end_sparse_far_from_it(near: float, far: float, u: float) -> None:
    near_delay = adaptive_delay(near, 5, 2.0, 30.0, u, remaining_tasks=5, since_change=0.0)
    far_delay = adaptive_delay(far, 5, 2.0, 30.0, u, remaining_tasks=5, since_change=0.0)
    assert near_delay <= 2.0 * 1.1 + 0.02 * max(-near, 0.0) * 1.1
    if near > -10:
        assert near_delay <= 2.5  # within moments of the end: about the minimum
    assert far_delay == 30.0


def test_last_task_is_polled_densely_even_if_the_pace_says_later() -> None:
    # One task left and the average pace says 10 minutes: the end may still come any moment.
    assert adaptive_delay(600.0, 0, 2.0, 30.0, 0.0, remaining_tasks=1, since_change=5.0) < 2.2
    # After ten minutes on that last task, the pause has grown, but stays short.
    assert (
        2.0 < adaptive_delay(600.0, 0, 2.0, 30.0, 0.0, remaining_tasks=1, since_change=600.0) < 15
    )


def test_without_an_estimate_it_backs_off() -> None:
    assert [adaptive_delay(None, n, 2.0, 30.0, 0.0) for n in range(6)] == [2, 4, 8, 16, 30, 30]


# --since on the server's clock -------------------------------------------------------------


@pytest.mark.parametrize("skew_hours", [2.0, -2.0])
def test_since_follows_the_servers_clock(clock: FakeClock, skew_hours: float) -> None:
    skew = skew_hours * 3600
    with LogbookSimulator(now=lambda: clock.time() + skew) as sim:
        sim.add_app("shop")
        server_now = clock.time() + skew
        # An old xgrade, finished 30 minutes ago by the server's clock: never the one to take.
        sim.add_flow(
            "shop", SimFlow(name="xgrade_app", created=server_now - 1800, tasks=[("x", 60)])
        )
        # The new one: created in a second, done in another, before hn-wait sees it running.
        new = sim.add_flow(
            "shop", SimFlow(name="xgrade_app", created=server_now + 1, tasks=[("x", 1)])
        )
        outcome, _, waiter = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS, outcome
    assert [f.uuid for f in outcome.flows] == [new.uuid]
    assert waiter.clock_skew == pytest.approx(skew, abs=1.5)


def test_small_clock_differences_are_not_corrected(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("x", 3)]))
    _, _, waiter = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert waiter.clock_skew == 0.0


# Reading no more than needed ---------------------------------------------------------------


def test_a_small_limit_once_the_flow_is_found(sim: LogbookSimulator, clock: FakeClock) -> None:
    for index in range(30):
        sim.add_flow("shop", SimFlow(name="create_backup", created=clock.time() - 9000 + index))
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("x", 60)]))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.exit_code == ExitCode.SUCCESS
    limits = [int(r.query.get("limit", "50")) for r in sim.requests if r.path.endswith("/flows/")]
    assert limits[0] == 50
    assert set(limits[1:]) == {10}
    assert len(limits) <= 12


# The benchmark runs (not a timed test) ------------------------------------------------------


def test_benchmark_runs_on_a_tiny_timeline_set(tmp_path: Path) -> None:
    from bench.run import main

    output = tmp_path / "RESULTS.md"
    assert main(["--quick", "--timelines", "3", "--output", str(output)]) == 0
    text = output.read_text()
    assert "| hn-wait (adaptive, 2s-30s) |" in text and "| fixed every 3s |" in text
    assert "3 timelines from seed" in text
