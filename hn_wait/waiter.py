"""The poll loop: follow selected flows to their end, within every deadline.

The waiter never prints and never exits: it reports Events through a callback and returns
an Outcome. Time comes from an injected Clock, so tests drive hours of waiting in virtual
time. tenacity drives the loop: each attempt is one poll, the wait strategy is the schedule.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Protocol, cast

import tenacity

from hn_wait.api import (
    PAGE_SIZE,
    Answer,
    ApiRefused,
    AuthRefused,
    LogbookMissing,
    TransientError,
    read_pages,
    retry_wait,
)
from hn_wait.clock import Clock
from hn_wait.config import Settings
from hn_wait.estimate import projected_left
from hn_wait.events import (
    Event,
    Heartbeat,
    LogbookAbsent,
    Outcome,
    OutcomeKind,
    Pick,
    Picked,
    Preview,
    Progressed,
    Retrying,
    Started,
    Vanished,
)
from hn_wait.exit_codes import ExitCode
from hn_wait.flows import Flow, Selector, UuidSelector, near_misses
from hn_wait.schedule import adaptive_delay, backoff_delay, next_delay

API_GRACE = 300.0
"""Seconds without a usable answer before the API is given up on (exit 5)."""
HEARTBEAT_EVERY = 60.0
SMALL_LIMIT = 10
LIMIT_MARGIN = 5
"""Once the followed flows are found, a poll asks for just enough flows to include them
(their position plus a margin for new ones), at least SMALL_LIMIT."""
SKEW_NOISE = 2.0
"""Clock differences below this many seconds are not corrected (Date has whole seconds)."""


class PageSource(Protocol):
    """What the waiter needs of the API client."""

    requests_sent: int

    def get_page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        tracker_uuid: str | None = None,
        timeout: float = 15.0,
    ) -> Answer: ...


@dataclass
class _Followed:
    flow: Flow
    last_running: tuple[str, ...] = ()
    missing_since: float | None = None
    run_started: float | None = None
    """When the flow left the queue (server clock), when it was seen doing so."""

    def note_start(self) -> None:
        flow, progress = self.flow, self.flow.progress
        if (
            self.run_started is None
            and flow.phase.in_progress
            and flow.state is not None
            and progress is not None
            and progress.completed == 0
            and flow.updated_at
        ):
            self.run_started = flow.updated_at

    @property
    def done(self) -> bool:
        return self.flow.phase.terminal


@dataclass
class _Selection:
    selector: Selector
    uuids: list[str] = field(default_factory=list)
    tracker: bool = False
    tracker_queried: bool = False

    @property
    def matched(self) -> bool:
        return bool(self.uuids)


class Waiter:
    """Follows the flows that ``settings.selectors`` pick (or the whole logbook) to their end."""

    def __init__(
        self,
        settings: Settings,
        client: PageSource,
        *,
        clock: Clock,
        on_event: Callable[[Event], None] = lambda event: None,
        rng: random.Random | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.settings = settings
        self._client = client
        self._clock = clock
        self._emit = on_event
        self._rng = rng or random.Random()
        self._page_size = page_size
        self._selections = [_Selection(s) for s in settings.selectors]
        self._idle_mode = not self._selections
        self._followed: dict[str, _Followed] = {}
        self._last_seen: dict[str, Flow] = {}
        self._start = 0.0
        self._deadline: float | None = None
        self._appear_deadline: float | None = None
        self._last_usable = 0.0
        self._last_output = 0.0
        self._last_failure: TransientError | None = None
        self._reported_kinds: set[str] = set()
        self._not_before: float | None = None
        self._polls_since_change = 0
        self._deep_scanned = False
        self._positions: dict[str, int] = {}
        self._logbook_missing = False
        self._logbook_seen = False
        self._reported_missing = False
        self.polls = 0
        self.clock_skew = 0.0
        """The server's clock minus this machine's, from the first answer's Date header."""
        self._skew_known = False

    # The loop -------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Wait until the outcome is known or a deadline passes; never raises for API trouble."""
        s = self.settings
        self._start = self._clock.monotonic()
        self._last_usable = self._start
        self._last_output = self._start
        if s.timeout is not None:
            self._deadline = self._start + s.timeout
        if s.appear_timeout is not None:
            self._appear_deadline = self._start + s.appear_timeout
        if self._deadline is not None and (
            self._appear_deadline is None or self._appear_deadline > self._deadline
        ):
            self._appear_deadline = self._deadline
        self._emit(
            Started(
                app=s.app,
                selectors=tuple(sel.selector.text for sel in self._selections),
                since_text=s.since_text,
                timeout=s.timeout,
                appear_timeout=s.appear_timeout,
            )
        )
        retrying = tenacity.Retrying(
            sleep=self._clock.sleep,
            stop=tenacity.stop_never,
            wait=self._wait,
            retry=tenacity.retry_if_result(lambda outcome: outcome is None),
            reraise=True,
        )
        outcome = retrying(self._poll)
        # The retry predicate lets only a decided outcome through.
        assert outcome is not None
        return outcome

    def _wait(self, _state: tenacity.RetryCallState) -> float:
        now = self._clock.monotonic()
        return next_delay(
            self._pause(),
            now=now,
            deadline=self._deadline,
            checkpoints=self._checkpoints(),
            not_before=self._not_before,
        )

    def _pause(self) -> float:
        """The schedule's pause: the shortest any followed flow in progress asks for.

        A flow with a pace to go on asks for a fraction of its projected time left (see
        ``schedule.adaptive_delay``); anything else (a queued flow, a selector still
        unmatched, an idle wait, API trouble) backs off.
        """
        s = self.settings
        u = self._rng.random()
        backoff = backoff_delay(self._polls_since_change, s.min_interval, s.max_interval, u)
        pending = [f for f in self._followed.values() if not f.done]
        if self._last_failure is not None or self._idle_mode or self._unmatched() or not pending:
            return backoff
        server_now = self._clock.time() + self.clock_skew
        return min(self._flow_pause(f.flow, f.run_started, server_now, u) for f in pending)

    def _flow_pause(self, flow: Flow, run_started: float | None, now: float, u: float) -> float:
        s = self.settings
        progress = flow.progress
        remaining = progress.total - progress.completed if progress and progress.total else None
        since_change = now - flow.updated_at if flow.updated_at is not None else 0.0
        return adaptive_delay(
            projected_left(flow, now, run_started),
            self._polls_since_change,
            s.min_interval,
            s.max_interval,
            u,
            remaining_tasks=remaining,
            since_change=max(since_change, 0.0),
        )

    def _limit(self) -> int:
        """How many flows a page asks for: all of a page until the followed flows are found,
        then just enough to include them, with a margin for flows that arrive meanwhile."""
        if not self._deep_scanned or self._idle_mode:
            return self._page_size
        deepest = max(
            (
                self._positions.get(uuid, self._page_size)
                for uuid, f in self._followed.items()
                if not f.done
            ),
            default=0,
        )
        return min(max(deepest + 1 + LIMIT_MARGIN, SMALL_LIMIT), self._page_size)

    def _checkpoints(self) -> Iterable[float]:
        if self._appear_deadline is not None and (self._unmatched() or self._logbook_missing):
            yield self._appear_deadline
        if self._last_failure is not None:
            yield self._last_usable + API_GRACE
        for followed in self._followed.values():
            if followed.missing_since is not None:
                yield followed.missing_since + API_GRACE

    def _poll(self) -> Outcome | None:
        now = self._clock.monotonic()
        if self._deadline is not None and now >= self._deadline:
            return self._deadline_outcome()
        self.polls += 1
        try:
            flows, complete = self._read()
        except TransientError as exc:
            return self._on_transient(exc)
        except LogbookMissing as exc:
            if self._logbook_seen:
                # A logbook that answered before does not vanish: treat 404 as a glitch.
                return self._on_transient(
                    TransientError("HTTP 404", "the logbook answered 404 after it had answered")
                )
            return self._on_logbook_missing(exc)
        except AuthRefused as exc:
            return self._end(OutcomeKind.AUTH_ERROR, ExitCode.AUTH, exc.message)
        except ApiRefused as exc:
            return self._end(OutcomeKind.API_ERROR, ExitCode.API, exc.message)
        self._last_usable = self._clock.monotonic()
        self._last_failure = None
        self._not_before = None
        self._logbook_missing = False
        self._logbook_seen = True
        return self._observe(flows, complete)

    def preview(self, attempts: int = 3) -> Preview:
        """One poll, no waiting: what each selector picks now (``--dry-run``).

        A transient error is retried ``attempts`` times in all (honouring Retry-After up
        to 30 s), then ends the preview with exit 5. Picking emits no events.
        """
        emit, self._emit = self._emit, lambda event: None
        self._start = self._clock.monotonic()
        retrying = tenacity.Retrying(
            sleep=self._clock.sleep,
            stop=tenacity.stop_after_attempt(attempts),
            wait=retry_wait,
            retry=tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        try:
            self.polls += 1
            flows, _complete = retrying(self._read)
        except TransientError as exc:
            return Preview(self._end(OutcomeKind.API_ERROR, ExitCode.API, exc.message), ())
        except LogbookMissing:
            outcome = self._end(
                OutcomeKind.NOT_FOUND,
                ExitCode.NOT_FOUND,
                f"the logbook of app {self.settings.app!r} does not exist (404)",
                unmatched=tuple(sel.selector.text for sel in self._selections),
            )
            return Preview(outcome, ())
        except AuthRefused as exc:
            return Preview(self._end(OutcomeKind.AUTH_ERROR, ExitCode.AUTH, exc.message), ())
        except ApiRefused as exc:
            return Preview(self._end(OutcomeKind.API_ERROR, ExitCode.API, exc.message), ())
        finally:
            self._emit = emit
        self._last_seen = flows
        self._pick(flows)
        picks = []
        for selection in self._selections:
            picked = tuple(self._followed[uuid].flow for uuid in selection.uuids)
            near_kind, near = "", cast("tuple[Flow, ...]", ())
            if not picked:
                near_kind, near_list = near_misses(selection.selector, list(flows.values()))
                near = tuple(near_list)
            picks.append(Pick(selection.selector.text, picked, near_kind, near))
        if self._idle_mode:
            picks.append(Pick("", tuple(f.flow for f in self._followed.values())))
        failed = [f.flow for f in self._followed.values() if f.done and f.flow.phase.failed]
        if failed:
            outcome = self._end(OutcomeKind.FAILURE, ExitCode.FLOW_FAILED, "", failed=failed)
        elif self._unmatched():
            outcome = self._not_found()
        else:
            outcome = self._end(OutcomeKind.SUCCESS, ExitCode.SUCCESS, "")
        return Preview(outcome, tuple(picks))

    # Reading --------------------------------------------------------------------------

    def _request_timeout(self) -> float:
        timeout = self.settings.request_timeout
        if self._deadline is not None:
            # The client may take up to 1.5 x its timeout; it must end before the deadline.
            left = self._deadline - self._clock.monotonic()
            if left <= 0:
                raise TransientError("timeout", "the overall --timeout was reached")
            timeout = min(timeout, left / 1.5)
        return timeout

    def _read(self) -> tuple[dict[str, Flow], bool]:
        """One poll's worth of flows, newest first, and whether the whole logbook was read."""
        flows: dict[str, Flow] = {}
        for selection in self._selections:
            sel = selection.selector
            if (
                isinstance(sel, UuidSelector)
                and not selection.matched
                and not selection.tracker_queried
            ):
                answer = self._client.get_page(
                    limit=self._page_size, tracker_uuid=sel.uuid, timeout=self._request_timeout()
                )
                self._note_server_time(answer)
                # The filter is checked here too: an API that ignored it answers every flow.
                for flow in answer.page.flows:
                    if flow.tracker_uuid == sel.uuid:
                        flows.setdefault(flow.uuid, flow)
                selection.tracker_queried = True

        limit = self._limit()

        def get_page(offset: int) -> Answer:
            answer = self._client.get_page(
                offset=offset, limit=limit, timeout=self._request_timeout()
            )
            self._note_server_time(answer)
            return answer

        pages, complete = read_pages(get_page, more=self._need_more)
        self._positions = {uuid: index for index, uuid in enumerate(pages)}
        for uuid, flow in pages.items():
            flows.setdefault(uuid, flow)
        # One deep read is enough (also when the page cap cut it short): new flows come first.
        self._deep_scanned = True
        return flows, complete

    def _need_more(self, flows: dict[str, Flow]) -> bool:
        """Whether this poll must read the next page too.

        The first poll reads the whole logbook (flows in progress of any age, uuids on any
        page). After it, new flows can only appear on the first page, so further pages are
        read only while a followed flow is not found yet.
        """
        if not self._deep_scanned and (self._idle_mode or self._unmatched()):
            return True
        return any(uuid not in flows for uuid, f in self._followed.items() if not f.done)

    # Observing ------------------------------------------------------------------------

    def _unmatched(self) -> list[_Selection]:
        return [sel for sel in self._selections if not sel.matched]

    def _since(self) -> float | None:
        """``--since`` on the server's clock, which stamps the flows' ``created_at``."""
        since = self.settings.since
        if since is not None and self.settings.since_relative:
            return since + self.clock_skew
        return since

    def _note_server_time(self, answer: Answer) -> None:
        """The first answer's ``Date`` header gives the skew between the two clocks."""
        if self._skew_known or answer.server_time is None:
            return
        self._skew_known = True
        skew = answer.server_time - self._clock.time()
        # Date has whole seconds and the answer took a while: smaller differences are noise.
        self.clock_skew = skew if abs(skew) >= SKEW_NOISE else 0.0

    def _is_candidate(self, flow: Flow) -> bool:
        since = self._since()
        if flow.phase.in_progress or since is None:
            return True
        return flow.created_at is not None and flow.created_at >= since

    def _follow(self, flow: Flow, selector_text: str, how: str) -> None:
        if flow.uuid not in self._followed:
            followed = _Followed(
                flow=flow, last_running=flow.progress.running if flow.progress else ()
            )
            followed.note_start()
            self._followed[flow.uuid] = followed
            self._changed()
            self._emit(Picked(selector=selector_text, flow=flow, how=how))

    def _no_change(self) -> None:
        # The first poll is the starting point, not a poll without change: the backoff
        # starts at the minimum after it.
        if self.polls > 1:
            self._polls_since_change += 1

    def _changed(self) -> None:
        self._polls_since_change = 0
        self._last_output = self._clock.monotonic()

    def _pick(self, flows: dict[str, Flow]) -> None:
        ordered = list(flows.values())
        for selection in self._selections:
            sel = selection.selector
            if isinstance(sel, UuidSelector):
                exact = (
                    flows.get(sel.uuid) if not sel.tracker_only and not selection.tracker else None
                )
                if exact is not None and not selection.matched:
                    selection.uuids.append(exact.uuid)
                    self._follow(exact, sel.text, "flow uuid")
                    continue
                if selection.matched and not selection.tracker:
                    continue
                # A tracker may start several flows, some of them later: follow them all.
                for flow in ordered:
                    if flow.tracker_uuid == sel.uuid and flow.uuid not in selection.uuids:
                        selection.tracker = True
                        selection.uuids.append(flow.uuid)
                        self._follow(flow, sel.text, "tracker")
            elif not selection.matched:
                candidates = [f for f in ordered if sel.matches(f) and self._is_candidate(f)]
                if candidates:
                    newest = max(candidates, key=lambda f: f.created_at or float("-inf"))
                    selection.uuids.append(newest.uuid)
                    self._follow(newest, sel.text, "name")
        if self._idle_mode:
            for flow in reversed(ordered):
                if flow.phase.in_progress:
                    self._follow(flow, "", "in progress")

    def _observe(self, flows: dict[str, Flow], complete: bool) -> Outcome | None:
        self._last_seen = flows
        now = self._clock.monotonic()
        before = self._polls_since_change
        self._no_change()
        self._pick(flows)
        for uuid, followed in self._followed.items():
            if followed.done:
                continue
            flow = flows.get(uuid)
            if flow is None:
                if followed.missing_since is None:
                    followed.missing_since = now
                    if complete:
                        self._emit(Vanished(flow=followed.flow))
                continue
            followed.missing_since = None
            previous = followed.flow
            followed.flow = flow
            followed.note_start()
            if flow.progress is not None and flow.progress.running:
                followed.last_running = flow.progress.running
            if flow.observable() != previous.observable():
                self._changed()
                self._emit(Progressed(flow=flow, previous=previous))
        outcome = self._decide(flows, now)
        if outcome is None and self._polls_since_change > before:
            self._heartbeat(now)
        return outcome

    def _heartbeat(self, now: float) -> None:
        if now - self._last_output < HEARTBEAT_EVERY:
            return
        self._last_output = now
        self._emit(
            Heartbeat(
                flows=tuple(f.flow for f in self._followed.values() if not f.done),
                waiting_for=tuple(sel.selector.text for sel in self._unmatched()),
                elapsed=now - self._start,
            )
        )

    def _decide(self, flows: dict[str, Flow], now: float) -> Outcome | None:
        failed = [f.flow for f in self._followed.values() if f.done and f.flow.phase.failed]
        for followed in self._followed.values():
            if followed.missing_since is not None and now - followed.missing_since >= API_GRACE:
                return self._end(
                    OutcomeKind.API_ERROR,
                    ExitCode.API,
                    f"{followed.flow.name} {followed.flow.short_uuid} is no longer in the "
                    f"logbook (for {API_GRACE / 60:.0f}m); its outcome is unknown",
                )
        pending = [f for f in self._followed.values() if not f.done]
        if self._idle_mode:
            busy = [f for f in flows.values() if f.phase.in_progress]
            if busy or pending:
                return None
            since = self._since()
            for flow in flows.values():
                recent = since is None or (flow.created_at is not None and flow.created_at >= since)
                if recent and flow.phase.failed and flow.uuid not in self._followed:
                    failed.append(flow)
            if failed:
                return self._end(OutcomeKind.FAILURE, ExitCode.FLOW_FAILED, "", failed=failed)
            return self._end(OutcomeKind.SUCCESS, ExitCode.SUCCESS, "the logbook is idle")
        if failed:
            return self._end(OutcomeKind.FAILURE, ExitCode.FLOW_FAILED, "", failed=failed)
        unmatched = self._unmatched()
        if unmatched:
            if self._appear_deadline is not None and now >= self._appear_deadline:
                return self._not_found()
            return None
        if pending:
            return None
        return self._end(OutcomeKind.SUCCESS, ExitCode.SUCCESS, "")

    # Trouble --------------------------------------------------------------------------

    def _on_transient(self, exc: TransientError) -> Outcome | None:
        now = self._clock.monotonic()
        self._last_failure = exc
        self._no_change()
        if exc.retry_after is not None:
            self._not_before = now + exc.retry_after
        gives_up_in = self._last_usable + API_GRACE - now
        if exc.kind not in self._reported_kinds:
            self._reported_kinds.add(exc.kind)
            self._last_output = now
            self._emit(
                Retrying(
                    kind=exc.kind,
                    message=exc.message,
                    retry_after=exc.retry_after,
                    gives_up_in=max(gives_up_in, 0.0),
                )
            )
        if gives_up_in <= 0:
            return self._end(
                OutcomeKind.API_ERROR,
                ExitCode.API,
                f"no usable answer from the API for {API_GRACE / 60:.0f}m (last: {exc.message})",
            )
        self._heartbeat(now)
        return None

    def _on_logbook_missing(self, exc: LogbookMissing) -> Outcome | None:
        now = self._clock.monotonic()
        self._last_usable = now
        self._last_failure = None
        self._not_before = None
        self._logbook_missing = True
        self._no_change()
        if not self._reported_missing:
            self._reported_missing = True
            self._last_output = now
            self._emit(LogbookAbsent(app=self.settings.app, detail=exc.detail))
        if self._appear_deadline is not None and now >= self._appear_deadline:
            return self._end(
                OutcomeKind.NOT_FOUND,
                ExitCode.NOT_FOUND,
                f"the logbook of app {self.settings.app!r} stayed 404 (not found)",
                unmatched=tuple(sel.selector.text for sel in self._unmatched()),
            )
        self._heartbeat(now)
        return None

    def _deadline_outcome(self) -> Outcome:
        if self._last_failure is not None:
            return self._end(
                OutcomeKind.TIMEOUT,
                ExitCode.TIMEOUT,
                f"no usable answer from the API (last: {self._last_failure.message})",
                failed=[f.flow for f in self._followed.values() if not f.done],
            )
        if self._logbook_missing:
            return self._end(
                OutcomeKind.NOT_FOUND,
                ExitCode.NOT_FOUND,
                f"the logbook of app {self.settings.app!r} stayed 404 (not found)",
                unmatched=tuple(sel.selector.text for sel in self._unmatched()),
            )
        if self._unmatched():
            return self._not_found()
        return self._end(
            OutcomeKind.TIMEOUT,
            ExitCode.TIMEOUT,
            "--timeout reached",
            failed=[f.flow for f in self._followed.values() if not f.done],
        )

    def _not_found(self) -> Outcome:
        unmatched = tuple(sel.selector for sel in self._unmatched())
        # The hint is about the first selector that found nothing.
        near_kind, near = near_misses(unmatched[0], list(self._last_seen.values()))
        return self._end(
            OutcomeKind.NOT_FOUND,
            ExitCode.NOT_FOUND,
            "no flow matched",
            unmatched=tuple(sel.text for sel in unmatched),
            near=near,
            near_kind=near_kind,
        )

    # Ending ---------------------------------------------------------------------------

    def _end(
        self,
        kind: OutcomeKind,
        code: ExitCode,
        reason: str,
        *,
        failed: list[Flow] | tuple[Flow, ...] = (),
        unmatched: tuple[str, ...] = (),
        near: list[Flow] | tuple[Flow, ...] = (),
        near_kind: str = "",
    ) -> Outcome:
        flows = [f.flow for f in self._followed.values()]
        # A flow that fails an idle wait without having been followed is reported too.
        flows += [f for f in failed if f.uuid not in self._followed]
        return Outcome(
            kind=kind,
            exit_code=code,
            app=self.settings.app,
            reason=reason,
            flows=tuple(flows),
            failed=tuple(failed),
            last_running={uuid: f.last_running for uuid, f in self._followed.items()},
            unmatched=unmatched,
            near=tuple(near),
            near_kind=near_kind,
            elapsed=max(self._clock.monotonic() - self._start, 0.0),
            requests=self._client.requests_sent,
            since_text=self.settings.since_text,
        )

    def interrupted(self, code: ExitCode) -> Outcome:
        """The outcome to report when a signal stops the wait: the flows go on untouched."""
        return self._end(
            OutcomeKind.INTERRUPTED,
            code,
            "interrupted",
            failed=[f.flow for f in self._followed.values() if not f.done],
            unmatched=tuple(sel.selector.text for sel in self._unmatched()),
        )
