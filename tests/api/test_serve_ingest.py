"""``serve --ingest MAPPING --broker URL``: the twin published as a Sparkplug B virtual plant
reaches the server's store through the broker and the in-process ingester, and the browsers'
live stream; the site's clock follows the ingested data."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from factoryos.app.hub import LiveMessage
from factoryos.app.publishing import publish_simulation, write_twin_mapping
from factoryos.app.service import Service, ServiceSettings
from factoryos.ingest.publisher import twin_mapping
from factoryos.model import EnergyReading, Event, ProductionCount, StateChange, load_plant
from factoryos.store.duckdb_store import DuckDBStore
from factoryos.store.users import DuckDBUserStore
from tests.api.conftest import PLANT_A, SHANGHAI

BROKER = "mqtt://127.0.0.1:1883"


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _broker_up(), reason="no Mosquitto on 127.0.0.1:1883 (bash scripts/services.sh starts it)"
)


def test_the_virtual_plant_reaches_store_stream_and_clock(tmp_path: Path) -> None:
    site = f"t{uuid.uuid4().hex[:10]}"  # a Sparkplug group no other test publishes to
    plant_path = tmp_path / "plant.yaml"
    text = PLANT_A.read_text(encoding="utf-8").replace("  id: jiading\n", f"  id: {site}\n", 1)
    plant_path.write_text(text, encoding="utf-8")
    plant = load_plant(plant_path)
    mapping = tmp_path / "mapping.yaml"
    write_twin_mapping(twin_mapping(plant.root_path, site, host_id=f"host-{site}"), mapping)

    store = DuckDBStore(":memory:")
    settings = ServiceSettings((plant_path,), db=":memory:", ingest=mapping, broker=BROKER)
    service = Service(settings, store=store, users=DuckDBUserStore(":memory:"))
    states: list[LiveMessage] = []
    service.hub.subscribe(frozenset({site}), states.append)
    service.start()
    try:
        time.sleep(1.0)  # the ingester subscribes before the edge nodes are born
        start = dt.datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI)
        own: list[Event] = []
        publish_simulation(plant, BROKER, days=0.05, seed=2, start=start, on_event=own.append)
        # what a device publishes, at Sparkplug's millisecond (a unit's states within one
        # millisecond are one), and an `unknown` state per device when it dies at the end
        device = {
            (e.path, type(e).__name__, e.ts.replace(microsecond=e.ts.microsecond // 1000 * 1000))
            for e in own
            if isinstance(e, StateChange | ProductionCount | EnergyReading)
        }
        expected = len(device) + len({path for path, _, _ in device})
        deadline = time.monotonic() + 30
        while store.count() < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.count() == expected
        assert service.ingester is not None and service.ingester.error is None
        # the clock is the data's: the last batch's newest event, not the births' wall clock
        end = start + dt.timedelta(days=0.05)
        assert start < service.now(site) <= end
        stated = [m for m in states if m.kind == "state"]
        assert stated and {m.data["path"] for m in stated} <= {u.path for u in plant.work_units}
    finally:
        service.stop()
    assert not any(t.name == "factoryos-ingest" and t.is_alive() for t in threading.enumerate())
