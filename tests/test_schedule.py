from __future__ import annotations

import pytest

from hn_wait.schedule import backoff_delay, next_delay


def test_backoff_doubles_from_the_minimum_up_to_the_maximum() -> None:
    delays = [backoff_delay(n, 2, 30, 0.0) for n in range(7)]
    assert delays == [2, 4, 8, 16, 30, 30, 30]


def test_jitter_adds_at_most_a_quarter_and_respects_the_bounds() -> None:
    assert backoff_delay(0, 2, 30, 0.999) == pytest.approx(2.4995, rel=1e-3)
    assert 16 <= backoff_delay(3, 2, 30, 0.999) <= 20
    assert backoff_delay(10, 2, 30, 0.999) == 30
    assert backoff_delay(10**6, 2, 30, 0.5) == 30


def test_next_delay_lands_on_a_checkpoint() -> None:
    assert next_delay(30, now=100, deadline=None, checkpoints=[110]) == 10
    assert next_delay(30, now=100, deadline=None, checkpoints=[90]) == 30


def test_next_delay_honours_retry_after_over_checkpoints() -> None:
    assert next_delay(2, now=100, deadline=None, checkpoints=[105], not_before=160) == 60


def test_next_delay_never_passes_the_deadline() -> None:
    assert next_delay(30, now=100, deadline=110, not_before=200) == 10
    assert next_delay(30, now=100, deadline=90) == 0
