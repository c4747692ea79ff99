"""Batches on their way into PostgreSQL, and aggregate queries as parameters.

A batch is de-duplicated by id in Arrow (the first row of each id wins, as in every backend) and
sorted by time. Everything an append sends is made here in Arrow, with no Python object per row,
and travels as binary ``COPY`` data (``pgcopy``): the ids sorted, the state and the other
events, and the roll-up deltas grouped per unit and hour.

An aggregate query travels as arrays: its work units, its tiles and, with roll-ups, its rolled
hours and raw segments.
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factoryos.model.aggregates import AggregateQuery, PeriodKind
from factoryos.model.events import COLUMN_NAMES, EVENT_COLUMNS
from factoryos.store import postgres_rollup_sql, postgres_schema, postgres_sql
from factoryos.store.arrow import in_time_order

# The flat row layout (``ts`` in microseconds) of the bare-COPY reference tables of
# ``bench/store.py``: the physical limit an append is measured against.
STAGING_TYPES = {
    "string": "text",
    "timestamp": "bigint",
    "int64": "bigint",
    "float64": "float8",
}


def staging_columns() -> list[tuple[str, str]]:
    return [("ts_us" if c.name == "ts" else c.name, c.type) for c in EVENT_COLUMNS]


def first_of_each_id(table: pa.Table) -> pa.Table:
    """The first row of every event id, in time order (later copies are duplicates).

    A live batch mostly holds each id once and in time order: then neither the group-by nor
    the sort runs (a 20,000-row batch: 0.35-0.49 µs of CPU a row with them, 0.16 without).
    ``unique`` tells whether every id is there once in a third of ``count_distinct``'s time
    (1.5 against 4.5 ms for the benchmark's 20,000 ids)."""
    if len(pc.unique(table["event_id"])) != table.num_rows:
        numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
        first = numbered.group_by("event_id", use_threads=False).aggregate([("_row", "min")])
        table = table.take(pc.take(first["_row_min"], pc.sort_indices(first["_row_min"])))
    return table if in_time_order(table["ts"]) else table.take(pc.sort_indices(table["ts"]))


def sorted_ids(batch: pa.Table) -> pa.Table:
    """The batch's ids in byte order (the registry's ``C`` collation): a btree takes keys
    in order about twice as fast as in arrival order (1 M random ids: 5.5 s against 10.5 s
    under load 11), and two writers inserting in one order cannot deadlock on each other's ids."""
    ids = batch["event_id"]
    return pa.table({"event_id": pc.take(ids, pc.sort_indices(ids))})


def numbered_ids(batch: pa.Table) -> pa.Table:
    """``row number, id`` of every row: the staging of a batch some of whose ids are stored
    already, so the server can name the rows that are duplicates."""
    return pa.table(
        {"n": pa.array(range(batch.num_rows), pa.int64()), "event_id": batch["event_id"]}
    )


STATE_COLUMNS = ("event_id", "ts", "path", "state", "reason")
OTHER_COLUMNS = tuple(c for c in COLUMN_NAMES if c not in ("state", "reason"))


_BY_UNIT = [("path", "ascending"), ("ts", "ascending")]


def split_kinds(batch: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The state events (their own narrow table) and the others, in their tables' columns, each
    in (unit, time) order: the order of the ``(path, ts)`` index they go into.

    Columns are chosen before rows are moved, and a batch of one kind (a live batch of samples)
    is not filtered: the sort's ``take`` then copies only the columns the table has."""
    is_state = pc.equal(batch["kind"], "state")
    n_states = pc.sum(is_state).as_py() or 0
    states = batch.select(list(STATE_COLUMNS))
    others = batch.select(list(OTHER_COLUMNS))
    if n_states == 0:
        states = states.slice(0, 0)
    elif n_states == batch.num_rows:
        others = others.slice(0, 0)
    else:
        states, others = states.filter(is_state), others.filter(pc.invert(is_state))
    return _by_unit(states), _by_unit(others)


def _by_unit(table: pa.Table) -> pa.Table:
    """``table`` in (unit, time) order; as it is when it is so already (a part of
    :func:`by_units`): the check is a few comparisons a row, the sort's ``take`` a copy."""
    n = table.num_rows
    if n < 2:
        return table
    path, ts = table["path"], table["ts"]
    a, b = path.slice(0, n - 1), path.slice(1)
    later = pc.or_(
        pc.less(a, b), pc.and_(pc.equal(a, b), pc.less_equal(ts.slice(0, n - 1), ts.slice(1)))
    )
    if ts.null_count == 0 and pc.all(later).as_py():
        return table
    return table.take(pc.sort_indices(table, _BY_UNIT))


MIN_PART_ROWS = 2_000
"""A batch is split over several connections into parts of about this many rows or more
(unit boundaries permitting): below it a part's own round trips and commit cost more than the
parallel work saves."""


def by_units(batch: pa.Table, parts: int) -> list[pa.Table]:
    """The batch cut into at most ``parts`` tables of about equal size with no unit in two of
    them (each unit's events, locks, ``unit_last`` row and roll-up hours in one part only), in
    (unit, time) order; the whole batch alone when it is too small to be worth cutting."""
    n = batch.num_rows
    parts = min(parts, n // MIN_PART_ROWS)
    if parts < 2:
        return [batch]
    ranked = batch.take(pc.sort_indices(batch, _BY_UNIT))
    paths = ranked["path"]
    changes = pc.not_equal(paths.slice(1), paths.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], changes]))  # each unit's first row
    wanted = np.arange(1, parts) * (n // parts)
    cuts = np.unique(starts[np.minimum(np.searchsorted(starts, wanted), len(starts) - 1)])
    bounds = [0, *(int(c) for c in cuts if 0 < c < n), n]
    return [ranked.slice(a, b - a) for a, b in pairwise(bounds) if b > a]


def _us(column: pa.ChunkedArray | pa.Array) -> list[int]:
    return pc.cast(column, pa.int64()).to_pylist()  # type: ignore[no-any-return]


def count_deltas(others: pa.Table) -> pa.Table:
    """Good, scrap and rework added per unit, hour, product and operation (nulls add 0), in the
    columns of the ``_counts`` work table."""
    counts = others.filter(pc.equal(others["kind"], "count"))
    grouped = (
        pa.table(
            {
                "path": counts["path"],
                "hour": pc.floor_temporal(counts["ts"], unit="hour"),
                "product": counts["product"],
                "operation": counts["operation"],
                "good": pc.fill_null(counts["good"], 0),
                "scrap": pc.fill_null(counts["scrap"], 0),
                "rework": pc.fill_null(counts["rework"], 0),
            }
        )
        .group_by(["path", "hour", "product", "operation"], use_threads=False)
        .aggregate([("good", "sum"), ("scrap", "sum"), ("rework", "sum")])
    )
    keys = ["path", "hour", "product", "operation"]
    sums = ["good", "scrap", "rework"]
    return pa.table({**{k: grouped[k] for k in keys}, **{k: grouped[f"{k}_sum"] for k in sums}})


def energy_deltas(others: pa.Table) -> pa.Table:
    """kWh added per unit and hour (readings without a value add nothing), in the columns of
    the ``_energy`` work table."""
    energy = others.filter(
        pc.and_(pc.equal(others["kind"], "energy"), pc.is_valid(others["energy_kwh"]))
    )
    grouped = (
        pa.table(
            {
                "path": energy["path"],
                "hour": pc.floor_temporal(energy["ts"], unit="hour"),
                "kwh": energy["energy_kwh"],
            }
        )
        .group_by(["path", "hour"], use_threads=False)
        .aggregate([("kwh", "sum")])
    )
    return pa.table({"path": grouped["path"], "hour": grouped["hour"], "kwh": grouped["kwh_sum"]})


def state_spans(states: pa.Table) -> dict[str, list[Any]]:
    """Per unit: its first and last state instants in the batch, and its last state event (the
    latest ``(ts, event_id)``, ids compared bytewise as in the ``C`` collation)."""
    ranked = states.take(
        pc.sort_indices(
            states, [("path", "ascending"), ("ts", "descending"), ("event_id", "descending")]
        )
    )
    numbered = ranked.append_column("_row", pa.array(range(ranked.num_rows), pa.int64()))
    per_unit = numbered.group_by("path", use_threads=False).aggregate(
        [("_row", "min"), ("ts", "min"), ("ts", "max")]
    )
    per_unit = per_unit.take(pc.sort_indices(per_unit["_row_min"]))  # path order again
    last = ranked.take(per_unit["_row_min"])
    return {
        "l_path": last["path"].to_pylist(),
        "l_ts": _us(last["ts"]),
        "l_id": last["event_id"].to_pylist(),
        "l_state": last["state"].to_pylist(),
        "l_reason": last["reason"].to_pylist(),
        "s_path": per_unit["path"].to_pylist(),
        "s_lo": _us(per_unit["ts_min"]),
        "s_hi": _us(per_unit["ts_max"]),
    }


def unit_days(batch: pa.Table) -> dict[str, pa.Array]:
    """The distinct (unit, UTC day) pairs of the batch: the days whose packs it makes holes."""
    midnight = pc.floor_temporal(batch["ts"], unit="day").cast(pa.int64())
    day = pc.divide(midnight, 86_400_000_000).cast(pa.int32())  # exact: whole days
    pairs = (
        pa.table({"path": batch["path"], "day": day.cast(pa.date32())})
        .group_by(["path", "day"], use_threads=False)
        .aggregate([])
    )
    return {"paths": pairs["path"].to_pylist(), "days": pairs["day"].to_pylist()}


def bare_rows(batch: pa.Table) -> pa.Table:
    """The batch in staging column order (``ts`` in microseconds): the benchmark's bare
    ``COPY`` into an unindexed table."""
    columns = [
        batch[name].cast(pa.int64()) if name == "ts" else batch[name] for name in COLUMN_NAMES
    ]
    return pa.Table.from_arrays(columns, names=[n for n, _ in staging_columns()])


def months_of(batch: pa.Table) -> set[dt.date]:
    lo_hi = pc.min_max(batch["ts"].cast(pa.int64()))
    months = {postgres_schema.month_of(lo_hi["min"].as_py())}
    last = postgres_schema.month_of(lo_hi["max"].as_py())
    month = min(months)
    while month < last:  # every month between: the batch's rows may fall in any of them
        month = postgres_schema.next_month(month)
        months.add(month)
    return months


def query_params(
    query: AggregateQuery, *, rollups: bool, expired: frozenset[dt.date] = frozenset()
) -> dict[str, Any]:
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
        **(postgres_rollup_sql.rollup_params(query, key_ids, expired) if rollups else {}),
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
