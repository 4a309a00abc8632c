from __future__ import annotations

import json
from pathlib import Path

import pytest

from hn_wait.flows import (
    NameSelector,
    PayloadError,
    Phase,
    UuidSelector,
    classify_state,
    near_misses,
    parse_flow,
    parse_page,
    parse_selector,
)

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))


def test_the_recorded_samples_are_all_here() -> None:
    assert len(SAMPLE_FILES) == 5


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_recorded_sample_parses(path: Path) -> None:
    data = json.loads(path.read_text())
    page = parse_page(data)
    assert len(page.flows) == len(data["results"])
    assert page.skipped == 0
    for flow, raw in zip(page.flows, data["results"]):
        assert flow.uuid == raw["uuid"]
        assert flow.name == raw["name"]
        assert flow.state == raw["state"]
        assert flow.created_at is not None
        assert flow.created_at_text == raw["created_at"]


def test_sample_in_progress_details() -> None:
    page = parse_page(json.loads((SAMPLES / "flows-docs-2018-queued.json").read_text()))
    queued, xgrade = page.flows
    assert queued.phase is Phase.QUEUED and queued.updated_at is None
    assert xgrade.phase is Phase.RUNNING
    assert xgrade.progress is not None
    assert (xgrade.progress.completed, xgrade.progress.total) == (8, 24)
    assert xgrade.progress.running == (
        "stop_mysql_on_volume",
        "verify_node_fits_on_new_product",
        "ensure_nodes",
    )
    # The 2018 document links to the legacy path: only its offset is used.
    assert page.next_offset == 50


def test_sample_with_sparse_fields_has_no_progress_or_tracker() -> None:
    page = parse_page(json.loads((SAMPLES / "flows-sparse-fields.json").read_text()))
    (flow,) = page.flows
    assert flow.progress is None and flow.tracker_uuid is None
    assert flow.phase is Phase.RUNNING


def test_sample_tracker_uuid_is_read() -> None:
    page = parse_page(json.loads((SAMPLES / "flows-tracker-2023.json").read_text()))
    assert page.flows[0].tracker_uuid == "6012bf2c-952d-4cb0-97ff-1022614b50b7"
    assert page.flows[1].tracker_uuid is None


def test_sample_middle_page_offsets() -> None:
    page = parse_page(json.loads((SAMPLES / "flows-page-middle.json").read_text()), offset=50)
    assert page.count == 101
    assert page.next_offset == 100


@pytest.mark.parametrize(
    ("state", "phase"),
    [
        (None, Phase.QUEUED),
        ("waiting", Phase.QUEUED),
        ("pending", Phase.QUEUED),
        ("PENDING", Phase.QUEUED),
        ("running", Phase.RUNNING),
        ("reverting", Phase.RUNNING),
        ("resuming", Phase.RUNNING),
        ("suspended", Phase.RUNNING),
        ("success", Phase.SUCCESS),
        ("SUCCESS", Phase.SUCCESS),
        ("reverted", Phase.FAILURE),
        ("failure", Phase.FAILURE),
        ("FAILURE", Phase.FAILURE),
        ("failed", Phase.FAILURE),
        ("exploded", Phase.UNKNOWN),
        ("", Phase.UNKNOWN),
        ("succes", Phase.UNKNOWN),
    ],
)
def test_state_table(state: str | None, phase: Phase) -> None:
    assert classify_state(state) is phase


def test_unknown_state_is_final_and_a_failure() -> None:
    assert Phase.UNKNOWN.terminal and Phase.UNKNOWN.failed
    assert Phase.FAILURE.terminal and Phase.FAILURE.failed
    assert Phase.SUCCESS.terminal and not Phase.SUCCESS.failed
    assert Phase.QUEUED.in_progress and Phase.RUNNING.in_progress


def test_state_of_the_wrong_type_is_unknown_not_queued() -> None:
    flow = parse_flow({"uuid": "a" * 8, "name": "x", "state": 3})
    assert flow is not None and flow.phase is Phase.UNKNOWN
    flow = parse_flow({"uuid": "a" * 8, "name": "x", "state": ""})
    assert flow is not None and flow.phase is Phase.UNKNOWN


@pytest.mark.parametrize("item", [None, [], "flow", {"name": "x"}, {"uuid": 5}, {"uuid": ""}])
def test_entries_without_a_uuid_cannot_be_followed(item: object) -> None:
    assert parse_flow(item) is None


def test_flow_fields_of_the_wrong_type_are_tolerated() -> None:
    flow = parse_flow(
        {
            "uuid": "c130c04f-794e-4f55-b34b-eb8f60472224",
            "name": None,
            "state": "running",
            "created_at": "yesterday",
            "updated_at": 12,
            "progress": {"total": -3, "completed": "8", "running": ["a", 5, None, "b\x1b[31m"]},
            "tracker": "nope",
        }
    )
    assert flow is not None
    assert flow.name == "(unnamed)"
    assert flow.created_at is None and flow.updated_at is None
    assert flow.progress is not None
    assert (flow.progress.total, flow.progress.completed) == (0, 0)
    assert flow.progress.running == ("a", "b?[31m")
    assert flow.tracker_uuid is None


