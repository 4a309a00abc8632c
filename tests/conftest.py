from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from hypothesis import settings

from hn_wait.simulator import LogbookSimulator
from tests.fakes import FakeClock

# The suite is deterministic: each property test tries the same examples on every run, so a
# red CI is a regression, not bad luck. HYPOTHESIS_PROFILE=explore draws new ones (run it by
# hand to hunt for bugs; a failure prints the seed that reproduces it).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
