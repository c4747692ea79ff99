"""Deaths and the Primary Host STATE: an NDEATH of the session born (or of a newer one) and a
DDEATH put the units they reach into ``unknown``, an older session's will changes nothing; the
host publishes ``spBv1.0/STATE/<host_id>`` retained with QoS 1 as ``{"online", "timestamp"}``,
and the broker publishes the offline document (its will) when the ingester is killed."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.ingest.mapping import load_mapping_text
from factoryos.ingest.pipeline import Pipeline
from factoryos.ingest.sparkplug import BDSEQ_METRIC, DataType, Metric, Payload, encode
from factoryos.model import load_plant
from factoryos.model.events import StateChange
from factoryos.store.arrow import table_to_events
from tests.ingest.conftest import PlantBroker
from tests.ingest.edge import mapping
from tests.ingest.test_exactly_once import Ingester

ROOT = Path(__file__).resolve().parents[2]
NOW_MS = 1_780_000_000_000
NODE = "spBv1.0/jiading/{}/machining.cnc_machining"
UNITS = "step_robotics/jiading/machining/cnc_machining/hmc/"
STATE_RULE = """sources:
  - sparkplug: {group: jiading, node: "+", device: "+", metric: state}
    path: "step_robotics/jiading/{node}/{device}"
    kind: state
    values: factoryos
"""


def _bdseq_payload(bdseq: int, seq: int | None) -> bytes:
    return encode(Payload(NOW_MS, seq, (Metric(BDSEQ_METRIC, None, None, DataType.INT64, bdseq),)))


def _session(pipeline: Pipeline, bdseq: int) -> None:
    """NBIRTH with ``bdseq``, then devices hmc.1 and hmc.2 born producing."""
    pipeline.sparkplug(NODE.format("NBIRTH"), _bdseq_payload(bdseq, 0), NOW_MS, None)
    for seq, device in enumerate(["hmc.1", "hmc.2"], start=1):
        state = Metric("state", None, NOW_MS, DataType.STRING, "producing")
        data = encode(Payload(NOW_MS, seq, (state,)))
        pipeline.sparkplug(NODE.format("DBIRTH") + f"/{device}", data, NOW_MS, None)


def _unknown(pipeline: Pipeline) -> list[tuple[str, int]]:
    """(unit, ms after NOW_MS) of each ``unknown`` state in the batch."""
    return [
        (e.path.removeprefix(UNITS), int(e.ts.timestamp() * 1000) - NOW_MS)
        for e in table_to_events(pipeline.take().table())
        if isinstance(e, StateChange) and e.state.value == "unknown"
    ]


def test_deaths_turn_the_units_they_reach_unknown() -> None:
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    units = frozenset(u.path for u in plant.work_units)
    pipeline = Pipeline(load_mapping_text(STATE_RULE), units)
    _session(pipeline, bdseq=5)
    pipeline.take()
    # a DDEATH: its device, at the DDEATH's timestamp
    ddeath = encode(Payload(NOW_MS + 10, 3, ()))
    pipeline.sparkplug(NODE.format("DDEATH") + "/hmc.2", ddeath, NOW_MS + 50, None)
    assert _unknown(pipeline) == [("2", 10)]
    # a DDEATH stamped past the year 9999 (no event can hold it): at its arrival time
    _session(pipeline, bdseq=5)
    pipeline.take()
    ddeath = encode(Payload(2**60, 3, ()))
    pipeline.sparkplug(NODE.format("DDEATH") + "/hmc.2", ddeath, NOW_MS + 55, None)
    assert _unknown(pipeline) == [("2", 55)]
    # the will of the session before (bdSeq 4) arriving late: this session is alive
    pipeline.sparkplug(NODE.format("NDEATH"), _bdseq_payload(4, None), NOW_MS + 60, None)
    assert _unknown(pipeline) == []
    # the NDEATH of this session: every device still born, at the arrival time
    pipeline.sparkplug(NODE.format("NDEATH"), _bdseq_payload(5, None), NOW_MS + 70, None)
    assert _unknown(pipeline) == [("1", 70)]
    # an NDEATH whose bdSeq is ahead of the birth's (a newer session, or pysparkplug's graceful
    # disconnect) ends the session too
    _session(pipeline, bdseq=6)
    pipeline.take()
    pipeline.sparkplug(NODE.format("NDEATH"), _bdseq_payload(7, None), NOW_MS + 80, None)
    assert _unknown(pipeline) == [("1", 80), ("2", 80)]


class StateWatcher:
    """Subscribes (QoS 1) to one host's STATE topic and keeps what comes, with its flags."""

    def __init__(self, port: int, host_id: str) -> None:
        self.seen: list[tuple[dict[str, Any], bool, int]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"state-{time.time_ns()}")
        self.client.on_message = lambda _c, _u, m: self.seen.append(
            (json.loads(m.payload), bool(m.retain), m.qos)
        )
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"spBv1.0/STATE/{host_id}", qos=1)
        self.client.loop_start()

    def wait(self, online: bool, after: int = 0, timeout_s: float = 30.0) -> int:
        """The index of the first document saying ``online`` at or after index ``after``."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i in range(after, len(self.seen)):
                if self.seen[i][0].get("online") is online:
                    return i
            assert time.monotonic() < deadline, self.seen
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _is_state(document: dict[str, Any], online: bool, after_ms: int) -> None:
    assert set(document) == {"online", "timestamp"}, document
    assert document["online"] is online
    assert after_ms <= document["timestamp"] <= time.time_ns() // 1_000_000


@pytest.mark.integration
@pytest.mark.slow  # starts the ingester process twice (seconds of imports each under load)
def test_primary_host_state_is_retained_with_a_will(
    broker: PlantBroker, tmp_path: Path, spawned: list[Ingester]
) -> None:
    host_id = f"factoryos-state-{time.time_ns()}"
    ingester = Ingester(tmp_path, broker, mapping("jiading", host_id))
    spawned.append(ingester)
    t0 = time.time_ns() // 1_000_000
    ingester.start()
    live = StateWatcher(broker.port, host_id)
    try:
        online, _, qos = live.seen[i := live.wait(True)]
        _is_state(online, True, t0)
        assert qos == 1
        late = StateWatcher(broker.port, host_id)  # subscribes after: gets the retained copy
        try:
            retained_online, retained, _ = late.seen[late.wait(True)]
            assert retained and retained_online == online
        finally:
            late.close()
        # someone (a stale will) says offline for it while it runs: it answers online at once,
        # with the timestamp of its connection
        marker = {"online": False, "timestamp": 1}
        live.client.publish(f"spBv1.0/STATE/{host_id}", json.dumps(marker), qos=1, retain=True)
        i = live.wait(True, live.wait(False, i + 1) + 1)
        assert live.seen[i][0] == online
        ingester.signal(signal.SIGKILL)  # no DISCONNECT: the broker publishes the will
        offline, _, qos = live.seen[i := live.wait(False, i + 1)]
        assert qos == 1
        assert offline == {"online": False, "timestamp": online["timestamp"]}  # of the CONNECT
        late = StateWatcher(broker.port, host_id)
        try:
            retained_offline, retained, _ = late.seen[late.wait(False)]
            assert retained and retained_offline == offline
        finally:
            late.close()
        t1 = time.time_ns() // 1_000_000
        ingester.start()  # back online; then a graceful stop says offline itself, stamped now
        again = live.seen[i := live.wait(True, i + 1)][0]
        _is_state(again, True, t1)
        ingester.signal(signal.SIGTERM)
        _is_state(live.seen[live.wait(False, i + 1)][0], False, again["timestamp"])
    finally:
        live.close()
