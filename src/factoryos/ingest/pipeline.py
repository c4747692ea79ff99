"""Messages in, batches out: the protocol-independent core of the ingester.

Each message goes through its protocol adapter (Sparkplug host, MQTT JSON) into readings, the
readings through the :class:`Converter` into events; whatever fails becomes a dead letter. A
Sparkplug data message in sequence first meets the hot path (``factoryos.ingest.spdata``), which
takes it whole, or declines it unchanged to the host. A :class:`Batch` collects the events (as
columns), letters and the session after them; the caller commits it (events first, then letters
and session) and only then acknowledges its messages.

Counts are kept per record: a record is one value (a metric, a JSON field) or one message that
could not be decoded at all. At any time ``received = stored + duplicates + dead letters +
baselines`` (a baseline is a reading of a cumulative counter that makes no event: the first,
or one that did not move);
values of metrics no rule names are counted apart as ``unmapped``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from factoryos.ingest.columns import EventColumns
from factoryos.ingest.convert import Baseline, Converter, Protocol, Reading, Rejected, Resolver
from factoryos.ingest.host import Handled, HostResult, SparkplugHost
from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.mqtt_json import json_readings
from factoryos.ingest.sparkplug import CodecError, MessageType, Topic
from factoryos.ingest.spdata import DataPath
from factoryos.model.deadletter import DeadLetter

MAX_PAYLOAD = 256 * 1024
"""Bytes; a device reading is tens to hundreds of bytes, so anything this big is a fault."""


@dataclass
class Counts:
    messages: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    baselines: int = 0
    unmapped: int = 0

    def reconciles(self) -> bool:
        return self.received == self.stored + self.duplicates + self.dead_letters + self.baselines

    def line(self) -> str:
        return (
            f"received {self.received:,} = stored {self.stored:,} + duplicates "
            f"{self.duplicates:,} + dead letters {self.dead_letters:,} + baselines "
            f"{self.baselines:,}  ({self.messages:,} messages; {self.unmapped:,} unmapped "
            "values not counted)"
        )


@dataclass
class Batch:
    """Events and dead letters of some messages, the session after them, and the messages'
    tokens to acknowledge once the batch is committed."""

    events: EventColumns = field(default_factory=EventColumns)
    letters: list[DeadLetter] = field(default_factory=list)
    tokens: list[Any] = field(default_factory=list)
    baselines: int = 0
    first_ms: int | None = None  # arrival of the oldest message, for the batch's time bound

    _table: pa.Table | None = field(default=None, repr=False)

    def table(self) -> pa.Table:
        """The events as the store's canonical table (made once, when the batch is closed)."""
        if self._table is None:
            self._table = self.events.table()
        return self._table


@dataclass(frozen=True)
class Rebirth:
    group: str
    node: str


