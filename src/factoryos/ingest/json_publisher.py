"""The twin as a virtual plant over plain MQTT JSON, for the ingest path of equipment that does
not speak Sparkplug B.

One topic per work unit and kind: ``<prefix>/<site>/<area>/<line>/<unit>/<kind>`` with ``<unit>``
the unit's equipment and number joined by ``.`` (``hmc.1``, read back as ``hmc/1``) and ``<kind>``
one of ``state``, ``good``, ``scrap``, ``rework``, ``energy``. A document holds ``ts`` (ISO 8601
in the plant's zone, with its offset, to the microsecond), ``seq`` (the publisher's message
number: two readings of one unit at one millisecond stay two, in order), ``value`` and, as text
beside it, what the value needs: ``reason`` of a state; ``product``, ``order``, ``operation``
of a count. A count event makes one message per non-zero field. :func:`json_twin_mapping` reads
them back.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.mqtt import Broker
from factoryos.model.errors import IngestError
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange

FIELDS = ("good", "scrap", "rework")


def json_twin_mapping(
    root_path: str, site: str, prefix: str = "factoryos", host_id: str = "factoryos"
) -> IngestMapping:
    """The mapping that reads what :class:`JsonTwinPublisher` publishes for a plant."""
    path = f"{root_path.rstrip('/')}/{{area}}/{{line}}/{{unit}}"

    def source(kind: str) -> dict[str, str]:
        topic = f"{prefix}/{site}/{{area}}/{{line}}/{{unit}}/{kind}"
        return {"topic": topic, "value": "value", "timestamp": "ts", "ident": "seq"}

    counts = [
        {
            "mqtt": source(name),
            "path": path,
            "kind": "count",
            "field": name,
            "product_metric": "product",
            "order_metric": "order",
            "operation_metric": "operation",
        }
        for name in FIELDS
    ]
    return IngestMapping.model_validate(
        {
            "host_id": host_id,
            "max_future_s": None,  # an accelerated twin runs ahead of the wall clock
            "sources": [
                {"mqtt": source("state"), "path": path, "kind": "state", "values": "factoryos"},
                *counts,
                {"mqtt": source("energy"), "path": path, "kind": "energy"},
            ],
        }
    )


class JsonTwinPublisher:
    """Publishes events of one plant as JSON documents over one MQTT connection (QoS 1)."""

    def __init__(
        self,
        broker: Broker,
        root_path: str,
        site: str,
        zone: dt.tzinfo,
        *,
        prefix: str = "factoryos",
        qos: int = 1,
    ) -> None:
        self.root = root_path.rstrip("/") + "/"
        self.base = f"{prefix}/{site}"
        self.zone = zone
        self.qos = qos
        self.published = 0
        self._seq = 0
        self._last: mqtt.MQTTMessageInfo | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"factoryos-twin-json-{site}-{os.getpid()}-{id(self):x}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        try:
            self.client.connect(broker.host, broker.port)
        except OSError as exc:
            raise IngestError(f"cannot reach the broker {broker}: {exc}") from exc
        self.client.loop_start()

    def publish(self, event: Event) -> bool:
        """Publish one event; False for kinds a unit does not report (orders, operations)."""
        if not event.path.startswith(self.root):
            return False
        documents = _documents(event)
        if not documents:
            return False
        area, line, *unit = event.path[len(self.root) :].split("/")
        topic = f"{self.base}/{area}/{line}/{'.'.join(unit)}"
        ts = event.ts.astimezone(self.zone).isoformat(timespec="microseconds")
        for kind, document in documents:
            self._seq += 1
            payload = json.dumps({"ts": ts, "seq": self._seq, **document})
            info = self._last = self.client.publish(f"{topic}/{kind}", payload, qos=self.qos)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise IngestError(f"publishing on {topic} failed: {mqtt.error_string(info.rc)}")
            self.published += 1
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait until the broker has the last message (so all before it, sent in order on one
        connection), then disconnect."""
        try:
            if self._last is not None:
                self._last.wait_for_publish(timeout_s)
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def _documents(event: Event) -> list[tuple[str, dict[str, object]]]:
    if isinstance(event, StateChange):
        return [("state", {"value": event.state.value, "reason": event.reason})]
    if isinstance(event, ProductionCount):
        about = {"product": event.product, "order": event.order_id, "operation": event.operation}
        counts = [(n, getattr(event, n)) for n in FIELDS if getattr(event, n)]
        return [(n, {"value": v, **about}) for n, v in counts or [("good", 0)]]
    if isinstance(event, EnergyReading):
        return [("energy", {"value": event.energy_kwh})]
    return []


__all__ = ["JsonTwinPublisher", "json_twin_mapping"]
