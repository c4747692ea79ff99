"""Day packs of the PostgreSQL store: a unit's events of one closed UTC day as one row of arrays.

A raw read of a line-month used to fetch ~33,000 event rows through the ``(path, ts)`` index
(their heap pages shared with every other unit's events of the month), sort the ~16,000 state
rows by ``(path, ts, event id)`` and aggregate them into arrays, and read the point events twice
(counts and energy). ``day_packs`` holds what those reads need, already in that order, as one
row per (unit, day): instants, states and reasons; count instants, products, operations, good,
scrap and rework; energy instants and kWh. A line-month is then ~600 rows of arrays. The raw
events stay the record (ids, every column, the roll-ups and carried-in states read them); a pack
is a copy for reading, like an index, so event ids are not in it: reads need the order only.

``factoryos db compact`` packs (``compact``): per unit, every day from where its packs end
(``unit_packs.packed_until``) up to today, in transactions of a run of units and a month, under
the units' advisory locks (those the appends take), so an append and a compaction of the same
unit never interleave. Below ``packed_until`` a day holding events of the unit has a pack, or is
a **hole**: an append into a day below ``packed_until`` deletes that day's pack and records the
day in ``pack_holes``, in the append's transaction (``MARK_HOLES``). Reads take packs from the
first whole day of the window up to ``packed_until`` (holes excepted) and raw events for the
rest: the window's partial first and last days, the holes, and the days not packed yet, all in
one statement, so one snapshot sees packs, holes and events consistent. The next compaction
packs the holes again.

``day_packs`` is partitioned by month like the events; retention drops a month's packs with its
events (and its holes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from factoryos.store import postgres_locks
from factoryos.store.postgres_schema import existing_months, next_month, partition_name

PACK_TABLE = "day_packs"
RUN = 50  # units packed in one transaction (a month of them: ~70,000 events at 10 M a year)

# In the append's transaction (its units locked): the (unit, day) pairs of the new events that
# lie below the unit's packed_until lose their pack and become holes.
MARK_HOLES = """
WITH pairs AS (
    SELECT DISTINCT t.path COLLATE "C" AS path, t.day
    FROM unnest(%(paths)b::text[], %(days)b::date[]) AS t(path, day)
    JOIN unit_packs k ON k.path = t.path COLLATE "C" AND t.day < k.packed_until
), gone AS (
    DELETE FROM day_packs p USING pairs WHERE p.path = pairs.path AND p.day = pairs.day
)
INSERT INTO pack_holes (path, day) SELECT path, day FROM pairs ON CONFLICT DO NOTHING
"""

_UTC = "(({})::timestamp AT TIME ZONE 'UTC')"

# The packs of the ranges ``r(path, lo, hi)`` (UTC days, hi excluded): each array in the order
# the reads need, (ts, event id), whatever order the rows are read in.
_PACK = f"""
INSERT INTO day_packs (path, day, state_ts, state, reason, count_ts, product, operation,
                       good, scrap, rework, energy_ts, kwh)
SELECT coalesce(s.path, o.path), coalesce(s.day, o.day), s.ts, s.state, s.reason,
       o.count_ts, o.product, o.operation, o.good, o.scrap, o.rework, o.energy_ts, o.kwh
FROM (
    SELECT e.path, (e.ts AT TIME ZONE 'UTC')::date AS day,
           array_agg(e.ts ORDER BY e.ts, e.event_id) AS ts,
           array_agg(e.state ORDER BY e.ts, e.event_id) AS state,
           array_agg(e.reason ORDER BY e.ts, e.event_id) AS reason
    FROM r JOIN state_events e ON e.path = r.path
        AND e.ts >= {_UTC.format("r.lo")} AND e.ts < {_UTC.format("r.hi")}
    GROUP BY 1, 2
) s FULL JOIN (
    SELECT e.path, (e.ts AT TIME ZONE 'UTC')::date AS day,
           array_agg(e.ts ORDER BY e.ts, e.event_id) FILTER (WHERE e.kind = 'count') AS count_ts,
           array_agg(e.product ORDER BY e.ts, e.event_id) FILTER (WHERE e.kind = 'count')
               AS product,
           array_agg(e.operation ORDER BY e.ts, e.event_id) FILTER (WHERE e.kind = 'count')
               AS operation,
           array_agg(coalesce(e.good, 0) ORDER BY e.ts, e.event_id)
               FILTER (WHERE e.kind = 'count') AS good,
           array_agg(coalesce(e.scrap, 0) ORDER BY e.ts, e.event_id)
               FILTER (WHERE e.kind = 'count') AS scrap,
           array_agg(coalesce(e.rework, 0) ORDER BY e.ts, e.event_id)
               FILTER (WHERE e.kind = 'count') AS rework,
           array_agg(e.ts ORDER BY e.ts, e.event_id)
               FILTER (WHERE e.kind = 'energy' AND e.energy_kwh IS NOT NULL) AS energy_ts,
           array_agg(e.energy_kwh ORDER BY e.ts, e.event_id)
               FILTER (WHERE e.kind = 'energy' AND e.energy_kwh IS NOT NULL) AS kwh
    FROM r JOIN other_events e ON e.path = r.path
        AND e.ts >= {_UTC.format("r.lo")} AND e.ts < {_UTC.format("r.hi")}
    WHERE e.kind IN ('count', 'energy')
    GROUP BY 1, 2
) o ON o.path = s.path AND o.day = s.day
ON CONFLICT (path, day) DO UPDATE SET
    state_ts = excluded.state_ts, state = excluded.state, reason = excluded.reason,
    count_ts = excluded.count_ts, product = excluded.product, operation = excluded.operation,
    good = excluded.good, scrap = excluded.scrap, rework = excluded.rework,
    energy_ts = excluded.energy_ts, kwh = excluded.kwh
