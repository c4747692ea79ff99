"""The Sparkplug B host application's session logic, without the network.

Per edge node it keeps the birth's ``bdSeq``, the next expected ``seq`` and the aliases and
datatypes the births declared; from each message it makes :class:`Reading` s of the metrics the
mapping names. What breaks the session (data before a birth, a seq gap, an unknown alias) is
rejected with its reason and asks for a rebirth (NCMD ``Node Control/Rebirth``); a death (NDEATH
with the birth's bdSeq, or DDEATH) yields the work units that are now ``unknown``.

A message that arrives ahead of its turn (a seq after the expected one) is held, as Sparkplug 3.0
section 5.9 describes, until the missing ones arrive (then all are taken in seq order) or until
the mapping's ``reorder_timeout_s`` passes (:meth:`SparkplugHost.expire`): only then is it a gap,
the held messages become dead letters and a rebirth is asked for. A broker restart is what
reorders: the edge node's resends and the broker's own redeliveries come back interleaved. A held
message is not handed back (:class:`Handled`) until its turn, so the caller acknowledges it only
after the batch it finally lands in is committed; a crash meanwhile makes the broker send it again.

The session is plain data (:meth:`SparkplugHost.snapshot` / :meth:`restore`), saved with every
committed batch: after a crash the broker redelivers the unacknowledged messages, and they meet
the session as it was when the last of the acknowledged ones was committed. Held messages are not
in it: they were not acknowledged, so they come again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factoryos.ingest.convert import MAX_TS_MS, MIN_TS_MS, Protocol, Reading, Resolver, Value
from factoryos.ingest.deaths import unknown_states
from factoryos.ingest.sparkplug import (
    BDSEQ_METRIC,
    CodecError,
    MessageType,
    Payload,
    Topic,
    decode,
    typed_value,
)
from factoryos.ingest.sparkplug_values import COMPOUND, flatten
from factoryos.model.events import StateChange

MAX_AHEAD = 100
"""For payloads without timestamps: how far ahead of the expected seq a held message may be.
Past half the ring (128) a later seq reads as an earlier one, so such a gap is declared at once.
With timestamps the payload's time tells a later message from an earlier one instead."""


@dataclass
class _Held:
    """A message that came before its turn, kept as it came."""

    topic: Topic
    data: bytes
    payload: Payload
    fields: tuple[str | None, ...]
    received_ms: int
    redelivered: bool
    tag: Any


@dataclass
class _Node:
    bdseq: int | None = None
    next_seq: int | None = None  # None: no valid session (never born, or broken until rebirth)
    # alias -> (device or "", metric name, datatype); (device or "", name) -> datatype
    aliases: dict[int, tuple[str, str, int]] = field(default_factory=dict)
    types: dict[tuple[str, str], int] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    broken: str | None = None  # why the session ended before a rebirth (None: never born)
    held: dict[int, list[_Held]] = field(default_factory=dict)  # seq -> messages ahead of turn
    held_since_ms: int | None = None  # since when the stream waits for next_seq
    last_ts: int | None = None  # newest payload timestamp of the messages taken in turn


@dataclass
class HostResult:
    """What one message made: readings to convert, rejections (reason, reading or None for the
    whole message), the edge node to ask for a rebirth, and ``unknown`` state events."""

    readings: list[Reading] = field(default_factory=list)
    rejected: list[tuple[str, Reading | None]] = field(default_factory=list)
    rebirth: tuple[str, str] | None = None
    deaths: list[StateChange] = field(default_factory=list)
    unmapped: int = 0


@dataclass(frozen=True)
class Handled:
    """A message whose turn came, with what it made and the caller's ``tag`` for it (the token
    to acknowledge once the batch holding its results is committed)."""

    topic: Topic
    data: bytes
    received_ms: int
    tag: Any
    result: HostResult


