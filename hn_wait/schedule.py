"""When to poll next: a pure function of what the waiter has observed, tested on its own."""

from __future__ import annotations

import math
from collections.abc import Iterable

JITTER = 0.25
"""Up to 25% is added to each backoff step, so many waiters started together drift apart."""


def backoff_delay(
    polls_since_change: int, min_interval: float, max_interval: float, u: float
) -> float:
    """Exponential backoff with jitter: ``min * 2**n``, plus up to 25%, within [min, max].

    ``polls_since_change`` is 0 right after a followed flow changed (back to the minimum);
    ``u`` is a uniform random number in [0, 1).
    """
    exponent = min(max(polls_since_change, 0), 64)
    base = min_interval * math.pow(2.0, exponent)
    jittered = base * (1.0 + JITTER * min(max(u, 0.0), 1.0))
    return min(max(jittered, min_interval), max_interval)


def next_delay(
    backoff: float,
    *,
    now: float,
    deadline: float | None,
    checkpoints: Iterable[float] = (),
    not_before: float | None = None,
) -> float:
    """The sleep before the next poll.

    The backoff is cut short to land on the nearest future checkpoint (an appear deadline,
    the end of the API grace period), never polls before ``not_before`` (a Retry-After),
    and never sleeps past ``deadline``.
    """
    delay = backoff
    for point in checkpoints:
        if point > now:
            delay = min(delay, point - now)
    if not_before is not None:
        delay = max(delay, not_before - now)
    if deadline is not None:
        delay = min(delay, deadline - now)
    return max(delay, 0.0)