"""

# A run of units, from each one's packed_until (or the beginning) up to %(hi)s; then
# packed_until moves to %(hi)s. (Holes lie below packed_until: PACK_HOLES packs them.)
PACK_RUN = f"""
WITH r AS MATERIALIZED (
    SELECT u.path COLLATE "C" AS path, coalesce(k.packed_until, '-infinity'::date) AS lo,
           %(hi)s::date AS hi
    FROM unnest(%(units)s::text[]) AS u(path)
    LEFT JOIN unit_packs k ON k.path = u.path COLLATE "C"
    WHERE coalesce(k.packed_until, '-infinity'::date) < %(hi)s::date
){_PACK}"""
ADVANCE_RUN = """
INSERT INTO unit_packs (path, packed_until)
SELECT u.path, %(hi)s::date FROM unnest(%(units)s::text[]) AS u(path)
ON CONFLICT (path) DO UPDATE
SET packed_until = greatest(unit_packs.packed_until, excluded.packed_until)
"""
# The holes of a run of units, each day packed again.
PACK_HOLES = f"""
WITH r AS MATERIALIZED (
    SELECT path, day AS lo, day + 1 AS hi FROM pack_holes WHERE path = ANY(%(units)s::text[])
){_PACK}"""
CLEAR_HOLES = "DELETE FROM pack_holes WHERE path = ANY(%(units)s::text[])"

_UNITS_OF_MONTH = """
SELECT path FROM state_events WHERE ts >= %(lo)s AND ts < %(hi)s
UNION SELECT path FROM other_events WHERE ts >= %(lo)s AND ts < %(hi)s
ORDER BY 1"""


@dataclass(frozen=True, slots=True)
class Compaction:
    """What a compaction did: (unit, day) packs written, holes among them, steps taken."""

    packs: int
    holes: int
    steps: int


@dataclass(frozen=True, slots=True)
class _Step:
    """One transaction of a compaction: a run of units up to ``hi`` (None: their holes)."""

    units: list[str]
    hi: dt.date | None


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def create_partitions(conn: psycopg.Connection[Any], months: set[dt.date]) -> None:
    """The monthly partitions of ``day_packs`` for ``months``, where missing (own transaction,
    under the lock the event partitions are made under)."""
    with conn.transaction():
        conn.execute(postgres_locks.LOCK, (postgres_locks.PARTITION,))
        have = existing_months(conn, (PACK_TABLE,))
        for month in sorted(months - have):
            conn.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(partition_name(PACK_TABLE, month)),
                    sql.Identifier(PACK_TABLE),
                    sql.Literal(month.isoformat()),
                    sql.Literal(next_month(month).isoformat()),
                )
            )


def _steps(conn: psycopg.Connection[Any], today: dt.date) -> Iterator[_Step]:
    """Month by month, the runs of units with events in the month's days before ``today``;
    then the runs of units with holes left."""
    for month in sorted(m for m in existing_months(conn) if m < today):
        hi = min(next_month(month), today)
        units = [
            str(row[0])
            for row in conn.execute(_UNITS_OF_MONTH, {"lo": _utc(month), "hi": _utc(hi)})
        ]
        for first in range(0, len(units), RUN):
            yield _Step(units[first : first + RUN], hi)
    holed = [str(r[0]) for r in conn.execute("SELECT DISTINCT path FROM pack_holes ORDER BY 1")]
    for first in range(0, len(holed), RUN):
        yield _Step(holed[first : first + RUN], None)


def compact(
    conn: psycopg.Connection[Any],
    today: dt.date,
    progress: Callable[[int, int], None] | None = None,
) -> Compaction:
    """Pack every unit's days before ``today`` not packed yet, and the holes; ``progress(done,
    total)`` after each transaction."""
    months = {m for m in existing_months(conn) if m < today}
    for (day,) in conn.execute("SELECT DISTINCT date_trunc('month', day)::date FROM pack_holes"):
        months.add(day)
    create_partitions(conn, months)
    steps = list(_steps(conn, today))
    packs = holes = 0
    for done, step in enumerate(steps, 1):
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(postgres_locks.LOCK_UNITS, {"units": step.units})
            params = {"units": step.units, "hi": step.hi}
            if step.hi is None:
                cur.execute(PACK_HOLES, params)
                holes += max(cur.rowcount, 0)
                cur.execute(CLEAR_HOLES, params)
            else:
                cur.execute(PACK_RUN, params)
                packs += max(cur.rowcount, 0)
                cur.execute(ADVANCE_RUN, params)
        if progress is not None:
            progress(done, len(steps))
    return Compaction(packs + holes, holes, len(steps))


def drop_months(conn: psycopg.Connection[Any], months: list[dt.date]) -> None:
    """Retention: the packs and holes of ``months`` go with their events (in its transaction)."""
    have = existing_months(conn, (PACK_TABLE,))
    for month in months:
        conn.execute(
            "DELETE FROM pack_holes WHERE day >= %s AND day < %s", (month, next_month(month))
        )
        if month in have:
            conn.execute(
                sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(PACK_TABLE, month)))
            )
