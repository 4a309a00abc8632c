"""The waiter in virtual time, against the simulator over real HTTP on loopback."""

from __future__ import annotations

import email.utils
import itertools

import pytest

from hn_wait.events import (
    Heartbeat,
    LogbookAbsent,
    OutcomeKind,
    Picked,
    Progressed,
    Retrying,
    Started,
    Vanished,
)
from hn_wait.exit_codes import ExitCode
from hn_wait.simulator import Fault, LogbookSimulator, SimFlow, http_error, xgrade_flow
from tests.fakes import FakeClock, make_settings, run_wait


def _tasks(n: int, seconds: float) -> list[tuple[str, float]]:
    return [(f"task_{i}", seconds) for i in range(1, n + 1)]


def test_success_by_name(sim: LogbookSimulator, clock: FakeClock) -> None:
    flow = sim.add_flow("shop", xgrade_flow(clock.time() + 5, seconds=120))
    outcome, events, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.exit_code == ExitCode.SUCCESS
    assert [f.uuid for f in outcome.flows] == [flow.uuid]
    assert outcome.flows[0].state == "success"
    assert isinstance(events[0], Started)
    picked = [e for e in events if isinstance(e, Picked)]
    assert len(picked) == 1 and picked[0].flow.uuid == flow.uuid and picked[0].how == "name"
    # Every task change is reported once, in order.
    completed = [
        e.flow.progress.completed for e in events if isinstance(e, Progressed) and e.flow.progress
    ]
    assert completed == sorted(completed)
    # Tasks end every ~15 s, so the backoff never passes its fourth step (8 s + 25% jitter).
    assert 0 <= clock.time() - flow.ends_at <= 10


def test_backoff_grows_without_change_and_stays_within_bounds(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time() - 10, tasks=[("long", 600.0)])
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    sleeps = clock.sleeps
    assert 2 <= sleeps[0] <= 2.5
    for n, delay in enumerate(sleeps[:4]):
        assert 2 * 2**n <= delay <= 2.5 * 2**n, sleeps
    assert max(sleeps) <= 30
    assert sleeps[6] >= 29  # at the maximum after a few polls without change


def test_backs_off_without_an_estimate_then_closes_in_on_the_end(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    # Nothing happens for 100 s (no task done: nothing to estimate from), then a task ends
    # every 20 s: from then on the pause is about half the projected time left.
    tasks = [("slow", 100.0), *_tasks(3, 20.0)]
    flow = sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=tasks))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    timeline = clock.timeline
    changes = [i for i, item in enumerate(timeline) if isinstance(item, Progressed)]
    before_first = [item for item in timeline[: changes[0]] if isinstance(item, float)]
    assert max(before_first) >= 16  # it had backed off while nothing changed
    assert all(2 <= pause <= 30 * 1.1 for pause in clock.sleeps)
    # The end (at 160 s) is noticed within a few seconds, with few polls after the slow task.
    assert clock.now - (flow.created + flow.duration) <= 5
    assert len([p for p in clock.sleeps]) <= 20


def test_deadline_exits_124_and_never_sleeps_past_it(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    flow = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time(), tasks=[("forever", 10_000.0)])
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"], timeout=100.0), clock)
    assert outcome.kind is OutcomeKind.TIMEOUT
    assert outcome.exit_code == ExitCode.TIMEOUT
    assert [f.uuid for f in outcome.failed] == [flow.uuid]
    assert sum(clock.sleeps) == pytest.approx(100.0)
    assert clock.now == pytest.approx(100.0)


def test_retry_after_seconds_is_honoured(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 20.0)]))
    sim.inject(http_error(429, retry_after="45"), after=1)
    outcome, events, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    retry = [e for e in events if isinstance(e, Retrying)]
    assert len(retry) == 1 and retry[0].retry_after == 45
    assert clock.sleeps[1] >= 45


def test_retry_after_http_date_is_honoured(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 20.0)]))
    when = email.utils.formatdate(clock.time() + 90, usegmt=True)
    sim.inject(http_error(503, retry_after=when))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert clock.sleeps[0] >= 89


