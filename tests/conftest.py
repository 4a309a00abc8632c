from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from hn_wait.simulator import LogbookSimulator
from tests.fakes import FakeClock


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts a background job with SIGINT ignored, and a child process inherits an
    # ignored signal (Python then installs no KeyboardInterrupt handler in it). The tests that
    # send SIGINT to the command need it at its default, however the suite was started.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