def test_absurd_progress_is_capped_and_completed_never_exceeds_total() -> None:
    flow = parse_flow(
        {
            "uuid": "u" * 8,
            "name": "x",
            "state": "running",
            "progress": {"total": 2, "completed": 10**30},
        }
    )
    assert flow is not None and flow.progress is not None
    assert flow.progress.completed == 1_000_000
    assert flow.progress.total >= flow.progress.completed


@pytest.mark.parametrize(
    "data", [[], "flows", 3, None, {}, {"results": None}, {"results": {"a": 1}}, {"count": 1}]
)
def test_answers_that_are_not_a_page_are_payload_errors(data: object) -> None:
    with pytest.raises(PayloadError):
        parse_page(data)


def test_unreadable_entries_are_counted_not_fatal() -> None:
    page = parse_page({"results": [{"uuid": "abc", "name": "a", "state": "success"}, 7, {"x": 1}]})
    assert len(page.flows) == 1 and page.skipped == 2


def test_next_link_without_offset_advances_by_the_page() -> None:
    page = parse_page(
        {"next": "https://elsewhere.example/?cursor=x", "results": [{"uuid": "abcd"}]}, offset=50
    )
    assert page.next_offset == 51


# Selectors


def test_job_url_is_a_tracker_selector() -> None:
    sel = parse_selector(
        "https://api.hypernode.com/logbook/v1/jobs/0DD83D83-6b9b-4fb5-9665-79fcf8235069/"
    )
    assert isinstance(sel, UuidSelector)
    assert sel.tracker_only and sel.uuid == "0dd83d83-6b9b-4fb5-9665-79fcf8235069"


def test_job_url_without_trailing_slash_is_accepted() -> None:
    sel = parse_selector(
        "https://api.hypernode.com/logbook/v1/jobs/0dd83d83-6b9b-4fb5-9665-79fcf8235069"
    )
    assert isinstance(sel, UuidSelector) and sel.tracker_only


def test_other_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="not a Logbook job URL"):
        parse_selector("https://api.hypernode.com/v2/app/shop/")


def test_bare_uuid_matches_flow_or_tracker() -> None:
    sel = parse_selector("8EEE848B-1BE8-4AFE-A0BD-56AE8EA10798")
    assert isinstance(sel, UuidSelector) and not sel.tracker_only
    flow = parse_flow({"uuid": "8eee848b-1be8-4afe-a0bd-56ae8ea10798", "name": "x", "state": None})
    tracked = parse_flow(
        {
            "uuid": "ffff",
            "name": "y",
            "state": None,
            "tracker": {"uuid": "8eee848b-1be8-4afe-a0bd-56ae8ea10798"},
        }
    )
    other = parse_flow({"uuid": "eeee", "name": "z", "state": None})
    assert flow and tracked and other
    assert sel.matches(flow) and sel.matches(tracked) and not sel.matches(other)


def test_tracker_selector_does_not_match_a_flow_uuid() -> None:
    sel = parse_selector("https://h/logbook/v1/jobs/8eee848b-1be8-4afe-a0bd-56ae8ea10798/")
    flow = parse_flow({"uuid": "8eee848b-1be8-4afe-a0bd-56ae8ea10798", "name": "x", "state": None})
    assert flow and not sel.matches(flow)


def test_name_glob_and_alternatives() -> None:
    sel = parse_selector(" ensure_app , ensure_copied_app ")
    assert isinstance(sel, NameSelector) and sel.patterns == ("ensure_app", "ensure_copied_app")
    glob = parse_selector("xgrade_app*")
    for name, expected in [("xgrade_app", True), ("xgrade_app_flow", True), ("update_node", False)]:
        flow = parse_flow({"uuid": "abcd", "name": name, "state": None})
        assert flow and glob.matches(flow) is expected
    exact = parse_selector("xgrade_app")
    flow = parse_flow({"uuid": "abcd", "name": "xgrade_app_flow", "state": None})
    assert flow and not exact.matches(flow)


@pytest.mark.parametrize("text", ["", "  ", ",", "a b", "name;rm", "x/y"])
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(text)


def _flows(*specs: tuple[str, str, str]) -> list:
    return [
        parse_flow({"uuid": u, "name": n, "state": s, "created_at": "2020-01-01T00:00:00Z"})
        for u, n, s in specs
    ]


def test_near_misses_prefer_same_name_then_similar_then_newest() -> None:
    flows = _flows(("1111", "update_node", "success"), ("2222", "xgrade_app", "success"))
    kind, near = near_misses(parse_selector("xgrade_app"), flows)
    assert (kind, [f.uuid for f in near]) == ("older", ["2222"])
    kind, near = near_misses(parse_selector("xgrade-app"), flows)
    assert (kind, [f.name for f in near]) == ("similar", ["xgrade_app"])
    kind, near = near_misses(parse_selector("zzz"), flows)
    assert (kind, [f.uuid for f in near]) == ("newest", ["1111", "2222"])
    assert near_misses(parse_selector("zzz"), []) == ("newest", [])


def test_an_entry_without_a_state_is_not_a_flow() -> None:
    # null is a state (queued); a missing key is a broken entry that must not be followed.
    assert parse_flow({"uuid": "abcd", "name": "update_node"}) is None
    flow = parse_flow({"uuid": "abcd", "name": "update_node", "state": None})
    assert flow is not None and flow.phase.in_progress
