"""OPC UA: an asyncua server in the test process, our client subscribed to its mapped nodes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua

from factoryos.app.ingesting import browse_server, run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
UNIT = "step_robotics/jiading/machining/cnc_machining/hmc/1"


class PlantServer:
    """An OPC UA server with Line1/Cnc1State (MachineryItemState codes) and Line1/Cnc1Temp."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/"
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.nodes: dict[str, Any] = {}
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        idx = await server.register_namespace("urn:factoryos:test")
        line = await server.nodes.objects.add_object(idx, "Line1")
        self.nodes["state"] = await line.add_variable(idx, "Cnc1State", 2, ua.VariantType.Int32)
        self.nodes["temp"] = await line.add_variable(idx, "Cnc1Temp", 20.0, ua.VariantType.Double)
        async with server:
            self.ready.set()
            while not self.stop.is_set():
                await asyncio.sleep(0.05)

    def write(self, name: str, value: object) -> None:
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self.nodes[name].write_value(value), self.loop).result(5)

    def node_id(self, name: str) -> str:
        return str(self.nodes[name].nodeid.to_string())


@pytest.fixture
def plant_server() -> Any:
    server = PlantServer()
    server.thread.start()
    assert server.ready.wait(30)
    yield server
    server.stop.set()
    server.thread.join(10)


def test_subscribed_nodes_become_events(plant_server: PlantServer, tmp_path: Path) -> None:
    browsed = {v.path: v for v in browse_server(plant_server.url)}
    assert {"Line1/Cnc1State", "Line1/Cnc1Temp"} <= set(browsed)
    assert browsed["Line1/Cnc1State"].node_id == plant_server.node_id("state")
    mapping = load_mapping_text(
        f"""
sources:
  - opcua: {{node: "{plant_server.node_id("state")}"}}
    path: {UNIT}
    kind: state
    values: machinery_item_state
  - opcua: {{node: "{plant_server.node_id("temp")}"}}
    path: {UNIT}
    kind: sample
    sensor: spindle_temp
"""
    )
    settings = Settings(db=str(tmp_path / "opcua.duckdb"))
    stop = threading.Event()
    counts = []
    stored = [0]

    def until(n: int) -> None:
        deadline = time.monotonic() + 60
        while stored[0] < n and time.monotonic() < deadline:
            time.sleep(0.05)

    thread = threading.Thread(
        target=lambda: counts.append(
            run_ingest(
                settings,
                mapping,
                load_plant(ROOT / "examples" / "robot_factory.yaml"),
                plant_server.url,
                stop,
                options=IngestOptions(batch_s=0.05),
                on_batch=lambda p, *_: stored.__setitem__(0, p.counts.stored),
            )
        )
    )
    thread.start()
    until(2)  # subscribed: the initial values arrived
    for n, (state, temp) in enumerate([(3, 35.5), (1, 36.0), (3, 37.5)]):
        plant_server.write("state", ua.Variant(state, ua.VariantType.Int32))
        plant_server.write("temp", temp)
        until(4 + 2 * n)
    stop.set()
    thread.join(30)
    [c] = counts
    assert c.dead_letters == 0 and c.reconciles(), c.line()
    rows = DuckDBStore(settings.db).events().to_pylist()
    states = [r["state"] for r in rows if r["kind"] == "state"]
    temps = [r["value"] for r in rows if r["kind"] == "sample"]
    assert states == ["idle", "producing", "fault", "producing"]  # 2 (initial), 3, 1, 3
    assert temps == [20.0, 35.5, 36.0, 37.5]