def test_retry_after_beyond_the_deadline_times_out_without_polling_early(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 20.0)]))
    sim.inject(http_error(429, retry_after="600"))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"], timeout=60.0), clock)
    assert outcome.kind is OutcomeKind.TIMEOUT
    assert sim.flows_requests() == 1


def test_flow_that_appears_late_is_found(sim: LogbookSimulator, clock: FakeClock) -> None:
    flow = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() + 200, tasks=_tasks(3, 5))
    )
    outcome, events, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == flow.uuid
    assert any(isinstance(e, Heartbeat) and e.waiting_for == ("xgrade_app",) for e in events)


def test_appear_timeout_exits_3_with_near_matches(sim: LogbookSimulator, clock: FakeClock) -> None:
    old = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() - 900, tasks=_tasks(2, 30))
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.NOT_FOUND
    assert outcome.exit_code == ExitCode.NOT_FOUND
    assert clock.now == pytest.approx(300.0)
    assert outcome.unmatched == ("xgrade_app",)
    assert [f.uuid for f in outcome.near] == [old.uuid]


def test_old_finished_flow_of_the_same_name_is_not_taken(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() - 3600, tasks=_tasks(2, 30))
    )
    new = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() + 30, tasks=_tasks(2, 30))
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert [f.uuid for f in outcome.flows] == [new.uuid]


def test_old_failed_flow_does_not_fail_a_new_wait(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow(
        "shop",
        SimFlow(
            name="xgrade_app",
            created=clock.time() - 3600,
            end_state="reverted",
            tasks=_tasks(2, 30),
        ),
    )
    sim.add_flow("shop", SimFlow(name="xgrade_app", created=clock.time() + 10, tasks=_tasks(2, 30)))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS


def test_since_all_takes_an_old_finished_flow(sim: LogbookSimulator, clock: FakeClock) -> None:
    old = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() - 3600, tasks=_tasks(2, 30))
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"], since=None), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == old.uuid
    assert clock.now == 0  # one poll, no sleep


