"""The SQL of the DuckDB aggregates: state intervals cut by calendar tiles, summed in the database.

Every query sees two registered Arrow tables: ``_units`` (path, key: the work units under the
queried node and their calendar keys) and ``_tiles`` (the query's planned periods with ``idx``, the
tile's rank within its key). Times are microseconds since the epoch (BIGINT) inside the queries.
Events at an instant no tile holds are not aggregated.

State intervals come from one ``LEAD`` window over the window's state events plus each unit's last
state before the window (carried in at the window start). An interval is put on the tile that holds
its start with an ASOF join; the few intervals that run past that tile's end are spread over tiles
``i..j`` (``j`` from a second ASOF join on the interval's last microsecond) by an equality join on
(key, idx), so no interval meets a tile it does not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

from factoryos.model.aggregates import GroupKey
from factoryos.model.states import FAILURE_STATES

FAILURE_STATE_LIST = ", ".join(f"'{s.value}'" for s in sorted(FAILURE_STATES))

# $start_us / $end_us bound the window; the store filters ts on the TIMESTAMPTZ column so that
# DuckDB's zone maps skip row groups outside the window.
_INTERVALS = """
ev AS (
    SELECT s.path, epoch_us(s.ts) AS t, 1 AS src, s.event_id, s.state, s.reason
    FROM state_events s
    WHERE s.ts >= make_timestamptz($start_us) AND s.ts < make_timestamptz($end_us)
      AND s.path IN (SELECT path FROM _units)
    UNION ALL
    SELECT path, $start_us AS t, 0 AS src, '' AS event_id, last.state, last.reason
    FROM (
        SELECT path, arg_max({'state': state, 'reason': reason}, (ts, event_id)) AS last
        FROM state_events
        WHERE ts < make_timestamptz($start_us) AND path IN (SELECT path FROM _units)
        GROUP BY path
    )
),
iv AS (
    SELECT path, t AS s, coalesce(lead(t) OVER w, $end_us) AS e, src, state, reason,
           lag(state) OVER w AS prev_state
    FROM ev
    WINDOW w AS (PARTITION BY path ORDER BY t, src, event_id)
)"""


def _group_columns(group_by: Sequence[GroupKey], row: str, tile: str) -> str:
    """Select list of the group keys, from the row's path and its tile; others are NULL."""
    cols = [
        f"{row}.path AS g_path" if "path" in group_by else "NULL::VARCHAR AS g_path",
        f"{tile}.local_day AS g_local_day"
        if "local_day" in group_by
        else "NULL::DATE AS g_local_day",
        f"{tile}.shift AS g_shift" if "shift" in group_by else "NULL::VARCHAR AS g_shift",
    ]
    return ", ".join(cols)


def _piece_groups(group_by: Sequence[GroupKey]) -> str:
    cols = [
        "path AS g_path" if "path" in group_by else "NULL::VARCHAR AS g_path",
        "local_day AS g_local_day" if "local_day" in group_by else "NULL::DATE AS g_local_day",
        "shift AS g_shift" if "shift" in group_by else "NULL::VARCHAR AS g_shift",
    ]
    return ", ".join(cols)


