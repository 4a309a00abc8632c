from __future__ import annotations

import pytest

from hn_wait.timefmt import (
    format_api_time,
    format_duration,
    parse_api_time,
    parse_duration,
    parse_http_date,
    parse_since,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("45s", 45),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1h30m15s", 5415),
        ("90", 90),
        ("2.5", 2.5),
        ("0", 0),
        (" 2M ", 120),
        ("1d", 86400),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "-5s", "5x", "1h 30m", "m", "1.2.3s", "10mm", "s10", "inf", "nan", "999999h"],
)
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", None),
        ("ALL", None),
        ("now", NOW),
        ("90s", NOW - 90),
        ("10m", NOW - 600),
        ("1h", NOW - 3600),
        ("1700000000", 1_700_000_000.0),
        ("2026-12-03T10:00:00Z", 1796292000.0),
        ("2026-12-03T11:00:00+01:00", 1796292000.0),
        ("2026-12-03T10:00:00", 1796292000.0),
        ("2026-12-03T10:00Z", 1796292000.0),
        ("2026-12-03", 1796256000.0),
    ],
)
def test_since(text: str, expected: object) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "90", "2026-13-45T00:00:00Z", "", "10 minutes"])
def test_bad_since_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_since(text, NOW)


def test_api_time_round_trip() -> None:
    assert format_api_time(parse_api_time("2018-08-29T14:40:43Z") or 0) == "2018-08-29T14:40:43Z"
    assert parse_api_time(None) is None
    assert parse_api_time("2018-02-30T00:00:00Z") is None


def test_http_dates() -> None:
    assert parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT") == 1445412480.0
    assert parse_http_date("garbage") is None
    assert parse_http_date(None) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (45, "45s"),
        (362, "6m02s"),
        (3600, "1h00m"),
        (3725, "1h02m"),
        (-3, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
