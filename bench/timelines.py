"""Realistic flow timelines, generated from a fixed seed, shared by every benchmark.

Each timeline is what one waiter sees from the moment it starts (t = 0): the app's logbook
(absent until ``exists_from`` for a Brancher node) and the one flow the change starts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hn_wait.simulator import SimFlow

KINDS = ("update_node", "xgrade_app", "ensure_app")


@dataclass(frozen=True)
class Timeline:
    kind: str
    exists_from: float
    """When the app's logbook starts answering (0: from the start; later: a Brancher node)."""
    flow: SimFlow

    @property
    def ends_at(self) -> float:
        return self.flow.ends_at

    @property
    def selector(self) -> str:
        return self.kind


def _durations(rng: random.Random, count: int, total: float, sigma: float) -> list[float]:
    weights = [rng.lognormvariate(0.0, sigma) for _ in range(count)]
    scale = total / sum(weights)
    return [w * scale for w in weights]


def make_timeline(rng: random.Random, kind: str, t0: float = 0.0) -> Timeline:
    queued = rng.uniform(0.0, 60.0)
    created = t0 + rng.uniform(0.5, 3.0)
    exists_from = t0
    if kind == "update_node":
        total, count = rng.uniform(30.0, 90.0), rng.randint(4, 8)
        seconds = _durations(rng, count, total, 0.6)
    elif kind == "xgrade_app":
        total, count = rng.uniform(300.0, 1500.0), rng.randint(20, 35)
        # Heavy-tailed task times, and one long task (the volume move) of 15-35% of it all.
        long_share = rng.uniform(0.15, 0.35)
        seconds = _durations(rng, count - 1, total * (1 - long_share), 1.2)
        seconds.insert(rng.randrange(count), total * long_share)
    else:
        absent = rng.uniform(30.0, 120.0)
        exists_from = t0 + absent
        created = exists_from
        total, count = rng.uniform(180.0, 900.0), rng.randint(8, 20)
        seconds = _durations(rng, count, total, 0.8)
    tasks = [(f"{kind}_task_{i + 1}", max(s, 0.2)) for i, s in enumerate(seconds)]
    reverted = rng.random() < 0.15
    flow = SimFlow(
        name=kind,
        created=created,
        queued=queued,
        tasks=tasks,
        end_state="reverted" if reverted else "success",
        fail_after=rng.randrange(len(tasks)) if reverted else None,
        revert_seconds=rng.uniform(10.0, 60.0) if reverted else 0.0,
    )
    return Timeline(kind=kind, exists_from=exists_from, flow=flow)


def make_timelines(count: int = 60, seed: int = 20261203, t0: float = 0.0) -> list[Timeline]:
    rng = random.Random(seed)
    return [make_timeline(rng, KINDS[i % len(KINDS)], t0) for i in range(count)]
