"""Test doubles of the project's own interfaces (no patching of requests)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from hn_wait.config import Settings
from hn_wait.events import Event, Outcome
from hn_wait.flows import parse_selector
from hn_wait.secret import Secret
from hn_wait.simulator import LogbookSimulator
from hn_wait.waiter import Waiter

START_WALL = 1_800_000_000.0  # 2027-01-15: far from any real clock, so nothing leans on it


class FakeClock:
    """Virtual time: sleep advances the clock at once and is recorded."""

    def __init__(self, wall: float = START_WALL) -> None:
        self.now = 0.0
        self.wall0 = wall
        self.sleeps: list[float] = []
        self.timeline: list[object] = []
        """Events and sleeps in the order they happened (sleeps as floats)."""

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall0 + self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.timeline.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_settings(
    sim: LogbookSimulator,
    clock: FakeClock,
    flows: Sequence[str] = (),
    *,
    app: str = "shop",
    since: float | None = 120.0,
    **overrides: Any,
) -> Settings:
    """Settings as the CLI would resolve them, pointing at the simulator."""
    values: dict[str, Any] = {
        "app": app,
        "api_url": sim.url,
        "token": Secret(sim.token),
        "token_source": "$HYPERNODE_API_TOKEN",
        "selectors": tuple(parse_selector(text) for text in flows),
        "since": None if since is None else clock.time() - since,
        "since_text": "all" if since is None else f"{since:g}s",
        "since_relative": since is not None,
        "timeout": 3600.0,
        "appear_timeout": 300.0,
        "min_interval": 2.0,
        "max_interval": 30.0,
        "request_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def run_wait(
    settings: Settings, clock: FakeClock, seed: int = 7
) -> tuple[Outcome, list[Event], Waiter]:
    """Run the real waiter with the real API client, in virtual time."""
    from hn_wait.api import LogbookClient

    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        clock.timeline.append(event)

    client = LogbookClient(settings.api_url, settings.app, settings.token)
    waiter = Waiter(settings, client, clock=clock, on_event=on_event, rng=random.Random(seed))
    try:
        outcome = waiter.run()
    finally:
        client.close()
    return outcome, events, waiter
