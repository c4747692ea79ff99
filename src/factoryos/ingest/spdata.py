"""Sparkplug DATA messages on the hot path: the protobuf message read in place, straight to columns.

Nearly every message of a running plant is an NDATA or DDATA of a born device, in sequence, whose
metrics travel by alias and map to rules. The host's general path (``SparkplugHost.handle``:
decoded ``Metric`` objects, ``Reading`` objects, event objects) spends most of its time building
and reading objects; here a message is parsed by protobuf's C runtime, its metrics are read
field by field, found through a per-device table built once from the births (alias or name ->
name, datatype, rule, work unit, event-id key), and sensor samples are appended to the batch's
columns. Other mapped kinds (state, counts, energy) are handed back as readings for the general
converter, with the same context the host gives them.

The path takes a whole message or declines it *before changing anything*: anything unusual
(a birth or death, a seq that is not the next one, messages held for reordering, an unknown
alias, a compound or unsupported datatype, a value or timestamp that would be a dead letter, a
path that is not a work unit) goes to the general path, which owns those rules.
Both make the same events with the same ids (``tests/ingest/test_spdata.py``).

A message first meets the compiled decoder (``_spcolumns.c``: the payload's bytes straight to the
batch's sample buffers), which takes a message of samples and values no rule names and declines
the rest unchanged, as this module declines to the general path; the Python code below is its
reference (``tests/ingest/test_spcolumns.py``) and takes what it declines: readings of the other
kinds, metadata, properties. Without a C compiler at install the Python path does all of it, ~2 µs a
metric slower, and says so at start-up.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from factoryos.ingest import sparkplug_b_pb2 as pb
from factoryos.ingest.columns import EventColumns
from factoryos.ingest.convert import (
    MAX_TS_MS,
    Converter,
    Protocol,
    Reading,
    Value,
    metric_digest,
)
from factoryos.ingest.host import SparkplugHost, _Node
from factoryos.ingest.mapping import Kind
from factoryos.ingest.sparkplug import NAMESPACE, CodecError, typed_value, value_field

try:
    from factoryos.ingest import _spcolumns
except ImportError:  # installed without a C compiler: pyproject builds it as optional
    _spcolumns = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_warned = False
_INDEX = [f"{i:03d}" for i in range(1000)]  # a metric's index in its message, as in its ids
_SEQ = [f"{i:03d}" for i in range(256)]


@dataclass(frozen=True, slots=True)
class _Slot:
    """A metric of one device as its birth declared it, and what the mapping makes of it."""

    name: str
    datatype: int
    field: str  # the protobuf oneof field its value must arrive in
    signed: bool  # a signed integer: typed_value turns the two's complement back
    kind: Kind | None  # None: no rule names the metric (its values count as unmapped)
    path: str = ""
    digest: str = ""  # the event id's source-and-metric part (convert.metric_digest)
    sensor: str = ""
    unit: str | None = None


@dataclass(slots=True)
class _Plan:
    """One data topic's device (or the edge node itself, for NDATA) in one birth session."""

    key: tuple[str, str]
    device: str | None
    node: object  # the host's session object the plan was built from (a new birth replaces it)
    source: str
    ids: dict[str, str]
    by_alias: dict[int, _Slot] = field(default_factory=dict)
    by_name: dict[str, _Slot] = field(default_factory=dict)
    compiled: _spcolumns.Table | None = None


@dataclass(slots=True)
class Taken:
    """What a message the hot path took made besides its samples: readings of other mapped kinds
    for the general converter, samples added, and values no rule names."""

    readings: list[Reading]
    samples: int
    unmapped: int


