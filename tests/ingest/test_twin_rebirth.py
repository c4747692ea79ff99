"""The twin's edge nodes answer `Node Control/Rebirth`: a host that subscribed after the births
asks for a rebirth and from then on stores the data; a host that reads the cumulative totals
starts its baselines from the rebirth and counts nothing twice; rebirths asked for while the twin
publishes keep each node's seq in order."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.app.settings import Settings
from factoryos.ingest.mqtt import Broker
from factoryos.ingest.publisher import TwinPublisher, twin_mapping
from factoryos.ingest.sparkplug import (
    NAMESPACE,
    REBIRTH_METRIC,
    DataType,
    Metric,
    Payload,
    decode,
    encode,
)
from factoryos.model import Plant, load_plant
from factoryos.model.events import EnergyReading, MachineState, ProductionCount, StateChange
from factoryos.store.duckdb_store import DuckDBStore
from tests.ingest.conftest import PlantBroker, wait_online
from tests.ingest.twin_kpis import Ingesting, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)


def _two_units(plant: Plant) -> tuple[str, str, str]:
    """Two work units of one line (one edge node), and that node's id."""
    root = plant.root_path.rstrip("/") + "/"
    by_line: dict[str, list[str]] = {}
    for unit in plant.work_units:
        area, line, *_ = unit.path[len(root) :].split("/")
        by_line.setdefault(f"{area}.{line}", []).append(unit.path)
    node, paths = next((n, p) for n, p in by_line.items() if len(p) >= 2)
    return paths[0], paths[1], node


