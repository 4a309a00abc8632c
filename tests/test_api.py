"""LogbookClient against the simulator: one request, its answer or its error classified."""

from __future__ import annotations

import time

import pytest

from hn_wait.api import (
    ApiRefused,
    AuthRefused,
    LogbookClient,
    LogbookMissing,
    TransientError,
    flows_url,
    read_logbook,
)
from hn_wait.secret import Secret
from hn_wait.simulator import Fault, LogbookSimulator, SimFlow, http_error


def _client(sim: LogbookSimulator, app: str = "shop", **kwargs: object) -> LogbookClient:
    return LogbookClient(sim.url, app, Secret(sim.token), **kwargs)  # type: ignore[arg-type]


def test_flows_url_current_and_legacy() -> None:
    assert (
        flows_url("https://api.hypernode.com", "shop")
        == "https://api.hypernode.com/logbook/v1/logbooks/shop/flows/"
    )
    assert (
        flows_url("https://api.hypernode.com/api/", "shop")
        == "https://api.hypernode.com/api/logbook/v1/logbooks/shop/flows/"
    )


def test_a_page_with_paging_and_the_server_clock(live_sim: LogbookSimulator) -> None:
    for i in range(3):
        live_sim.add_flow("shop", SimFlow(name=f"flow{i}", created=time.time() - 100 + i))
    answer = _client(live_sim).get_page(limit=2)
    assert [f.name for f in answer.page.flows] == ["flow2", "flow1"]
    assert answer.page.count == 3 and answer.page.next_offset == 2
    assert answer.server_time is not None and abs(answer.server_time - time.time()) < 5
    last = _client(live_sim).get_page(limit=2, offset=2)
    assert [f.name for f in last.page.flows] == ["flow0"] and last.page.next_offset is None


def test_tracker_filter_is_sent(live_sim: LogbookSimulator) -> None:
    live_sim.add_flow("shop", SimFlow(name="a", created=time.time(), tracker_uuid="t-1"))
    live_sim.add_flow("shop", SimFlow(name="b", created=time.time()))
    answer = _client(live_sim).get_page(tracker_uuid="t-1")
    assert [f.name for f in answer.page.flows] == ["a"]


def test_slashless_redirect_on_the_same_host_is_followed(live_sim: LogbookSimulator) -> None:
    client = _client(live_sim)
    client.url = client.url.rstrip("/")
    answer = client.get_page()
    assert answer.page.count == 0
    assert [r.status for r in live_sim.requests] == [301, 200]
    assert all(r.authorized for r in live_sim.requests)


def test_redirect_to_another_host_is_refused(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("redirect", status=307, location="https://evil.example/flows/"))
    with pytest.raises(ApiRefused, match="another host"):
        _client(live_sim).get_page()
    assert len(live_sim.requests) == 1


def test_redirect_loop_is_refused(live_sim: LogbookSimulator) -> None:
    live_sim.inject(
        Fault("redirect", status=302, location="/logbook/v1/logbooks/shop/flows/"), times=20
    )
    with pytest.raises(ApiRefused, match="redirect loop"):
        _client(live_sim).get_page()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthRefused),
        (403, AuthRefused),
        (400, ApiRefused),
        (405, ApiRefused),
        (410, ApiRefused),
    ],
)
def test_client_errors(live_sim: LogbookSimulator, status: int, error: type[Exception]) -> None:
    live_sim.inject(Fault("status", status=status, body='{"detail": "Nope \\u001b[31m."}'))
    with pytest.raises(error) as info:
        _client(live_sim).get_page()
    assert f"HTTP {status}: Nope [31m." in str(info.value)  # control characters stripped


def test_404_is_a_missing_logbook(live_sim: LogbookSimulator) -> None:
    with pytest.raises(LogbookMissing):
        _client(live_sim, app="nosuch").get_page()


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_are_transient(live_sim: LogbookSimulator, status: int) -> None:
    live_sim.inject(http_error(status))
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page()
    assert info.value.kind == f"HTTP {status}" and info.value.retry_after is None


