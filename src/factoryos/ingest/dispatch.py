"""Dispatch lists out to the cells: one JSON document per work unit on an MQTT topic.

The live loop (``factoryos.app.live_loop``) publishes the operations each work unit is to run
next whenever a plan is adopted. Messages are retained, so a cell that connects later reads its
current list at once; QoS 1, and :meth:`DispatchPublisher.publish` waits for the broker's
acknowledgement, so "published" means the broker has it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from factoryos.ingest.mqtt import Broker
from factoryos.model.errors import IngestError

__all__ = ["DispatchPublisher", "dispatch_topic"]

ACK_TIMEOUT_S = 5.0


def dispatch_topic(prefix: str, site: str, unit_path: str) -> str:
    """``<prefix>/<site>/dispatch/<unit path below the site>``."""
    return f"{prefix}/{site}/dispatch/{unit_path}"


class DispatchPublisher:
    """One MQTT connection that publishes JSON documents, retained, at QoS 1."""

    def __init__(self, broker: Broker, client_id: str, *, connect_timeout_s: float = 5.0) -> None:
        self.broker = broker
        self._lock = threading.Lock()
        self._connected = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        client.on_connect = self._on_connect
        try:
            client.connect(broker.host, broker.port)
        except OSError as exc:
            raise IngestError(
                f"cannot reach the MQTT broker {broker.host}:{broker.port}: {exc}"
            ) from exc
        client.loop_start()
        if not self._connected.wait(connect_timeout_s):
            client.loop_stop()
            raise IngestError(f"MQTT broker {broker.host}:{broker.port} did not accept us")
        self._client = client

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self._connected.set()

    def publish(self, messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Publish (topic, document) pairs, then wait for the broker to acknowledge each
        (raises :class:`IngestError` naming the first topic that failed)."""
        sent = []
        with self._lock:
            for topic, document in messages:
                payload = json.dumps(document, separators=(",", ":")).encode()
                sent.append((topic, self._client.publish(topic, payload, qos=1, retain=True)))
        deadline = time.monotonic() + ACK_TIMEOUT_S
        for topic, info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                raise IngestError(f"publishing to {topic!r} failed: {exc}") from exc
            if not info.is_published():
                raise IngestError(f"the broker did not acknowledge {topic!r} in {ACK_TIMEOUT_S} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
