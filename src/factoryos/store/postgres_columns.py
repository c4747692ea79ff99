"""The raw reads of the PostgreSQL aggregates: the window's events as columns, cut into tiles here.

The server does what its indexes do well: one range scan of the ``(path, ts)`` index per kind of
event over the subtree and the window (state events in ``(path, ts, event id)`` order, ties put in
id order by an incremental sort), and one backward step per unit for the state it carries into
the window; the rows travel as CSV (``COPY``), which Arrow parses into columns. numpy then cuts
the state intervals into the calendar's tiles and sums them by group, as ``postgres_sql`` did row
by row on the server: at the benchmark's density (a line-month of 20 units holds ~20,000 state
events) the server's CPU per line-month fell from ~230 to ~15 ms and the client's sums take a
few ms (docs/store.md, "Reads as columns").

The definitions are those of ``kpi.from_events`` (the contract suite checks every backend
against it): an interval runs from a state event to the unit's next one (or the window end),
clipped to the window, and is spread over the tiles it overlaps; a failure is counted in the
tile of its start and its seconds in the tile where it begins in the window; point events are
summed in the tile holding their instant. Instants no tile holds are not aggregated.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from factoryos.model.aggregates import (
    AggregateQuery,
    CountTotal,
    EnergyTotal,
    FailureTotal,
    GroupValues,
    PeriodKind,
    StateTime,
)
from factoryos.model.states import FAILURE_STATES

Ints = npt.NDArray[np.int64]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = "(extract(epoch FROM ts) * 1000000)::int8"
# The subtree as one index range: ``node`` <= path < ``node0`` (C collation) holds the node and
# every path below it, and a few siblings such as ``node-2``, which are not units of the query
# and are dropped with the other paths the query does not name.
_WINDOW = "path >= %(node)s AND path < %(hi)s AND ts >= %(start)s AND ts < %(end)s"

STATES = f"""COPY (
    SELECT path, {_US}, state, reason FROM state_events WHERE {_WINDOW}
    ORDER BY path, ts, event_id
) TO STDOUT (FORMAT csv)"""

CARRIED = """
SELECT u.path, c.state, c.reason
FROM unnest(%(u_path)b::text[]) AS u(path)
CROSS JOIN LATERAL (
    SELECT s.state, s.reason FROM state_events s
    WHERE s.path = u.path COLLATE "C" AND s.ts < %(start)s
    ORDER BY s.ts DESC, s.event_id DESC LIMIT 1
) c"""

COUNTS = f"""COPY (
    SELECT path, {_US}, product, operation, good, scrap, rework FROM other_events
    WHERE {_WINDOW} AND kind = 'count'
) TO STDOUT (FORMAT csv)"""

ENERGY = f"""COPY (
    SELECT path, {_US}, energy_kwh FROM other_events
    WHERE {_WINDOW} AND kind = 'energy' AND energy_kwh IS NOT NULL
) TO STDOUT (FORMAT csv)"""

# What every raw read asks first, in the same round trip: the months in the window whose raw
# events retention dropped (the caller then reads roll-ups instead) and the snapshot the read
# will see at the latest (a later ``failure_totals`` reuses the failures only if it is current).
CHECK = (
    "SELECT ARRAY(SELECT month FROM expired_months WHERE month < %(end)s "
    "AND month >= %(start)s::date - 31), pg_current_snapshot()::text"
)

_FAILURES = frozenset(s.value for s in FAILURE_STATES)
_KINDS = sorted(PeriodKind, key=lambda k: k.value)


@dataclass(frozen=True, slots=True)
class Check:
    expired: frozenset[dt.date]
    snapshot: str


def us(instant: dt.datetime) -> int:
    """Microseconds since the epoch, exactly."""
    return (instant - _EPOCH) // dt.timedelta(microseconds=1)


def check(conn: psycopg.Connection[Any], params: dict[str, Any]) -> Check:
    row = conn.execute(CHECK, params).fetchone()
    if row is None:
        raise AssertionError("unreachable: a SELECT without FROM returns one row")
    return Check(frozenset(row[0]), str(row[1]))


class _Layout:
    """The query's units and tiles as arrays: units in path order (their index is their code),
    each calendar key's tiles in start order, and the group and kind code of every tile."""

    def __init__(self, query: AggregateQuery, params: dict[str, Any]) -> None:
        self.paths: list[str] = params["u_path"]
        self.unit_key = np.asarray(params["u_key"], np.int64)
        by_path = "path" in query.group_by
        groups: dict[tuple[dt.date | None, str | None], int] = {}
        tiles: dict[int, list[tuple[int, int, int, int, float]]] = {}
        for key, start, end, day, shift, kind, price in zip(
            params["t_key"], params["t_start"], params["t_end"], params["t_day"],
            params["t_shift"], params["t_kind"], params["t_price"], strict=True,
        ):  # fmt: skip
            group = (
                day if "local_day" in query.group_by else None,
                shift if "shift" in query.group_by else None,
            )
            code = groups.setdefault(group, len(groups))
            kind_code = _KINDS.index(PeriodKind(kind))
            tiles.setdefault(key, []).append((us(start), us(end), code, kind_code, price))
        self.groups = list(groups)
        self.tiles = {key: _Tiles(rows) for key, rows in tiles.items()}
        self.group_paths = self.paths if by_path else [None]
        self.by_path = by_path

    def group_unit(self, unit: Ints) -> Ints:
        """The unit part of the group code: the unit when grouped by path, else 0."""
        return unit if self.by_path else np.zeros_like(unit)

    def values(self, unit: int, group: int) -> GroupValues:
        day, shift = self.groups[group]
        return GroupValues(self.group_paths[unit], day, shift)


