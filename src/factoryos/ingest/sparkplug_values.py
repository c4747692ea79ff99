"""Sparkplug B values that hold several: Templates, DataSets and arrays, flattened to scalars.

The host stores scalars (a state, a count, a sample), so a compound metric becomes named scalar
readings that a mapping rule can name:

- a Template instance (a UDT) gives each member as ``<metric>.<member>``, nested templates as
  ``<metric>.<member>.<member>``; a Template *definition* (NBIRTH) declares members and gives none;
- a DataSet gives each cell as ``<metric>[<row>].<column>``, typed by the column's datatype;
- an array (datatypes 22-34, section 6.4.16: little-endian packed in ``bytes_value``) gives each
  element as ``<metric>[<i>]``.

What does not fit its declaration (a row of the wrong width, an array of a partial element, a
member without a name or datatype) is a :class:`CodecError` naming the metric, which the host
keeps as a dead letter with that reason.
"""

from __future__ import annotations

import struct

from factoryos.ingest.sparkplug import CodecError, DataSet, DataType, Template, Value, typed_value

# array datatype -> (struct format of one element, element datatype)
_PACKED: dict[int, tuple[str, DataType]] = {
    DataType.INT8_ARRAY: ("b", DataType.INT8),
    DataType.INT16_ARRAY: ("h", DataType.INT16),
    DataType.INT32_ARRAY: ("i", DataType.INT32),
    DataType.INT64_ARRAY: ("q", DataType.INT64),
    DataType.UINT8_ARRAY: ("B", DataType.UINT8),
    DataType.UINT16_ARRAY: ("H", DataType.UINT16),
    DataType.UINT32_ARRAY: ("I", DataType.UINT32),
    DataType.UINT64_ARRAY: ("Q", DataType.UINT64),
    DataType.FLOAT_ARRAY: ("f", DataType.FLOAT),
    DataType.DOUBLE_ARRAY: ("d", DataType.DOUBLE),
    DataType.DATETIME_ARRAY: ("Q", DataType.DATETIME),
}
COMPOUND = frozenset(
    {DataType.DATASET, DataType.TEMPLATE, DataType.BOOLEAN_ARRAY, DataType.STRING_ARRAY, *_PACKED}
)
"""Datatypes :func:`flatten` turns into several readings."""

Flat = list[tuple[str, int, Value]]


def flatten(name: str, datatype: int, field: str | None, raw: object) -> Flat:
    """(name, datatype, value) of each scalar in a compound metric; see the module docstring."""
    if datatype == DataType.TEMPLATE:
        if not isinstance(raw, Template):
            raise CodecError(f"datatype Template needs template_value, got {field}")
        return _template(name, raw)
    if datatype == DataType.DATASET:
        if not isinstance(raw, DataSet):
            raise CodecError(f"datatype DataSet needs dataset_value, got {field}")
        return _dataset(name, raw)
    if datatype in COMPOUND:
        if not isinstance(raw, bytes) or field != "bytes_value":
            raise CodecError(f"datatype {DataType(datatype).name} needs bytes_value, got {field}")
        return _array(name, DataType(datatype), raw)
    return [(name, datatype, typed_value(datatype, field, raw))]  # type: ignore[arg-type]


def _template(name: str, template: Template) -> Flat:
    if template.is_definition:
        return []
    out: Flat = []
    for member, field in zip(template.metrics, template.fields, strict=True):
        if member.name is None or member.datatype is None:
            what = "name" if member.name is None else "datatype"
            raise CodecError(f"a member of template {name!r} has no {what}")
        full = f"{name}.{member.name}"
        if member.is_null:
            out.append((full, member.datatype, None))
        else:
            out += flatten(full, member.datatype, field, member.value)
    return out


def _dataset(name: str, data: DataSet) -> Flat:
    width = len(data.columns)
    if len(data.types) != width or data.num_of_columns not in (None, width):
        raise CodecError(
            f"DataSet {name!r} has {width} columns, {len(data.types)} types and "
            f"num_of_columns {data.num_of_columns}"
        )
    out: Flat = []
    for r, row in enumerate(data.rows):
        if len(row) != width:
            raise CodecError(f"DataSet {name!r} row {r} has {len(row)} values for {width} columns")
        for column, datatype, (field, raw) in zip(data.columns, data.types, row, strict=True):
            value = None if field is None else typed_value(datatype, field, raw)
            out.append((f"{name}[{r}].{column}", datatype, value))
    return out


def _array(name: str, datatype: DataType, data: bytes) -> Flat:
    values: list[Value]
    if datatype is DataType.BOOLEAN_ARRAY:
        element = DataType.BOOLEAN
        if len(data) < 4:
            raise CodecError(f"{datatype.name} {name!r} lacks its 4-byte count")
        count = int.from_bytes(data[:4], "little")
        bits = data[4:]
        if len(bits) != (count + 7) // 8:
            raise CodecError(f"{datatype.name} {name!r} of {count} values has {len(bits)} bytes")
        values = [bool(bits[i // 8] >> (7 - i % 8) & 1) for i in range(count)]  # MSB first
    elif datatype is DataType.STRING_ARRAY:
        element = DataType.STRING
        if data and not data.endswith(b"\0"):
            raise CodecError(f"{datatype.name} {name!r} does not end with a null byte")
        try:
            values = [s.decode() for s in data.split(b"\0")[:-1]]
        except UnicodeDecodeError as exc:
            raise CodecError(f"{datatype.name} {name!r} is not UTF-8: {exc}") from exc
    else:
        code, element = _PACKED[datatype]
        size = struct.calcsize(code)
        if len(data) % size:
            raise CodecError(f"{datatype.name} {name!r}: {len(data)} bytes, not {size}-byte values")
        values = list(struct.unpack(f"<{len(data) // size}{code}", data))
    return [(f"{name}[{i}]", element, v) for i, v in enumerate(values)]
