"""The live ingester inside the server: a broker's (or OPC UA server's) data into the server's
own store, in a background thread (``factoryos serve --ingest MAPPING --broker URL``).

On the embedded store this is the only way to ingest while serving (DuckDB has one writing
process); on PostgreSQL ingesters may as well run as their own processes (``factoryos ingest
run``), the server hears of their events through the store. Each committed batch is handed to
``on_stored`` like the live twin's, so browsers see it at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from factoryos.app.ingesting import run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.mapping import load_mapping
from factoryos.ingest.pipeline import Batch, Counts, Pipeline
from factoryos.model import Event, Plant
from factoryos.store.arrow import table_to_events
from factoryos.store.protocol import EventStore

__all__ = ["LiveIngest"]

log = logging.getLogger(__name__)


class LiveIngest:
    """One ingester thread; :meth:`start`, :meth:`stop` (drains, commits, then returns)."""

    def __init__(
        self,
        mapping: Path,
        plant: Plant,
        broker: str,
        store: EventStore,
        db: str,
        on_stored: Callable[[Sequence[Event]], None],
    ) -> None:
        self.mapping = load_mapping(mapping)  # a bad mapping fails the start, not the thread
        self.plant = plant
        self.broker = broker
        self._store = store
        self._settings = Settings(db=db)
        self._on_stored = on_stored
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="factoryos-ingest", daemon=True)
        self.counts: Counts | None = None
        # the newest event time of the last batch: the site's clock (a virtual or replayed plant
        # runs on its own time; a real one's is the wall clock less the transport's delay). Of
        # the last batch, not of all: Sparkplug births carry the wall clock, a replay's data not.
        self.latest: dt.datetime | None = None
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout_s)

    def _batch(self, _: Pipeline, __: int, batch: Batch, ___: int) -> None:
        if batch.events:
            events = table_to_events(batch.table())
            self.latest = max(e.ts for e in events)
            self._on_stored(events)

    def _run(self) -> None:
        try:
            self.counts = run_ingest(
                self._settings,
                self.mapping,
                self.plant,
                self.broker,
                self._stop,
                on_batch=self._batch,
                store=self._store,
            )
        except BaseException as exc:  # reported by the service; the thread must not vanish
            log.error("the live ingester stopped: %s", exc)
            self.error = exc
