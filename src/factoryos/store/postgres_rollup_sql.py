"""The aggregates read from roll-ups for whole hours and from raw events for the rest.

An hour is *rolled* for a calendar key when it lies inside the window and inside one tile of the
key: all of it then goes to that tile, and the hour's roll-up rows are its answer. The rest of
the window (its ragged ends, hours a tile boundary cuts, such as a break from 10:00 to 10:10) are
the key's raw *segments*, aggregated from events exactly as ``postgres_sql`` does, each segment
with the state carried into it. State roll-ups exist only for closed intervals, so per unit the
rolled hours stop at its *tail*, the hour of its last state event before the window end; from
there on the unit is read raw. The carried-in state of a segment that starts on an hour comes
from the roll-up of the hour before (its ``last`` row), not from a search of the events.

Failures: entries and the seconds of failure intervals beginning in rolled hours come from
``fail_hours``; a failure interval beginning in a raw segment is measured to the unit's next
event, wherever it is (a look-ahead past the segment end), clipped to the window, as the raw
definition does; so is a failure carried into the window. Intervals beginning in rolled hours
end by the tail, inside the window.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from factoryos.model.aggregates import AggregateQuery, GroupKey, PlannedPeriod
from factoryos.store.postgres_sql import (
    FAILURES,
    INPUTS,
    PIECES,
    TILED_FAIL,
    failure_select,
    groups,
    state_time_select,
    states_and_failures,
    with_,
)

HOUR = dt.timedelta(hours=1)

_ROLL_INPUTS = """
hours AS (
    SELECT * FROM unnest(%(h_key)b::int[], %(h_hour)b::timestamptz[], %(h_tile)b::int[])
        AS h(key, hour, tile)
),
segs AS (
    SELECT * FROM unnest(%(s_key)b::int[], %(s_a)b::timestamptz[], %(s_b)b::timestamptz[])
        AS g(key, a, b)
)"""

_SEGMENTS = """
ut AS MATERIALIZED (
    SELECT u.path, u.key,
           least(greatest(date_trunc('hour', coalesce(
               l.ts, CASE WHEN ul.ts >= %(end)s THEN %(end)s ELSE ul.ts END
           )), %(start)s), %(end)s) AS tail
    FROM units u LEFT JOIN LATERAL (
        SELECT s.ts FROM state_events s WHERE s.path = u.path AND s.ts < %(end)s
        ORDER BY s.ts DESC LIMIT 1
    ) l ON true
    LEFT JOIN unit_last ul ON ul.path = u.path
),
useg AS MATERIALIZED (
    SELECT row_number() OVER () AS seg, x.* FROM (
        SELECT u.path, u.key, g.a, least(g.b, u.tail) AS b
        FROM ut u JOIN segs g ON g.key = u.key WHERE g.a < u.tail
        UNION ALL
        SELECT path, key, tail, %(end)s FROM ut WHERE tail < %(end)s
    ) x
),
ev AS (
    SELECT g.seg, g.path, g.key, g.a, g.b, s.ts AS t, 1 AS src, s.event_id, s.state, s.reason
    FROM useg g CROSS JOIN LATERAL (
        SELECT s.ts, s.event_id, s.state, s.reason FROM state_events s
        WHERE s.path = g.path AND s.ts >= g.a AND s.ts < g.b
    ) s
    UNION ALL
    SELECT g.seg, g.path, g.key, g.a, g.b, g.a - interval '1 microsecond', 0, '',
           c.state, c.reason
    FROM useg g JOIN state_hours c
      ON c.path = g.path AND c.hour = g.a - interval '1 hour' AND c.last
    WHERE g.a > %(start)s
    UNION ALL
    SELECT g.seg, g.path, g.key, g.a, g.b, g.a - interval '1 microsecond', 0, '',
           c.state, c.reason
    FROM useg g CROSS JOIN LATERAL (
        SELECT x.state, x.reason FROM (
            (SELECT s.ts AS t, s.event_id AS id, s.state, s.reason FROM state_events s
             WHERE s.path = g.path AND s.ts < g.a
             ORDER BY s.ts DESC, s.event_id DESC LIMIT 1)
            UNION ALL
            SELECT g.a - interval '1 microsecond', '', h.state, h.reason FROM state_hours h
            WHERE h.path = g.path AND h.hour = g.a - interval '1 hour' AND h.last
            UNION ALL
            SELECT ul.ts, ul.event_id, ul.state, ul.reason FROM unit_last ul
            WHERE ul.path = g.path AND ul.ts < g.a
        ) x
        ORDER BY x.t DESC, x.id DESC LIMIT 1
    ) c
    WHERE g.a = %(start)s
    UNION ALL
    SELECT g.seg, g.path, g.key, g.a, g.b, ul.ts, 1, ul.event_id, ul.state, ul.reason
    FROM useg g JOIN unit_last ul ON ul.path = g.path AND ul.ts >= g.a AND ul.ts < g.b
    WHERE date_trunc('month', ul.ts)::date = ANY(%(expired)b::date[])
),
iv AS MATERIALIZED (
    SELECT seg, path, key, a, b, greatest(t, a) AS s, coalesce(lead(t) OVER w, b) AS e, src,
           state, reason, lag(state) OVER w AS prev_state, lead(t) OVER w IS NULL AS last_in_seg
    FROM ev
    WINDOW w AS (PARTITION BY seg ORDER BY t, event_id)
)"""


_ROLLED_STATES = """
rolled AS (
    SELECT r.path, u.key, h.tile, r.state, r.reason, r.us * interval '1 microsecond' AS d
    FROM ut u
    JOIN hours h ON h.key = u.key AND h.hour < u.tail
    JOIN state_hours r ON r.path = u.path AND r.hour = h.hour
)"""
_PIECES_AND_ROLLED = (
    "(SELECT path, key, tile, state, reason, d FROM pieces UNION ALL\n"
    "          SELECT path, key, tile, state, reason, d FROM rolled) x"
)

_ROLLED_FAIL = f"""
fail AS (
    SELECT path, key, s AS t, 1 AS entries, interval '0' AS d
    FROM iv
    WHERE src = 1 AND state IN {FAILURES}
      AND (prev_state IS NULL OR prev_state NOT IN {FAILURES})
    UNION ALL
    SELECT iv.path, iv.key, iv.s, 0,
           least(CASE WHEN iv.last_in_seg THEN coalesce(nx.ts, %(end)s) ELSE iv.e END, %(end)s)
           - iv.s
    FROM iv LEFT JOIN LATERAL (
        SELECT s.ts FROM state_events s WHERE s.path = iv.path AND s.ts >= iv.b
        ORDER BY s.ts LIMIT 1
    ) nx ON iv.last_in_seg
    WHERE iv.state IN {FAILURES} AND iv.e > iv.s AND iv.src = 1
    UNION ALL
    SELECT u.path, u.key, %(start)s, 0, least(coalesce(n.ts, %(end)s), %(end)s) - %(start)s
    FROM units u
    CROSS JOIN LATERAL (
        SELECT s.state FROM state_events s WHERE s.path = u.path AND s.ts < %(start)s
        ORDER BY s.ts DESC, s.event_id DESC LIMIT 1
    ) c
    LEFT JOIN LATERAL (
        SELECT s.ts FROM state_events s WHERE s.path = u.path AND s.ts >= %(start)s
        ORDER BY s.ts LIMIT 1
    ) n ON true
    WHERE c.state IN {FAILURES} AND coalesce(n.ts, %(end)s) > %(start)s
    UNION ALL
    SELECT r.path, u.key, h.hour, r.entries, r.us * interval '1 microsecond'
    FROM ut u
    JOIN hours h ON h.key = u.key AND h.hour < u.tail
    JOIN fail_hours r ON r.path = u.path AND r.hour = h.hour
)"""


def state_time_sql(group_by: Sequence[GroupKey], *, by_reason: bool) -> str:
    """Columns: g_path, g_day, g_shift, kind, state, reason, seconds."""
    return with_(INPUTS, _ROLL_INPUTS, _SEGMENTS, PIECES, _ROLLED_STATES) + state_time_select(
        group_by, by_reason=by_reason, pieces=_PIECES_AND_ROLLED
    )


def failure_totals_sql(group_by: Sequence[GroupKey]) -> str:
    """Columns: g_path, g_day, g_shift, failures, seconds (each by the tile of its start)."""
    return with_(INPUTS, _ROLL_INPUTS, _SEGMENTS, _ROLLED_FAIL, TILED_FAIL) + failure_select(
        group_by
    )


def state_and_failures_sql(group_by: Sequence[GroupKey], *, by_reason: bool) -> str:
    """:func:`state_time_sql` and :func:`failure_totals_sql` in one statement."""
    return states_and_failures(
        (INPUTS, _ROLL_INPUTS, _SEGMENTS, PIECES, _ROLLED_STATES, _ROLLED_FAIL, TILED_FAIL),
        state_time_select(group_by, by_reason=by_reason, pieces=_PIECES_AND_ROLLED),
        failure_select(group_by),
    )


def _point_events(kind: str, columns: str, rolled_table: str, rolled_columns: str) -> str:
    """The CTE ``pts``: point events of ``kind`` in raw segments plus the rolled hours, each
    with its tile (rolled rows have no ``t``: their hour lies inside the tile whole)."""
    return f"""
