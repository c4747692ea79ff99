"""The lossless OPC UA path: the twin serves its work units from an asyncua server, factoryos
subscribes to them with the twin's OPC UA mapping, and the KPIs of what was ingested equal the
KPIs of the twin's own events at OPC UA's resolution.

That resolution: the server holds one value per variable, so what the twin did within one
millisecond is one change (the ingester's event ids are per variable and millisecond), and energy
is a cumulative meter (a Double), whose differences are the twin's kWh up to the rounding of the
running total. The reference is the twin's events seen through the same meter; the raw kWh total
agrees to 1e-9. Counts are cumulative integer counters: exact whatever a subscription samples.

The test takes ~15 s on the shared 2-core machine: a day of the robot plant (about 4,000 variable
writes to 500 variables) through an asyncua server and client, both pure Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.app.publishing import mapping_for_twin, publish_simulation, twin_units
from factoryos.app.settings import Settings
from factoryos.cli.main import app
from factoryos.ingest.mapping import Rule, load_mapping
from factoryos.ingest.opcua_twin import OpcUaTwinServer
from factoryos.model import Event, load_plant
from factoryos.model.events import EnergyReading
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import _free_port
from tests.ingest.twin_kpis import (
    Ingesting,
    assert_same,
    at_ms,
    ms,
    reports,
    store_of,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_example_opcua_mapping_is_the_twins() -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    shipped = load_mapping(ROOT / "examples" / "ingest" / "robot_twin_opcua.yaml")
    assert shipped == mapping_for_twin(plant, "opc.tcp://127.0.0.1:4840")


def through_meter(events: list[Event]) -> list[Event]:
    """Energy as the server's meters give it: per unit and millisecond with a change, the
    running total (added in the twin's order, as the server adds) after minus before."""
    total: dict[str, float] = {}
    spans: dict[tuple[str, dt.datetime], list[float]] = {}  # (before, after)
    firsts: dict[tuple[str, dt.datetime], EnergyReading] = {}
    out: list[Event] = []
    for e in events:
        if not isinstance(e, EnergyReading):
            out.append(e)
            continue
        key = (e.path, ms(e.ts))
        before = total.get(e.path, 0.0)
        total[e.path] = after = before + e.energy_kwh
        spans.setdefault(key, [before, after])[1] = after
        firsts.setdefault(key, e)
    for key, (before, after) in spans.items():
        if after != before:
            out.append(dataclasses.replace(firsts[key], ts=key[1], energy_kwh=after - before))
    return out


def test_kpis_of_opcua_ingested_twin_equal_the_twins(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    url = f"opc.tcp://127.0.0.1:{_free_port()}/"
    mapping = mapping_for_twin(plant, url)
    nodes = len(mapping.sources)
    settings = Settings(db=str(tmp_path / "opcua.duckdb"))
    ingester: list[Ingesting] = []

    def received() -> int:
        return ingester[0].received if ingester else 0

    def subscribe() -> None:  # the server is up; the twin starts once every node was read
        ingester.append(Ingesting(settings, mapping, plant, url, batch_s=0.05))
        wait_for(lambda: received() >= nodes, 60, f"the {nodes} initial values")

    def drained(writes: int) -> None:  # the server still serves: until each change is in
        wait_for(lambda: received() >= nodes + writes, 60, f"{writes} changes received")

    own: list[Event] = []
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)
    outcome = publish_simulation(
        plant,
        url,
        days=1,
        seed=3,
        start=start,
        on_event=own.append,
        on_ready=subscribe,
        before_close=drained,
    )
    [background] = ingester
    counts = background.finish()
    assert counts.dead_letters == 0 and counts.duplicates == 0, counts.line()
    units = len(plant.work_units)
    # each unit's initial `unknown` state, then one event per change; counters' and meters'
    # first readings are their baselines
    assert counts.baselines == nodes - units
    assert counts.stored == units + outcome.published
    assert outcome.published > 1000

    ingested = DuckDBStore(settings.db)
    reference = through_meter(at_ms(own))
    want, got = reports(store_of(reference), ingested, plant, start)
    assert_same(want, got)
    # the meters' differences are the twin's kWh up to the rounding of their running totals
    twin_kwh = math.fsum(e.energy_kwh for e in own if isinstance(e, EnergyReading))
    got_kwh = math.fsum(e.energy_kwh for e in reference if isinstance(e, EnergyReading))
    assert got_kwh == pytest.approx(twin_kwh, rel=1e-9)


def test_browse_proposes_the_twins_mapping(tmp_path: Path) -> None:
    """`factoryos ingest browse URL --plant P` on the twin's server writes its mapping. (~10 s
    on the shared machine: the server's start, ~5 s, and browsing 500 variables in 800 nodes.)"""
    plant_file = ROOT / "examples" / "robot_factory.yaml"
    plant = load_plant(plant_file)
    url = f"opc.tcp://127.0.0.1:{_free_port()}/"
    start = dt.datetime(2026, 3, 2, tzinfo=plant.zone)
    server = OpcUaTwinServer(url, plant.root_path, plant.site.id, twin_units(plant), start)
    server.start()
    try:
        out = tmp_path / "proposed.yaml"
        result = CliRunner().invoke(
            app, ["ingest", "browse", url, "--plant", str(plant_file), "--write", str(out)]
        )
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert "0 to complete" in result.output
    proposed = load_mapping(out).sources
    want = mapping_for_twin(plant, url).sources
    assert sorted(proposed, key=Rule.describe) == sorted(want, key=Rule.describe)