class DataPath:
    """The hot path of one pipeline's Sparkplug host and converter; see the module docstring."""

    def __init__(self, host: SparkplugHost, converter: Converter, *, compiled: bool = True) -> None:
        """``compiled``: use the C decoder when it is built (tests compare both paths)."""
        global _warned
        self.host = host
        self.converter = converter
        self._compiled = compiled and _spcolumns is not None
        if compiled and _spcolumns is None and not _warned:
            _warned = True
            log.warning(
                "factoryos.ingest._spcolumns (the compiled Sparkplug decoder) is not built: "
                "decoding in Python, ~2 us a metric slower; reinstall with a C compiler at hand"
            )
        self._mapped = converter.resolver.sparkplug_metrics()
        self._plans: dict[str, _Plan] = {}
        self._by_node: dict[tuple[str, str], list[str]] = {}

    def forget(self, group: str, node: str) -> None:
        """A birth of the edge node or one of its devices: its aliases may have changed."""
        for topic in self._by_node.pop((group, node), ()):
            self._plans.pop(topic, None)

    def take(self, topic: str, data: bytes, now_ms: int, columns: EventColumns) -> Taken | None:
        """Take an NDATA/DDATA whole (samples into ``columns``), or None: the general path's."""
        plan = self._plans.get(topic)
        if plan is None:
            plan = self._plan(topic)
            if plan is None:
                return None
        node = self.host.session_of(*plan.key)
        if node is not plan.node or node is None:
            return None
        seq_expected = node.next_seq
        if (
            seq_expected is None
            or node.held  # messages ahead of their turn wait: the host releases them in order
            or (plan.device is not None and plan.device not in node.devices)
        ):
            return None
        max_future = self.converter.max_future_ms
        latest = None if max_future is None else now_ms + max_future
        if plan.compiled is not None and columns.compiled is not None:
            done = plan.compiled.take(data, seq_expected, latest, columns.compiled)
            if done is not None:
                samples, unmapped, taken_ts = done
                _advance(node, seq_expected, taken_ts)
                return Taken([], samples, unmapped)
        message = pb.Payload()
        try:
            message.ParseFromString(data)
        except DecodeError:
            return None
        if not message.HasField("seq") or message.seq != seq_expected:
            return None
        if len(message.metrics) > len(_INDEX):
            return None
        payload_ts = message.timestamp if message.HasField("timestamp") else None
        by_alias, by_name = plan.by_alias, plan.by_name
        # First pass: every check that could decline, nothing changed yet.
        values: list[tuple[_Slot, Value, int | None]] = []
        # Fields are read before HasField is asked: a read costs half a HasField, and only a
        # zero (a proto3-style default) can mean "not set".
        for m in message.metrics:
            datatype = m.datatype
            if m.HasField("name"):  # a name wins over an alias; "" is a name too
                slot = by_name.get(m.name)
                if not datatype and m.HasField("datatype"):
                    return None  # datatype 0 given with a name: the general path rejects it
            else:
                alias = m.alias
                slot = by_alias.get(alias) if alias or m.HasField("alias") else None
            if slot is None or (datatype and datatype != slot.datatype):
                return None  # by alias, a datatype 0 or left out is the birth's
            ts = m.timestamp
            if not ts and not m.HasField("timestamp"):
                ts = payload_ts
            if m.is_null:
                values.append((slot, None, ts))
                continue
            which = m.WhichOneof("value")
            if which != slot.field:
                return None
            value = getattr(m, which)
            if slot.signed:
                try:
                    value = typed_value(slot.datatype, which, value)
                except CodecError:
                    return None
            if slot.kind is not None:
                if ts is None or ts > MAX_TS_MS or (latest is not None and ts > latest):
                    return None  # the converter's dead letter
                if slot.kind is Kind.SAMPLE and (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                ):
                    return None
            values.append((slot, value, ts))
        # Second pass: the message is ours.
        _advance(node, seq_expected, payload_ts)
        seq = _SEQ[seq_expected]
        add_id, add_ts, add_path, add_sensor, add_value, add_unit = columns.sample_columns
        readings: list[Reading] = []
        context: dict[str, Value] | None = None
        samples = unmapped = 0
        for index, (slot, value, ts) in enumerate(values):
            kind = slot.kind
            if kind is None or value is None:
                unmapped += 1
                continue
            assert ts is not None  # checked in the first pass
            if kind is Kind.SAMPLE:
                add_id(f"in-{ts:012x}-{slot.digest}-{seq}.{_INDEX[index]}")  # convert.event_id
                add_ts(ts * 1000)
                add_path(slot.path)
                add_sensor(slot.sensor)
                add_value(float(value))
                add_unit(slot.unit)
                samples += 1
                continue
            if context is None:
                context = {s.name: v for s, v, _ in values}
            ident = f"{seq}.{_INDEX[index]}"
            readings.append(
                Reading(
                    Protocol.SPARKPLUG, plan.source, slot.name, ts, value, plan.ids, ident, context
                )
            )
        return Taken(readings, samples, unmapped)

    def _plan(self, topic: str) -> _Plan | None:
        parts = topic.split("/")
        if parts[0] != NAMESPACE or not all(parts):
            return None
        if len(parts) == 5 and parts[2] == "DDATA":
            device: str | None = parts[4]
        elif len(parts) == 4 and parts[2] == "NDATA":
            device = None
        else:
            return None
        key = (parts[1], parts[3])
        node = self.host.session_of(*key)
        if node is None or node.next_seq is None:
            return None
        ids = {"group": key[0], "node": key[1]}
        if device is not None:
            ids["device"] = device
        plan = _Plan(key, device, node, f"{key[0]}/{key[1]}/{device or ''}", ids)
        own = device or ""
        for (dev, name), datatype in node.types.items():
            if dev == own and (slot := self._slot(plan, name, datatype)) is not None:
                plan.by_name[name] = slot
        for alias, (dev, name, datatype) in node.aliases.items():
            if dev == own and (slot := self._slot(plan, name, datatype)) is not None:
                plan.by_alias[alias] = slot
        if self._compiled:
            plan.compiled = _spcolumns.Table(
                [(alias, _compiled_slot(slot)) for alias, slot in plan.by_alias.items()],
                [(name, _compiled_slot(slot)) for name, slot in plan.by_name.items()],
            )
        if len(self._plans) > 100_000:  # topics of long-gone devices: start afresh
            self._plans.clear()
            self._by_node.clear()
        self._plans[topic] = plan
        self._by_node.setdefault(key, []).append(topic)
        return plan

    def _slot(self, plan: _Plan, name: str, datatype: int) -> _Slot | None:
        """None for a metric the hot path leaves to the general one (a dead letter there)."""
        spec = value_field(datatype)
        if spec is None:
            return None
        oneof, bits = spec
        probe = Reading(Protocol.SPARKPLUG, plan.source, name, 0, None, plan.ids)
        if name not in self._mapped:
            return _Slot(name, datatype, oneof, bits > 0, None)
        found = self.converter.resolver.resolve(probe)
        if found is None:
            return None  # "no rule maps it"
        rule, path = found
        units = self.converter.unit_paths
        if units is not None and path not in units:
            return None  # "not a work unit of the plant"
        return _Slot(
            name,
            datatype,
            oneof,
            bits > 0,
            rule.kind,
            path,
            metric_digest(plan.source, name),
            rule.sensor or "",
            rule.unit,
        )