class _Tiles:
    """One calendar key's tiles, in start order (the periods of a key do not overlap)."""

    def __init__(self, rows: list[tuple[int, int, int, int, float]]) -> None:
        rows.sort()
        self.start = np.array([r[0] for r in rows], np.int64)
        self.end = np.array([r[1] for r in rows], np.int64)
        self.group = np.array([r[2] for r in rows], np.int64)
        self.kind = np.array([r[3] for r in rows], np.int64)
        self.price = np.array([r[4] for r in rows], np.float64)

    def at(self, instant: Ints) -> Ints:
        """The tile holding each instant; -1 where none does."""
        i = np.searchsorted(self.start, instant, side="right") - 1
        inside = i >= 0
        inside[inside] = instant[inside] < self.end[i[inside]]
        return np.where(inside, i, -1)

    def spread(self, begin: Ints, end: Ints) -> tuple[Ints, Ints, Ints]:
        """The pieces of intervals [begin, end) in the tiles they overlap: (interval, tile,
        microseconds), pieces of zero length left out."""
        first = np.maximum(np.searchsorted(self.start, begin, side="right") - 1, 0)
        last = np.searchsorted(self.start, end - 1, side="right") - 1
        count = np.maximum(last - first + 1, 0)
        interval = np.repeat(np.arange(len(begin)), count)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        tile = np.repeat(first, count) + offset
        length = np.minimum(end[interval], self.end[tile]) - np.maximum(
            begin[interval], self.start[tile]
        )
        keep = length > 0
        return interval[keep], tile[keep], length[keep]


def _read(
    conn: psycopg.Connection[Any], statement: str, params: dict[str, Any], types: dict[str, Any]
) -> pa.Table:
    """The rows of a ``COPY ... TO STDOUT (FORMAT csv)`` as an Arrow table (NULL is the empty
    unquoted field, an empty string the quoted one)."""
    buffer = io.BytesIO()
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pa.table({name: pa.array([], kind) for name, kind in types.items()})
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=list(types)),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _units(paths: pa.ChunkedArray | pa.Array, layout: _Layout) -> Ints:
    """The unit code of each path; -1 for paths the query does not name."""
    found = pc.index_in(paths, value_set=pa.array(layout.paths, pa.string()))
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)


def _codes(values: pa.Array) -> tuple[Ints, list[Any]]:
    """Codes of ``values`` into a sorted vocabulary (None last, as SQL sorts NULL)."""
    vocabulary = sorted({v for v in values.to_pylist()}, key=lambda v: (v is None, v or ""))
    index = {v: n for n, v in enumerate(vocabulary)}
    found = pc.index_in(
        values, value_set=pa.array([v for v in vocabulary if v is not None], values.type)
    )
    codes = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    if None in index:
        codes[codes < 0] = index[None]
    return codes, vocabulary


def _sums(
    parts: Sequence[Ints], sizes: Sequence[int], weights: Sequence[npt.NDArray[Any]]
) -> tuple[list[tuple[int, ...]], list[npt.NDArray[Any]]]:
    """Sum ``weights`` by the composite code ``parts`` (each part below its size): the distinct
    codes in ascending order, and the sums of each weight (float64: exact for integers below
    2^53, 285 years in microseconds)."""
    if len(parts[0]) == 0:
        return [], [np.zeros(0) for _ in weights]
    shape = tuple(max(size, 1) for size in sizes)
    distinct, inverse = np.unique(np.ravel_multi_index(tuple(parts), shape), return_inverse=True)
    codes = [c.tolist() for c in np.unravel_index(distinct, shape)]
    sums = [np.bincount(inverse, weights=w, minlength=len(distinct)) for w in weights]
    return list(zip(*codes, strict=True)), sums


