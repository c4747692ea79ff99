"""Batches on their way into PostgreSQL, and aggregate queries as parameters.

A batch is de-duplicated by id in Arrow (the first row of each id wins, as in every backend),
sorted by time and written as CSV by Arrow's C++ writer for the ``COPY`` into the staging table,
with ``ts`` as microseconds: no Python object per row or value on the way in (building rows for
psycopg's binary ``COPY`` cost more than the server spent storing them). Arrow quotes every string
and leaves nulls empty and unquoted, which is exactly how PostgreSQL's CSV tells NULL from ''.

An aggregate query travels as arrays: its work units, its tiles and, with roll-ups, its rolled
hours and raw segments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from factoryos.model.aggregates import AggregateQuery, PeriodKind
from factoryos.model.events import COLUMN_NAMES, EVENT_COLUMNS
from factoryos.store import postgres_rollup_sql, postgres_schema, postgres_sql

STAGING_TYPES = {
    "string": "text",
    "timestamp": "bigint",
    "int64": "bigint",
    "float64": "float8",
}


def staging_columns() -> list[tuple[str, str]]:
    return [("ts_us" if c.name == "ts" else c.name, c.type) for c in EVENT_COLUMNS]


def first_of_each_id(table: pa.Table) -> pa.Table:
    """The first row of every event id, in time order (later copies are duplicates)."""
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by("event_id", use_threads=False).aggregate([("_row", "min")])
    keep = pc.sort_indices(first["_row_min"])
    rows = pc.take(first["_row_min"], keep)
    batch = table.take(rows)
    return batch.take(pc.sort_indices(batch["ts"]))


def copy_rows(batch: pa.Table) -> list[tuple[Any, ...]]:
    """Rows for psycopg's binary ``COPY`` (the benchmark's bare-COPY reference path)."""
    columns = [
        batch[name].cast(pa.int64()).to_pylist() if name == "ts" else batch[name].to_pylist()
        for name in COLUMN_NAMES
    ]
    return list(zip(*columns, strict=True))


def copy_csv(batch: pa.Table) -> pa.Buffer:
    """The batch as headerless CSV in staging column order, for ``COPY ... (FORMAT csv)``."""
    columns = [
        batch[name].cast(pa.int64()) if name == "ts" else batch[name] for name in COLUMN_NAMES
    ]
    out = pa.BufferOutputStream()
    pacsv.write_csv(
        pa.Table.from_arrays(columns, names=[n for n, _ in staging_columns()]),
        out,
        pacsv.WriteOptions(include_header=False),
    )
    return out.getvalue()


def months_of(batch: pa.Table) -> set[dt.date]:
    lo_hi = pc.min_max(batch["ts"].cast(pa.int64()))
    months = {postgres_schema.month_of(lo_hi["min"].as_py())}
    last = postgres_schema.month_of(lo_hi["max"].as_py())
    month = min(months)
    while month < last:  # every month between: the batch's rows may fall in any of them
        month = postgres_schema.next_month(month)
        months.add(month)
    return months


def query_params(query: AggregateQuery, *, rollups: bool) -> dict[str, Any]:
    """The query's units and tiles as arrays; calendar keys travel as small integers."""
    keys = {p.key for p in query.periods} | set(query.calendar_key_of_path.values())
    key_ids = {key: n for n, key in enumerate(sorted(keys))}
    prefix = query.node.rstrip("/") + "/"
    units = [
        (path, key_ids[key])
        for path, key in sorted(query.calendar_key_of_path.items())
        if path == query.node.rstrip("/") or path.startswith(prefix)
    ]
    periods = sorted(query.periods, key=lambda p: (p.key, p.start))
    idx: list[int] = []
    for n, period in enumerate(periods):
        same = n > 0 and periods[n - 1].key == period.key
        idx.append(idx[-1] + 1 if same else 1)
    return {
        "start": query.start,
        "end": query.end,
        **(postgres_rollup_sql.rollup_params(query, key_ids) if rollups else {}),
        **postgres_sql.subtree_params(query.node),
        "u_path": [p for p, _ in units],
        "u_key": [k for _, k in units],
        "t_key": [key_ids[p.key] for p in periods],
        "t_idx": idx,
        "t_start": [p.start for p in periods],
        "t_end": [p.end for p in periods],
        "t_day": [p.local_day for p in periods],
        "t_shift": [p.shift for p in periods],
        "t_kind": [PeriodKind(p.kind).value for p in periods],
        "t_price": [p.price_cny_per_kwh for p in periods],
    }
