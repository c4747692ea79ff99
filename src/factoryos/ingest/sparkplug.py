"""Sparkplug B 3.0: topics and the protobuf payload, decoded into plain frozen values and encoded.

The payload schema is the official ``sparkplug_b.proto`` (Eclipse Tahu), compiled by protoc into
``sparkplug_b_pb2``; parsing runs in protobuf's C runtime (upb). Values are typed by the metric's
datatype (section 6.4.16 of the specification): signed integers travel as their unsigned two's
complement in ``int_value``/``long_value`` and are turned back here; a value in the wrong field
for its datatype is an error, never a silent cast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from google.protobuf.message import DecodeError

from factoryos.ingest import sparkplug_b_pb2 as pb

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"

Value = int | float | bool | str | bytes | None


class CodecError(ValueError):
    """A payload or topic that is not valid Sparkplug B; the message says what and where."""


class MessageType(StrEnum):
    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    NDATA = "NDATA"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    DDATA = "DDATA"
    DCMD = "DCMD"
    STATE = "STATE"


class DataType(IntEnum):
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    FILE = 18
    TEMPLATE = 19
    INT8_ARRAY = 22
    INT16_ARRAY = 23
    INT32_ARRAY = 24
    INT64_ARRAY = 25
    UINT8_ARRAY = 26
    UINT16_ARRAY = 27
    UINT32_ARRAY = 28
    UINT64_ARRAY = 29
    FLOAT_ARRAY = 30
    DOUBLE_ARRAY = 31
    BOOLEAN_ARRAY = 32
    STRING_ARRAY = 33
    DATETIME_ARRAY = 34


# datatype -> (oneof field that must carry it, bits of a signed integer or 0)
_FIELD: dict[int, tuple[str, int]] = {
    DataType.INT8: ("int_value", 8),
    DataType.INT16: ("int_value", 16),
    DataType.INT32: ("int_value", 32),
    DataType.INT64: ("long_value", 64),
    DataType.UINT8: ("int_value", 0),
    DataType.UINT16: ("int_value", 0),
    DataType.UINT32: ("int_value", 0),
    DataType.UINT64: ("long_value", 0),
    DataType.FLOAT: ("float_value", 0),
    DataType.DOUBLE: ("double_value", 0),
    DataType.BOOLEAN: ("boolean_value", 0),
    DataType.STRING: ("string_value", 0),
    DataType.DATETIME: ("long_value", 0),
    DataType.TEXT: ("string_value", 0),
    DataType.UUID: ("string_value", 0),
    DataType.BYTES: ("bytes_value", 0),
    DataType.FILE: ("bytes_value", 0),
}


@dataclass(frozen=True, slots=True)
class Topic:
    """``spBv1.0/<group>/<type>/<edge node>[/<device>]``, or ``spBv1.0/STATE/<host id>``."""

    type: MessageType
    group: str
    node: str
    device: str | None = None

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) == 3 and parts[0] == NAMESPACE and parts[1] == "STATE":
            return cls(MessageType.STATE, "", parts[2])
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE or not all(parts):
            raise CodecError(f"not a Sparkplug B topic: {topic!r}")
        try:
            kind = MessageType(parts[2])
        except ValueError as exc:
            raise CodecError(f"unknown message type {parts[2]!r} in {topic!r}") from exc
        device = parts[4] if len(parts) == 5 else None
        if (device is None) != kind.value.startswith("N") or kind is MessageType.STATE:
            raise CodecError(f"{kind.value} does not fit topic {topic!r}")
        return cls(kind, parts[1], parts[3], device)

    def __str__(self) -> str:
        if self.type is MessageType.STATE:
            return f"{NAMESPACE}/STATE/{self.node}"
        tail = f"/{self.device}" if self.device is not None else ""
        return f"{NAMESPACE}/{self.group}/{self.type.value}/{self.node}{tail}"


@dataclass(frozen=True, slots=True)
class DataSet:
    """A DataSet value (section 6.4.8): column names and datatypes, and per row the oneof field
    and raw value of each cell (typed by :func:`typed_value` with the column's datatype)."""

    num_of_columns: int | None
    columns: tuple[str, ...]
    types: tuple[int, ...]
    rows: tuple[tuple[tuple[str | None, Value], ...], ...]


@dataclass(frozen=True, slots=True)
class Template:
    """A Template value (section 6.4.11): a definition (in an NBIRTH, no values that count) or an
    instance of ``template_ref``, with its member metrics and the oneof field of each."""

    is_definition: bool
    template_ref: str | None
    metrics: tuple[Metric, ...]
    fields: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric as it came: ``datatype`` is None in a DATA message that left it out (the
    birth has it), ``value`` is None when ``is_null``."""

    name: str | None
    alias: int | None
    timestamp_ms: int | None
    datatype: int | None
    value: Value | DataSet | Template
    is_null: bool = False


@dataclass(frozen=True, slots=True)
class Payload:
    timestamp_ms: int | None
    seq: int | None
    metrics: tuple[Metric, ...]


def value_field(datatype: int) -> tuple[str, int] | None:
    """The oneof field a scalar ``datatype`` travels in and the bits of a signed integer (0:
    not one); None for a datatype that is not a supported scalar."""
    return _FIELD.get(datatype)


def typed_value(datatype: int, field: str | None, raw: Value | DataSet | Template) -> Value:
    """The value of a metric of ``datatype`` that arrived in oneof ``field``; CodecError when
    the field does not carry that datatype or the datatype is not a scalar."""
    spec = _FIELD.get(datatype)
    if isinstance(raw, DataSet | Template):
        raise CodecError(f"a {type(raw).__name__} is not a value of datatype {datatype}")
    if spec is None:
        name = DataType(datatype).name if datatype in DataType._value2member_map_ else datatype
        raise CodecError(f"datatype {name} is not supported")
    expected, bits = spec
    if field != expected:
        raise CodecError(f"datatype {DataType(datatype).name} needs {expected}, got {field}")
    if bits and isinstance(raw, int) and raw >= 1 << (bits - 1):
        # Tahu sign-extends Int8/16/32 to 32 bits; some encoders send the value's own width.
        width = bits if raw < 1 << bits else (64 if bits == 64 else 32)
        return raw - (1 << width)
    return raw


def decode(data: bytes) -> tuple[Payload, tuple[str | None, ...]]:
    """Parse a payload; also the oneof field each metric's value arrived in (None: no value).

    Values are not typed yet: a DATA message may leave out the datatype, which only the birth
    knows. :func:`typed_value` types them.
    """
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise CodecError(f"not a Sparkplug B payload: {exc}") from exc
    metrics, fields = _metrics(message.metrics)
    return (
        Payload(
            message.timestamp if message.HasField("timestamp") else None,
            message.seq if message.HasField("seq") else None,
            metrics,
        ),
        fields,
    )


def _metrics(items: Iterable[Any]) -> tuple[tuple[Metric, ...], tuple[str | None, ...]]:
    metrics = []
    fields = []
    for m in items:
        field = m.WhichOneof("value")
        fields.append(field)
        value: Value | DataSet | Template
        if field is None or field == "extension_value":
            value = None
        elif field == "dataset_value":
            value = _dataset(m.dataset_value)
        elif field == "template_value":
            t = m.template_value
            members, member_fields = _metrics(t.metrics)
            ref = t.template_ref if t.HasField("template_ref") else None
            value = Template(t.is_definition, ref, members, member_fields)
        else:
            value = getattr(m, field)
        metrics.append(
            Metric(
                m.name if m.HasField("name") else None,
                m.alias if m.HasField("alias") else None,
                m.timestamp if m.HasField("timestamp") else None,
                m.datatype if m.HasField("datatype") else None,
                value,
                m.is_null,
            )
        )
    return tuple(metrics), tuple(fields)


def _dataset(d: Any) -> DataSet:
    rows = []
    for row in d.rows:
        cells = []
        for cell in row.elements:
            field = cell.WhichOneof("value")
            plain = field is not None and field != "extension_value"
            cells.append((field if plain else None, getattr(cell, field) if plain else None))
        rows.append(tuple(cells))
    num = d.num_of_columns if d.HasField("num_of_columns") else None
    return DataSet(num, tuple(d.columns), tuple(d.types), tuple(rows))


def encode(payload: Payload) -> bytes:
    """Serialize a payload; every metric needs a datatype, values go to the datatype's field."""
    message = pb.Payload()
    if payload.timestamp_ms is not None:
        message.timestamp = payload.timestamp_ms
    if payload.seq is not None:
        message.seq = payload.seq
    for metric in payload.metrics:
        m = message.metrics.add()
        if metric.name is not None:
            m.name = metric.name
        if metric.alias is not None:
            m.alias = metric.alias
        if metric.timestamp_ms is not None:
            m.timestamp = metric.timestamp_ms
        if metric.datatype is None or metric.datatype not in _FIELD:
            what = "no datatype" if metric.datatype is None else f"datatype {metric.datatype}"
            raise CodecError(f"metric {metric.name or metric.alias!r}: cannot encode {what}")
        m.datatype = metric.datatype
        if metric.is_null or metric.value is None:
            m.is_null = True
            continue
        field, bits = _FIELD[metric.datatype]
        value = metric.value
        if bits and isinstance(value, int) and value < 0:
            value += 1 << (32 if bits < 64 else 64)
        setattr(m, field, value)
    return bytes(message.SerializeToString())
