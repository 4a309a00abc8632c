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


NEAR_FRACTION = 0.15
"""With an estimate, sleep this fraction of the time left: polls close in on the end."""
DUE_FRACTION = 0.02
"""A flow that may end any moment (its last task running, behind its pace, rolling back) is
polled near the minimum; the pause grows by this fraction of how long it has been so."""
ESTIMATE_JITTER = 0.1


def adaptive_delay(
    left: float | None,
    polls_since_change: int,
    min_interval: float,
    max_interval: float,
    u: float,
    *,
    remaining_tasks: int | None = None,
    since_change: float = 0.0,
) -> float:
    """The pause before the next poll, from what has been observed, within [min, max].

    ``left`` is the projected time until the followed flow ends (negative: behind its pace;
    None: nothing to estimate from, e.g. queued or no task done yet). ``remaining_tasks`` is
    how many tasks are not done; ``since_change`` how long ago the flow last changed.

    - Nothing to estimate from: exponential backoff from the minimum.
    - The end may come any moment (one task left, or behind the pace): near the minimum,
      growing slowly with how long that has lasted, so a long last task costs few polls.
    - Otherwise a fraction of the time left: sparse while the end is far, dense when near.

    ``u`` is uniform in [0, 1) and spreads waiters started together.
    """
    if left is None:
        return backoff_delay(polls_since_change, min_interval, max_interval, u)
    if left <= 0:
        # Behind its pace: due since the projected end (or the last change, if longer ago).
        base = min_interval + DUE_FRACTION * max(-left, since_change, 0.0)
    elif remaining_tasks is not None and remaining_tasks <= 1:
        # The last task is running: due any moment since it began.
        due_for = max(since_change, 0.0) if remaining_tasks == 1 else 0.0
        base = min_interval + DUE_FRACTION * due_for
    else:
        base = left * NEAR_FRACTION
    jittered = base * (1.0 + ESTIMATE_JITTER * min(max(u, 0.0), 1.0))
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
