"""The lossless JSON path: the twin publishes plain MQTT JSON through Mosquitto, factoryos
ingests it with the twin's JSON mapping, and the KPIs of what was ingested equal the KPIs of the
twin's own events."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from factoryos.app.publishing import Format, mapping_for_twin, publish_simulation
from factoryos.app.settings import Settings
from factoryos.ingest.mapping import load_mapping
from factoryos.model import Event, load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import PlantBroker, wait_online
from tests.ingest.twin_kpis import Ingesting, assert_same, at_ms, reports, store_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_example_json_mapping_is_the_twins() -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    shipped = load_mapping(ROOT / "examples" / "ingest" / "robot_twin_json.yaml")
    assert shipped == mapping_for_twin(plant, "mqtt://", Format.JSON)


def test_kpis_of_json_ingested_twin_equal_the_twins(broker: PlantBroker, tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    prefix = f"twin{time.time_ns()}"
    mapping = mapping_for_twin(plant, broker.url, Format.JSON, prefix).model_copy(
        update={"host_id": f"json-{prefix}"}
    )
    settings = Settings(db=str(tmp_path / "json.duckdb"))
    ingester = Ingesting(settings, mapping, plant, broker.url)
    wait_online(broker.port, {mapping.host_id})  # subscribed before the twin publishes
    own: list[Event] = []
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)
    outcome = publish_simulation(
        plant,
        broker.url,
        days=1,
        seed=3,
        start=start,
        on_event=own.append,
        fmt=Format.JSON,
        prefix=prefix,
    )
    # one message per state, energy reading and non-zero count field; each is one event
    try:
        wait_for(lambda: ingester.stored >= outcome.published, 120, f"{outcome.published} stored")
    finally:
        counts = ingester.finish()
    assert counts.dead_letters == 0 and counts.duplicates == 0, counts.line()
    assert counts.stored == outcome.published > 1000

    want, got = reports(store_of(at_ms(own)), DuckDBStore(settings.db), plant, start)
    assert_same(want, got)
