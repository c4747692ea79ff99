"""Arrow tables as PostgreSQL binary ``COPY`` data, built by Arrow's kernels and numpy.

Why not CSV: Arrow's CSV writer spends most of its time formatting timestamps, and the server
as much again parsing them back. In binary a ``timestamptz`` is eight bytes of microseconds
since 2000-01-01, a ``text`` its UTF-8 bytes; each field is preceded by its length (-1: NULL),
each row by its number of fields. psycopg's own binary ``COPY`` builds each row in Python, which
cost the client more than the server's work (2.6 client CPU seconds for 1 M events); here no
Python object is made per row: each column becomes one binary array of its fields, length
words included (numpy for the fixed-width ones), and Arrow joins them row by row into the body.
Measured on the store's tables (ids, state and other events) over 1 M events of 50 units,
client CPU: 0.8-0.9 s, against 1.9-2.0 s for Arrow's CSV of the same tables.

Supported Arrow types: string, int64, float64, timestamp (any unit; sent in microseconds), null.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The header (signature, flags, header extension length) and trailer of the format.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in microseconds since 1970
_NOTHING = pa.scalar(b"", pa.large_binary())  # the separator: fields follow each other


def binary_copy(table: pa.Table) -> bytes:
    """The table's rows in PostgreSQL's binary ``COPY`` format, columns in table order."""
    n = table.num_rows
    if n == 0:
        return _HEADER + _TRAILER
    count = np.full(n, table.num_columns, dtype=">i2").view(np.uint8)
    fields = [_binary(np.full(n, 2), count)] + [_field(column) for column in table.columns]
    rows = pc.binary_join_element_wise(*fields, _NOTHING)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset :]
    body = memoryview(rows.buffers()[2])[offsets[0] : offsets[n]]
    return b"".join((_HEADER, body, _TRAILER))


def _field(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Per row, the field: its length word and its bytes."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n, kind = len(array), array.type
    if pa.types.is_timestamp(kind):
        us = pc.cast(array, pa.timestamp("us", tz=kind.tz)).cast(pa.int64())
        array, kind = pc.subtract(us, _PG_EPOCH_US), pa.int64()
    valid = _validity(array)
    if pa.types.is_int64(kind) or pa.types.is_float64(kind):
        raw = array.fill_null(0).to_numpy(zero_copy_only=False)
        big = raw.astype(raw.dtype.newbyteorder(">")).view(np.uint8).reshape(-1, 8)
        both = np.hstack([_words(valid, np.full(n, 8)), big])
        if valid.all():
            return _binary(np.full(n, 12), both.reshape(-1))
        keep = np.ones((n, 12), dtype=bool)
        keep[~valid, 4:] = False  # a NULL is its length word alone
        return _binary(np.where(valid, 12, 4), both[keep])
    if pa.types.is_null(kind):
        return _binary(np.full(n, 4), np.full(4 * n, 0xFF, dtype=np.uint8))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lengths = pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False)
        words = _binary(np.full(n, 4), _words(valid, lengths).reshape(-1))
        text = array.cast(pa.large_binary())
        return pc.binary_join_element_wise(words, text, _NOTHING, null_handling="replace")
    raise TypeError(f"no binary COPY encoding for Arrow type {kind}")


def _validity(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _words(valid: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Big-endian length words, -1 for NULL, as rows of four bytes."""
    return np.where(valid, lengths, -1).astype(">i4").view(np.uint8).reshape(-1, 4)


def _binary(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    """A binary array of the consecutive pieces of ``data`` of these lengths."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    return pa.Array.from_buffers(pa.large_binary(), len(lengths), buffers)
