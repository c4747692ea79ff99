"""A batch's events as columns: one Python list per column of each kind, one Arrow table per batch.

The ingester makes up to hundreds of thousands of events a second, nearly all sensor samples.
Building an event object per value and then taking it apart again into columns cost more than
decoding the message (docs/ingest.md, "Where the time goes"); here a value is appended straight to
its kind's lists, and :meth:`EventColumns.table` turns the lists into the canonical long table
once per batch. Timestamps travel as integer microseconds, never as datetime objects.

The samples the compiled decoder takes (nearly all of them) skip the lists: it writes them into
the batch's :class:`~factoryos.ingest._spcolumns.Samples`, buffers in Arrow's layout, which become
the table's columns without a Python object a value (docs/ingest.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

try:
    from factoryos.ingest import _spcolumns
except ImportError:  # not built (no C compiler at install): spdata decodes in Python
    _spcolumns = None  # type: ignore[assignment]
from factoryos.model.events import (
    EVENT_COLUMNS,
    EnergyReading,
    Event,
    ProductionCount,
    SensorSample,
    StateChange,
)

_ARROW = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [pa.field(c.name, _TS if c.type == "timestamp" else _ARROW[c.type]) for c in EVENT_COLUMNS]
)
"""The canonical long table (``factoryos.model.events.EVENT_COLUMNS``), ts in UTC microseconds."""

# The columns each kind fills besides event_id, ts and path; the others are null.
_OWN: dict[str, tuple[str, ...]] = {
    "state": ("state", "reason"),
    "count": ("product", "order_id", "operation", "good", "scrap", "rework"),
    "energy": ("energy_kwh",),
    "sample": ("sensor", "value", "unit"),
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ID_LEN = 39  # the compiled decoder's ids: "in-" + 12 + "-" + 15 hex digits + "-000.000"


class _KindColumns:
    __slots__ = ("columns", "event_id", "kind", "path", "ts_us")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.event_id: list[str] = []
        self.ts_us: list[int] = []
        self.path: list[str] = []
        self.columns: dict[str, list[Any]] = {name: [] for name in _OWN[kind]}

    def table(self) -> pa.Table | None:
        n = len(self.event_id)
        if not n:
            return None
        arrays = []
        for field in SCHEMA:
            name = field.name
            if name == "event_id":
                arrays.append(pa.array(self.event_id, pa.string()))
            elif name == "ts":
                arrays.append(pa.array(self.ts_us, pa.int64()).cast(_TS))
            elif name == "kind":
                arrays.append(pa.repeat(self.kind, n))
            elif name == "path":
                arrays.append(pa.array(self.path, pa.string()))
            elif name in self.columns:
                arrays.append(pa.array(self.columns[name], field.type))
            else:
                arrays.append(pa.nulls(n, field.type))
        return pa.Table.from_arrays(arrays, schema=SCHEMA)


class EventColumns:
    """Events of one batch by kind. :meth:`sample` is the hot path; :meth:`add` takes an event
    object (state changes, counts, energy: the rarer kinds, and dead-letter replays)."""

    __slots__ = ("_ids", "_kinds", "compiled", "sample_columns")

    def __init__(self) -> None:
        self._kinds = {kind: _KindColumns(kind) for kind in _OWN}
        # the compiled decoder's samples (spdata), or None when it is not built
        self.compiled = None if _spcolumns is None else _spcolumns.Samples()
        self._ids = tuple(k.event_id for k in self._kinds.values())
        samples = self._kinds["sample"]
        c = samples.columns
        # Bound appends of the sample lists, in the order of :meth:`sample`'s arguments.
        self.sample_columns = (
            samples.event_id.append,
            samples.ts_us.append,
            samples.path.append,
            c["sensor"].append,
            c["value"].append,
            c["unit"].append,
        )

    def __len__(self) -> int:  # after every message: no generator
        states, counts, energy, samples = self._ids
        compiled = 0 if self.compiled is None else len(self.compiled)
        return len(states) + len(counts) + len(energy) + len(samples) + compiled

    def sample(
        self, event_id: str, ts_us: int, path: str, sensor: str, value: float, unit: str | None
    ) -> None:
        ids, times, paths, sensors, values, units = self.sample_columns
        ids(event_id)
        times(ts_us)
        paths(path)
        sensors(sensor)
        values(value)
        units(unit)

    def add(self, event: Event) -> None:
        delta = event.ts - _EPOCH
        ts_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        if isinstance(event, SensorSample):
            self.sample(event.event_id, ts_us, event.path, event.sensor, event.value, event.unit)
            return
        if isinstance(event, StateChange):
            own: tuple[Any, ...] = (event.state.value, event.reason)
            k = self._kinds["state"]
        elif isinstance(event, ProductionCount):
            own = (
                event.product,
                event.order_id,
                event.operation,
                event.good,
                event.scrap,
                event.rework,
            )
            k = self._kinds["count"]
        elif isinstance(event, EnergyReading):
            own = (event.energy_kwh,)
            k = self._kinds["energy"]
        else:
            raise TypeError(f"the ingester makes no {type(event).__name__} events")
        k.event_id.append(event.event_id)
        k.ts_us.append(ts_us)
        k.path.append(event.path)
        for column, value in zip(k.columns.values(), own, strict=True):
            column.append(value)

    def ts_ms(self) -> npt.NDArray[np.int64]:
        """Every event's timestamp in milliseconds (the benchmark's publish-to-commit latency;
        in numpy: a Python loop over the events cost the benchmark ~0.2 µs a metric)."""
        parts = [np.array(k.ts_us, dtype=np.int64) for k in self._kinds.values()]
        if self.compiled is not None:
            # in the order of :meth:`table`
            parts.insert(3, np.frombuffer(self.compiled.columns()[1], dtype=np.int64))
        return np.concatenate(parts) // 1000

    def table(self) -> pa.Table:
        """The canonical long table of every event, state changes first, then the samples
        the compiled decoder took, then the others."""
        tables = [t for k in self._kinds.values() if (t := k.table()) is not None]
        if self.compiled is not None and (compiled := _compiled_table(self.compiled)) is not None:
            tables.insert(3, compiled)
        if not tables:
            return SCHEMA.empty_table()
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _compiled_table(samples: _spcolumns.Samples) -> pa.Table | None:
    """The compiled decoder's samples as the canonical table: its buffers copied once (a memcpy
    each) and wrapped, path, sensor and unit taken from the batch's dictionary by code (one pass
    in Arrow)."""
    n = len(samples)
    if not n:
        return None
    ids, ts_us, values, codes, paths, sensors, units = samples.columns()
    offsets = np.arange(0, (n + 1) * _ID_LEN, _ID_LEN, dtype=np.int32)
    by_code = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(codes)])
    own = {
        "event_id": pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(ids)]
        ),
        "ts": pa.Array.from_buffers(_TS, n, [None, pa.py_buffer(ts_us)]),
        "kind": pa.repeat("sample", n),
        "path": pa.array(paths, pa.string()).take(by_code),
        "sensor": pa.array(sensors, pa.string()).take(by_code),
        "value": pa.Array.from_buffers(pa.float64(), n, [None, pa.py_buffer(values)]),
        "unit": pa.array(units, pa.string()).take(by_code),
    }
    arrays = [own[f.name] if f.name in own else pa.nulls(n, f.type) for f in SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


__all__ = ["SCHEMA", "EventColumns"]
