"""Text and JSON for people and machines. Functions return strings; they decide nothing."""

from __future__ import annotations

import math
import time
from typing import Any

from hn_wait import __version__
from hn_wait.events import (
    Event,
    Heartbeat,
    LogbookAbsent,
    Outcome,
    OutcomeKind,
    Picked,
    Preview,
    Progressed,
    Retrying,
    Started,
    Vanished,
)
from hn_wait.flows import NEAR_OLDER, NEAR_SIMILAR, Flow
from hn_wait.timefmt import format_duration, format_event_time

PROG = "hn-wait"


def flow_status(flow: Flow) -> str:
    """``xgrade_app 8eee848b running 8/24 stop_mysql_on_volume, ensure_nodes``."""
    return f"{flow.name} {flow.short_uuid} {flow_state(flow)}"


def flow_state(flow: Flow) -> str:
    """``running 8/24 stop_mysql_on_volume, ensure_nodes``: state, tasks, running tasks."""
    parts = [flow.state_label]
    progress = flow.progress
    if progress is not None and (progress.total or progress.completed):
        parts.append(f"{progress.completed}/{progress.total}")
    if progress is not None and progress.running and flow.phase.in_progress:
        parts.append(", ".join(progress.running))
    return " ".join(parts)


def _limit(seconds: float | None) -> str:
    return "none" if seconds is None else format_duration(seconds)