class SparkplugHost:
    """Sparkplug B sessions of every edge node seen, turned into readings."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._mapped = resolver.sparkplug_metrics()
        self._nodes: dict[tuple[str, str], _Node] = {}
        self.reorder_ms = int(resolver.mapping.reorder_timeout_s * 1000)
        self._waiting: set[tuple[str, str]] = set()  # nodes holding messages

    def session_of(self, group: str, node: str) -> _Node | None:
        """The edge node's session as it stands (None: never seen); the hot path for data
        messages (``factoryos.ingest.spdata``) reads it and advances its seq."""
        return self._nodes.get((group, node))

    # -- session persistence ----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            f"{g}/{n}": {
                "bdseq": s.bdseq,
                "next_seq": s.next_seq,
                "aliases": [[a, *v] for a, v in s.aliases.items()],
                "types": [[d, m, t] for (d, m), t in s.types.items()],
                "devices": sorted(s.devices),
                "broken": s.broken,
                "last_ts": s.last_ts,
            }
            for (g, n), s in self._nodes.items()
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._nodes = {}
        self._waiting = set()
        for key, s in snapshot.items():
            group, node = key.split("/", 1)
            self._nodes[(group, node)] = _Node(
                s["bdseq"],
                s["next_seq"],
                {a: (d, m, t) for a, d, m, t in s["aliases"]},
                {(d, m): t for d, m, t in s["types"]},
                set(s["devices"]),
                s.get("broken"),
                last_ts=s.get("last_ts"),
            )

    def held(self) -> int:
        """Messages waiting for their turn."""
        return sum(len(v) for k in self._waiting for v in self._nodes[k].held.values())

    # -- messages ---------------------------------------------------------------------------------
    def offer(
        self,
        topic: Topic,
        data: bytes,
        received_ms: int,
        redelivered: bool = False,
        tag: Any = None,
    ) -> list[Handled]:
        """One Sparkplug message (not STATE or a command: those carry nothing to store), tagged
        by the caller; ``redelivered``: the broker sent it before (MQTT DUP flag). The messages
        whose turn came: none when this one is held, several when it fills a gap."""
        try:
            payload, fields = decode(data)
        except CodecError as exc:
            return [Handled(topic, data, received_ms, tag, HostResult(rejected=[(str(exc), None)]))]
        key = (topic.group, topic.node)
        node = self._nodes.setdefault(key, _Node())
        kind = topic.type
        out: list[Handled] = []
        if kind is MessageType.NBIRTH and node.held:
            out += self._flush(key, node, "a new NBIRTH came first", rebirth=False)
        elif (
            self.reorder_ms > 0
            and node.next_seq is not None
            and kind is not MessageType.NDEATH
            and kind is not MessageType.NBIRTH
            and payload.seq is not None
            and payload.seq != node.next_seq
            and _early(node, payload)[0]
        ):
            held = _Held(topic, data, payload, fields, received_ms, redelivered, tag)
            node.held.setdefault(payload.seq, []).append(held)
            if node.held_since_ms is None:
                node.held_since_ms = received_ms
                self._waiting.add(key)
            ahead = (payload.seq - node.next_seq) % 256
            if not _early(node, payload)[1] and ahead >= MAX_AHEAD:
                out += self._flush(key, node, f"{MAX_AHEAD} later messages came first", True)
            return out
        before = node.next_seq
        result = self._handle(topic, payload, fields, received_ms, redelivered)
        out.append(Handled(topic, data, received_ms, tag, result))
        node = self._nodes[key]  # a birth made a new one
        if node.held:
            moved = node.next_seq is not None and node.next_seq != before
            out += self._release(key, node, received_ms, moved)
        return out

    def expire(self, now_ms: int) -> list[Handled]:
        """The held messages of each gap open for the reorder timeout, as dead letters that ask
        for a rebirth; the session of their edge node ends until it."""
        out: list[Handled] = []
        for key in sorted(self._waiting):
            node = self._nodes[key]
            if node.held_since_ms is not None and now_ms - node.held_since_ms >= self.reorder_ms:
                why = f"it did not come within the reorder timeout of {self.reorder_ms / 1000:g} s"
                out += self._flush(key, node, why, rebirth=True)
        return out

    def _release(
        self, key: tuple[str, str], node: _Node, now_ms: int, moved: bool
    ) -> list[Handled]:
        """Held messages that are now in turn, in seq order. While the stream moves (``moved``:
        the message before was taken in turn) the rest are early, not behind a gap: the timer
        starts again, as when a gap is filled."""
        out = []
        while node.next_seq is not None and node.next_seq in node.held:
            seq = node.next_seq
            for h in node.held.pop(seq):  # a second copy of a seq is then a repeat
                if node.next_seq not in (None, seq) and _early(node, h.payload)[0]:
                    node.held.setdefault(seq, []).append(h)  # a whole ring ahead: later
                    continue
                result = self._handle(h.topic, h.payload, h.fields, h.received_ms, h.redelivered)
                out.append(Handled(h.topic, h.data, h.received_ms, h.tag, result))
        if not node.held:
            node.held_since_ms = None
            self._waiting.discard(key)
        elif node.next_seq is None:
            out += self._flush(key, node, f"the session ended: {node.broken}", rebirth=False)
        elif out or moved:
            node.held_since_ms = now_ms
        return out

    def _flush(self, key: tuple[str, str], node: _Node, why: str, rebirth: bool) -> list[Handled]:
        """Every held message as a dead letter of the gap before it; the session ends."""
        expected = node.next_seq
        out: list[Handled] = []
        for seq in sorted(node.held, key=lambda s: (s - (expected or 0)) % 256):
            for h in node.held[seq]:
                reason = f"seq gap: expected {expected}, got {seq}; {why}"
                if rebirth:
                    reason += "; rebirth requested"
                result = HostResult(rejected=[(reason, None)])
                if rebirth and not out:
                    result.rebirth = key
                out.append(Handled(h.topic, h.data, h.received_ms, h.tag, result))
        node.held.clear()
        node.held_since_ms = None
        self._waiting.discard(key)
        if rebirth:
            node.next_seq = None
            node.broken = f"the seq gap at {expected}"
        return out

    def _handle(
        self,
        topic: Topic,
        payload: Payload,
        fields: tuple[str | None, ...],
        received_ms: int,
        redelivered: bool,
    ) -> HostResult:
        result = HostResult()
        key = (topic.group, topic.node)
        node = self._nodes[key]
        kind = topic.type
        if kind is MessageType.NDEATH:
            self._node_death(topic, node, payload, received_ms, result)
            return result
        if kind is MessageType.NBIRTH:  # a birth starts the session afresh
            node = self._nodes[key] = _Node(bdseq=_bdseq(payload))
        elif node.next_seq is None:
            if node.broken is not None:
                why = f"{kind.value} after {node.broken}, before the edge node's rebirth"
            else:
                why = f"{kind.value} before the edge node's NBIRTH"
            return self._broken(result, key, why)
        elif payload.seq != node.next_seq:
            early, by_time = (False, False) if payload.seq is None else _early(node, payload)
            if (payload.seq is not None and not early) or (redelivered and not by_time):
                # A message seen before, not a gap: the broker's redelivery (MQTT DUP) after a
                # crash or reconnect lost its acknowledgement; the edge node's own resend of an
                # unacknowledged QoS 1 publish after it reconnected (the broker passes it on
                # without DUP); or a second copy from overlapping subscriptions of one session.
                # Its payload is no newer than the last taken in turn (or, without timestamps,
                # its seq is up to half the ring behind); a later one is a gap (or held, with a
                # reorder timeout). Its events have the ids already taken; the seq stays.
                birth = kind is MessageType.DBIRTH
                if birth:
                    node.devices.add(topic.device or "")
                if kind is not MessageType.DDEATH:
                    self._readings(topic, node, payload, fields, birth, result)
                return result
            expected, node.next_seq = node.next_seq, None
            node.broken = f"the seq gap at {expected}"
            return self._broken(result, key, f"seq gap: expected {expected}, got {payload.seq}")
        if payload.seq is None or not 0 <= payload.seq <= 255:
            node.next_seq = None
            node.broken = "a message without a valid seq"
            return self._broken(result, key, f"{kind.value} has no valid seq ({payload.seq})")
        node.next_seq = (payload.seq + 1) % 256
        if payload.timestamp_ms is not None and (node.last_ts or 0) < payload.timestamp_ms:
            node.last_ts = payload.timestamp_ms
        device = topic.device or ""
        if kind is MessageType.DBIRTH:
            node.devices.add(device)
        elif kind is MessageType.DDEATH:
            node.devices.discard(device)
            ts_ms = payload.timestamp_ms
            if ts_ms is None or not MIN_TS_MS <= ts_ms <= MAX_TS_MS:
                ts_ms = received_ms  # none, or past what an event can hold: still a death
            result.deaths = unknown_states(
                self.resolver.mapping, topic, [topic.device], ts_ms, f"DDEATH.{payload.seq}"
            )
            return result
        elif kind is MessageType.DDATA and device not in node.devices:
            return self._broken(result, key, f"DDATA before the DBIRTH of device {device!r}")
        birth = kind in (MessageType.NBIRTH, MessageType.DBIRTH)
        self._readings(topic, node, payload, fields, birth, result)
        return result

    def _readings(
        self,
        topic: Topic,
        node: _Node,
        payload: Payload,
        fields: tuple[str | None, ...],
        birth: bool,
        result: HostResult,
    ) -> None:
        device = topic.device or ""
        ids = {"group": topic.group, "node": topic.node}
        if topic.device is not None:
            ids["device"] = topic.device
        source = f"{topic.group}/{topic.node}/{device}"
        named: list[tuple[str, int, Value, int | None] | None] = []
        for metric, field_name in zip(payload.metrics, fields, strict=True):
            name = metric.name
            datatype = metric.datatype
            if birth:
                if name is None or datatype is None:
                    result.rejected.append(("a birth metric needs a name and a datatype", None))
                    named.append(None)
                    continue
                node.types[(device, name)] = datatype
                if metric.alias is not None:
                    node.aliases[metric.alias] = (device, name, datatype)
            elif name is None:
                entry = node.aliases.get(metric.alias) if metric.alias is not None else None
                if entry is None or entry[0] != device:
                    result.rejected.append((f"unknown alias {metric.alias} on {topic}", None))
                    result.rebirth = (topic.group, topic.node)
                    named.append(None)
                    continue
                name, datatype = entry[1], datatype or entry[2]
            elif datatype is None:
                datatype = node.types.get((device, name))
                if datatype is None:
                    result.rejected.append((f"metric {name!r} was not in the birth", None))
                    named.append(None)
                    continue
            ts = metric.timestamp_ms if metric.timestamp_ms is not None else payload.timestamp_ms
            try:
                if metric.is_null:
                    named.append((name, datatype, None, ts))
                elif datatype in COMPOUND:  # a template, DataSet or array: several values
                    flat = flatten(name, datatype, field_name, metric.value)
                    result.unmapped += not flat  # a template definition declares, gives none
                    named += [(n, d, v, ts) for n, d, v in flat]
                else:
                    named.append(
                        (name, datatype, typed_value(datatype, field_name, metric.value), ts)
                    )
            except CodecError as exc:
                result.rejected.append((f"metric {name!r}: {exc}", None))
                named.append(None)
        context = {n[0]: n[2] for n in named if n is not None}
        for index, item in enumerate(named):
            if item is None:
                continue
            name, _, value, ts = item
            if name not in self._mapped or value is None:
                result.unmapped += 1
                continue
            ident = f"{payload.seq:03d}.{index:03d}"
            reading = Reading(Protocol.SPARKPLUG, source, name, ts or 0, value, ids, ident, context)
            if ts is None:
                result.rejected.append((f"metric {name!r} has no timestamp", reading))
            else:
                result.readings.append(reading)

    def _broken(self, result: HostResult, key: tuple[str, str], reason: str) -> HostResult:
        result.rejected.append((f"{reason}; rebirth requested", None))
        result.rebirth = key
        return result

    def _node_death(
        self, topic: Topic, node: _Node, payload: Payload, received_ms: int, result: HostResult
    ) -> None:
        bdseq = _bdseq(payload)
        if node.bdseq is not None and bdseq is not None and 1 <= (node.bdseq - bdseq) % 256 <= 128:
            # The will of an older session (its bdSeq is behind the birth's): this one is alive.
            # One ahead ends the session too: a newer session whose NBIRTH was lost, or an edge
            # node that sends the next connection's bdSeq in its NDEATH (pysparkplug 0.6 does).
            result.unmapped += 1
            return
        devices: list[str | None] = [None, *sorted(node.devices)]
        node.next_seq = None
        node.broken = "the edge node's NDEATH"
        node.devices.clear()
        # The will was written at connect time: its timestamp is not the death, the arrival is.
        result.deaths = unknown_states(
            self.resolver.mapping, topic, devices, received_ms, f"NDEATH.{bdseq}"
        )


def _early(node: _Node, payload: Payload) -> tuple[bool, bool]:
    """Whether a message out of turn was sent after those taken in turn (hold it) rather than
    before (a repeat), and whether its timestamp told. A reconnecting MQTT client can send a
    new message ahead of hundreds of older resends, more than half the seq ring, so the payload
    timestamp decides when it differs from the newest taken; else the seq, within half the ring."""
    assert payload.seq is not None and node.next_seq is not None
    ahead = (payload.seq - node.next_seq) % 256
    ts, last = payload.timestamp_ms, node.last_ts
    if ts is not None and last is not None and ts != last:
        return ts > last, True
    return ahead < 128, False


def _bdseq(payload: Payload) -> int | None:
    for metric in payload.metrics:
        if metric.name == BDSEQ_METRIC and isinstance(metric.value, int):
            return metric.value
    return None
