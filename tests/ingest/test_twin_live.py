"""The lossless path: the twin publishes Sparkplug B through Mosquitto, factoryos ingests it, and
the KPIs of what was ingested equal the KPIs of the twin's own events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path

import pytest

from factoryos.app.ingesting import run_ingest
from factoryos.app.kpis import kpi_report
from factoryos.app.publishing import mapping_for_twin, publish_simulation
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.pipeline import Counts
from factoryos.kpi.report import GroupBy
from factoryos.model import Event, load_plant
from factoryos.model.events import EnergyReading, ProductionCount, StateChange
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import PlantBroker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _ms(ts: dt.datetime) -> dt.datetime:
    """A time at Sparkplug's resolution (milliseconds since the epoch, truncated)."""
    return dt.datetime.fromtimestamp(int(ts.timestamp() * 1000) / 1000, dt.UTC)


def test_kpis_of_ingested_twin_equal_the_twins(broker: PlantBroker, tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    settings = Settings(db=str(tmp_path / "live.duckdb"))
    stop = threading.Event()
    stored = [0]
    counts: list[Counts] = []

    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            _ingest()
        except BaseException as exc:
            errors.append(exc)
            raise

    def _ingest() -> None:
        counts.append(
            run_ingest(
                settings,
                mapping_for_twin(plant),
                plant,
                broker.url,
                stop,
                options=IngestOptions(batch_s=0.1),
                on_batch=lambda p, *_: stored.__setitem__(0, p.counts.stored),
            )
        )

    ingester = threading.Thread(target=ingest)
    ingester.start()
    time.sleep(0.5)  # subscribed before the twin is born
    own: list[Event] = []
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)
    outcome = publish_simulation(
        plant, broker.url, days=1, seed=3, start=start, on_event=own.append
    )
    device_events = [e for e in own if isinstance(e, StateChange | ProductionCount | EnergyReading)]
    deadline = time.monotonic() + 120
    # every device event, and an `unknown` state per device from its DDEATH at the end
    expected = len(device_events) + len({e.path for e in device_events})
    while time.monotonic() < deadline and stored[0] < expected:
        time.sleep(0.2)
    stop.set()
    ingester.join(30)
    assert not errors, errors
    [c] = counts
    assert c.reconciles(), c.line()
    assert c.dead_letters == 0, c.line()

    # The twin's events at Sparkplug's resolution: a unit's states within one millisecond are the
    # last of them (ingested ties keep their publishing order, the last one wins too).
    last: dict[tuple[str, dt.datetime], Event] = {}
    others = []
    for e in own:
        e = dataclasses.replace(e, ts=_ms(e.ts))
        if isinstance(e, StateChange):
            last[(e.path, e.ts)] = e
        else:
            others.append(e)
    twin = DuckDBStore(":memory:")
    twin.append([*last.values(), *others])
    ingested = DuckDBStore(settings.db)
    end = start + dt.timedelta(days=1)
    want = kpi_report(twin, plant, start=start, end=end, by=GroupBy.EQUIPMENT)
    got = kpi_report(ingested, plant, start=start, end=end, by=GroupBy.EQUIPMENT)
    assert outcome.events > 1000
    for g, w in zip(got.groups, want.groups, strict=True):
        assert dataclasses.asdict(g.inputs) == dataclasses.asdict(w.inputs), g.group
        assert g == w, g.group
    assert got == want