def test_old_flow_still_running_is_taken_whatever_its_age(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    old = sim.add_flow(
        "shop", SimFlow(name="xgrade_app", created=clock.time() - 3600, tasks=[("long", 3700.0)])
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == old.uuid


def test_newest_of_several_candidates_is_picked(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="xgrade_app", created=clock.time() - 60, tasks=_tasks(2, 10)))
    newest = sim.add_flow(
        "shop", SimFlow(name="xgrade_app_flow", created=clock.time() - 30, tasks=_tasks(2, 10))
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app*"]), clock)
    assert outcome.flows[0].uuid == newest.uuid


def test_alternatives_pick_either_name(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_app("shop-eph12ab", exists_from=clock.time() + 60)
    copied = sim.add_flow(
        "shop-eph12ab",
        SimFlow(name="ensure_copied_app", created=clock.time() + 60, tasks=_tasks(4, 20)),
    )
    settings = make_settings(sim, clock, ["ensure_app,ensure_copied_app"], app="shop-eph12ab")
    outcome, events, _ = run_wait(settings, clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == copied.uuid
    absent = [e for e in events if isinstance(e, LogbookAbsent)]
    assert len(absent) == 1  # the hint is given once, not at every 404


def test_logbook_that_stays_404_exits_3(sim: LogbookSimulator, clock: FakeClock) -> None:
    outcome, _, _ = run_wait(make_settings(sim, clock, ["ensure_app"], app="nope"), clock)
    assert outcome.kind is OutcomeKind.NOT_FOUND
    assert "404" in outcome.reason
    assert clock.now == pytest.approx(300.0)


def test_idle_wait_on_a_logbook_that_stays_404_exits_3(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    outcome, _, _ = run_wait(make_settings(sim, clock, [], app="nope"), clock)
    assert outcome.exit_code == ExitCode.NOT_FOUND


def test_success_by_flow_uuid(sim: LogbookSimulator, clock: FakeClock) -> None:
    flow = sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(3, 10))
    )
    sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time() + 1, tasks=_tasks(3, 100))
    )
    outcome, events, _ = run_wait(make_settings(sim, clock, [flow.uuid]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert [f.uuid for f in outcome.flows] == [flow.uuid]
    assert [e.how for e in events if isinstance(e, Picked)] == ["flow uuid"]


def test_success_by_tracker_uuid_follows_every_flow_of_the_job(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    tracker = "0dd83d83-6b9b-4fb5-9665-79fcf8235069"
    a = sim.add_flow(
        "shop",
        SimFlow(
            name="update_node", created=clock.time(), tasks=_tasks(2, 10), tracker_uuid=tracker
        ),
    )
    b = sim.add_flow(
        "shop",
        SimFlow(
            name="ensure_vhosts",
            created=clock.time() + 2,
            tasks=_tasks(2, 30),
            tracker_uuid=tracker,
        ),
    )
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 500)))
    outcome, _, _ = run_wait(make_settings(sim, clock, [tracker]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert {f.uuid for f in outcome.flows} == {a.uuid, b.uuid}
    assert clock.time() >= b.ends_at
    assert any(r.query.get("tracker_uuid") == tracker for r in sim.requests)


def test_job_url_waits_for_the_flow_to_be_written(sim: LogbookSimulator, clock: FakeClock) -> None:
    tracker = "0dd83d83-6b9b-4fb5-9665-79fcf8235069"
    flow = sim.add_flow(
        "shop",
        SimFlow(
            name="update_node", created=clock.time() + 20, tasks=_tasks(2, 10), tracker_uuid=tracker
        ),
    )
    url = f"https://api.hypernode.com/logbook/v1/jobs/{tracker}/"
    outcome, events, _ = run_wait(make_settings(sim, clock, [url]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert [f.uuid for f in outcome.flows] == [flow.uuid]
    assert [e.how for e in events if isinstance(e, Picked)] == ["tracker"]


def test_flow_uuid_beyond_the_first_page(sim: LogbookSimulator, clock: FakeClock) -> None:
    target = sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time() - 5000, tasks=[("long", 5100.0)])
    )
    for i in range(70):
        sim.add_flow(
            "shop",
            SimFlow(name="create_backup", created=clock.time() - 4000 + i, tasks=_tasks(1, 1)),
        )
    outcome, _, _ = run_wait(make_settings(sim, clock, [target.uuid]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == target.uuid
    offsets = {r.query.get("offset") for r in sim.requests}
    assert "50" in offsets


def test_reverted_flow_exits_1_with_the_tasks_that_were_running(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    flow = sim.add_flow("shop", xgrade_flow(clock.time(), seconds=100, end_state="reverted"))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["xgrade_app"]), clock)
    assert outcome.kind is OutcomeKind.FAILURE
    assert outcome.exit_code == ExitCode.FLOW_FAILED
    assert [f.uuid for f in outcome.failed] == [flow.uuid]
    assert outcome.failed[0].state == "reverted"
    # The last task seen running before the revert: the failing one or one shortly before it,
    # depending on where the polls fell.
    assert outcome.last_running[flow.uuid][0] in {
        "stop_mysql_on_volume",
        "ensure_nodes",
        "attach_volume",
    }


def test_unknown_state_is_a_failure_not_a_hang(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow(
        "shop",
        SimFlow(
            name="update_node",
            created=clock.time(),
            tasks=_tasks(2, 5),
            end_state="exploded",
            fail_after=2,
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.exit_code == ExitCode.FLOW_FAILED
    assert outcome.failed[0].state == "exploded"
    assert clock.now < 60


def test_several_selectors_fail_as_soon_as_one_fails(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 500)))
    bad = sim.add_flow(
        "shop",
        SimFlow(
            name="create_backup", created=clock.time(), tasks=_tasks(2, 5), end_state="reverted"
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node", "create_backup"]), clock)
    assert outcome.exit_code == ExitCode.FLOW_FAILED
    assert [f.uuid for f in outcome.failed] == [bad.uuid]
    assert clock.now < 100


def test_several_selectors_succeed_when_all_succeed(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    a = sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 50)))
    b = sim.add_flow(
        "shop", SimFlow(name="create_backup", created=clock.time(), tasks=_tasks(2, 5))
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node", "create_backup"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert {f.uuid for f in outcome.flows} == {a.uuid, b.uuid}
    assert clock.time() >= a.ends_at


def test_several_selectors_each_must_match(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 5)))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node", "xgrade_app"]), clock)
    assert outcome.exit_code == ExitCode.NOT_FOUND
    assert outcome.unmatched == ("xgrade_app",)


def test_idle_wait_succeeds_when_everything_finished(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    a = sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time() - 10, tasks=_tasks(2, 20))
    )
    b = sim.add_flow(
        "shop", SimFlow(name="create_backup", created=clock.time(), queued=30, tasks=_tasks(2, 20))
    )
    outcome, events, _ = run_wait(make_settings(sim, clock, []), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert {f.uuid for f in outcome.flows} == {a.uuid, b.uuid}
    assert clock.time() >= b.ends_at
    assert [e.how for e in events if isinstance(e, Picked)] == ["in progress", "in progress"]


def test_idle_wait_fails_when_a_flow_failed_during_it(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time() - 10, tasks=_tasks(2, 20))
    )
    bad = sim.add_flow(
        "shop",
        SimFlow(
            name="create_backup", created=clock.time(), tasks=_tasks(4, 20), end_state="reverted"
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, []), clock)
    assert outcome.exit_code == ExitCode.FLOW_FAILED
    assert [f.uuid for f in outcome.failed] == [bad.uuid]


def test_idle_wait_fails_on_a_recent_failure_even_if_it_ended_before(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    bad = sim.add_flow(
        "shop",
        SimFlow(
            name="create_backup",
            created=clock.time() - 60,
            tasks=_tasks(2, 5),
            end_state="reverted",
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, []), clock)
    assert outcome.exit_code == ExitCode.FLOW_FAILED
    assert [f.uuid for f in outcome.failed] == [bad.uuid]


def test_idle_wait_on_an_idle_logbook_succeeds_at_once(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow(
        "shop",
        SimFlow(
            name="create_backup",
            created=clock.time() - 7200,
            tasks=_tasks(2, 5),
            end_state="reverted",
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, []), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert clock.now == 0


def test_api_grace_five_minutes_then_exit_5(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 5000.0)]))
    sim.inject(http_error(502), after=2, times=10_000)
    outcome, events, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.API_ERROR
    assert outcome.exit_code == ExitCode.API
    retrying = [e for e in events if isinstance(e, Retrying)]
    assert [e.kind for e in retrying] == ["HTTP 502"]  # reported once per kind
    last_good = sim.requests[1].at - clock.wall0
    assert clock.now - last_good == pytest.approx(300, abs=0.01)


def test_transient_faults_in_the_middle_of_a_wait_are_ridden_out(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    flow = sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(4, 30))
    )
    faults = [
        http_error(500),
        http_error(503, html=False),
        http_error(504),
        Fault("drop"),
        Fault("reset"),
        Fault("body", body="{not json"),
        Fault("body", body="<html>maintenance</html>"),
        Fault("body", body="[1, 2]"),
        Fault("body", body='{"results": "nope"}'),
        Fault("body", body=""),
        http_error(429),
    ]
    for i, fault in enumerate(faults):
        sim.inject(fault, after=1 + i)
    outcome, events, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert outcome.flows[0].uuid == flow.uuid
    kinds = [e.kind for e in events if isinstance(e, Retrying)]
    assert len(kinds) == len(set(kinds))
    assert {"HTTP 500", "HTTP 503", "HTTP 504", "connection", "bad body", "HTTP 429"} <= set(kinds)


def test_auth_refused_exits_4_at_once(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 30)))
    sim.inject(http_error(401, html=False), after=1)
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.exit_code == ExitCode.AUTH
    assert outcome.reason.startswith("HTTP 401")
    assert len(outcome.flows) == 1  # what was seen before is kept for the report


