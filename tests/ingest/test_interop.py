"""Interoperability: Sparkplug B payloads made by pysparkplug (another implementation) published
through Mosquitto and ingested by factoryos."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.app.ingesting import run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import PlantBroker, wait_online

psp = pytest.importorskip("pysparkplug", reason="scripts/setup.sh installs pysparkplug")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
MAPPING = """
sources:
  - sparkplug: {group: jiading, node: "+", device: "+", metric: State}
    path: "step_robotics/{group}/{node}/{device}"
    kind: state
    values: packml
  - sparkplug: {group: jiading, node: "+", device: "+", metric: Temp}
    path: "step_robotics/{group}/{node}/{device}"
    kind: sample
    sensor: spindle_temp
"""


def test_pysparkplug_edge_node_is_ingested(broker: PlantBroker, tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    settings = Settings(db=str(tmp_path / "interop.duckdb"))
    stop = threading.Event()
    counts = []
    thread = threading.Thread(
        target=lambda: counts.append(
            run_ingest(
                settings,
                load_mapping_text(MAPPING),
                plant,
                broker.url,
                stop,
                options=IngestOptions(batch_s=0.05),
            )
        )
    )
    thread.start()
    wait_online(broker.port, {"factoryos"})  # subscribed: not a fixed wait a loaded box may miss
    t0 = 1_780_000_000_000
    D = psp.DataType
    births = [
        (
            "NBIRTH/machining.cnc_machining",
            psp.NBirth(
                timestamp=t0,
                seq=0,
                metrics=(psp.Metric(timestamp=t0, name="bdSeq", datatype=D.UINT64, value=0),),
            ),
        ),
        (
            "DBIRTH/machining.cnc_machining/hmc.2",
            psp.DBirth(
                timestamp=t0,
                seq=1,
                metrics=(
                    psp.Metric(timestamp=t0, name="State", datatype=D.INT8, value=6, alias=1),
                    psp.Metric(timestamp=t0, name="Temp", datatype=D.FLOAT, value=20.5, alias=2),
                ),
            ),
        ),
    ]
    data = [
        (
            "DDATA/machining.cnc_machining/hmc.2",
            psp.DData(
                timestamp=t0 + 1000 * n,
                seq=2 + n,
                metrics=(
                    psp.Metric(
                        timestamp=t0 + 1000 * n,
                        name=None,
                        datatype=D.INT8,
                        value=[11, 6, 9][n],
                        alias=1,
                    ),
                    psp.Metric(
                        timestamp=t0 + 1000 * n,
                        name=None,
                        datatype=D.FLOAT,
                        value=21.5 + n,
                        alias=2,
                    ),
                ),
            ),
        )
        for n in range(3)
    ]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pysparkplug-bytes")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    for topic, payload in [*births, *data]:
        client.publish(f"spBv1.0/jiading/{topic}", payload.encode(), qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    time.sleep(1.5)
    stop.set()
    thread.join(30)
    [c] = counts
    assert c.dead_letters == 0 and c.reconciles(), c.line()
    rows = DuckDBStore(settings.db).events().to_pylist()
    path = "step_robotics/jiading/machining/cnc_machining/hmc/2"
    states = [r["state"] for r in rows if r["kind"] == "state"]
    temps = [r["value"] for r in rows if r["kind"] == "sample"]
    assert all(r["path"] == path for r in rows)
    assert states == ["producing", "minor_stop", "producing", "fault"]  # 6, Held 11, 6, Aborted 9
    assert temps == [20.5, 21.5, 22.5, 23.5]