def stamp(wall: float) -> str:
    """The local time of day, prefixed to every progress line."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


def event_line(event: Event) -> str | None:
    """One stderr line for an event (without the time stamp), or None for nothing to say."""
    if isinstance(event, Started):
        limits = f"timeout {_limit(event.timeout)}"
        if not event.selectors:
            return (
                f"waiting until nothing in the logbook of app {event.app} "
                f"is queued or running ({limits})"
            )
        wanted = " and ".join(repr(text) for text in event.selectors)
        return (
            f"waiting for {wanted} on app {event.app} "
            f"(since {event.since_text}, {limits}, appear timeout {_limit(event.appear_timeout)})"
        )
    if isinstance(event, Picked):
        why = f"picked by {event.how} {event.selector!r}" if event.selector else "in progress"
        flow = event.flow
        where = f" on app {flow.logbook}" if flow.logbook else ""
        return f"following {flow.name} {flow.uuid}{where} ({why}): {flow_state(flow)}"
    if isinstance(event, Progressed):
        return flow_status(event.flow)
    if isinstance(event, Heartbeat):
        elapsed = format_duration(event.elapsed)
        items = [flow_status(flow) for flow in event.flows]
        items += [f"no flow matching {text!r} yet" for text in event.waiting_for]
        return f"still waiting after {elapsed}: " + ("; ".join(items) or "the logbook is busy")
    if isinstance(event, Retrying):
        extra = ""
        if event.retry_after is not None:
            extra = f", no sooner than the {format_duration(event.retry_after)} it asks for"
        return (
            f"warning: {event.message}; retrying{extra} "
            f"(gives up after {format_duration(event.gives_up_in)} more without a usable answer)"
        )
    if isinstance(event, LogbookAbsent):
        return (
            f"the logbook of app {event.app} does not exist yet (404); waiting for it to appear "
            "(a Brancher node being created?) - if it never does, check the app name"
        )
    if isinstance(event, Vanished):
        return f"warning: {event.flow.name} {event.flow.short_uuid} is no longer in the logbook"
    return None


def _took(flow: Flow, outcome: Outcome) -> str:
    if flow.phase.terminal and flow.created_at is not None and flow.updated_at is not None:
        return f"in {format_duration(flow.updated_at - flow.created_at)}"
    return f"after {format_duration(outcome.elapsed)}"


def result_lines(outcome: Outcome) -> list[str]:
    """stdout in text mode: one line per followed flow, as it ended or was last seen."""
    lines = []
    for flow in outcome.flows:
        if flow.phase.in_progress:
            lines.append(f"{flow_status(flow)} (still in progress)")
            continue
        line = f"{flow.name} {flow.short_uuid} {flow.state_label} {_took(flow, outcome)}"
        if flow.phase.failed:
            line += _failure_detail(flow, outcome)
        lines.append(line)
    if not lines and outcome.kind is OutcomeKind.SUCCESS:
        lines.append(f"the logbook of app {outcome.app} is idle")
    return lines


def _failure_detail(flow: Flow, outcome: Outcome) -> str:
    details = []
    if flow.progress is not None and flow.progress.total:
        details.append(f"at {flow.progress.completed}/{flow.progress.total}")
    running = outcome.last_running.get(flow.uuid, ())
    if running:
        details.append("last running: " + ", ".join(running))
    return f" ({'; '.join(details)})" if details else ""


def _resume(outcome: Outcome, flows: tuple[Flow, ...]) -> str:
    uuids = " ".join(flow.uuid for flow in flows)
    return f"{PROG} --app {outcome.app} {uuids}"


def _ago(flow: Flow, now: float) -> str:
    if flow.created_at is None:
        return "created at an unknown time"
    return f"created {format_duration(now - flow.created_at)} ago"


def _near_list(flows: tuple[Flow, ...], now: float) -> str:
    """Flows that nearly matched: ``ensure_app 8eee848b success created 3m10s ago, ...``."""
    return ", ".join(f"{f.name} {f.short_uuid} {f.state_label} {_ago(f, now)}" for f in flows)


def error_line(outcome: Outcome, token_source: str, now: float) -> str:
    """The one stderr line that says what happened and what to do, for a non-zero exit."""
    kind = outcome.kind
    if kind is OutcomeKind.FAILURE:
        parts = []
        for flow in outcome.failed:
            if flow.phase.value == "unknown":
                parts.append(
                    f"{flow.name} {flow.short_uuid} is in state {flow.state_label!r}, which "
                    "hn-wait does not know: treated as a failure (report it if it is harmless)"
                )
            else:
                parts.append(
                    f"{flow.name} {flow.short_uuid} ended {flow.state_label}"
                    f"{_failure_detail(flow, outcome)}"
                )
        return (
            f"{PROG}: " + "; ".join(parts) + f" on app {outcome.app}; "
            "see hypernode-log on the node for its tasks"
        )
    if kind is OutcomeKind.NOT_FOUND:
        wanted = " and ".join(repr(text) for text in outcome.unmatched)
        if outcome.reason.startswith("the logbook"):
            return (
                f"{PROG}: {outcome.reason} for {format_duration(outcome.elapsed)}; check --app "
                "(or $HYPERNODE_APP_NAME), or raise --appear-timeout for a new Brancher node"
            )
        within = format_duration(outcome.elapsed)
        line = f"{PROG}: no flow matching {wanted} on app {outcome.app} within {within}"
        if not outcome.near:
            return line + "; the logbook is empty (raise --appear-timeout if the flow comes later)"
        near = _near_list(outcome.near, now)
        if outcome.near_kind == NEAR_OLDER:
            oldest = min(
                (f.created_at for f in outcome.near if f.created_at is not None), default=now
            )
            minutes = max(1, math.ceil((now - oldest) / 60) + 1)
            return (
                f"{line}; matching but finished before --since {outcome.since_text}: {near}; "
                f"to take it, use --since {minutes}m (or --since all)"
            )
        if outcome.near_kind == NEAR_SIMILAR:
            return f"{line}; similar names: {near}; check the FLOW selector"
        return (
            f"{line}; newest flows: {near}; check the FLOW selector and --app, "
            "or raise --appear-timeout if the flow is still to come"
        )
    if kind is OutcomeKind.TIMEOUT:
        line = f"{PROG}: timed out after {format_duration(outcome.elapsed)}"
        if outcome.reason != "--timeout reached":
            line += f" with {outcome.reason}"
        if outcome.failed:
            running = "; ".join(flow_status(f) for f in outcome.failed)
            it = "it goes" if len(outcome.failed) == 1 else "they go"
            line += (
                f"; still in progress: {running} - {it} on on the Hypernode; "
                f"resume with: {_resume(outcome, outcome.failed)}"
            )
        return line
    if kind is OutcomeKind.AUTH_ERROR:
        if outcome.reason.startswith("HTTP 403"):
            return (
                f"{PROG}: the API refused the request ({outcome.reason}) with the token from "
                f"{token_source}; does this token belong to app {outcome.app}?"
            )
        return (
            f"{PROG}: the API refused the token from {token_source} ({outcome.reason}); "
            "check that it is the current API token of this Hypernode"
        )
    if kind is OutcomeKind.API_ERROR:
        return f"{PROG}: {outcome.reason}; try again later (the flow itself is not affected)"
    if kind is OutcomeKind.INTERRUPTED:
        signal = "SIGTERM" if outcome.exit_code == 143 else "SIGINT"
        line = f"{PROG}: interrupted by {signal}; stopped waiting"
        if outcome.failed:
            names = ", ".join(f"{f.name} {f.short_uuid}" for f in outcome.failed)
            resume = _resume(outcome, outcome.failed)
            goes = "goes" if len(outcome.failed) == 1 else "go"
            line += f"; {names} {goes} on on the Hypernode; resume with: {resume}"
        return line
    return f"{PROG}: {outcome.reason}"


def outcome_json(outcome: Outcome, message: str, wall: float) -> dict[str, Any]:
    """The ``--json`` document, which is also the ``finished`` event of ``--output ndjson``."""
    flows = []
    for flow in outcome.flows:
        data = flow.to_json()
        data["last_running"] = list(outcome.last_running.get(flow.uuid, ()))
        flows.append(data)
    return {
        "event": "finished",
        "time": format_event_time(wall),
        "outcome": outcome.kind.value,
        "exit_code": int(outcome.exit_code),
        "app": outcome.app,
        "message": message,
        "flows": flows,
        "failed": [flow.uuid for flow in outcome.failed],
        "unmatched": list(outcome.unmatched),
        "elapsed_seconds": round(outcome.elapsed, 3),
        "requests": outcome.requests,
        "version": __version__,
    }


def error_json(
    kind: str, exit_code: int, message: str, wall: float, app: str | None = None
) -> dict[str, Any]:
    """The ``--json`` document for an error before any wait (usage, configuration)."""
    return {
        "event": "finished",
        "time": format_event_time(wall),
        "outcome": kind,
        "exit_code": exit_code,
        "app": app,
        "message": message,
        "flows": [],
        "failed": [],
        "unmatched": [],
        "elapsed_seconds": 0.0,
        "requests": 0,
        "version": __version__,
    }


def preview_lines(preview: Preview, now: float) -> list[str]:
    """stdout of ``--dry-run``: what each selector picks now, or why it picks nothing."""
    outcome = preview.outcome
    lines = []
    for pick in preview.picks:
        if not pick.selector:
            if pick.flows:
                busy = "; ".join(flow_status(flow) for flow in pick.flows)
                lines.append(f"in progress on app {outcome.app} now: {busy}")
            else:
                lines.append(f"the logbook of app {outcome.app} is idle now")
            continue
        for flow in pick.flows:
            lines.append(
                f"{pick.selector!r} picks {flow.name} {flow.uuid}: {flow_state(flow)} "
                f"({_ago(flow, now)})"
            )
        if not pick.flows:
            line = f"{pick.selector!r} picks nothing now"
            if pick.near:
                near = _near_list(pick.near, now)
                label = {NEAR_OLDER: "finished before --since", NEAR_SIMILAR: "similar names"}
                line += f"; {label.get(pick.near_kind, 'newest flows')}: {near}"
            lines.append(line)
    return lines


def preview_error_line(preview: Preview, token_source: str, now: float) -> str:
    """The stderr line of a ``--dry-run`` that found a problem."""
    outcome = preview.outcome
    if outcome.kind is OutcomeKind.NOT_FOUND:
        if outcome.reason.startswith("the logbook"):
            return f"{PROG}: dry run: {outcome.reason}; check --app"
        wanted = " and ".join(repr(text) for text in outcome.unmatched)
        return (
            f"{PROG}: dry run: no flow matching {wanted} on app {outcome.app} now "
            "(a wait would keep looking until --appear-timeout)"
        )
    return f"{PROG}: dry run: " + error_line(outcome, token_source, now).removeprefix(f"{PROG}: ")


def preview_json(preview: Preview, message: str, wall: float) -> dict[str, Any]:
    """The ``--dry-run --json`` document."""
    document = outcome_json(preview.outcome, message, wall)
    document["dry_run"] = True
    document["picks"] = [
        {
            "selector": pick.selector,
            "flows": [flow.to_json() for flow in pick.flows],
            "near_kind": pick.near_kind or None,
            "near": [flow.to_json() for flow in pick.near],
        }
        for pick in preview.picks
    ]
    return document


def event_json(event: Event, wall: float) -> dict[str, Any]:
    """One ``--output ndjson`` line: ``event`` names it, ``time`` is UTC."""
    head: dict[str, Any] = {"time": format_event_time(wall)}
    if isinstance(event, Started):
        return {
            "event": "started",
            **head,
            "app": event.app,
            "selectors": list(event.selectors),
            "since": event.since_text,
            "timeout_seconds": event.timeout,
            "appear_timeout_seconds": event.appear_timeout,
            "version": __version__,
        }
    if isinstance(event, Picked):
        return {
            "event": "picked",
            **head,
            "selector": event.selector,
            "how": event.how,
            "flow": event.flow.to_json(),
        }
    if isinstance(event, Progressed):
        return {
            "event": "progress",
            **head,
            "flow": event.flow.to_json(),
            "previous_state": event.previous.state,
        }
    if isinstance(event, Retrying):
        return {
            "event": "retry",
            **head,
            "kind": event.kind,
            "message": event.message,
            "retry_after_seconds": event.retry_after,
            "gives_up_in_seconds": round(event.gives_up_in, 3),
        }
    if isinstance(event, Heartbeat):
        return {
            "event": "heartbeat",
            **head,
            "elapsed_seconds": round(event.elapsed, 3),
            "flows": [flow.to_json() for flow in event.flows],
            "waiting_for": list(event.waiting_for),
        }
    if isinstance(event, LogbookAbsent):
        return {"event": "logbook_absent", **head, "app": event.app, "detail": event.detail}
    return {"event": "vanished", **head, "flow": event.flow.to_json()}


def logbook_table(flows: list[Flow]) -> str:
    """The logbook like ``hypernode-log``: ACTION START END STATE TASKS RUNNING, newest first."""
    rows = [
        f"{'ACTION':<30}\t{'START':<20}\t{'END':<20}\t{'STATE':<8}\t{'TASKS'}\tRUNNING",
    ]
    for flow in flows:
        progress = flow.progress
        tasks = f"{progress.completed}/{progress.total}" if progress is not None else "?"
        end = flow.updated_at_text or "" if flow.phase.terminal else ""
        if flow.phase.terminal:
            running = "finished"
        else:
            running = ", ".join(progress.running) if progress is not None else ""
        rows.append(
            f"{flow.name:<30}\t{flow.created_at_text or '?':<20}\t{end:<20}\t"
            f"{flow.state_label:<8}\t{tasks:<4}\t{running}".rstrip()
        )
    return "\n".join(rows)
