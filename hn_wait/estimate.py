"""How long a flow has left, from its own pace so far. Pure: the flow and the time in, seconds out.

The Logbook says how many tasks of how many are done and when the flow last changed
(``updated_at``: the end of the last finished task). The pace so far, tasks done per second
since the flow began running, projects the rest.
"""

from __future__ import annotations

from hn_wait.flows import Flow


def projected_left(flow: Flow, now: float, run_started: float | None = None) -> float | None:
    """Seconds until ``flow`` ends at its pace so far; negative when it is behind that pace.

    None when there is nothing to go on: not running, no task done yet, no timestamps.
    ``now`` is on the server's clock (the API's timestamps); ``run_started``, when known, is
    when the flow left the queue (else its creation time, which counts the queue too).
    """
    progress = flow.progress
    if not flow.phase.in_progress or progress is None or flow.updated_at is None:
        return None
    if flow.state is not None and flow.state.strip().lower() == "reverting":
        # Rolling back: it ends when the rollback does, which the tasks do not tell.
        # Treat it as due now, so polling stays close while it winds down.
        return -max(now - flow.updated_at, 0.0)
    if progress.total <= 0 or progress.completed <= 0:
        return None
    start = run_started if run_started is not None else flow.created_at
    if start is None or flow.updated_at < start:
        return None
    remaining = max(progress.total - progress.completed, 0)
    per_task = (flow.updated_at - start) / progress.completed
    return per_task * remaining - max(now - flow.updated_at, 0.0)


def time_left(flow: Flow, now: float, run_started: float | None = None) -> float | None:
    """Like ``projected_left``, but never negative: a flow behind its pace may end any moment."""
    left = projected_left(flow, now, run_started)
    return None if left is None else max(left, 0.0)
