"""Where a wait's events and outcome go: the plain log or the live display on stderr, the
CI system's markers and files, and stdout as text, a JSON document or an ndjson stream.

The reporter decides nothing about the wait; it only routes what the waiter reports.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable

from hn_wait import ci
from hn_wait.events import Event, LogbookAbsent, Outcome, OutcomeKind, Retrying, Vanished
from hn_wait.exit_codes import ExitCode
from hn_wait.output import Output
from hn_wait.render import (
    PROG,
    error_json,
    event_json,
    event_line,
    outcome_json,
    result_lines,
    stamp,
)
from hn_wait.term import paint

if TYPE_CHECKING:
    from hn_wait.live import LiveDisplay

_RESULT_STYLE = {OutcomeKind.SUCCESS: "green", OutcomeKind.FAILURE: "red"}


class Reporter:
    """Routes events while waiting, and the outcome at the end."""

    def __init__(
        self,
        output: Output,
        *,
        ci_system: str = ci.NONE,
        env: Mapping[str, str] | None = None,
        colour: bool = False,
        colour_out: bool = False,
        wall: Callable[[], float],
        live: LiveDisplay | None = None,
    ) -> None:
        self.output = output
        self.ci = ci_system
        self.env = env or {}
        self.colour = colour
        """Colour on stderr."""
        self.colour_out = colour_out
        """Colour on stdout (it may be a pipe while stderr is a terminal)."""
        self.wall = wall
        self.live = live
        self._opened = ""
        """The open GitHub group or GitLab section ("" when none)."""

    # While waiting ----------------------------------------------------------------------

    def event(self, event: Event) -> None:
        now = self.wall()
        line = event_line(event)
        if self.output.ndjson:
            self.output.record(event_json(event, now))
        if self.live is not None:
            if isinstance(event, (Retrying, LogbookAbsent, Vanished)) and line is not None:
                self.live.message(f"{stamp(now)} {line}", "yellow")
            self.live.handle(event, line)
            return
        if line is None or self.output.quiet:
            return
        if not self._opened and self._open(line, now):
            return  # the first line is the title of the group: not twice
        if line.startswith("warning:"):
            line = paint(line, "yellow", self.colour)
        self.output.progress(f"{stamp(now)} {line}")

    def _open(self, header: str, now: float) -> bool:
        """Open the CI system's collapsible group, titled ``header``; False outside CI."""
        title = f"{stamp(now)} hn-wait: {header}"
        if self.ci == ci.GITHUB:
            self._opened = "group"
            self.output.progress(ci.group_start(title))
            return True
        if self.ci == ci.GITLAB:
            self._opened = ci.section_name(now)
            self.output.progress(ci.section_start(self._opened, title, now))
            return True
        return False

    def _close(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self._opened == "group":
            self.output.progress(ci.group_end())
        elif self._opened:
            self.output.progress(ci.section_end(self._opened, self.wall()))
        self._opened = ""

    # At the end -------------------------------------------------------------------------

    def finish(
        self,
        outcome: Outcome,
        message: str,
        *,
        document: Mapping[str, object],
        results: bool = True,
    ) -> None:
        """The outcome everywhere it belongs. ``message`` is the stderr line ("" on success);
        ``document`` the JSON one; ``results`` whether to print the text result lines."""
        self._close()
        if self.ci == ci.GITHUB:
            # GitHub shows an ::error in the log as the error line itself (and on the run's
            # page): the plain line as well would say it twice.
            self.output.error(ci.annotation(outcome, message))
            self._append("GITHUB_STEP_SUMMARY", ci.step_summary(outcome, message), "step summary")
            self._append("GITHUB_OUTPUT", ci.format_outputs(ci.step_outputs(outcome)), "outputs")
        elif message:
            self.output.error(paint(message, "bold red", self.colour))
        if self.output.json_mode:
            self.output.document(document)
            return
        if not results:
            return
        style = _RESULT_STYLE.get(outcome.kind, "")
        for line in result_lines(outcome):
            self.output.result(paint(line, style, self.colour_out and bool(style)))

    def finish_wait(self, outcome: Outcome, message: str) -> None:
        plain = message.removeprefix("hn-wait: ")
        self.finish(outcome, message, document=outcome_json(outcome, plain, self.wall()))

    def early_error(self, kind: str, code: int, line: str) -> None:
        """A problem before any wait (usage, configuration): its one ``hn-wait:`` line, and
        what the CI system is to hear of it."""
        self._close()
        if self.ci != ci.GITHUB:
            self.output.error(line)
            return
        self.output.error(ci.error_annotation(line))
        outputs = {"outcome": kind, "exit_code": str(code), "flow_uuid": "", "flow_state": ""}
        self._append("GITHUB_OUTPUT", ci.format_outputs(outputs), "outputs")

    def _append(self, variable: str, text: str, what: str) -> None:
        """Append to a file GitHub names; a file that cannot be written is a warning only."""
        path = self.env.get(variable)
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(self.output.redact(text))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.output.error(
                f"warning: could not write the {what} to ${variable} ({path}): {reason}"
            )


EARLY_KINDS = {
    ExitCode.USAGE: "usage_error",
    ExitCode.NOT_FOUND: OutcomeKind.NOT_FOUND.value,
    ExitCode.AUTH: OutcomeKind.AUTH_ERROR.value,
    ExitCode.API: OutcomeKind.API_ERROR.value,
    ExitCode.INTERNAL: "internal_error",
    ExitCode.SIGINT: OutcomeKind.INTERRUPTED.value,
    ExitCode.SIGTERM: OutcomeKind.INTERRUPTED.value,
}
"""The JSON ``outcome`` of an error raised before or outside a wait."""


def fail(
    output: Output,
    code: ExitCode,
    message: str,
    kind: str | None = None,
    reporter: Reporter | None = None,
) -> ExitCode:
    """An error before or outside a wait: its one ``hn-wait:`` line (through the reporter,
    when there is one, so the CI system hears of it), the JSON document if one is due."""
    kind = kind or EARLY_KINDS.get(code, "error")
    line = f"{PROG}: {message}"
    if reporter is not None:
        reporter.early_error(kind, int(code), line)
    else:
        output.error(line)
    if output.json_mode:
        output.document(error_json(kind, int(code), message, time.time()))
    return code
