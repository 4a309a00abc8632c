"""Flows as the Logbook API describes them: parsing, state classification and selectors.

Everything here is pure: no I/O, no clock. Parsing is defensive because recorded answers
omit fields, and an answer hn-wait cannot read must become an error, never a guess.
"""

from __future__ import annotations

import difflib
import enum
import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Union

from hn_wait.timefmt import parse_api_time


class PayloadError(ValueError):
    """The API answered 200 with a body that is not a page of flows."""


class Phase(enum.Enum):
    """What a flow's state means for a waiter."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"

    @property
    def in_progress(self) -> bool:
        return self in (Phase.QUEUED, Phase.RUNNING)

    @property
    def terminal(self) -> bool:
        return not self.in_progress

    @property
    def failed(self) -> bool:
        """An unknown state is final and a failure: a new state must never hang or pass."""
        return self in (Phase.FAILURE, Phase.UNKNOWN)


QUEUED_STATES = frozenset({"waiting", "pending"})
RUNNING_STATES = frozenset({"running", "reverting", "resuming", "suspended"})
SUCCESS_STATES = frozenset({"success"})
FAILURE_STATES = frozenset({"reverted", "failure", "failed"})


def classify_state(state: str | None) -> Phase:
    """Map an API state to a Phase. ``None`` (JSON null) is queued; unknown is UNKNOWN."""
    if state is None:
        return Phase.QUEUED
    key = state.strip().lower()
    if key in QUEUED_STATES:
        return Phase.QUEUED
    if key in RUNNING_STATES:
        return Phase.RUNNING
    if key in SUCCESS_STATES:
        return Phase.SUCCESS
    if key in FAILURE_STATES:
        return Phase.FAILURE
    return Phase.UNKNOWN


@dataclass(frozen=True)
class Progress:
    """Tasks of a flow: ``completed`` of ``total`` done, ``running`` the ones running now."""

    total: int
    completed: int
    running: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """One flow of a logbook, as last seen. Times are Unix seconds (None when unreadable)."""

    uuid: str
    name: str
    state: str | None
    created_at: float | None
    updated_at: float | None
    progress: Progress | None
    tracker_uuid: str | None
    logbook: str | None
    created_at_text: str | None = None
    updated_at_text: str | None = None

    @property
    def phase(self) -> Phase:
        return classify_state(self.state)

    @property
    def short_uuid(self) -> str:
        return self.uuid[:8]

    @property
    def state_label(self) -> str:
        """The state for display: ``queued`` for JSON null, otherwise as the API wrote it."""
        return "queued" if self.state is None else self.state

    def observable(self) -> tuple[object, ...]:
        """What a change report is about: state and progress, not timestamps."""
        return (self.state, self.progress)

    def to_json(self) -> dict[str, Any]:
        """The flow in the API's own shape, plus ``phase``, for machine output."""
        progress = None
        if self.progress is not None:
            progress = {
                "total": self.progress.total,
                "completed": self.progress.completed,
                "running": list(self.progress.running),
            }
        return {
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state,
            "phase": self.phase.value,
            "created_at": self.created_at_text,
            "updated_at": self.updated_at_text,
            "progress": progress,
            "tracker_uuid": self.tracker_uuid,
            "logbook": self.logbook,
        }


@dataclass(frozen=True)
class Page:
    """One page of flows: newest first, with the API's total count and the next offset."""

    flows: tuple[Flow, ...]
    count: int | None
    next_offset: int | None
    skipped: int = 0
    """Entries in ``results`` that were not readable flows (no uuid, not an object)."""


_MAX_TEXT = 200
_MAX_TASKS = 1_000_000


def _text(value: object, limit: int = _MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return None
    # Control characters from the API must never reach a terminal or a CI log.
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return cleaned


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), _MAX_TASKS)


def parse_progress(value: object) -> Progress | None:
    """Parse a ``progress`` object; None when missing or not an object."""
    if not isinstance(value, dict):
        return None
    running_raw = value.get("running")
    running: tuple[str, ...] = ()
    if isinstance(running_raw, list):
        running = tuple(t for t in (_text(item, 80) for item in running_raw[:50]) if t)
    total = _count(value.get("total"))
    completed = _count(value.get("completed"))
    return Progress(total=max(total, completed), completed=completed, running=running)


_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def parse_flow(item: object) -> Flow | None:
    """Parse one entry of ``results``. None when it cannot be followed: no string uuid, or
    no ``state`` at all (``null`` is a state: queued; a missing key is a broken entry, which
    must not be taken for a queued flow and followed)."""
    if not isinstance(item, dict):
        return None
    uuid = _text(item.get("uuid"))
    if not uuid or "state" not in item:
        return None
    state_raw = item.get("state")
    state: str | None
    if state_raw is None:
        state = None
    elif isinstance(state_raw, str):
        state = _text(state_raw, 40) or "(empty)"
    else:
        # A state of the wrong type is a state nobody has seen: it must end as a failure.
        state = _text(repr(state_raw), 40)
    tracker = item.get("tracker")
    tracker_uuid = _text(tracker.get("uuid")) if isinstance(tracker, dict) else None
    created_text = _text(item.get("created_at"), 40)
    updated_text = _text(item.get("updated_at"), 40)
    return Flow(
        uuid=uuid.lower(),
        name=_text(item.get("name"), 100) or "(unnamed)",
        state=state,
        created_at=parse_api_time(created_text),
        updated_at=parse_api_time(updated_text),
        progress=parse_progress(item.get("progress")),
        tracker_uuid=tracker_uuid.lower() if tracker_uuid else None,
        logbook=_text(item.get("logbook"), 100),
        created_at_text=created_text,
        updated_at_text=updated_text,
    )