def _at(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def test_a_host_that_came_after_the_births_gets_a_rebirth(
    broker: PlantBroker, tmp_path: Path
) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    a, b, _ = _two_units(plant)
    product = plant.products[0].id
    tag = f"rebirth{time.time_ns()}"
    publisher = TwinPublisher(Broker.parse(broker.url), plant.root_path, tag)
    try:
        # births and data before any host listens: nobody hears them
        publisher.publish(StateChange("a0", _at(0), a, MachineState.PRODUCING))
        publisher.publish(StateChange("b0", _at(0), b, MachineState.FAULT, "jam"))
        publisher.publish(ProductionCount("a1", _at(1), a, product, good=2))

        mapping = twin_mapping(plant.root_path, tag, host_id=f"host-{tag}")
        settings = Settings(db=str(tmp_path / "rebirth.duckdb"))
        ingester = Ingesting(settings, mapping, plant, broker.url)
        try:
            wait_online(broker.port, {mapping.host_id}, 15)
            # DDATA without a birth: the host dead-letters it and asks for a rebirth
            publisher.publish(StateChange("a2", _at(2), a, MachineState.IDLE, "starved"))
            wait_for(lambda: publisher.rebirths >= 1, 10, "the rebirth answered")
            later = [
                ProductionCount("a3", _at(3), a, product, good=3, scrap=1),
                StateChange("b4", _at(4), b, MachineState.PRODUCING),
                ProductionCount("b5", _at(5), b, product, good=4),
                StateChange("a6", _at(6), a, MachineState.PRODUCING),
                ProductionCount("a7", _at(7), a, product, good=5),
            ]
            for event in later:
                publisher.publish(event)
            # a3 is two events (good, scrap); the DBIRTHs restate each unit's current state
            expected = len(later) + 1 + 2
            wait_for(lambda: ingester.stored >= expected, 10, f"{expected} stored")
        finally:
            counts = ingester.finish()
    finally:
        publisher.close()
    # only the DDATA before the rebirth is a dead letter; nothing after it
    assert counts.dead_letters == 1 and counts.duplicates == 0, counts.line()
    assert counts.stored == expected, counts.line()

    rows = DuckDBStore(settings.db).events().to_pylist()
    states = {(r["path"], r["ts"], r["state"], r["reason"]) for r in rows if r["state"]}
    # the dead-lettered state reached the host through the rebirth's DBIRTH, at its own time
    assert (a, _at(2), "idle", "starved") in states
    assert (b, _at(0), "fault", "jam") in states
    assert (b, _at(4), "producing", None) in states
    # counts are amounts per event: the rebirth does not repeat one (no double count)
    assert sum(r["good"] or 0 for r in rows) == 3 + 4 + 5
    assert sum(r["scrap"] or 0 for r in rows) == 1


def _ask_rebirth(port: int, group: str, node: str) -> None:
    ms = int(time.time() * 1000)
    ncmd = encode(Payload(ms, None, (Metric(REBIRTH_METRIC, None, ms, DataType.BOOLEAN, True),)))
    asker = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ask-{group}")
    asker.connect("127.0.0.1", port)
    asker.loop_start()
    asker.publish(f"{NAMESPACE}/{group}/NCMD/{node}", ncmd, qos=1).wait_for_publish(5)
    asker.disconnect()
    asker.loop_stop()


def test_a_late_host_reading_totals_starts_from_the_rebirth_and_counts_once(
    broker: PlantBroker, tmp_path: Path
) -> None:
    """Counts and energy made before the host came are in the totals of the rebirth's DBIRTH:
    its baseline, not counted; a second rebirth (the host listening) restates the same totals:
    no event; every amount after the first rebirth is counted once."""
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    a, b, node = _two_units(plant)
    product = plant.products[0].id
    tag = f"totals{time.time_ns()}"
    publisher = TwinPublisher(Broker.parse(broker.url), plant.root_path, tag)
    try:
        publisher.publish(StateChange("a0", _at(0), a, MachineState.PRODUCING))
        publisher.publish(ProductionCount("a1", _at(1), a, product, good=2))
        publisher.publish(EnergyReading("a1e", _at(1), a, 1.5))
        publisher.publish(StateChange("b0", _at(1), b, MachineState.PRODUCING))

        mapping = twin_mapping(plant.root_path, tag, host_id=f"host-{tag}", totals=True)
        settings = Settings(db=str(tmp_path / "totals.duckdb"))
        ingester = Ingesting(settings, mapping, plant, broker.url)
        try:
            wait_online(broker.port, {mapping.host_id}, 15)
            publisher.publish(StateChange("a2", _at(2), a, MachineState.IDLE, "starved"))
            wait_for(lambda: publisher.rebirths >= 1, 10, "the rebirth answered")
            _ask_rebirth(broker.port, tag, node)
            wait_for(lambda: publisher.rebirths >= 2, 10, "the second rebirth answered")
            later = [
                ProductionCount("a3", _at(3), a, product, good=3, scrap=1),
                ProductionCount("b5", _at(5), b, product, good=4),
                EnergyReading("a6e", _at(6), a, 0.5),
                ProductionCount("a7", _at(7), a, product, good=5),
            ]
            for event in later:
                publisher.publish(event)
            # a3 is two events (good, scrap); the first rebirth's DBIRTHs restate both units'
            # states, the second's the same again (same seq, same times: same ids, duplicates)
            expected = len(later) + 1 + 2
            wait_for(lambda: ingester.stored >= expected, 10, f"{expected} stored")
        finally:
            counts = ingester.finish()
    finally:
        publisher.close()
    assert counts.dead_letters == 1 and counts.duplicates == 2, counts.line()
    assert counts.stored == expected, counts.line()
    rows = DuckDBStore(settings.db).events().to_pylist()
    assert sum(r["good"] or 0 for r in rows) == 3 + 4 + 5
    assert sum(r["scrap"] or 0 for r in rows) == 1
    assert sum(r["energy_kwh"] or 0.0 for r in rows) == 0.5
    # each amount's event at the time of the reading that carried it
    assert {(r["path"], r["ts"], r["good"]) for r in rows if r["good"]} == {
        (a, _at(3), 3),
        (b, _at(5), 4),
        (a, _at(7), 5),
    }


def test_rebirths_asked_for_while_the_twin_publishes_keep_seq_in_order(
    broker: PlantBroker,
) -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    a, b, node = _two_units(plant)
    tag = f"rebirthseq{time.time_ns()}"
    received: list[tuple[str, int | None]] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listen-{tag}")
    listener.on_message = lambda _c, _u, m: received.append(
        (m.topic.split("/")[2], decode(bytes(m.payload))[0].seq)
    )
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe(f"{NAMESPACE}/{tag}/#", qos=1)
    listener.loop_start()
    publisher = TwinPublisher(Broker.parse(broker.url), plant.root_path, tag)
    asks = 20
    try:
        time.sleep(0.3)  # the listener subscribed
        publisher.publish(StateChange("a0", _at(0), a, MachineState.PRODUCING))
        publisher.publish(StateChange("b0", _at(0), b, MachineState.PRODUCING))
        # the node subscribed to its NCMD before its NBIRTH went out
        wait_for(lambda: any(k == "NBIRTH" for k, _ in received), 10, "the NBIRTH heard")
        ms = int(time.time() * 1000)
        ncmd = encode(
            Payload(ms, None, (Metric(REBIRTH_METRIC, None, ms, DataType.BOOLEAN, True),))
        )

        def ask() -> None:
            for _ in range(asks):
                listener.publish(f"{NAMESPACE}/{tag}/NCMD/{node}", ncmd, qos=1)
                time.sleep(0.01)

        asker = threading.Thread(target=ask)
        asker.start()
        for i in range(400):
            path = (a, b)[i % 2]
            publisher.publish(StateChange(f"e{i}", _at(1 + i), path, MachineState.PRODUCING))
        asker.join(10)
        wait_for(lambda: publisher.rebirths == asks, 20, f"{asks} rebirths")
    finally:
        publisher.close()
    heard = lambda: sum(k != "NCMD" for k, _ in received)  # noqa: E731
    # every message sent, and the NDEATH (not counted in published)
    wait_for(lambda: heard() >= publisher.published + 1, 10, "all messages heard")
    listener.disconnect()
    listener.loop_stop()
    assert [k for k, _ in received].count("NBIRTH") == 1 + asks
    # the node's messages in the order sent (not the NCMDs; NDEATH, the will, has no seq)
    sent = [(k, s) for k, s in received if k not in ("NCMD", "NDEATH")]
    expected = None
    for i, (kind, seq) in enumerate(sent):
        if kind == "NBIRTH":
            assert seq == 0, i  # a rebirth starts seq again (Sparkplug 3.0)
            if i > 0:  # a rebirth: every device is born again before any data
                assert [k for k, _ in sent[i + 1 : i + 3]] == ["DBIRTH", "DBIRTH"], i
        else:
            assert seq == expected, (i, kind)
        expected = (seq + 1) % 256 if seq is not None else None
