from __future__ import annotations

from collections.abc import Iterator

import pytest

from hn_wait.simulator import LogbookSimulator
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[LogbookSimulator]:
    """The simulator on loopback, on the same virtual clock as the waiter."""
    with LogbookSimulator(now=clock.time) as simulator:
        simulator.add_app("shop")
        yield simulator


@pytest.fixture
def live_sim() -> Iterator[LogbookSimulator]:
    """The simulator on the real clock, for end-to-end runs of the real command."""
    with LogbookSimulator() as simulator:
        simulator.add_app("shop")
        yield simulator
