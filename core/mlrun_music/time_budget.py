"""A time limit on a block of work (a parser given one file): bounded work for hostile or pathological input."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class OverBudget(BaseException):
    """Raised inside the block when its time is up. A BaseException, so a library's own ``except Exception``
    (music21 has many) cannot swallow it."""


@contextlib.contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`OverBudget` in the block after ``seconds`` (SIGALRM: the main thread of a Unix process).

    Where no alarm can be set, or another one is pending (a caller's own limit, which must not be moved), or
    ``seconds`` is 0, the block runs unbounded: callers that need a bound there check the elapsed time afterwards.
    """
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def over(signum: int, frame: Any) -> None:
        raise OverBudget()

    previous = signal.signal(signal.SIGALRM, over)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