pts AS MATERIALIZED (
    SELECT o.path, u.key, width_bucket(o.ts, k.starts) AS tile, o.ts AS t, {columns}
    FROM units u
    JOIN segs g ON g.key = u.key
    JOIN keys k ON k.key = u.key
    CROSS JOIN LATERAL (
        SELECT * FROM other_events o
        WHERE o.path = u.path AND o.ts >= g.a AND o.ts < g.b AND o.kind = '{kind}'
    ) o
    UNION ALL
    SELECT r.path, u.key, h.tile, NULL::timestamptz, {rolled_columns}
    FROM units u
    JOIN hours h ON h.key = u.key
    JOIN {rolled_table} r ON r.path = u.path AND r.hour = h.hour
)"""


_TILE_OF = """
FROM pts c JOIN tiles p ON p.key = c.key AND p.idx = c.tile
WHERE (c.t IS NULL OR c.t < p.end_ts)"""


def count_totals_sql(group_by: Sequence[GroupKey]) -> str:
    """Columns: g_path, g_day, g_shift, path, product, operation, good, scrap, rework."""
    cols = "product, operation, good, scrap, rework"
    pts = _point_events("count", "o." + cols.replace(", ", ", o."), "count_hours", cols)
    return (
        with_(INPUTS, _ROLL_INPUTS, pts)
        + f"""
