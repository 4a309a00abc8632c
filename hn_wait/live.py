"""The live display for a person at a terminal: one block per followed flow, redrawn in place.

Imported only when stderr is a terminal and the display is wanted: rich costs start-up
time that a CI job should not pay. ``LiveView`` is the pure part (state in, renderable
out) and is tested by rendering it to a fixed-width recording console.
"""

from __future__ import annotations

from typing import IO, Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hn_wait.estimate import time_left
from hn_wait.events import Event, Heartbeat, Picked, Progressed, Started
from hn_wait.flows import Flow, Phase
from hn_wait.timefmt import format_duration

_PHASE_STYLE = {
    Phase.QUEUED: "dim",
    Phase.RUNNING: "yellow",
    Phase.SUCCESS: "green",
    Phase.FAILURE: "red",
    Phase.UNKNOWN: "red",
}
_MARK = {
    Phase.QUEUED: "·",
    Phase.RUNNING: "●",
    Phase.SUCCESS: "✔",
    Phase.FAILURE: "✘",
    Phase.UNKNOWN: "?",
}
BAR_WIDTH = 24


class LiveView:
    """What the display shows now: the header, each followed flow, the selectors still open."""

    def __init__(self, now: Callable[[], float], redact: Callable[[str], str] = str) -> None:
        self._now = now
        """The time on the server's clock, to compare with the API's timestamps."""
        self._redact = redact
        self.header = ""
        self.flows: dict[str, Flow] = {}
        self.waiting: list[str] = []

    def set_clock(self, now: Callable[[], float]) -> None:
        """Use this clock from now on (the local clock corrected by the server's skew)."""
        self._now = now

    def update(self, event: Event, line: str | None) -> None:
        if isinstance(event, Started):
            self.header = line or ""
            self.waiting = list(event.selectors)
        elif isinstance(event, Picked):
            self.flows[event.flow.uuid] = event.flow
            if event.selector in self.waiting:
                self.waiting.remove(event.selector)
        elif isinstance(event, Progressed):
            self.flows[event.flow.uuid] = event.flow
        elif isinstance(event, Heartbeat):
            for flow in event.flows:
                self.flows[flow.uuid] = flow
            self.waiting = list(event.waiting_for)

    def _text(self, text: str, style: str = "") -> Text:
        return Text(self._redact(text), style=style)

    def _row(self, flow: Flow, now: float) -> list[RenderableType]:
        phase = flow.phase
        style = _PHASE_STYLE[phase]
        progress = flow.progress
        total = progress.total if progress is not None else 0
        completed = progress.completed if progress is not None else 0
        if total > 0:
            bar: RenderableType = ProgressBar(
                total=total, completed=min(completed, total), width=BAR_WIDTH
            )
            count = f"{completed}/{total}"
        else:
            bar, count = Text(" " * BAR_WIDTH), ""
        if flow.created_at is None:
            elapsed = ""
        elif phase.terminal and flow.updated_at is not None:
            elapsed = format_duration(max(flow.updated_at - flow.created_at, 0.0))
        else:
            elapsed = format_duration(max(now - flow.created_at, 0.0))
        left = time_left(flow, now)
        eta = "" if left is None or left < 1 else f"~{format_duration(left)} left"
        return [
            Text(_MARK[phase], style=style),
            self._text(flow.name, "bold"),
            Text(flow.short_uuid, style="dim"),
            self._text(flow.state_label, style),
            bar,
            Text(count),
            Text(elapsed),
            Text(eta, style="cyan"),
        ]

    def __rich__(self) -> RenderableType:
        now = self._now()
        header = self._text(self.header, "dim")
        header.no_wrap, header.overflow = True, "ellipsis"
        parts: list[RenderableType] = [header]
        name_width = max((len(flow.name) for flow in self.flows.values()), default=0)
        state_width = max((len(flow.state_label) for flow in self.flows.values()), default=0)
        for flow in self.flows.values():
            # One grid per flow, with the same column widths, so the running tasks can sit
            # on their own line under it without widening a column.
            row = Table.grid(padding=(0, 1))
            for index in range(8):
                width = {1: name_width, 3: state_width}.get(index)
                row.add_column(no_wrap=True, min_width=width)
            row.add_row(*self._row(flow, now))
            parts.append(row)
            progress = flow.progress
            if progress is not None and progress.running and flow.phase.in_progress:
                parts.append(self._text("  ↳ " + ", ".join(progress.running), "dim"))
        for text in self.waiting:
            parts.append(self._text(f"  no flow matching {text!r} yet", "dim"))
        return Group(*parts)


class LiveDisplay:
    """The view drawn in place on a terminal, about four times a second."""

    def __init__(
        self,
        stream: IO[str],
        *,
        colour: bool,
        now: Callable[[], float],
        redact: Callable[[str], str] = str,
    ) -> None:
        self.console = Console(
            file=stream,
            force_terminal=True,
            color_system="auto" if colour else None,
            no_color=not colour,
            highlight=False,
            markup=False,
            emoji=False,
        )
        self.view = LiveView(now, redact)
        self._redact = redact
        self._live = Live(
            self.view,
            console=self.console,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._started = False

    def start(self) -> None:
        self._live.start()
        self._started = True

    def handle(self, event: Event, line: str | None) -> None:
        self.view.update(event, line)
        if self._started:
            self._live.refresh()

    def message(self, text: str, style: str = "") -> None:
        """A line printed above the display (warnings), which stays in the scrollback."""
        self.console.print(Text(self._redact(text), style=style))

    def stop(self) -> None:
        """Draw the final state once more and leave it on the screen."""
        if self._started:
            self._started = False
            self._live.refresh()
            self._live.stop()