def test_forbidden_exits_4(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.forbidden_tokens.add(sim.token)
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.exit_code == ExitCode.AUTH
    assert "403" in outcome.reason


def test_unexpected_4xx_exits_5_with_the_detail(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.inject(Fault("status", status=400, body='{"detail": "Bad filter."}'))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.exit_code == ExitCode.API
    assert "400" in outcome.reason and "Bad filter." in outcome.reason


def test_followed_flow_that_vanishes_ends_as_unknown_after_the_grace(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    flow = sim.add_flow(
        "shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 5000.0)])
    )
    _settings = make_settings(sim, clock, ["update_node"])

    calls = itertools.count(1)
    original = sim.page

    def page(app: str, query: dict[str, str], base: str):  # type: ignore[no-untyped-def]
        # Old flows drop out of a logbook: this one does at the third request.
        if next(calls) == 3:
            flow.removed = True
        return original(app, query, base)

    sim.page = page  # type: ignore[method-assign]
    outcome, events, _ = run_wait(_settings, clock)
    assert outcome.exit_code == ExitCode.API
    assert "no longer in the logbook" in outcome.reason
    assert sum(isinstance(e, Vanished) for e in events) == 1


def test_heartbeat_at_most_once_a_minute(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=[("t", 600.0)]))
    outcome, events, _ = run_wait(make_settings(sim, clock, ["update_node"]), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    beats = [e for e in events if isinstance(e, Heartbeat)]
    assert 8 <= len(beats) <= 10
    times = [b.elapsed for b in beats]
    assert all(b - a >= 60 for a, b in zip(times, times[1:]))


def test_legacy_api_base_path(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 5)))
    settings = make_settings(sim, clock, ["update_node"], api_url=sim.url + "/api")
    outcome, _, _ = run_wait(settings, clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    assert all(r.path.startswith("/api/logbook/v1/") for r in sim.requests)


def test_requests_carry_the_documented_headers(sim: LogbookSimulator, clock: FakeClock) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(1, 1)))
    outcome, _, _ = run_wait(make_settings(sim, clock, ["update_node"], since=None), clock)
    assert outcome.kind is OutcomeKind.SUCCESS
    first = sim.requests[0]
    assert first.path == "/logbook/v1/logbooks/shop/flows/"
    assert first.query["limit"] == "50"
    assert first.accept == "application/json"
    assert first.user_agent.startswith("hn-wait/")
    assert first.authorized