_OFFSET_RE = re.compile(r"[?&]offset=(\d+)")


def parse_page(data: object, offset: int = 0) -> Page:
    """Parse a decoded JSON answer of the flows endpoint.

    Raises PayloadError when the answer is not a page (a list, a string, no ``results``).
    The next offset comes from the ``next`` link's ``offset`` (the link itself is never
    followed, so a link to another host cannot receive the token).
    """
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object, got {type(data).__name__}")
    results = data.get("results")
    if not isinstance(results, list):
        raise PayloadError("the answer has no list of 'results'")
    flows = []
    skipped = 0
    for item in results:
        flow = parse_flow(item)
        if flow is None:
            skipped += 1
        else:
            flows.append(flow)
    count_raw = data.get("count")
    count = count_raw if isinstance(count_raw, int) and not isinstance(count_raw, bool) else None
    next_link = data.get("next")
    next_offset: int | None = None
    if isinstance(next_link, str) and next_link and results:
        match = _OFFSET_RE.search(next_link)
        next_offset = int(match.group(1)) if match else offset + len(results)
        if next_offset <= offset:
            next_offset = offset + len(results)
    return Page(flows=tuple(flows), count=count, next_offset=next_offset, skipped=skipped)


# Selectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UuidSelector:
    """A flow uuid, or a tracker uuid (every flow an API job started).

    ``tracker_only`` is set for a job URL, whose uuid is always a tracker uuid.
    """

    uuid: str
    text: str
    tracker_only: bool = False

    def matches(self, flow: Flow) -> bool:
        if flow.tracker_uuid == self.uuid:
            return True
        return not self.tracker_only and flow.uuid == self.uuid

    def describe(self) -> str:
        return f"tracker {self.uuid}" if self.tracker_only else self.uuid


@dataclass(frozen=True)
class NameSelector:
    """Comma-separated shell-style globs on the flow's name (``ensure_app,ensure_copied_app``)."""

    patterns: tuple[str, ...]
    text: str

    def matches(self, flow: Flow) -> bool:
        return any(fnmatch.fnmatchcase(flow.name, pattern) for pattern in self.patterns)

    def describe(self) -> str:
        return ",".join(self.patterns)


Selector = Union[UuidSelector, NameSelector]

_JOB_URL_RE = re.compile(r"/jobs/(" + _UUID_RE.pattern + r")/?(?:[?#].*)?$")
_NAME_RE = re.compile(r"[A-Za-z0-9_*?\[\]!.\-]+")


def parse_selector(text: str) -> Selector:
    """Parse one FLOW argument. Raises ValueError with a user-facing message."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("an empty FLOW selector matches nothing")
    if "://" in cleaned or cleaned.startswith("/"):
        match = _JOB_URL_RE.search(cleaned)
        if match is None:
            raise ValueError(
                f"{cleaned!r} is not a Logbook job URL (expected .../logbook/v1/jobs/<uuid>/)"
            )
        return UuidSelector(uuid=match.group(1).lower(), text=cleaned, tracker_only=True)
    if _UUID_RE.fullmatch(cleaned):
        return UuidSelector(uuid=cleaned.lower(), text=cleaned)
    patterns = tuple(p.strip() for p in cleaned.split(",") if p.strip())
    if not patterns:
        raise ValueError(f"{text!r} holds no flow name")
    for pattern in patterns:
        if not _NAME_RE.fullmatch(pattern):
            raise ValueError(
                f"{pattern!r} is not a flow name or glob (letters, digits, _ - . * ? [ ])"
            )
    return NameSelector(patterns=patterns, text=cleaned)


NEAR_OLDER = "older"
NEAR_SIMILAR = "similar"
NEAR_NEWEST = "newest"


def near_misses(selector: Selector, flows: list[Flow]) -> tuple[str, list[Flow]]:
    """The flows that nearly matched a selector that picked nothing, and how they are near.

    ``older``: they match but finished before ``--since``; ``similar``: a similar name (a
    typo); ``newest``: nothing is near, these are simply the newest flows of the logbook.
    """
    matching = [f for f in flows if selector.matches(f)]
    if matching:
        return NEAR_OLDER, matching[:3]
    if isinstance(selector, NameSelector):
        names = list(dict.fromkeys(f.name for f in flows))
        close: list[str] = []
        for pattern in selector.patterns:
            plain = pattern.replace("*", "").replace("?", "")
            close.extend(difflib.get_close_matches(plain, names, n=3, cutoff=0.6))
        picks = [next(f for f in flows if f.name == name) for name in dict.fromkeys(close)]
        if picks:
            return NEAR_SIMILAR, picks[:3]
    return NEAR_NEWEST, flows[:3]
