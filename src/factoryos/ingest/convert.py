"""Readings to canonical events: the mapping's rules applied to one value from one source.

A :class:`Reading` is what every protocol adapter produces: a value of a metric (Sparkplug),
a JSON path (MQTT) or a node (OPC UA) at a time. :class:`Resolver` finds its rule and work unit,
:class:`Converter` turns it into an event. Event ids are derived from the reading alone (source,
metric, timestamp and the reading's place in its message), so a redelivered message makes the same
ids and the store skips it: that is the exactly-once half the store owns.

Cumulative counters and meters become deltas against the previous reading of the same source
metric, kept in :attr:`Converter.memory` (saved with each committed batch). The first reading
after a start only sets the baseline. A reading below the previous one is a reset (the delta is
the new reading) unless the rule gives ``rollover``, the counter's modulus, then it wrapped.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from factoryos.ingest.mapping import IngestMapping, Kind, Rule, SparkplugSource, fill_path
from factoryos.model.events import EnergyReading, Event, ProductionCount, SensorSample, StateChange

Value = int | float | bool | str | bytes | None


class Protocol(StrEnum):
    SPARKPLUG = "sparkplug"
    MQTT = "mqtt"
    OPCUA = "opcua"


@dataclass(frozen=True, slots=True)
class Reading:
    """One value from a source. ``ids`` are the source's own names (group, node, device, or
    topic placeholders); ``ident`` tells apart two readings of one metric at one timestamp
    (a Sparkplug message's seq and the metric's index); ``context`` holds the other values of the
    same message by name (a count's product travels beside it)."""

    protocol: Protocol
    source: str
    metric: str
    ts_ms: int
    value: Value
    ids: Mapping[str, str] = field(default_factory=dict)
    ident: str = ""
    context: Mapping[str, Value] = field(default_factory=dict)

    def event_id(self) -> str:
        """Derived from the reading alone: ``in-<ms>-<source and metric>-<ident>``
        (:func:`event_id`)."""
        return event_id(self.ts_ms, metric_digest(self.source, self.metric), self.ident)


def event_id(ts_ms: int, digest: str, ident: str) -> str:
    """An ingested event's id: its instant first (milliseconds since 1970 in 12 hex digits, so
    byte order is time order up to the year 10889), then the digest of its source and metric,
    then the ident. Time first, as UUIDv7 lays out, because a store's id registry is an index on
    the id: ids that rise with time land on its right-most leaves, hashes on random ones (about
    0.5-1 us of PostgreSQL's CPU a metric, docs/ingest.md). Events of one unit at one instant are
    ordered by id (``factoryos.store``): the ident comes last so that readings of one metric at
    one instant keep the order they were sent in (a Sparkplug seq, zero-padded; it wraps at 256,
    so only within 256 messages). The three parts make the id unique: the digest is hashed from
    source and metric only, since the instant is in the id itself."""
    return f"in-{ts_ms:012x}-{digest}-{ident}"


@functools.lru_cache(maxsize=65_536)
def metric_digest(source: str, metric: str) -> str:
    """The id's middle part: 15 hex digits (60 bits) of blake2b over ``<source>|<metric>``
    (cached: a plant has a bounded set of metrics, each read many times). 15, so that a
    Sparkplug id is 39 characters, the most that fits PostgreSQL's 48-byte index entry (the
    registry's index 14 % smaller and ~0.3 us of server CPU an id cheaper than at 44); two of a
    plant's 100,000 metrics share a digest with odds of 1 in 200 million, and even then their
    ids differ unless both are read at the same millisecond with the same ident."""
    return hashlib.blake2b(f"{source}|{metric}".encode(), digest_size=8).hexdigest()[:15]


class Rejected(ValueError):
    """A reading that cannot become an event; the message is the dead letter's reason."""


class Baseline:
    """Marker: the reading set a cumulative baseline (the first after a start, or one that did
    not move) and makes no event."""


BASELINE = Baseline()


class Resolver:
    """Rule and work-unit path of a reading (cached per source and metric)."""

    def __init__(self, mapping: IngestMapping) -> None:
        self.mapping = mapping
        self._by_metric: dict[str, list[Rule]] = {}
        for rule in mapping.sources:
            if isinstance(rule.source, SparkplugSource):
                self._by_metric.setdefault(rule.source.metric, []).append(rule)
        self._cache: dict[tuple[str, str], tuple[Rule, str] | None] = {}

    def sparkplug_metrics(self) -> set[str]:
        return set(self._by_metric)

    def resolve(self, reading: Reading) -> tuple[Rule, str] | None:
        key = (reading.source, reading.metric)
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._find(reading)
            return found

    def _find(self, reading: Reading) -> tuple[Rule, str] | None:
        if reading.protocol is Protocol.SPARKPLUG:
            ids = reading.ids
            for rule in self._by_metric.get(reading.metric, ()):
                s = rule.sparkplug
                assert s is not None
                if (
                    s.group in ("+", ids["group"])
                    and s.node in ("+", ids["node"])
                    and (s.device == ids.get("device") or (s.device == "+" and "device" in ids))
                ):
                    return rule, fill_path(rule.path, ids)
            return None
        for rule in self.mapping.sources:
            if (
                reading.protocol is Protocol.MQTT
                and rule.mqtt is not None
                and rule.mqtt.value == reading.metric
                and rule.mqtt.matches(reading.source) is not None
            ):
                return rule, fill_path(rule.path, reading.ids)
            if (
                reading.protocol is Protocol.OPCUA
                and rule.opcua is not None
                and rule.opcua.node == reading.metric
            ):
                return rule, rule.path
        return None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
MIN_TS_MS = (dt.datetime.min.replace(tzinfo=dt.UTC) - _EPOCH) // _MS
MAX_TS_MS = (dt.datetime.max.replace(tzinfo=dt.UTC) - _EPOCH) // _MS
"""The instants an event can have (years 1 to 9999, Python's datetime), in ms since 1970."""


class Converter:
    """Readings of mapped sources to events, checked against the plant's work units."""

    def __init__(
        self,
        resolver: Resolver,
        unit_paths: frozenset[str] | None,
        memory: dict[str, float] | None = None,
    ) -> None:
        self.resolver = resolver
        self.unit_paths = unit_paths
        self.memory: dict[str, float] = {} if memory is None else memory
        self.max_future_ms = (
            None
            if resolver.mapping.max_future_s is None
            else int(resolver.mapping.max_future_s * 1000)
        )

    def convert(self, reading: Reading, rule: Rule, path: str, now_ms: int) -> Event | Baseline:
        """The event of ``reading``; raises :class:`Rejected` with the reason."""
        if self.unit_paths is not None and path not in self.unit_paths:
            raise Rejected(f"{path!r} is not a work unit of the plant")
        if self.max_future_ms is not None and reading.ts_ms > now_ms + self.max_future_ms:
            raise Rejected(f"timestamp {reading.ts_ms} ms lies in the future")
        if not MIN_TS_MS <= reading.ts_ms <= MAX_TS_MS:
            raise Rejected(f"timestamp {reading.ts_ms} ms lies outside the years 1 to 9999")
        ts = _EPOCH + dt.timedelta(milliseconds=reading.ts_ms)
        event_id = reading.event_id()
        value = reading.value
        if rule.kind is Kind.STATE:
            key = _text(value)
            state = rule.value_map().get(key)
            if state is None:
                raise Rejected(f"state value {key!r} is not in the value map")
            reason = reading.context.get("reason")
            why = reason if isinstance(reason, str) else None
            return StateChange(event_id, ts, path, state, why)
        number = _number(value)
        if rule.kind is Kind.SAMPLE:
            assert rule.sensor is not None
            return SensorSample(event_id, ts, path, rule.sensor, number, rule.unit)
        if rule.cumulative:
            delta = self._delta(f"{reading.source}|{reading.metric}", number, rule)
            # no change (a birth restating the total, a repeated sample) is no event either:
            # it would be a count of nothing, or one without a product when nothing was made
            if delta is None or delta == 0:
                return BASELINE
            number = delta
        if rule.kind is Kind.ENERGY:
            if number < 0:
                raise Rejected(f"energy {number!r} is negative")
            return EnergyReading(event_id, ts, path, number * rule.scale)
        return self._count(reading, rule, path, event_id, ts, number)

    def _count(
        self, reading: Reading, rule: Rule, path: str, event_id: str, ts: dt.datetime, n: float
    ) -> ProductionCount:
        if n != int(n) or n < 0:
            raise Rejected(f"count {n!r} is not a non-negative whole number")
        product = rule.product or _context_text(reading, rule.product_metric)
        if not product:
            raise Rejected(f"no product: metric {rule.product_metric!r} is not in the message")
        assert rule.field is not None
        return ProductionCount(
            event_id,
            ts,
            path,
            product,
            order_id=_context_text(reading, rule.order_metric),
            operation=rule.operation or _context_text(reading, rule.operation_metric),
            **{rule.field: int(n)},
        )

    def _delta(self, key: str, value: float, rule: Rule) -> float | None:
        previous = self.memory.get(key)
        self.memory[key] = value
        if previous is None:
            return None
        if value >= previous:
            return value - previous
        if rule.rollover is not None:
            return value + rule.rollover - previous
        return value  # the counter was reset to zero and counted up to value since


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        raise Rejected("a state value cannot be bytes")
    return str(value)


def _number(value: Value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise Rejected(f"expected a finite number, got {value!r}")
    return float(value)


def _context_text(reading: Reading, name: str | None) -> str | None:
    if name is None:
        return None
    value = reading.context.get(name)
    return value if isinstance(value, str) and value else None


__all__ = [
    "BASELINE",
    "MAX_TS_MS",
    "MIN_TS_MS",
    "Baseline",
    "Converter",
    "Protocol",
    "Reading",
    "Rejected",
    "Resolver",
    "event_id",
    "metric_digest",
]
