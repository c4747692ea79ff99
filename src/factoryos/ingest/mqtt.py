"""The live MQTT side of the ingester: subscribe, batch, commit, then acknowledge.

Exactly once: the client (:class:`factoryos.ingest.mqtt_link.MqttLink`, a lean MQTT 5 client:
paho-mqtt cost half the ingester's CPU) keeps a persistent session (fixed client id,
``clean_start`` false, a session expiry), subscribes with QoS 1 and acknowledges each message
only after the batch holding it was committed, the batch's PUBACKs in one write. A crash
before the commit leaves the messages unacknowledged, and the broker sends them again; the
events they make have the same ids, which the store skips. Batches close at ``batch_events``
events or ``batch_s`` seconds after their first message, whichever comes first, which bounds
the publish-to-commit latency.

A Sparkplug message held for reordering (``factoryos.ingest.host``) is acknowledged with the batch
it is finally taken into; a ticker thread lets the batch loop expire held gaps when no message
comes. As the Sparkplug Primary Host Application it publishes ``spBv1.0/STATE/<host_id>`` retained
(``{"online": true, ...}``) after connecting, with the offline document as its will.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from factoryos.ingest.batching import BatchLoop, Commit, IngestOptions, Progress, now_ms
from factoryos.ingest.mqtt_link import MqttLink
from factoryos.ingest.mqtt_wire import Will
from factoryos.ingest.pipeline import Pipeline, Rebirth
from factoryos.ingest.sparkplug import NAMESPACE, REBIRTH_METRIC, DataType, Metric, Payload, encode
from factoryos.model.errors import IngestError

REBIRTH_EVERY_S = 5.0
SWITCH_INTERVAL_S = 0.0005
"""Python's thread switch interval while ingesting (default 5 ms). The network thread decodes
flat out, holding the GIL up to the interval at a time, and the writer thread needs the GIL
back after every call into the store (which runs without it): each time it waited up to 5 ms, and
a 20,000-event DuckDB commit of ~30 ms of the writer's CPU took 0.2-2 s of wall time. At 0.5 ms
the same commits took 0.06-0.4 s, and the ingester's rate doubled (16,000 -> 37,000 metrics/s,
`bench/ingest.py` loaded, load average 14)."""


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
        self._last_rebirth: dict[Rebirth, float] = {}
        self._state_topic = state_topic(options.host_id)
        self._state_ms = now_ms()  # the timestamp of this connection's will and birth
        self._stopping = False
        self._sparkplug_prefix = NAMESPACE + "/"
        self.link = MqttLink(
            broker.host,
            broker.port,
            f"factoryos-ingest-{options.host_id}",
            options.session_expiry_s,
            self._on_publish,
            self._on_connecting,
            self._on_connected,
            self._on_failure,
        )
        self._stop: threading.Event | None = None
        self._failure: BaseException | None = None

    def _on_connecting(self) -> Will:
        # Sparkplug 3.0 (host-topic-phid-death-payload-connect): the will's timestamp is the
        # time of the CONNECT it travels in, and the birth after it repeats that timestamp.
        self._state_ms = now_ms()
        return Will(self._state_topic, _state(False, self._state_ms), qos=1, retain=True)

    def _on_connected(self) -> None:
        # Only the groups the mapping names (all of them for a "+"): ingesters that split a plant
        # by Sparkplug group do not see each other's messages.
        groups = {r.sparkplug.group for r in self.pipeline.mapping.sources if r.sparkplug}
        filters = {f"{NAMESPACE}/{'+' if '+' in groups else g}/#" for g in groups}
        filters |= {r.mqtt.topic_filter for r in self.pipeline.mapping.sources if r.mqtt}
        # Its own STATE too, before the birth (message-flow-phid-sparkplug-subscription): an
        # offline document there while it runs (a late will) is answered by the birth again.
        filters.add(self._state_topic)
        self.link.subscribe(sorted(filters), 1)
        self.link.publish(self._state_topic, _state(True, self._state_ms), qos=1, retain=True)

    def _on_failure(self, exc: BaseException) -> None:
        self._failure = exc
        if self._stop is not None:
            self._stop.set()  # what was taken is committed; the rest stays with the broker

    def _on_publish(
        self, topic: str, payload: bytes, packet_id: int, qos: int, dup: bool, retain: bool
    ) -> None:
        # In the link's network thread: the message is decoded and batched here (BatchLoop.offer).
        token = (packet_id, self.link.generation) if qos else None
        if topic.startswith(self._sparkplug_prefix):
            if (
                topic == self._state_topic
                and not retain  # the copy kept from before it connected: the birth follows
                and not self._stopping
                and _offline(payload)
            ):
                # message-flow-hid-sparkplug-state-message-delivered: republish online at once
                self.link.publish(topic, _state(True, self._state_ms), qos=1, retain=True)
            self._loop.offer(self._sparkplug, topic, payload, token, dup)
        else:
            self._loop.offer(_json, topic, payload, token)

    def _sparkplug(
        self, pipeline: Pipeline, now: int, topic: str, payload: bytes, token: Any, dup: bool
    ) -> None:
        rebirth = pipeline.sparkplug(topic, payload, now, token, dup)
        if rebirth is not None:
            self._ask_rebirth(rebirth)

    def run(self, stop: threading.Event, connect_timeout_s: float = 10.0) -> None:
        """Connect, ingest until ``stop`` is set, then commit what arrived and disconnect."""
        self._stop = stop
        self.link.start(connect_timeout_s)
        switch_s = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        done = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(stop, done), daemon=True)
        try:
            ticker.start()
            self._loop.run(stop)
        finally:
            done.set()
            self._stopping = True  # its own offline document is not answered
            self.link.publish(self._state_topic, _state(False, now_ms()), 1, True)
            self.link.close()
            sys.setswitchinterval(switch_s)
        if self._failure is not None:
            raise IngestError(
                f"the MQTT client stopped on {type(self._failure).__name__}: {self._failure}"
            ) from self._failure

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
        # A message taken before a reconnect was sent again on the new connection; that copy is
        # acknowledged when its own batch commits.
        generation = self.link.generation
        ids = [t[0] for t in tokens if t is not None and t[1] == generation]
        self.link.acknowledge(ids, generation)

    def _ask_rebirth(self, rebirth: Rebirth) -> None:
        now = time.monotonic()
        if now - self._last_rebirth.get(rebirth, -REBIRTH_EVERY_S) < REBIRTH_EVERY_S:
            return
        self._last_rebirth[rebirth] = now
        ms = now_ms()
        payload = Payload(ms, None, (Metric(REBIRTH_METRIC, None, ms, DataType.BOOLEAN, True),))
        topic = f"{NAMESPACE}/{rebirth.group}/NCMD/{rebirth.node}"
        self.link.publish(topic, encode(payload), qos=0)


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