class Pipeline:
    """Turns messages into batches; one instance per ingester, used from one thread."""

    def __init__(
        self,
        mapping: IngestMapping,
        unit_paths: frozenset[str] | None,
        session: dict[str, Any] | None = None,
    ) -> None:
        self.mapping = mapping
        self.resolver = Resolver(mapping)
        session = session or {}
        self.converter = Converter(self.resolver, unit_paths, session.get("memory"))
        self.host = SparkplugHost(self.resolver)
        if "sparkplug" in session:
            self.host.restore(session["sparkplug"])
        self.data_path = DataPath(self.host, self.converter)
        self.counts = Counts()
        self.batch = Batch()

    def session(self) -> dict[str, str]:
        """The session documents to save with a committed batch."""
        return {
            "sparkplug": json.dumps(self.host.snapshot()),
            "memory": json.dumps(self.converter.memory),
        }

    def take(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch

    def committed(self, batch: Batch, inserted: int, duplicates: int, letters: int) -> None:
        """Count a committed batch: events new and already stored, letters new."""
        c = self.counts
        c.stored += inserted
        c.duplicates += duplicates + (len(batch.letters) - letters)
        c.dead_letters += letters
        c.baselines += batch.baselines

    # -- messages ---------------------------------------------------------------------------------
    def sparkplug(
        self, topic_text: str, data: bytes, received_ms: int, token: Any, dup: bool = False
    ) -> Rebirth | None:
        """One message from the Sparkplug namespace; a rebirth to request, or None.

        An in-order data message takes the hot path (``spdata``) whole, or the host's general
        path: a message ahead of its turn is held there, its token joins a batch (and so is
        acknowledged) only when its turn comes or its gap expires (:meth:`expire`)."""
        if len(data) <= MAX_PAYLOAD:
            taken = self.data_path.take(topic_text, data, received_ms, self.batch.events)
            if taken is not None:
                self._arrived(received_ms, token)
                self.counts.received += taken.samples
                self.counts.unmapped += taken.unmapped
                for reading in taken.readings:
                    self._convert(reading, topic_text, data, received_ms)
                return None
        try:
            topic = Topic.parse(topic_text)
        except CodecError as exc:
            self._arrived(received_ms, token)
            self._letter(Protocol.SPARKPLUG, topic_text, data, received_ms, str(exc), None)
            return None
        if topic.type in (MessageType.STATE, MessageType.NCMD, MessageType.DCMD):
            self._arrived(received_ms, token)
            return None  # host state and commands: nothing to store
        if len(data) > MAX_PAYLOAD:
            self._arrived(received_ms, token)
            self._oversize(Protocol.SPARKPLUG, topic_text, data, received_ms)
            return None
        self.counts.messages += 1
        rebirths = self._handled(self.host.offer(topic, data, received_ms, dup, token))
        return rebirths[0] if rebirths else None

    def expire(self, now_ms: int) -> list[Rebirth]:
        """Held Sparkplug messages whose gap outlived the reorder timeout, into the batch as dead
        letters; the edge nodes to ask for a rebirth. Call it every fraction of the timeout."""
        return self._handled(self.host.expire(now_ms))

    def _handled(self, handled: list[Handled]) -> list[Rebirth]:
        rebirths = []
        for h in handled:
            if h.topic.type in (MessageType.NBIRTH, MessageType.DBIRTH):
                # its aliases may have changed (also a held birth whose turn came now)
                self.data_path.forget(h.topic.group, h.topic.node)
            self._token(h.received_ms, h.tag)
            self._take(Protocol.SPARKPLUG, str(h.topic), h.data, h.received_ms, h.result)
            if h.result.rebirth is not None:
                rebirths.append(Rebirth(*h.result.rebirth))
        return rebirths

    def mqtt_json(self, topic: str, data: bytes, received_ms: int, token: Any) -> None:
        """One JSON message on a topic a rule names."""
        self._arrived(received_ms, token)
        if self._oversize(Protocol.MQTT, topic, data, received_ms):
            return
        readings, rejected = json_readings(self.mapping, topic, data)
        self._take(Protocol.MQTT, topic, data, received_ms, HostResult(readings, rejected))

    def opcua(self, reading: Reading, received_ms: int) -> None:
        """One data change of a monitored OPC UA node."""
        self._arrived(received_ms, None)
        self._convert(reading, reading.metric, b"", received_ms)

    def _oversize(self, protocol: Protocol, topic: str, data: bytes, now_ms: int) -> bool:
        if len(data) <= MAX_PAYLOAD:
            return False
        reason = f"payload of {len(data):,} bytes is over {MAX_PAYLOAD:,}"
        self._letter(protocol, topic, data, now_ms, reason, None)
        return True

    def replay(self, letter: DeadLetter, now_ms: int) -> bool:
        """Put a dead letter's reading through the current mapping; whether it left the letters."""
        if letter.reading is None:
            if letter.protocol != Protocol.MQTT.value:
                return False  # a Sparkplug message needs its session; it stays
            before = len(self.batch.letters)
            readings, rejected = json_readings(self.mapping, letter.topic, letter.payload)
            self._take(
                Protocol.MQTT, letter.topic, letter.payload, now_ms, HostResult(readings, rejected)
            )
            return len(self.batch.letters) == before
        reading = reading_from_json(letter.reading)
        before = len(self.batch.letters)
        self._convert(reading, letter.topic, letter.payload, now_ms)
        return len(self.batch.letters) == before

    def _arrived(self, received_ms: int, token: Any) -> None:
        self.counts.messages += 1
        self._token(received_ms, token)

    def _token(self, received_ms: int, token: Any) -> None:
        batch = self.batch
        batch.tokens.append(token)
        if batch.first_ms is None:
            batch.first_ms = received_ms

    def _take(
        self, protocol: Protocol, topic: str, data: bytes, now_ms: int, result: HostResult
    ) -> None:
        self.counts.unmapped += result.unmapped
        self.counts.received += len(result.deaths)
        for death in result.deaths:
            self.batch.events.add(death)
        for reason, reading in result.rejected:
            self._letter(protocol, topic, data, now_ms, reason, reading)
        for reading in result.readings:
            self._convert(reading, topic, data, now_ms)

    def _convert(self, reading: Reading, topic: str, data: bytes, now_ms: int) -> None:
        found = self.resolver.resolve(reading)
        if found is None:
            self._letter(reading.protocol, topic, data, now_ms, "no rule maps it", reading)
            return
        try:
            event = self.converter.convert(reading, found[0], found[1], now_ms)
        except (Rejected, ValueError) as exc:
            self._letter(reading.protocol, topic, data, now_ms, str(exc), reading)
            return
        self.counts.received += 1
        if isinstance(event, Baseline):
            self.batch.baselines += 1
        else:
            self.batch.events.add(event)

    def _letter(
        self,
        protocol: Protocol,
        topic: str,
        data: bytes,
        now_ms: int,
        reason: str,
        reading: Reading | None,
    ) -> None:
        self.counts.received += 1
        text = None if reading is None else reading_to_json(reading)
        key = hashlib.blake2b(digest_size=12)
        for part in (topic.encode(), data, (text or reason).encode()):
            key.update(len(part).to_bytes(8, "little"))
            key.update(part)
        received = _datetime(now_ms)
        self.batch.letters.append(
            DeadLetter("dl-" + key.hexdigest(), received, protocol.value, topic, data, reason, text)
        )


def _datetime(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)


def reading_to_json(reading: Reading) -> str:
    doc = dataclasses.asdict(reading)
    doc["protocol"] = reading.protocol.value
    doc["value"] = _plain(reading.value)
    doc["context"] = {k: _plain(v) for k, v in reading.context.items()}
    return json.dumps(doc, sort_keys=True)


def reading_from_json(text: str) -> Reading:
    doc = json.loads(text)
    return Reading(
        Protocol(doc["protocol"]),
        doc["source"],
        doc["metric"],
        int(doc["ts_ms"]),
        doc["value"],
        doc["ids"],
        doc["ident"],
        doc["context"],
    )


def _plain(value: object) -> object:
    return value.hex() if isinstance(value, bytes) else value


__all__ = ["Batch", "Counts", "Pipeline", "Rebirth"]