def states_and_failures(
    conn: psycopg.Connection[Any],
    query: AggregateQuery,
    params: dict[str, Any],
    *,
    by_reason: bool,
    stop_if_expired: bool,
) -> tuple[Check, list[StateTime], list[FailureTotal]]:
    """Seconds in each state by group, tile kind and (``by_reason``) reason, and the failures
    over the same intervals. With ``stop_if_expired``, a window reaching into expired months
    returns the check alone (the caller reads roll-ups)."""
    with conn.pipeline():
        checked = conn.execute(CHECK, params)
        carried_cur = conn.execute(CARRIED, params)
    row = checked.fetchone()
    if row is None:
        raise AssertionError("unreachable: a SELECT without FROM returns one row")
    seen = Check(frozenset(row[0]), str(row[1]))
    carried = carried_cur.fetchall()
    if seen.expired and stop_if_expired:
        return seen, [], []
    events = _read(
        conn,
        STATES,
        params,
        {"path": pa.string(), "ts": pa.int64(), "state": pa.string(), "reason": pa.string()},
    )
    layout = _Layout(query, params)
    start, end = us(query.start), us(query.end)
    # each unit's carried-in state first (one microsecond before the window), then its events:
    # the events come in (path, ts, id) order and unit codes follow path order, so a stable
    # sort by unit keeps both orders
    unit = np.concatenate([_units(pa.array([r[0] for r in carried], pa.string()), layout),
                           _units(events["path"], layout)])  # fmt: skip
    ts = np.concatenate(
        [np.full(len(carried), start - 1, np.int64), events["ts"].to_numpy().astype(np.int64)]
    )
    state, states = _codes(
        pa.concat_arrays(
            [pa.array([r[1] for r in carried], pa.string()), events["state"].combine_chunks()]
        )
    )
    if by_reason:
        reason, reasons = _codes(
            pa.concat_arrays(
                [pa.array([r[2] for r in carried], pa.string()), events["reason"].combine_chunks()]
            )
        )
    else:
        reason, reasons = np.zeros(len(unit), np.int64), [None]
    order = np.argsort(unit, kind="stable")
    order = order[unit[order] >= 0]
    unit, ts, state, reason = unit[order], ts[order], state[order], reason[order]
    same_as_next = unit[1:] == unit[:-1]
    following = np.full(len(unit), end, np.int64)
    following[:-1] = np.where(same_as_next, ts[1:], end)
    begin = np.maximum(ts, start)
    finish = np.minimum(following, end)
    is_failure = np.array([s in _FAILURES for s in states], bool)[state]
    entered = is_failure & (ts >= start)
    entered[1:] &= ~(same_as_next & is_failure[:-1])

    time_parts: list[list[Ints]] = [[], [], [], [], []]
    time_us: list[Ints] = []
    fail_parts: list[list[Ints]] = [[], []]
    fail_n: list[Ints] = []
    fail_us: list[Ints] = []
    key_of = layout.unit_key[unit]
    for key, tiles in layout.tiles.items():
        mine = key_of == key
        lasting = np.flatnonzero(mine & (finish > begin))
        interval, tile, length = tiles.spread(begin[lasting], finish[lasting])
        rows = lasting[interval]
        for part, values in zip(
            time_parts,
            (layout.group_unit(unit[rows]), tiles.group[tile], tiles.kind[tile], state[rows],
             reason[rows]),
            strict=True,
        ):  # fmt: skip
            part.append(values)
        time_us.append(length)
        # failures: entries in the tile of the event, seconds in the tile of the interval start
        for rows, at, n, length_us in (
            (np.flatnonzero(mine & entered), ts, 1, None),
            (np.flatnonzero(mine & is_failure & (finish > begin)), begin, 0, finish - begin),
        ):
            holder = tiles.at(at[rows])
            rows, holder = rows[holder >= 0], holder[holder >= 0]
            fail_parts[0].append(layout.group_unit(unit[rows]))
            fail_parts[1].append(tiles.group[holder])
            fail_n.append(np.full(len(rows), n, np.int64))
            fail_us.append(
                length_us[rows] if length_us is not None else np.zeros(len(rows), np.int64)
            )
    sizes = (len(layout.group_paths), len(layout.groups), len(_KINDS), len(states), len(reasons))
    keys, (seconds,) = _sums([_cat(p) for p in time_parts], sizes, [_cat(time_us)])
    state_rows = [
        StateTime(layout.values(u, g), _KINDS[k], states[s], reasons[r], float(t) / 1e6)
        for (u, g, k, s, r), t in zip(keys, seconds.tolist(), strict=True)
    ]
    keys, (entries, failed) = _sums(
        [_cat(p) for p in fail_parts], sizes[:2], [_cat(fail_n), _cat(fail_us)]
    )
    failure_rows = [
        FailureTotal(layout.values(u, g), int(n), float(t) / 1e6)
        for (u, g), n, t in zip(keys, entries.tolist(), failed.tolist(), strict=True)
    ]
    return seen, state_rows, failure_rows