def test_retry_after_in_seconds_and_as_a_date(live_sim: LogbookSimulator) -> None:
    live_sim.inject(http_error(429, retry_after="120"))
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page()
    assert info.value.retry_after == 120
    import email.utils

    live_sim.inject(
        http_error(503, retry_after=email.utils.formatdate(time.time() + 60, usegmt=True))
    )
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page()
    assert info.value.retry_after is not None and 55 <= info.value.retry_after <= 61
    live_sim.inject(http_error(503, retry_after="soon"))
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page()
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault("drop"), "connection"),
        (Fault("reset"), "connection"),
        (Fault("body", body=""), "bad body"),
        (Fault("body", body="<html>oops</html>"), "bad body"),
        (Fault("body", body='{"results": [1'), "bad body"),
        (Fault("body", body='"a string"'), "bad body"),
        (Fault("body", body='{"count": 0}'), "bad body"),
        (Fault("body", body="\xff\xfe"), "bad body"),
    ],
)
def test_broken_answers_are_transient(live_sim: LogbookSimulator, fault: Fault, kind: str) -> None:
    live_sim.inject(fault)
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page()
    assert info.value.kind == kind


def test_a_hanging_request_times_out(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("hang", delay=10))
    started = time.monotonic()
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page(timeout=1.0)
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 1.6


def test_an_answer_that_trickles_in_times_out(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("trickle", delay=0.2))
    started = time.monotonic()
    with pytest.raises(TransientError) as info:
        _client(live_sim).get_page(timeout=1.0)
    assert info.value.kind == "timeout"
    assert time.monotonic() - started < 1.6


def test_a_huge_body_is_cut_off(live_sim: LogbookSimulator) -> None:
    live_sim.inject(Fault("body", body='{"results": [' + "1," * 40_000 + "1]}"))
    with pytest.raises(TransientError) as info:
        _client(live_sim, max_body=10_000).get_page()
    assert info.value.kind == "oversized body"


def test_connection_refused_is_transient() -> None:
    client = LogbookClient("http://127.0.0.1:9", "shop", Secret("tokentoken"))
    with pytest.raises(TransientError) as info:
        client.get_page(timeout=2)
    assert info.value.kind == "connection" and "refused" in info.value.message
    assert "tokentoken" not in info.value.message


def test_requests_are_counted(live_sim: LogbookSimulator) -> None:
    client = _client(live_sim)
    client.get_page()
    client.get_page()
    assert client.requests_sent == 2


def test_read_logbook_pages_through_everything_once(live_sim: LogbookSimulator) -> None:
    for i in range(7):
        live_sim.add_flow("shop", SimFlow(name=f"flow{i}", created=time.time() - 100 + i))
    flows = read_logbook(_client(live_sim), max_pages=10, page_size=3)
    assert [f.name for f in flows] == [f"flow{i}" for i in reversed(range(7))]
    assert len(live_sim.requests) == 3


def test_read_logbook_retries_transient_errors_honouring_retry_after(
    live_sim: LogbookSimulator,
) -> None:
    live_sim.add_flow("shop", SimFlow(name="a", created=time.time()))
    live_sim.inject(http_error(502))
    live_sim.inject(http_error(429, retry_after="5"), after=1)
    sleeps: list[float] = []
    flows = read_logbook(_client(live_sim), max_pages=10, sleep=sleeps.append)
    assert [f.name for f in flows] == ["a"]
    assert sleeps == [1.0, 5.0]


def test_read_logbook_gives_up_after_its_attempts(live_sim: LogbookSimulator) -> None:
    live_sim.inject(http_error(503), times=10)
    sleeps: list[float] = []
    with pytest.raises(TransientError):
        read_logbook(_client(live_sim), max_pages=10, attempts=4, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_netrc_entry_does_not_replace_the_token(
    live_sim: LogbookSimulator, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = LogbookClient(
        live_sim.url.replace("127.0.0.1", "127.0.0.1"), "shop", Secret(live_sim.token)
    )
    client._session.trust_env = True  # as for a real, non-loopback API
    client.get_page()
    assert live_sim.requests[-1].authorized


def test_loopback_urls_ignore_proxy_settings(live_sim: LogbookSimulator, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    _client(live_sim).get_page()
    assert live_sim.requests[-1].authorized
