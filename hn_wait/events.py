"""What a wait reports as it goes, and how it ends. Plain data: the renderer turns it into text."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Union

from hn_wait.exit_codes import ExitCode
from hn_wait.flows import Flow


@dataclass(frozen=True)
class Started:
    """The wait begins: which app, which selectors (empty: the whole logbook until idle)."""

    app: str
    selectors: tuple[str, ...]
    since_text: str
    timeout: float | None
    appear_timeout: float | None


@dataclass(frozen=True)
class Picked:
    """A selector picked a flow; from now on hn-wait follows that uuid."""

    selector: str
    flow: Flow
    how: str
    """``name``, ``flow uuid``, ``tracker`` or ``in progress`` (idle wait)."""


@dataclass(frozen=True)
class Progressed:
    """A followed flow's state or tasks changed."""

    flow: Flow
    previous: Flow


@dataclass(frozen=True)
class Heartbeat:
    """Nothing changed for a while; proof of life for people and CI watchdogs."""

    flows: tuple[Flow, ...]
    waiting_for: tuple[str, ...]
    elapsed: float


@dataclass(frozen=True)
class Retrying:
    """The API gave no usable answer; reported once per kind of problem."""

    kind: str
    message: str
    retry_after: float | None
    gives_up_in: float


@dataclass(frozen=True)
class LogbookAbsent:
    """The first 404 on the logbook: a new Brancher node, or a wrong app name."""

    app: str
    detail: str


@dataclass(frozen=True)
class Vanished:
    """A followed flow is no longer in the logbook (old flows drop out)."""

    flow: Flow


Event = Union[Started, Picked, Progressed, Heartbeat, Retrying, LogbookAbsent, Vanished]


class OutcomeKind(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    AUTH_ERROR = "auth_error"
    API_ERROR = "api_error"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Outcome:
    """How a wait ended. ``reason`` is a short phrase; the renderer builds the full message."""

    kind: OutcomeKind
    exit_code: ExitCode
    app: str
    reason: str = ""
    flows: tuple[Flow, ...] = ()
    """Every followed flow, as last seen."""
    failed: tuple[Flow, ...] = ()
    """The flows that made the wait fail (FAILURE), or are still in progress (TIMEOUT)."""
    last_running: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per uuid, the task names last seen running (a reverted flow reports none)."""
    unmatched: tuple[str, ...] = ()
    near: tuple[Flow, ...] = ()
    """For NOT_FOUND: the newest flows that nearly matched."""
    near_kind: str = ""
    """How they are near: ``older`` (before --since), ``similar`` (name), ``newest``."""
    elapsed: float = 0.0
    requests: int = 0
    since_text: str = ""


@dataclass(frozen=True)
class Pick:
    """What one selector picks right now (``--dry-run``)."""

    selector: str
    """The selector as written; empty for an idle wait (the flows in progress)."""
    flows: tuple[Flow, ...]
    near_kind: str = ""
    near: tuple[Flow, ...] = ()


@dataclass(frozen=True)
class Preview:
    """A ``--dry-run``: what each selector picks now, and the exit code that implies."""

    outcome: Outcome
    picks: tuple[Pick, ...]
