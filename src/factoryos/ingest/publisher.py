"""The twin as a virtual plant: canonical events published as Sparkplug B edge nodes.

One edge node per line (``<area>.<line>``) in the group named after the site, one device per
work unit (``<equipment>`` or ``<equipment>.<n>``), so :func:`twin_mapping` maps them back to the
units' paths. Each device is born with all its metrics null (a twin has no reading before it
starts) and then sends one DDATA per event: ``state`` and ``reason``; ``good``, ``scrap``,
``rework`` with ``product``, ``order``, ``operation``; ``energy_kwh`` (kWh since the previous
reading). Metric timestamps are the events' times in milliseconds, Sparkplug's resolution. On
close each device sends DDEATH and each node NDEATH; the node's will is its NDEATH too.

Beside each amount the device sends its cumulative total since it was born (``good_total``,
``scrap_total``, ``rework_total``, ``energy_kwh_total``): a reading, where the amount is an event.
A mapping reads one or the other (:func:`twin_mapping`, ``totals``), never both.

Each node answers an NCMD ``Node Control/Rebirth`` (a host that subscribed after the births, or
saw a gap, asks for it): NBIRTH again with the same bdSeq and seq from 0, then each device's
DBIRTH with its current values: its state, and its totals, from which a host that reads the
totals starts a baseline (a host that was listening reads no change: no event). The amounts are
born null: a birth that repeated the last one would count it twice. The NCMD comes on the node's
network thread while the twin publishes from its own: a lock per node keeps seq in send order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.mqtt import Broker
from factoryos.ingest.sparkplug import (
    BDSEQ_METRIC,
    NAMESPACE,
    REBIRTH_METRIC,
    CodecError,
    DataType,
    Metric,
    Payload,
    Value,
    decode,
    encode,
)
from factoryos.model.errors import IngestError
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange

# device metric -> (alias within the device, datatype); aliases are unique per edge node, so a
# device's are these plus 16 times its number on the node
DEVICE_METRICS: dict[str, tuple[int, DataType]] = {
    "state": (1, DataType.STRING),
    "reason": (2, DataType.STRING),
    "good": (3, DataType.INT64),
    "scrap": (4, DataType.INT64),
    "rework": (5, DataType.INT64),
    "product": (6, DataType.STRING),
    "order": (7, DataType.STRING),
    "operation": (8, DataType.STRING),
    "energy_kwh": (9, DataType.DOUBLE),
    "good_total": (10, DataType.INT64),
    "scrap_total": (11, DataType.INT64),
    "rework_total": (12, DataType.INT64),
    "energy_kwh_total": (13, DataType.DOUBLE),
}
# the amount metrics and the cumulative total published beside each
TOTALS = {
    "good": "good_total",
    "scrap": "scrap_total",
    "rework": "rework_total",
    "energy_kwh": "energy_kwh_total",
}
# what a device's DBIRTH repeats on a rebirth: the metrics that hold a state or a total, not an
# amount
CURRENT = ("state", "reason", "product", "order", "operation", *TOTALS.values())


def twin_mapping(
    root_path: str, group: str, host_id: str = "factoryos", *, totals: bool = False
) -> IngestMapping:
    """The mapping that reads what :class:`TwinPublisher` publishes for a plant.

    ``totals``: counts and energy from the cumulative totals (deltas between readings), which a
    host that comes late can start from (the rebirth's DBIRTH is its baseline) and which carry
    what a lost message held into the next reading; else from the amount of each event, exact
    to the twin's own figures (a sum of float deltas is not)."""
    source = {"group": group, "node": "+", "device": "+"}
    path = f"{root_path}/{{node}}/{{device}}"

    def metric(name: str) -> dict[str, object]:
        if totals:
            return {"sparkplug": {**source, "metric": TOTALS[name]}, "cumulative": True}
        return {"sparkplug": {**source, "metric": name}}

    counts = [
        {
            **metric(name),
            "path": path,
            "kind": "count",
            "field": name,
            "product_metric": "product",
            "order_metric": "order",
            "operation_metric": "operation",
        }
        for name in ("good", "scrap", "rework")
    ]
    return IngestMapping.model_validate(
        {
            "host_id": host_id,
            "max_future_s": None,  # an accelerated twin runs ahead of the wall clock
            "sources": [
                {
                    "sparkplug": {**source, "metric": "state"},
                    "path": path,
                    "kind": "state",
                    "values": "factoryos",
                },
                *counts,
                {**metric("energy_kwh"), "path": path, "kind": "energy"},
            ],
        }
    )


@dataclass
class _Node:
    client: mqtt.Client
    seq: int = 0
    devices: dict[str, int] = field(default_factory=dict)  # device -> its alias offset
    # device -> metric -> (value, timestamp ms) of the metrics in CURRENT, for a rebirth
    current: dict[str, dict[str, tuple[Value, int | None]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    published: int = 0
    rebirths: int = 0
    closed: bool = False

    def next_seq(self) -> int:
        seq = self.seq
        self.seq = (seq + 1) % 256
        return seq


class TwinPublisher:
    """Publishes events of one plant as Sparkplug B; one MQTT connection per edge node."""

    def __init__(self, broker: Broker, root_path: str, group: str, *, qos: int = 1) -> None:
        self.broker = broker
        self.root = root_path.rstrip("/") + "/"
        self.group = group
        self.qos = qos
        self._bdseq = int(time.time()) % 256
        self._nodes: dict[str, _Node] = {}
        self._closed: list[_Node] = []  # nodes closed: their counts stay in the totals

    @property
    def published(self) -> int:
        """Messages sent so far (births, data, deaths), rebirths included."""
        return sum(n.published for n in [*self._nodes.values(), *self._closed])

    @property
    def rebirths(self) -> int:
        """Rebirth requests answered so far."""
        return sum(n.rebirths for n in [*self._nodes.values(), *self._closed])

    def _topic(self, kind: str, node: str, device: str | None = None) -> str:
        tail = f"/{device}" if device is not None else ""
        return f"{NAMESPACE}/{self.group}/{kind}/{node}{tail}"

    def _death(self) -> bytes:
        return encode(
            Payload(None, None, (Metric(BDSEQ_METRIC, None, None, DataType.UINT64, self._bdseq),))
        )

    def _node(self, node_id: str) -> _Node:
        """The edge node, connected and born; called with no node's lock held."""
        node = self._nodes.get(node_id)
        if node is not None:
            return node
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"factoryos-twin-{self.group}-{node_id}",
            protocol=mqtt.MQTTv311,
        )
        client.will_set(self._topic("NDEATH", node_id), self._death(), qos=1)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        command = self._topic("NCMD", node_id)

        def on_connect(c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
            c.subscribe(command, qos=0)  # after a reconnect too: the session is clean

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            if message.topic == command and _asks_rebirth(bytes(message.payload)):
                self._rebirth(node_id)

        client.on_connect = on_connect
        client.on_message = on_message
        node = _Node(client)
        with node.lock:  # a rebirth asked for meanwhile waits for the first birth
            self._nodes[node_id] = node
            try:
                client.connect(self.broker.host, self.broker.port)
            except OSError as exc:
                del self._nodes[node_id]
                raise IngestError(f"cannot reach the broker {self.broker}: {exc}") from exc
            # subscribed before the NBIRTH goes out: the broker takes a connection's packets in
            # order, so a host that saw the birth can ask for a rebirth
            client.subscribe(command, qos=0)
            client.loop_start()
            self._send_nbirth(node_id, node)
        return node

    def _send_nbirth(self, node_id: str, node: _Node) -> None:
        now = _now_ms()
        birth = Payload(
            now,
            node.next_seq(),
            (
                Metric(BDSEQ_METRIC, None, now, DataType.UINT64, self._bdseq),
                Metric(REBIRTH_METRIC, None, now, DataType.BOOLEAN, False),
            ),
        )
        self._send(node, self._topic("NBIRTH", node_id), birth)

    def _send_dbirth(self, node_id: str, node: _Node, device: str) -> None:
        offset = node.devices[device]
        current = node.current.get(device, {})
        birth = []
        for name, (alias, datatype) in DEVICE_METRICS.items():
            value, ts = current.get(name, (None, None))
            birth.append(Metric(name, offset + alias, ts, datatype, value, value is None))
        payload = Payload(_now_ms(), node.next_seq(), tuple(birth))
        self._send(node, self._topic("DBIRTH", node_id, device), payload)

    def _rebirth(self, node_id: str) -> None:
        """NBIRTH again (same bdSeq, seq from 0), then every device's DBIRTH."""
        node = self._nodes.get(node_id)
        if node is None:
            return
        with node.lock:
            if node.closed:
                return
            node.seq = 0
            self._send_nbirth(node_id, node)
            for device in node.devices:
                self._send_dbirth(node_id, node, device)
            node.rebirths += 1

    def _send(self, node: _Node, topic: str, payload: Payload) -> None:
        """Called with the node's lock held."""
        info = node.client.publish(topic, encode(payload), qos=self.qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise IngestError(f"publishing on {topic} failed: {mqtt.error_string(info.rc)}")
        node.published += 1

    def publish(self, event: Event) -> bool:
        """Publish one event; False for kinds a device does not report (orders, operations)."""
        if not event.path.startswith(self.root):
            return False
        metrics = _metrics(event)
        if metrics is None:
            return False
        area, line, *unit = event.path[len(self.root) :].split("/")
        node_id, device = f"{area}.{line}", ".".join(unit)
        node = self._node(node_id)
        ts = int(event.ts.timestamp() * 1000)
        with node.lock:
            if device not in node.devices:
                node.devices[device] = 16 * (len(node.devices) + 1)
                # born with its totals at 0: a host reading totals takes that as its baseline
                node.current[device] = {t: (_zero(t), None) for t in TOTALS.values()}
                self._send_dbirth(node_id, node, device)
            offset = node.devices[device]
            current = node.current[device]
            for name, value in list(metrics):
                total = TOTALS.get(name)
                if total is not None:
                    before = current[total][0]
                    assert isinstance(before, int | float) and isinstance(value, int | float)
                    metrics.append((total, before + value))
            current.update((n, (v, ts)) for n, v in metrics if n in CURRENT)
            data = tuple(
                Metric(None, offset + DEVICE_METRICS[name][0], ts, DEVICE_METRICS[name][1], value)
                for name, value in metrics
            )
            self._send(
                node, self._topic("DDATA", node_id, device), Payload(ts, node.next_seq(), data)
            )
        return True

    def close(self, last_ms: int | None = None) -> None:
        """Devices die (DDEATH at ``last_ms``), then nodes (NDEATH), then disconnect."""
        for node_id, node in self._nodes.items():
            with node.lock:
                for device in sorted(node.devices):
                    death = Payload(last_ms or _now_ms(), node.next_seq(), ())
                    self._send(node, self._topic("DDEATH", node_id, device), death)
                ndeath = node.client.publish(self._topic("NDEATH", node_id), self._death(), qos=1)
                node.closed = True  # a rebirth asked for from now on is not answered
            # not under the lock: a rebirth request waiting for it holds the network thread,
            # which the acknowledgement needs
            ndeath.wait_for_publish(10)
            node.client.disconnect()
            node.client.loop_stop()
        self._closed += self._nodes.values()
        self._nodes.clear()


def _asks_rebirth(data: bytes) -> bool:
    """Whether an NCMD payload sets ``Node Control/Rebirth`` to true (a bad payload does not)."""
    try:
        payload, _ = decode(data)
    except CodecError:
        return False
    return any(m.name == REBIRTH_METRIC and m.value is True for m in payload.metrics)


def _zero(total: str) -> Value:
    return 0.0 if DEVICE_METRICS[total][1] is DataType.DOUBLE else 0


def _metrics(event: Event) -> list[tuple[str, Value]] | None:
    if isinstance(event, StateChange):
        return [("state", event.state.value), ("reason", event.reason)]
    if isinstance(event, ProductionCount):
        counts: list[tuple[str, Value]] = [
            (n, getattr(event, n)) for n in ("good", "scrap", "rework") if getattr(event, n)
        ]
        return [
            *(counts or [("good", 0)]),
            ("product", event.product),
            ("order", event.order_id),
            ("operation", event.operation),
        ]
    if isinstance(event, EnergyReading):
        return [("energy_kwh", event.energy_kwh)]
    return None


def paced(speed: float | None, sink: Callable[[Event], object]) -> Callable[[Event], None]:
    """``sink`` called no sooner than ``speed`` times real time after the first event (None: as
    fast as possible); events come in time order from the twin."""
    if speed is None:

        def at_once(event: Event) -> None:
            sink(event)

        return at_once
    origin: list[float] = []

    def wait_then(event: Event) -> None:
        t = event.ts.timestamp()
        if not origin:
            origin.extend((t, time.monotonic()))
        delay = origin[1] + (t - origin[0]) / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sink(event)

    return wait_then


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


__all__ = ["DEVICE_METRICS", "TwinPublisher", "paced", "twin_mapping"]
