"""Time as the waiter sees it: injected, so tests run hours of waiting in virtual time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the waiter needs of time: a monotonic clock, the wall clock, and sleep."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock of this machine."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
