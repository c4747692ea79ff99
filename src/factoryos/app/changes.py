"""What changed in the store, and when: the basis of cached answers and of live pushes.

Every batch of stored events is one change, numbered in order, carrying the earliest ``ts`` it
stored. An answer computed over a window that ends at or before that instant cannot differ after
it (the aggregates are functions of the events with ``ts`` before the window's end: a state runs
from its event on, points count where they lie), so a month's KPIs survive a live plant appending
today's events. A change with no known instant (a lost listener) touches every answer.

Changes come from this process's writers (the live twin, the in-process ingester) and, for a
store other processes write to (PostgreSQL), from the store's notices (:mod:`factoryos.app.watch`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["ChangeLog"]

KEEP = 4096  # changes remembered, to check an answer computed while some arrived

Listener = Callable[[dt.datetime | None], None]


def touches(lo: dt.datetime | None, bound: dt.datetime | None) -> bool:
    """Whether events from ``lo`` on can change an answer over a window ending at ``bound``
    (None: the answer depends on everything, or the events' instant is unknown)."""
    return lo is None or bound is None or lo < bound


class ChangeLog:
    """Numbered changes, each with its earliest instant; thread-safe."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._recent: deque[tuple[int, dt.datetime | None]] = deque(maxlen=keep)
        self._listeners: list[Listener] = []

    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def subscribe(self, listener: Listener) -> None:
        """``listener(lo)`` after each change is recorded (from the recording thread)."""
        with self._lock:
            self._listeners.append(listener)

    def record(self, lo: dt.datetime | None) -> int:
        """Events with ``ts >= lo`` were stored (None: anything may have changed); its number."""
        with self._lock:
            self._seq += 1
            self._recent.append((self._seq, lo))
            seq, listeners = self._seq, list(self._listeners)
        for listener in listeners:
            listener(lo)
        return seq

    def touched_since(self, seq: int, bound: dt.datetime | None) -> bool:
        """Whether a change after number ``seq`` can change an answer bounded by ``bound``
        (True when the changes since are no longer all remembered)."""
        with self._lock:
            if seq == self._seq:
                return False
            if not self._recent or self._recent[0][0] > seq + 1:
                return True
            return any(touches(lo, bound) for n, lo in self._recent if n > seq)
