"""The twin's own events at an ingest path's resolution, and the KPI comparison of two stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable

from factoryos.app.ingesting import run_ingest
from factoryos.app.kpis import kpi_report
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.pipeline import Counts, Pipeline
from factoryos.kpi.report import GroupBy, KpiReport
from factoryos.model import Event, Plant
from factoryos.model.events import EnergyReading, ProductionCount, StateChange
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.protocol import EventStore

DEVICE_EVENTS = (StateChange, ProductionCount, EnergyReading)


def ms(ts: dt.datetime) -> dt.datetime:
    """A time at the ingest resolution (milliseconds since the epoch, truncated)."""
    return dt.datetime.fromtimestamp(int(ts.timestamp() * 1000) / 1000, dt.UTC)


def at_ms(events: Iterable[Event]) -> list[Event]:
    """The twin's device events at millisecond resolution: a unit's states within one millisecond
    are the last of them (ingested ties keep their publishing order, the last one wins too)."""
    last: dict[tuple[str, dt.datetime], Event] = {}
    others: list[Event] = []
    for e in events:
        if not isinstance(e, DEVICE_EVENTS):
            continue
        e = dataclasses.replace(e, ts=ms(e.ts))
        if isinstance(e, StateChange):
            last[(e.path, e.ts)] = e
        else:
            others.append(e)
    return [*last.values(), *others]


def store_of(events: list[Event]) -> DuckDBStore:
    store = DuckDBStore(":memory:")
    store.append(events)
    return store


def reports(
    want: EventStore, got: EventStore, plant: Plant, start: dt.datetime, days: float = 1
) -> tuple[KpiReport, KpiReport]:
    end = start + dt.timedelta(days=days)
    return (
        kpi_report(want, plant, start=start, end=end, by=GroupBy.EQUIPMENT),
        kpi_report(got, plant, start=start, end=end, by=GroupBy.EQUIPMENT),
    )


def assert_same(want: KpiReport, got: KpiReport) -> None:
    """Equal group by group (inputs first: the figure that differs is then named), then whole."""
    for g, w in zip(got.groups, want.groups, strict=True):
        assert dataclasses.asdict(g.inputs) == dataclasses.asdict(w.inputs), g.group
        assert g == w, g.group
    assert got == want


def wait_for(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s: {what}"
        time.sleep(0.05)


class Background:
    """Runs ``target`` in a thread; keeps its result or exception for the test to check."""

    def __init__(self, target: Callable[[], object]) -> None:
        self.result: list[object] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.thread.start()

    def _run(self, target: Callable[[], object]) -> None:
        try:
            self.result.append(target())
        except BaseException as exc:
            self.errors.append(exc)

    def join(self, timeout_s: float) -> object:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "still running"
        assert not self.errors, self.errors
        [result] = self.result
        return result


class Ingesting(Background):
    """``run_ingest`` in a thread (small batches, so a test sees each commit soon), keeping the
    last batch's pipeline; ``finish`` stops it and returns its reconciled counts."""

    def __init__(
        self,
        settings: Settings,
        mapping: IngestMapping,
        plant: Plant,
        url: str,
        batch_s: float = 0.1,
    ) -> None:
        self.stop = threading.Event()
        self.last: Pipeline | None = None
        super().__init__(
            lambda: run_ingest(
                settings,
                mapping,
                plant,
                url,
                self.stop,
                options=IngestOptions(batch_s=batch_s),
                on_batch=self._batch,
            )
        )

    def _batch(self, pipeline: Pipeline, *_: object) -> None:
        self.last = pipeline

    @property
    def stored(self) -> int:
        return self.last.counts.stored if self.last else 0

    @property
    def received(self) -> int:
        return self.last.counts.received if self.last else 0

    def finish(self, timeout_s: float = 30) -> Counts:
        self.stop.set()
        counts = self.join(timeout_s)
        assert isinstance(counts, Counts)
        assert counts.reconciles(), counts.line()
        return counts
