"""mlrun_music.time_budget: a block that runs too long is stopped; a caller's own pending alarm is left alone."""

from __future__ import annotations

import signal
import time

import pytest

from mlrun_music.time_budget import OverBudget, time_budget


def test_a_block_over_its_budget_is_stopped_and_the_handler_restored():
    before = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    with pytest.raises(OverBudget):
        with time_budget(0.05):
            try:
                while True:
                    time.sleep(0.01)
            except Exception:  # a library's own catch-all cannot swallow it
                pass
    assert time.perf_counter() - start < 2
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    with time_budget(5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_pending_alarm_of_the_caller_is_not_moved():
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        with time_budget(0.01):
            time.sleep(0.05)  # unbounded here: the caller's own limit stands
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 25
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
