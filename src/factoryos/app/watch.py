"""Events other processes store, heard by the server: live views over a shared PostgreSQL store.

Ingesters running as their own processes (``factoryos ingest run --db postgresql://...``) append
to the store, and every append sends a notice at commit (:mod:`factoryos.store.postgres_notices`).
:class:`StoreWatch` listens in a thread; for each packet of notices it records the change (so
cached answers over the touched windows go) and reads the state events in the notices' span, to
push them to browsers as this process's own would be. A lost connection counts as "anything may
have changed" and is reopened after a pause.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence

from factoryos.app.changes import ChangeLog
from factoryos.model import Event, EventKind
from factoryos.model.errors import StoreError
from factoryos.store.arrow import table_to_events
from factoryos.store.postgres_notices import StoredNotices
from factoryos.store.protocol import EventStore

__all__ = ["StoreWatch"]

log = logging.getLogger(__name__)

WAIT_S = 0.5  # a notice is read at once; this only bounds how long a stop waits
RETRY_S = 2.0
MAX_PUSHED = (
    20_000  # a bigger batch (an import) is recorded as a change but not pushed state by state
)


class StoreWatch:
    """Listens for the notices of the store at ``url`` until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        store: EventStore,
        changes: ChangeLog,
        on_states: Callable[[Sequence[Event]], None],
    ) -> None:
        self._url = url
        self._store = store
        self._changes = changes
        self._on_states = on_states
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="factoryos-watch", daemon=True)
        self.listening = threading.Event()  # set while a listener is connected

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S + 5.0)

    def _run(self) -> None:
        notices: StoredNotices | None = None
        while not self._stop.is_set():
            try:
                if notices is None:
                    notices = StoredNotices(self._url)
                    # what was stored while no one listened is unknown
                    self._changes.record(None)
                    self.listening.set()
                found = notices.wait(WAIT_S)
                if found:
                    self._heard(
                        min(n.lo for n in found),
                        max(n.hi for n in found),
                        sum(n.count for n in found),
                    )
            except StoreError as exc:
                log.warning(
                    "live notices from the store: %s; listening again in %.0f s", exc, RETRY_S
                )
                self.listening.clear()
                if notices is not None:
                    notices.close()
                    notices = None
                self._stop.wait(RETRY_S)
        if notices is not None:
            notices.close()
        self.listening.clear()

    def _heard(self, lo: dt.datetime, hi: dt.datetime, count: int) -> None:
        self._changes.record(lo)
        if count > MAX_PUSHED:
            return
        end = hi + dt.timedelta(microseconds=1)
        states = self._store.events(lo, end, None, [EventKind.STATE])
        if states.num_rows:
            self._on_states(table_to_events(states))
