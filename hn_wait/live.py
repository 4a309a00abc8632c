"""The live display for a person at a terminal: one block per followed flow, redrawn in place.

Imported only when stderr is a terminal and the display is wanted: rich costs start-up
time that a CI job should not pay. ``LiveView`` is the pure part (state in, renderable
out) and is tested by rendering it to a fixed-width recording console.
"""

from __future__ import annotations

from typing import IO, Callable

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
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
MIN_BAR_WIDTH = 6


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

    def _cells(self, flow: Flow, now: float) -> list[Text]:
        """The row's text cells: mark, name, uuid, state, count, elapsed, estimate."""
        phase = flow.phase
        style = _PHASE_STYLE[phase]
        progress = flow.progress
        count = ""
        if progress is not None and progress.total > 0:
            count = f"{progress.completed}/{progress.total}"
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
            Text(count),
            Text(elapsed),
            Text(eta, style="cyan"),
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = self._now()
        header = self._text(self.header, "dim")
        header.no_wrap, header.overflow = True, "ellipsis"
        yield header
        rows = {uuid: self._cells(flow, now) for uuid, flow in self.flows.items()}
        # Every flow gets a grid with the same column widths, so the running tasks can sit on
        # their own line under it without widening a column. On a narrow terminal the bar
        # shrinks first, then the estimate goes: the rest of the row stays readable.
        widths = [max((cells[i].cell_len for cells in rows.values()), default=0) for i in range(7)]
        fixed = sum(widths[:6]) + 6
        eta = widths[6] + 1 if widths[6] else 0
        room = options.max_width - fixed
        bar_width = min(BAR_WIDTH, room - eta - 1)
        if bar_width < MIN_BAR_WIDTH:
            eta = 0
            bar_width = min(BAR_WIDTH, room - 1)
        if bar_width < MIN_BAR_WIDTH:
            bar_width = 0
        for uuid, flow in self.flows.items():
            cells: list[RenderableType] = list(rows[uuid][:4])
            progress = flow.progress
            if bar_width:
                if progress is not None and progress.total > 0:
                    done = min(progress.completed, progress.total)
                    cells.append(ProgressBar(total=progress.total, completed=done, width=bar_width))
                else:
                    cells.append(Text(" " * bar_width))
            cells += rows[uuid][4:6] + (rows[uuid][6:] if eta else [])
            row = Table.grid(padding=(0, 1, 0, 0))
            for width in widths[:4]:
                row.add_column(no_wrap=True, min_width=width or None)
            if bar_width:
                row.add_column(no_wrap=True, width=bar_width)
            for width in widths[4:6] + (widths[6:] if eta else []):
                row.add_column(no_wrap=True, min_width=width or None)
            row.add_row(*cells)
            yield row
            if progress is not None and progress.running and flow.phase.in_progress:
                running = self._text("  ↳ " + ", ".join(progress.running), "dim")
                running.no_wrap, running.overflow = True, "ellipsis"
                yield running
        for text in self.waiting:
            yield self._text(f"  no flow matching {text!r} yet", "dim")


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
