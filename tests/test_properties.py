"""Property tests: parsers never fail with anything but their own documented error."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hn_wait.flows import PayloadError, parse_page, parse_selector
from hn_wait.timefmt import parse_duration, parse_since

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)

flow_like = st.fixed_dictionaries(
    {},
    optional={
        "uuid": json_values | st.uuids().map(str),
        "name": json_values | st.sampled_from(["xgrade_app", "update_node"]),
        "state": json_values | st.sampled_from([None, "running", "success", "reverted", "PENDING"]),
        "created_at": json_values | st.just("2023-03-04T14:42:24Z"),
        "updated_at": json_values,
        "progress": json_values
        | st.fixed_dictionaries(
            {}, optional={"total": json_values, "completed": json_values, "running": json_values}
        ),
        "tracker": json_values | st.fixed_dictionaries({}, optional={"uuid": json_values}),
    },
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_page_parser_on_any_json_raises_only_payload_error(data: object) -> None:
    with contextlib.suppress(PayloadError):
        parse_page(data)


@settings(max_examples=80, deadline=None)
@given(st.lists(flow_like, max_size=4), json_values, json_values)
def test_page_parser_on_flow_shaped_junk_never_fails(
    results: list[object], count: object, next_link: object
) -> None:
    page = parse_page({"count": count, "next": next_link, "results": results})
    assert len(page.flows) + page.skipped == len(results)
    for flow in page.flows:
        assert isinstance(flow.uuid, str) and flow.uuid
        flow.phase  # noqa: B018 - classifying never fails
        json.dumps(flow.to_json())
        if flow.progress is not None:
            assert 0 <= flow.progress.completed <= flow.progress.total


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_to_a_page_or_a_payload_error(raw: bytes) -> None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return
    with contextlib.suppress(PayloadError):
        parse_page(data)


@given(st.text(max_size=30))
def test_duration_parser_returns_seconds_or_a_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert 0 <= seconds <= 366 * 86400


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ms", "s", "m", "h"]))
def test_documented_duration_forms_parse(number: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if number * factor <= 366 * 86400:
        assert parse_duration(f"{number}{unit}") == number * factor


@given(st.text(max_size=30))
def test_since_parser_returns_a_time_or_a_value_error(text: str) -> None:
    try:
        parse_since(text, 1_800_000_000.0)
    except ValueError as exc:
        assert str(exc)


@given(st.text(max_size=60))
def test_selector_parser_returns_a_selector_or_a_value_error(text: str) -> None:
    try:
        parse_selector(text)
    except ValueError as exc:
        assert str(exc)