SELECT {groups(group_by, "c", "p")}, c.path, c.product, c.operation,
       coalesce(sum(c.good), 0)::bigint, coalesce(sum(c.scrap), 0)::bigint,
       coalesce(sum(c.rework), 0)::bigint
{_TILE_OF}
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6"""
    )


def energy_totals_sql(group_by: Sequence[GroupKey]) -> str:
    """Columns: g_path, g_day, g_shift, energy_kwh, energy_cost_cny."""
    pts = _point_events("energy", "o.energy_kwh AS kwh", "energy_hours", "kwh")
    return (
        with_(INPUTS, _ROLL_INPUTS, pts)
        + f"""
SELECT {groups(group_by, "c", "p")}, coalesce(sum(c.kwh), 0.0)::float8,
       coalesce(sum(c.kwh * p.price), 0.0)::float8
{_TILE_OF}
  AND c.kwh IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3"""
    )


def rollup_params(
    query: AggregateQuery, key_ids: dict[str, int], expired: frozenset[dt.date] = frozenset()
) -> dict[str, Any]:
    """The rolled hours (key, hour, tile idx) and the raw segments (key, a, b) of each key.

    ``expired``: months whose raw events retention dropped. Their hours are all rolled (the
    roll-up is all there is), each whole in the tile holding its midpoint when the window holds
    that: there, KPIs have the roll-ups' hour resolution. No raw segment reaches into them.
    """
    by_key: dict[str, list[PlannedPeriod]] = defaultdict(list)
    for period in query.periods:
        by_key[period.key].append(period)
    h_key: list[int] = []
    h_hour: list[dt.datetime] = []
    h_tile: list[int] = []
    s_key: list[int] = []
    s_a: list[dt.datetime] = []
    s_b: list[dt.datetime] = []
    for key in sorted(set(query.calendar_key_of_path.values())):
        tiles = sorted(by_key.get(key, []), key=lambda p: p.start)
        rolled: dict[dt.datetime, int] = {}
        for idx, tile in enumerate(tiles, start=1):
            hour = _ceil_hour(max(tile.start, query.start))
            while hour + HOUR <= min(tile.end, query.end):
                rolled[hour] = idx
                hour += HOUR
        gone = _expired_hours(query, expired)
        starts = [t.start for t in tiles]
        for hour in gone:
            mid = hour + HOUR / 2
            idx = bisect.bisect_right(starts, mid)
            inside = query.start <= mid < query.end and idx and mid < tiles[idx - 1].end
            if hour not in rolled and inside:
                rolled[hour] = idx
        for hour in sorted(rolled):
            h_key.append(key_ids[key])
            h_hour.append(hour)
            h_tile.append(rolled[hour])
        cursor = query.start
        for hour in [*sorted(rolled.keys() | gone), query.end]:
            if hour > cursor:
                s_key.append(key_ids[key])
                s_a.append(cursor)
                s_b.append(min(hour, query.end))
            cursor = max(cursor, hour + HOUR)
    return {
        "h_key": h_key,
        "h_hour": h_hour,
        "h_tile": h_tile,
        "s_key": s_key,
        "s_a": s_a,
        "s_b": s_b,
        "expired": sorted(expired),
    }


def _expired_hours(query: AggregateQuery, expired: frozenset[dt.date]) -> set[dt.datetime]:
    """The hours touching the window that lie in an expired month."""
    if not expired:
        return set()
    out = set()
    hour = query.start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    while hour < query.end:
        if dt.date(hour.year, hour.month, 1) in expired:
            out.add(hour)
        hour += HOUR
    return out


def _ceil_hour(instant: dt.datetime) -> dt.datetime:
    utc = instant.astimezone(dt.UTC)
    floor = utc.replace(minute=0, second=0, microsecond=0)
    return floor if floor == utc else floor + HOUR
