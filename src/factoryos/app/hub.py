"""The live hub: what was just stored, fanned out to whoever listens (browsers over SSE).

Publishers (the live twin's flushes, the KPI pusher) call :meth:`Hub.publish` from any thread;
each subscriber hands in a ``deliver`` callable that must not block (the API passes one that
puts the message on its event loop). A subscriber sees only the sites it names.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hub", "LiveMessage"]


@dataclass(frozen=True, slots=True)
class LiveMessage:
    site: str
    kind: str  # "state" | "kpi" | "twin"
    data: dict[str, Any]
    stored_at: float = field(default_factory=time.time)  # wall clock (s) when it was stored


Deliver = Callable[[LiveMessage], None]


class Hub:
    """Thread-safe publish/subscribe of :class:`LiveMessage` by site."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._subscribers: dict[int, tuple[frozenset[str], Deliver]] = {}

    def subscribe(self, sites: frozenset[str], deliver: Deliver) -> Callable[[], None]:
        """Deliver the messages of ``sites`` until the returned function is called."""
        key = next(self._ids)
        with self._lock:
            self._subscribers[key] = (sites, deliver)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(key, None)

        return unsubscribe

    def listening(self, site: str) -> bool:
        with self._lock:
            return any(site in sites for sites, _ in self._subscribers.values())

    def publish(self, message: LiveMessage) -> None:
        with self._lock:
            targets = [d for sites, d in self._subscribers.values() if message.site in sites]
        for deliver in targets:
            deliver(message)
