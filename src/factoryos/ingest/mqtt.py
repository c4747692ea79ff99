"""The live MQTT side of the ingester (paho-mqtt 2): subscribe, batch, commit, then acknowledge.

Exactly once: the client keeps a persistent MQTT 5 session (fixed client id, ``clean_start``
false, a session expiry), subscribes with QoS 1 and acknowledges each message by hand
(``manual_ack``) only after the batch holding it was committed. A crash before the commit leaves
the messages unacknowledged, and the broker sends them again; the events they make have the same
ids, which the store skips. Batches close at ``batch_events`` events or ``batch_s`` seconds after
their first message, whichever comes first, which bounds the publish-to-commit latency.

A Sparkplug message held for reordering (``factoryos.ingest.host``) is acknowledged with the batch
it is finally taken into; a ticker thread lets the batch loop expire held gaps when no message
comes. As the Sparkplug Primary Host Application it publishes ``spBv1.0/STATE/<host_id>`` retained
(``{"online": true, ...}``) after connecting, with the offline document as its will.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from factoryos.ingest.batching import BatchLoop, Commit, IngestOptions, Progress, now_ms
from factoryos.ingest.pipeline import Pipeline, Rebirth
from factoryos.ingest.sparkplug import NAMESPACE, REBIRTH_METRIC, DataType, Metric, Payload, encode
from factoryos.model.errors import IngestError

REBIRTH_EVERY_S = 5.0


@dataclass(frozen=True)
class Broker:
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise IngestError(f"expected mqtt://HOST[:PORT], got {url!r}")
        return cls(parts.hostname, parts.port or 1883)


def state_topic(host_id: str) -> str:
    return f"{NAMESPACE}/STATE/{host_id}"


class MqttIngester:
    """Runs a :class:`Pipeline` on a broker until ``stop`` is set; drains and commits then."""

    def __init__(
        self,
        broker: Broker,
        pipeline: Pipeline,
        commit: Commit,
        options: IngestOptions,
        on_batch: Progress | None = None,
    ) -> None:
        self.broker = broker
        self.pipeline = pipeline
        self.options = options
        self._loop = BatchLoop(pipeline, commit, options, on_batch, self._acknowledge)
        self._generation = 0
        self._connected = threading.Event()
        self._last_rebirth: dict[Rebirth, float] = {}
        self._state_topic = state_topic(options.host_id)
        self._state_ms = now_ms()  # the timestamp of this connection's will and birth
        self._stopping = False
        self._sparkplug_prefix = NAMESPACE + "/"
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"factoryos-ingest-{self.options.host_id}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 5)
        return client

    def _on_pre_connect(self, client: mqtt.Client, _u: Any) -> None:
        # Sparkplug 3.0 (host-topic-phid-death-payload-connect): the will's timestamp is the
        # time of the CONNECT it travels in, and the birth after it repeats that timestamp.
        self._state_ms = now_ms()
        client.will_set(self._state_topic, _state(False, self._state_ms), qos=1, retain=True)

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            return
        self._generation += 1
        # Only the groups the mapping names (all of them for a "+"): ingesters that split a plant
        # by Sparkplug group do not see each other's messages.
        groups = {r.sparkplug.group for r in self.pipeline.mapping.sources if r.sparkplug}
        filters = {f"{NAMESPACE}/{'+' if '+' in groups else g}/#" for g in groups}
        filters |= {r.mqtt.topic_filter for r in self.pipeline.mapping.sources if r.mqtt}
        # Its own STATE too, before the birth (message-flow-phid-sparkplug-subscription): an
        # offline document there while it runs (a late will) is answered by the birth again.
        filters.add(self._state_topic)
        client.subscribe([(f, 1) for f in sorted(filters)])
        client.publish(self._state_topic, _state(True, self._state_ms), qos=1, retain=True)
        self._connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        # In paho's network thread: the message is decoded and batched here (BatchLoop.offer).
        topic = message.topic
        token = (message.mid, message.qos, self._generation)
        if (
            topic == self._state_topic
            and not message.retain  # the copy kept from before it connected: the birth follows
            and not self._stopping
            and _offline(bytes(message.payload))
        ):
            # message-flow-hid-sparkplug-state-message-delivered: republish online at once
            self.client.publish(topic, _state(True, self._state_ms), qos=1, retain=True)
        if topic.startswith(self._sparkplug_prefix):
            self._loop.offer(self._sparkplug, topic, message.payload, token, message.dup)
        else:
            self._loop.offer(_json, topic, message.payload, token)

    def _sparkplug(
        self, pipeline: Pipeline, now: int, topic: str, payload: bytes, token: Any, dup: bool
    ) -> None:
        rebirth = pipeline.sparkplug(topic, payload, now, token, dup)
        if rebirth is not None:
            self._ask_rebirth(rebirth)

    def run(self, stop: threading.Event, connect_timeout_s: float = 10.0) -> None:
        """Connect, ingest until ``stop`` is set, then commit what arrived and disconnect."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        try:
            self.client.connect(
                self.broker.host, self.broker.port, clean_start=False, properties=properties
            )
        except OSError as exc:
            raise IngestError(f"cannot reach the broker {self.broker}: {exc}") from exc
        self.client.loop_start()
        done = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(stop, done), daemon=True)
        try:
            if not self._connected.wait(connect_timeout_s):
                raise IngestError(f"the broker {self.broker} did not accept the connection")
            ticker.start()
            self._loop.run(stop)
        finally:
            done.set()
            self._stopping = True  # its own offline document is not answered
            self.client.publish(self._state_topic, _state(False, now_ms()), 1, True)
            self.client.disconnect()
            self.client.loop_stop()

    def _tick(self, stop: threading.Event, done: threading.Event) -> None:
        """Lets the batch loop expire the Sparkplug gaps held past the reorder timeout, also
        when no message comes (through ``offer``, under the loop's lock like a message)."""
        timeout_s = self.pipeline.mapping.reorder_timeout_s
        if timeout_s == 0:
            return  # nothing is ever held
        every_s = max(0.02, min(0.25, timeout_s / 10))

        def expire(pipeline: Pipeline, now: int) -> None:
            for rebirth in pipeline.expire(now):
                self._ask_rebirth(rebirth)

        while not done.wait(every_s) and not stop.is_set():
            self._loop.offer(expire)

    def _acknowledge(self, tokens: list[Any]) -> None:
        for mid, qos, generation in tokens:
            # A message taken before a reconnect was sent again under the new connection; that
            # copy is acknowledged when its own batch commits.
            if qos > 0 and generation == self._generation:
                self.client.ack(mid, qos)

    def _ask_rebirth(self, rebirth: Rebirth) -> None:
        now = time.monotonic()
        if now - self._last_rebirth.get(rebirth, -REBIRTH_EVERY_S) < REBIRTH_EVERY_S:
            return
        self._last_rebirth[rebirth] = now
        ms = now_ms()
        payload = Payload(ms, None, (Metric(REBIRTH_METRIC, None, ms, DataType.BOOLEAN, True),))
        topic = f"{NAMESPACE}/{rebirth.group}/NCMD/{rebirth.node}"
        self.client.publish(topic, encode(payload), qos=0)


def _state(online: bool, timestamp_ms: int) -> bytes:
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()


def _offline(payload: bytes) -> bool:
    """Whether a STATE payload says offline (anything else, even malformed, does not)."""
    try:
        document = json.loads(payload)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("online") is False


def _json(pipeline: Pipeline, now: int, topic: str, payload: bytes, token: Any) -> None:
    pipeline.mqtt_json(topic, payload, now, token)
