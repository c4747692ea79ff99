"""MQTT JSON: equipment that publishes a JSON document per reading instead of Sparkplug B.

A rule names a topic template (``plant/{line}/{unit}/status``), a dotted path to the value and one
to the timestamp (``$.`` optional). A timestamp is epoch milliseconds or ISO 8601; one without a
zone is read in the rule's ``zone`` when it gives one, and is rejected otherwise: a plant's local
time guessed as UTC would shift every interval by hours without anyone noticing.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from factoryos.ingest.convert import Protocol, Reading, Rejected, Value
from factoryos.ingest.mapping import IngestMapping, MqttSource


def json_readings(
    mapping: IngestMapping, topic: str, data: bytes
) -> tuple[list[Reading], list[tuple[str, Reading | None]]]:
    """The readings of one JSON message on ``topic``, and what was rejected with why."""
    rejected: list[tuple[str, Reading | None]] = []
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return [], [(f"not UTF-8: {exc.reason} at byte {exc.start}", None)]
    except json.JSONDecodeError as exc:
        return [], [(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", None)]
    readings = []
    for rule in mapping.sources:
        source = rule.mqtt
        if source is None:
            continue
        ids = source.matches(topic)
        if ids is None:
            continue
        try:
            value = _scalar(_at(document, source.value), source.value)
            ts_ms = _timestamp(_at(document, source.timestamp), source)
            ident = "" if source.ident is None else _ident(_at(document, source.ident))
        except Rejected as exc:
            rejected.append((str(exc), None))
            continue
        context = (
            {k: v for k, v in document.items() if isinstance(v, str)}
            if isinstance(document, dict)
            else {}
        )
        readings.append(
            Reading(Protocol.MQTT, topic, source.value, ts_ms, value, ids, ident, context)
        )
    if not readings and not rejected:
        rejected.append(("no rule maps this topic", None))
    return readings, rejected


def _at(document: Any, path: str) -> Any:
    node = document
    for part in path.removeprefix("$.").split("."):
        if not isinstance(node, dict) or part not in node:
            raise Rejected(f"no {path!r} in the document")
        node = node[part]
    return node


def _scalar(value: Any, path: str) -> Value:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise Rejected(f"{path!r} is not a single value: {json.dumps(value)[:80]}")


def _ident(value: Any) -> str:
    """A message number, zero-padded so that event ids sort in the order it counts."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"{value:012d}"
    if isinstance(value, str) and value:
        return value
    raise Rejected(f"message number {value!r} is neither a whole number >= 0 nor a text")


def _timestamp(value: Any, source: MqttSource) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejected(f"timestamp {value!r} is neither epoch milliseconds nor ISO 8601")
    if not isinstance(value, str):
        return int(value)
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise Rejected(f"timestamp {value!r} is not ISO 8601") from exc
    if ts.tzinfo is None:
        if source.zone is None:
            raise Rejected(f"timestamp {value!r} has no time zone and the rule gives none")
        ts = ts.replace(tzinfo=zoneinfo.ZoneInfo(source.zone))
    return int(ts.timestamp() * 1000)
