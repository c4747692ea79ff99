"""OPC UA: an asyncua server in the test process, our client subscribed to its mapped nodes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua

from factoryos.app.ingesting import browse_server
from factoryos.app.settings import Settings
from factoryos.ingest import opcua
from factoryos.ingest.mapping import IngestMapping, load_mapping_text
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import _free_port
from tests.ingest.twin_kpis import Ingesting, wait_for

ROOT = Path(__file__).resolve().parents[2]
UNIT = "step_robotics/jiading/machining/cnc_machining/hmc/1"


class PlantServer:
    """An OPC UA server with Line1/Cnc1State (MachineryItemState codes) and Line1/Cnc1Temp; it
    can be stopped and started again on the same port, with the same node ids."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.nodes: dict[str, Any] = {}
        self.start()

    def start(self, temp: float = 20.0) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main(temp)), daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()

    async def _main(self, temp: float) -> None:
        self.loop = asyncio.get_running_loop()
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        idx = await server.register_namespace("urn:factoryos:test")
        line = await server.nodes.objects.add_object(idx, "Line1")
        self.nodes["state"] = await line.add_variable(idx, "Cnc1State", 2, ua.VariantType.Int32)
        self.nodes["temp"] = await line.add_variable(idx, "Cnc1Temp", temp, ua.VariantType.Double)
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
    yield server
    server.halt()


def _mapping(plant_server: PlantServer) -> IngestMapping:
    return load_mapping_text(
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


def test_subscribed_nodes_become_events(plant_server: PlantServer, tmp_path: Path) -> None:
    browsed = {v.path: v for v in browse_server(plant_server.url)}
    assert {"Line1/Cnc1State", "Line1/Cnc1Temp"} <= set(browsed)
    assert browsed["Line1/Cnc1State"].node_id == plant_server.node_id("state")
    mapping = _mapping(plant_server)
    settings = Settings(db=str(tmp_path / "opcua.duckdb"))
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    ingester = Ingesting(settings, mapping, plant, plant_server.url, batch_s=0.05)
    try:
        wait_for(lambda: ingester.stored >= 2, 60, "the initial values (subscribed)")
        for n, (state, temp) in enumerate([(3, 35.5), (1, 36.0), (3, 37.5)]):
            plant_server.write("state", ua.Variant(state, ua.VariantType.Int32))
            plant_server.write("temp", temp)
            wait_for(lambda n=n: ingester.stored >= 4 + 2 * n, 60, f"change {n} stored")
    finally:
        c = ingester.finish()
    assert c.dead_letters == 0, c.line()
    rows = DuckDBStore(settings.db).events().to_pylist()
    states = [r["state"] for r in rows if r["kind"] == "state"]
    temps = [r["value"] for r in rows if r["kind"] == "sample"]
    assert states == ["idle", "producing", "fault", "producing"]  # 2 (initial), 3, 1, 3
    assert temps == [20.0, 35.5, 36.0, 37.5]


def test_reconnects_after_the_server_restarts(
    plant_server: PlantServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stops mid-stream and starts again on the same port: the client retries with
    backoff, subscribes again and keeps storing. The backoff is shortened (0.2 s doubling to 1 s
    instead of 0.5 s to 30 s) so that the reconnection is bounded by a second after the server is
    back; the restarted server's own start (~5 s here, asyncua loads its standard address space)
    is most of the test's time."""
    monkeypatch.setattr(opcua, "BACKOFF_S", (0.2, 1.0))
    settings = Settings(db=str(tmp_path / "restart.duckdb"))
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    ingester = Ingesting(settings, _mapping(plant_server), plant, plant_server.url, batch_s=0.05)
    stored = lambda: ingester.stored  # noqa: E731
    try:
        wait_for(lambda: stored() >= 2, 30, "the initial values")
        plant_server.write("temp", 30.0)
        wait_for(lambda: stored() >= 3, 30, "30.0 stored")
        plant_server.halt()
        time.sleep(1.0)  # the client notices (it checks every 0.2 s) and starts backing off
        assert stored() == 3
        plant_server.start(temp=40.0)
        began = time.monotonic()
        # back again: the restarted server's state (2, a new server timestamp) and 40.0
        wait_for(lambda: stored() >= 5, 30, "the values after the restart")
        reconnect_s = time.monotonic() - began
        plant_server.write("temp", 41.0)
        wait_for(lambda: stored() >= 6, 30, "41.0 stored")
    finally:
        counts = ingester.finish()
    assert counts.dead_letters == 0, counts.line()
    rows = DuckDBStore(settings.db).events().to_pylist()
    assert [r["value"] for r in rows if r["kind"] == "sample"] == [20.0, 30.0, 40.0, 41.0]
    assert [r["state"] for r in rows if r["kind"] == "state"] == ["idle", "idle"]
    assert reconnect_s < 5, f"reconnected {reconnect_s:.1f} s after the restart"
