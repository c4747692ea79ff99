"""Interoperability with an edge node factoryos did not write: pysparkplug's own EdgeNode and
Device clients (and its low-level client answering our rebirth requests) publish through the
real Mosquitto on 127.0.0.1:1883, in a group of their own; factoryos's host ingests them."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from factoryos.app.ingesting import dead_letter_path, list_dead_letters, run_ingest
from factoryos.app.settings import Settings
from factoryos.ingest.batching import IngestOptions
from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Counts
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import wait_online
from tests.ingest.thirdparty_edge import RebirthingEdge, pysparkplug

ROOT = Path(__file__).resolve().parents[2]
PORT = 1883
NODE, DEVICE = "machining.cnc_machining", "hmc.2"
PATH = "step_robotics/jiading/machining/cnc_machining/hmc/2"
pytestmark = pytest.mark.integration


def _broker_up() -> None:
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
    except OSError:
        pytest.skip("no Mosquitto on 127.0.0.1:1883 (bash scripts/services.sh starts it)")


def _mapping(group: str, host_id: str, reorder_s: float = 5.0) -> str:
    return f"""
host_id: {host_id}
reorder_timeout_s: {reorder_s}
sources:
  - sparkplug: {{group: {group}, node: "+", device: "+", metric: State}}
    path: "step_robotics/jiading/{{node}}/{{device}}"
    kind: state
    values: packml
  - sparkplug: {{group: {group}, node: "+", device: "+", metric: Temp}}
    path: "step_robotics/jiading/{{node}}/{{device}}"
    kind: sample
    sensor: spindle_temp
"""


@contextmanager
def ingesting(tmp_path: Path, mapping_text: str) -> Iterator[tuple[Settings, list[Counts]]]:
    """factoryos ingesting from the shared broker in a thread; its session ends with it."""
    mapping = load_mapping_text(mapping_text)
    settings = Settings(db=str(tmp_path / "interop.duckdb"))
    stop = threading.Event()
    counts: list[Counts] = []
    options = IngestOptions(batch_s=0.05, session_expiry_s=0)
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    thread = threading.Thread(
        target=lambda: counts.append(
            run_ingest(settings, mapping, plant, f"mqtt://127.0.0.1:{PORT}", stop, options=options)
        )
    )
    thread.start()
    try:
        wait_online(PORT, {mapping.host_id}, timeout_s=30)
        yield settings, counts
    finally:
        stop.set()
        thread.join(30)
    assert counts, "the ingester did not return its counts"


def _wait(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _events(settings: Settings) -> list[dict[str, object]]:
    store = DuckDBStore(settings.db)
    try:
        return list(store.events().to_pylist())
    finally:
        store.close()


def test_pysparkplug_edge_node_and_device_are_ingested(tmp_path: Path) -> None:
    _broker_up()
    psp = pysparkplug()
    D = psp.DataType
    run = uuid.uuid4().hex[:10]
    group = f"spb-interop-{run}"

    def metric(name: str, datatype: object, value: object) -> object:
        now = psp.get_current_timestamp()
        return psp.Metric(timestamp=now, name=name, datatype=datatype, value=value)

    with ingesting(tmp_path, _mapping(group, f"factoryos-interop-{run}")) as (settings, counts):
        client = psp.Client(client_id=f"pysparkplug-edge-{run}")
        edge = psp.EdgeNode(group, NODE, [metric("Uptime", D.INT64, 0)], client=client)
        births = [metric("State", D.INT8, 6), metric("Temp", D.FLOAT, 20.5)]
        edge.register(psp.Device(DEVICE, births))
        edge.connect("127.0.0.1", port=PORT)  # births from its network thread, once connected
        try:
            _wait(lambda: len(_events(settings)) == 2)  # the DBIRTH's State and Temp stored
            for n, state in enumerate([11, 6, 9]):  # PackML Held, Execute, Aborted
                time.sleep(0.01)  # distinct millisecond timestamps
                edge.update_device(DEVICE, [metric("State", D.INT8, state)])
                edge.update_device(DEVICE, [metric("Temp", D.FLOAT, 21.5 + n)])
            edge.update([metric("Uptime", D.INT64, 60)])  # NDATA: no rule names it
            time.sleep(0.01)
            edge.deregister(DEVICE)  # DDEATH
            _wait(lambda: [r["state"] for r in _events(settings)][-1:] == ["unknown"])
        finally:
            edge.disconnect()  # NDEATH (pysparkplug sends the next connection's bdSeq in it)
    [c] = counts
    letters = list_dead_letters(settings, 10, path=dead_letter_path(settings))
    assert c.dead_letters == 0 and c.reconciles(), (c.line(), [d.reason for d in letters])
    rows = _events(settings)
    assert {r["path"] for r in rows} == {PATH}
    states = [r["state"] for r in rows if r["kind"] == "state"]
    temps = [r["value"] for r in rows if r["kind"] == "sample"]
    # DBIRTH Execute, then Held, Execute, Aborted, then the DDEATH
    assert states == ["producing", "minor_stop", "producing", "fault", "unknown"]
    assert temps == [20.5, 21.5, 22.5, 23.5]
    # births (bdSeq, Uptime) and the NDATA's Uptime are values no rule names; the NDEATH is
    # of the session born (its bdSeq one ahead), so it is no dead letter either
    assert (c.stored, c.unmapped) == (9, 3)


def test_a_gap_asks_for_a_rebirth_that_the_edge_node_answers(tmp_path: Path) -> None:
    _broker_up()
    run = uuid.uuid4().hex[:10]
    group = f"spb-rebirth-{run}"
    host_id = f"factoryos-rebirth-{run}"
    with ingesting(tmp_path, _mapping(group, host_id, reorder_s=0.5)) as (settings, counts):
        edge = RebirthingEdge(group, NODE, DEVICE, PORT)
        try:
            assert edge.births_sent.wait(10)
            edge.data(1.0)
            edge.data(2.0)
            edge.data(3.0, lose=True)  # the message before it never arrives
            edge.data(4.0)
            edge.wait_rebirths(1)  # after the 0.5 s reorder timeout, NCMD Node Control/Rebirth
            edge.data(5.0)
            edge.data(6.0)
            _wait(lambda: [r["value"] for r in _events(settings)][-1:] == [6.0])
        finally:
            edge.close()
    [c] = counts
    assert c.reconciles(), c.line()
    temps = [r["value"] for r in _events(settings) if r["kind"] == "sample"]
    assert temps == [20.0, 1.0, 2.0, 20.0, 5.0, 6.0]  # birth, data, rebirth, data
    assert edge.rebirths == 1
    letters = list_dead_letters(settings, 10, path=dead_letter_path(settings))
    assert sorted(d.reason for d in letters) == [
        "seq gap: expected 4, got 5; it did not come within the reorder timeout of 0.5 s; "
        "rebirth requested",
        "seq gap: expected 4, got 6; it did not come within the reorder timeout of 0.5 s; "
        "rebirth requested",
    ]