def _cat(parts: list[Ints]) -> Ints:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _points(
    conn: psycopg.Connection[Any],
    query: AggregateQuery,
    params: dict[str, Any],
    statement: str,
    types: dict[str, Any],
    stop_if_expired: bool,
) -> tuple[Check, _Layout, pa.Table, Ints, Ints, Ints]:
    """Point events of the window: the check, the layout, the rows of the query's units, and
    for each its unit, tile (in its key) and key; rows in no tile dropped."""
    seen = check(conn, params)
    layout = _Layout(query, params)
    if seen.expired and stop_if_expired:
        return seen, layout, pa.table({}), *(np.zeros(0, np.int64),) * 3
    rows = _read(conn, statement, params, {"path": pa.string(), "ts": pa.int64(), **types})
    unit = _units(rows["path"], layout)
    ts = rows["ts"].to_numpy().astype(np.int64)
    key = np.full(len(unit), -1, np.int64)
    named = unit >= 0
    key[named] = layout.unit_key[unit[named]]
    tile = np.full(len(unit), -1, np.int64)
    for k, tiles in layout.tiles.items():
        mine = np.flatnonzero(key == k)
        tile[mine] = tiles.at(ts[mine])
    keep = np.flatnonzero(tile >= 0)
    return seen, layout, rows.take(pa.array(keep)), unit[keep], tile[keep], key[keep]


def count_totals(
    conn: psycopg.Connection[Any],
    query: AggregateQuery,
    params: dict[str, Any],
    *,
    stop_if_expired: bool,
) -> tuple[Check, list[CountTotal]]:
    """Good, scrap and rework by group, unit, product and operation."""
    seen, layout, rows, unit, tile, key = _points(
        conn, query, params, COUNTS,
        {"product": pa.string(), "operation": pa.string(), "good": pa.int64(),
         "scrap": pa.int64(), "rework": pa.int64()},
        stop_if_expired,
    )  # fmt: skip
    if rows.num_rows == 0:
        return seen, []
    group = _tile_values(layout, tile, key, "group")
    product, products = _codes(rows["product"].combine_chunks())
    operation, operations = _codes(rows["operation"].combine_chunks())
    quantities = [
        rows[name].fill_null(0).to_numpy().astype(np.float64)
        for name in ("good", "scrap", "rework")
    ]
    sizes = (len(layout.group_paths), len(layout.groups), len(layout.paths), len(products),
             len(operations))  # fmt: skip
    keys, sums = _sums(
        [layout.group_unit(unit), group, unit, product, operation], sizes, quantities
    )
    return seen, [
        CountTotal(
            layout.values(u, g),
            layout.paths[p],
            products[r],
            operations[o],
            int(good),
            int(scrap),
            int(rework),
        )
        for (u, g, p, r, o), good, scrap, rework in zip(
            keys, *(s.tolist() for s in sums), strict=True
        )
    ]


def energy_totals(
    conn: psycopg.Connection[Any],
    query: AggregateQuery,
    params: dict[str, Any],
    *,
    stop_if_expired: bool,
) -> tuple[Check, list[EnergyTotal]]:
    """kWh and their cost at the price of the tile holding each reading, by group."""
    seen, layout, rows, unit, tile, key = _points(
        conn, query, params, ENERGY, {"kwh": pa.float64()}, stop_if_expired
    )
    if rows.num_rows == 0:
        return seen, []
    group = _tile_values(layout, tile, key, "group")
    price = _tile_values(layout, tile, key, "price")
    kwh = rows["kwh"].to_numpy().astype(np.float64)
    keys, (energy, cost) = _sums(
        [layout.group_unit(unit), group], (len(layout.group_paths), len(layout.groups)),
        [kwh, kwh * price],
    )  # fmt: skip
    return seen, [
        EnergyTotal(layout.values(u, g), e, c)
        for (u, g), e, c in zip(keys, energy.tolist(), cost.tolist(), strict=True)
    ]


def _tile_values(layout: _Layout, tile: Ints, key: Ints, field: str) -> npt.NDArray[Any]:
    """``field`` (group or price) of each row's tile in its key."""
    out = np.zeros(len(tile), np.float64 if field == "price" else np.int64)
    for k, tiles in layout.tiles.items():
        mine = np.flatnonzero(key == k)
        out[mine] = getattr(tiles, field)[tile[mine]]
    return out