def _advance(node: _Node, seq: int, payload_ts: int | None) -> None:
    """The session moves on past a message taken, as the host's would: the seq, and the newest
    payload time, by which the host tells a later message from a resend."""
    node.next_seq = (seq + 1) % 256
    if payload_ts is not None and (node.last_ts or 0) < payload_ts:
        node.last_ts = payload_ts


# the oneof fields by number (sparkplug_b.proto's Metric), as the compiled decoder reads them
_FIELD_NUMBER = {
    "int_value": 10,
    "long_value": 11,
    "float_value": 12,
    "double_value": 13,
    "boolean_value": 14,
    "string_value": 15,
    "bytes_value": 16,
}


def _compiled_slot(slot: _Slot) -> tuple[int, int, int, int, str, bytes, str, str | None]:
    """A slot as ``_spcolumns.Table`` takes it; kind 0: no rule, 1: sample, 2: another kind."""
    kind = 0 if slot.kind is None else 1 if slot.kind is Kind.SAMPLE else 2
    bits = value_field(slot.datatype)
    assert bits is not None  # a slot is made for a supported scalar datatype only
    return (
        slot.datatype,
        _FIELD_NUMBER[slot.field],
        bits[1],
        kind,
        slot.path,
        slot.digest.encode(),
        slot.sensor,
        slot.unit,
    )


__all__ = ["DataPath", "Taken"]