def state_time_sql(group_by: Sequence[GroupKey], by_reason: bool) -> str:
    groups = _piece_groups(group_by)
    reason = "reason" if by_reason else "NULL::VARCHAR AS reason"
    return f"""
WITH {_INTERVALS},
keyed AS (
    SELECT iv.path, u.key, iv.s, iv.e, iv.state, iv.reason
    FROM iv JOIN _units u ON iv.path = u.path
    WHERE iv.e > iv.s
),
first_tile AS (
    SELECT k.*, p.idx AS i, p.end_us AS i_end, p.local_day, p.shift, p.kind
    FROM keyed k ASOF LEFT JOIN _tiles p ON k.key = p.key AND k.s >= p.start_us
),
pieces AS (
    SELECT path, local_day, shift, kind, state, reason, e - s AS us
    FROM first_tile
    WHERE i IS NOT NULL AND e <= i_end
    UNION ALL
    SELECT sp.path, t.local_day, t.shift, t.kind, sp.state, sp.reason,
           least(sp.e, t.end_us) - greatest(sp.s, t.start_us) AS us
    FROM (
        SELECT f.path, f.key, f.s, f.e, f.state, f.reason,
               unnest(generate_series(coalesce(f.i, 1), q.idx)) AS k
        FROM (SELECT *, e - 1 AS last_us FROM first_tile WHERE i IS NULL OR e > i_end) f
        ASOF JOIN _tiles q ON f.key = q.key AND f.last_us >= q.start_us
    ) sp
    JOIN _tiles t ON t.key = sp.key AND t.idx = sp.k
)
SELECT {groups}, kind, state, {reason}, sum(us) / 1e6 AS seconds
FROM pieces
WHERE us > 0
GROUP BY ALL
HAVING count(*) > 0
ORDER BY ALL
"""


def failure_totals_sql(group_by: Sequence[GroupKey]) -> str:
    groups = _group_columns(group_by, "f", "p")
    return f"""
WITH {_INTERVALS},
fail AS (
    SELECT path, s AS t, 1 AS entries, 0 AS us
    FROM iv
    WHERE src = 1 AND state IN ({FAILURE_STATE_LIST})
      AND (prev_state IS NULL OR prev_state NOT IN ({FAILURE_STATE_LIST}))
    UNION ALL
    SELECT path, s AS t, 0 AS entries, e - s AS us
    FROM iv
    WHERE state IN ({FAILURE_STATE_LIST}) AND e > s
),
keyed AS (SELECT fail.*, u.key FROM fail JOIN _units u ON fail.path = u.path)
SELECT {groups}, sum(f.entries)::BIGINT AS failures, sum(f.us) / 1e6 AS seconds
FROM keyed f ASOF JOIN _tiles p ON f.key = p.key AND f.t >= p.start_us
WHERE f.t < p.end_us
GROUP BY ALL
HAVING count(*) > 0
ORDER BY ALL
"""


def _other_events_sql(kind: str, columns: str) -> str:
    return f"""
SELECT o.path, u.key, epoch_us(o.ts) AS t, {columns}
FROM other_events o JOIN _units u ON o.path = u.path
WHERE o.kind = '{kind}'
  AND o.ts >= make_timestamptz($start_us) AND o.ts < make_timestamptz($end_us)
"""


def count_totals_sql(group_by: Sequence[GroupKey]) -> str:
    groups = _group_columns(group_by, "c", "p")
    inner = _other_events_sql("count", "o.product, o.operation, o.good, o.scrap, o.rework")
    return f"""
SELECT {groups}, c.path, c.product, c.operation,
       coalesce(sum(c.good), 0)::BIGINT AS good,
       coalesce(sum(c.scrap), 0)::BIGINT AS scrap,
       coalesce(sum(c.rework), 0)::BIGINT AS rework
FROM ({inner}) c ASOF JOIN _tiles p ON c.key = p.key AND c.t >= p.start_us
WHERE c.t < p.end_us
GROUP BY ALL
HAVING count(*) > 0
ORDER BY ALL
"""


def energy_totals_sql(group_by: Sequence[GroupKey]) -> str:
    groups = _group_columns(group_by, "c", "p")
    inner = _other_events_sql("energy", "o.energy_kwh")
    return f"""
SELECT {groups}, coalesce(sum(c.energy_kwh), 0.0) AS energy_kwh,
       coalesce(sum(c.energy_kwh * p.price), 0.0) AS energy_cost_cny
FROM ({inner}) c ASOF JOIN _tiles p ON c.key = p.key AND c.t >= p.start_us
WHERE c.t < p.end_us
GROUP BY ALL
HAVING count(*) > 0
ORDER BY ALL
"""