def test_404_after_the_logbook_answered_is_a_glitch_not_not_found(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(2, 200)))
    sim.inject(Fault("status", status=404, body='{"detail": "Not found."}'), after=1, times=3)
    outcome, events, _ = run_wait(
        make_settings(sim, clock, ["update_node"], appear_timeout=1.0), clock
    )
    assert outcome.kind is OutcomeKind.SUCCESS
    assert [e.kind for e in events if isinstance(e, Retrying)] == ["HTTP 404"]
    assert not any(isinstance(e, LogbookAbsent) for e in events)


def test_idle_wait_failure_reports_the_failed_flow_even_if_not_followed(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    bad = sim.add_flow(
        "shop",
        SimFlow(
            name="create_backup", created=clock.time() - 60, tasks=_tasks(2, 5), end_state="failed"
        ),
    )
    outcome, _, _ = run_wait(make_settings(sim, clock, []), clock)
    assert [f.uuid for f in outcome.flows] == [bad.uuid]


def test_one_request_per_poll_once_the_flows_are_found(
    sim: LogbookSimulator, clock: FakeClock
) -> None:
    for i in range(120):
        sim.add_flow(
            "shop",
            SimFlow(name="create_backup", created=clock.time() - 9000 + i, tasks=_tasks(1, 1)),
        )
    sim.add_flow("shop", SimFlow(name="update_node", created=clock.time(), tasks=_tasks(5, 40)))
    outcome, _, waiter = run_wait(
        make_settings(sim, clock, ["update_node", "create_*"], since=600.0), clock
    )
    assert outcome.exit_code == ExitCode.NOT_FOUND  # no recent create_* flow: waits for it
    deep = [r for r in sim.requests if r.query.get("offset") != "0"]
    assert len(deep) == 2  # pages 2 and 3, on the first poll only
    assert len(sim.requests) == waiter.polls + 2
