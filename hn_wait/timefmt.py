"""Durations, points in time and their display: parsing what users and the API write."""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_API_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
)

DURATION_EXAMPLES = "500ms, 45s, 10m, 1h, 1h30m or plain seconds"
SINCE_EXAMPLES = "an ISO-8601 time, a Unix time, a duration ago (90s, 10m, 1h), 'now' or 'all'"


def parse_duration(text: str) -> float:
    """Parse ``500ms``, ``45s``, ``10m``, ``1h``, ``1h30m`` or plain seconds into seconds.

    Raises ValueError with a message fit for the user on anything else, including
    negative, infinite or absurdly large values (more than a year).
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError(f"an empty value is not a duration (use {DURATION_EXAMPLES})")
    if _PLAIN_NUMBER.fullmatch(cleaned):
        seconds = float(cleaned)
    else:
        pos = 0
        seconds = 0.0
        for match in _DURATION_PART.finditer(cleaned):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(cleaned) or pos == 0:
            raise ValueError(f"{text!r} is not a duration (use {DURATION_EXAMPLES})")
    if not math.isfinite(seconds) or seconds > 366 * 86400:
        raise ValueError(f"{text!r} is longer than a year")
    return seconds


def parse_since(text: str, now: float) -> float | None:
    """Turn a ``--since`` value into a Unix time, or None for ``all`` (no lower bound).

    ``now`` is the current Unix time; relative values count back from it.
    """
    cleaned = text.strip()
    lowered = cleaned.lower()
    if lowered == "all":
        return None
    if lowered == "now":
        return now
    if _PLAIN_NUMBER.fullmatch(cleaned):
        value = float(cleaned)
        # A bare number is a Unix time; a small one is a duration that lost its unit.
        if value < 1_000_000_000:
            raise ValueError(
                f"{text!r} is neither a Unix time nor a duration with a unit (try {cleaned}s)"
            )
        return value
    try:
        return now - parse_duration(cleaned)
    except ValueError:
        pass
    parsed = parse_api_time(cleaned)
    if parsed is None:
        raise ValueError(f"{text!r} is not a time (use {SINCE_EXAMPLES})")
    return parsed


def parse_api_time(text: object) -> float | None:
    """Parse an ISO-8601 time as the API writes it (``2018-08-29T14:40:43Z``).

    A time without a zone is taken as UTC. Returns None for anything that does not parse,
    so a malformed date from the API never stops a wait.
    """
    if not isinstance(text, str):
        return None
    match = _API_TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    fraction = float(match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    tz = dt.timezone.utc
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        stamp = dt.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    return stamp.timestamp() + fraction


def parse_http_date(text: str | None) -> float | None:
    """Parse an HTTP date (``Date`` or ``Retry-After`` header) into a Unix time, or None."""
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def format_api_time(unix: float) -> str:
    """Format a Unix time the way the API does: ISO-8601 UTC, whole seconds, ``Z``."""
    stamp = dt.datetime.fromtimestamp(int(unix), tz=dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: float) -> str:
    """Format seconds compactly for people: ``850ms``, ``45s``, ``6m02s``, ``1h05m``."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 1:
        return f"{int(seconds * 1000)}ms" if seconds > 0 else "0s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_event_time(unix: float) -> str:
    """UTC with milliseconds, for machine output: ``2026-12-03T19:03:00.123Z``."""
    moment = dt.datetime.fromtimestamp(unix, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
