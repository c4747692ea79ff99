"""The SQL of the DuckDB aggregates: state intervals cut by calendar tiles, summed in the database.

Every query sees two registered Arrow tables: ``_units`` (path, key: the work units under the
queried node and their calendar keys) and ``_tiles`` (the query's planned periods with ``idx``, the
tile's rank within its key). Times are microseconds since the epoch (BIGINT) inside the queries.
Events at an instant no tile holds are not aggregated.

State intervals come from one ``LEAD`` window over the window's state events plus each unit's last
state before the window (carried in at the window start). Tiles are found without a range join:
the timeline is cut into buckets of ``$bucket_us`` and every bucket lying wholly inside one tile
is a *slot*, so the tile of an instant is an equality join on (key, bucket). An interval that
ends in its first tile (most do: tiles last hours) is summed there. The others are spread over
tiles ``i..j``, the tiles of their first and last microsecond, by an equality join on (key, idx);
``i`` and ``j`` come from slots, or from ASOF joins for the few ends that fall in a bucket holding
a tile boundary. No interval ever meets a tile it does not overlap, so there is no blow-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from factoryos.model.aggregates import GroupKey
from factoryos.model.states import FAILURE_STATES

FAILURE_STATE_LIST = ", ".join(f"'{s.value}'" for s in sorted(FAILURE_STATES))

# $start_us / $end_us bound the window; ts is filtered on the TIMESTAMPTZ column so that DuckDB's
# zone maps skip row groups outside the window. The carried-in state enters one microsecond before
# the window (and is clipped to it), so it sorts before any event at the window start.
#
# Events of one unit at one instant ("ties") are ordered by event id, so every backend cuts the
# same intervals. An event id in the window's sort key costs about a quarter of the query, and
# ties are rare (an event file rejects ties with different states), so the fast form sorts by
# time only and counts the ties whose order would matter (different state or reason); when there
# are any, the store runs the exact form instead.
_INTERVALS = """
ev AS (
    SELECT s.path, u.key, epoch_us(s.ts) AS t, 1 AS src, s.event_id, s.state, s.reason
    FROM state_events s JOIN _units u ON s.path = u.path
    WHERE s.ts >= make_timestamptz($start_us) AND s.ts < make_timestamptz($end_us)
    UNION ALL
    SELECT c.path, u.key, $start_us - 1 AS t, 0 AS src, '' AS event_id, c.last.state,
           c.last.reason
    FROM (
        SELECT path, arg_max({'state': state, 'reason': reason}, (ts, event_id)) AS last
        FROM state_events
        WHERE ts < make_timestamptz($start_us) AND path IN (SELECT path FROM _units)
        GROUP BY path
    ) c JOIN _units u ON c.path = u.path
),
iv AS MATERIALIZED (
    SELECT path, key, greatest(t, $start_us) AS s, coalesce(lead(t) OVER w, $end_us) AS e, src,
           state, reason, lag(state) OVER w AS prev_state, $$TIED AS tied
    FROM ev
    WINDOW w AS (PARTITION BY path ORDER BY $$ORDER)
)"""
_TIED = """coalesce(lag(t) OVER w = t AND (lag(state) OVER w IS DISTINCT FROM state
                                   OR lag(reason) OVER w IS DISTINCT FROM reason), false)"""


def _intervals(exact: bool) -> str:
    tied, order = ("false", "t, event_id") if exact else (_TIED, "t")
    return _INTERVALS.replace("$$TIED", tied).replace("$$ORDER", order)


_STATE_PIECES = """
slots AS MATERIALIZED (
    SELECT key, b AS bucket, end_us, idx
    FROM (
        SELECT *, unnest(generate_series(start_us // $bucket_us, (end_us - 1) // $bucket_us)) AS b
        FROM _tiles
    )
    WHERE b * $bucket_us >= start_us AND (b + 1) * $bucket_us <= end_us
),
first AS (
    SELECT iv.path, iv.key, iv.s, iv.e, iv.state, iv.reason,
           sl.end_us AS t_end, sl.idx AS tile
    FROM iv LEFT JOIN slots sl ON sl.key = iv.key AND sl.bucket = iv.s // $bucket_us
    WHERE iv.e > iv.s
),
spill AS (
    SELECT f.path, f.key, f.s, f.e, f.state, f.reason, f.tile AS i, sl.idx AS j,
           f.e - 1 AS last_us
    FROM first f
    LEFT JOIN slots sl ON sl.key = f.key AND sl.bucket = (f.e - 1) // $bucket_us
    WHERE f.t_end IS NULL OR f.e > f.t_end
),
spans AS (
    -- both ends in slots (the common case): tiles i..j known without a search
    SELECT path, key, s, e, state, reason, i, j FROM spill WHERE i IS NOT NULL AND j IS NOT NULL
    UNION ALL
    SELECT r.path, r.key, r.s, r.e, r.state, r.reason, coalesce(r.i, 1) AS i, b.idx AS j
    FROM (
        SELECT u.path, u.key, u.s, u.e, u.state, u.reason, u.last_us, a.idx AS i
        FROM (SELECT * FROM spill WHERE i IS NULL OR j IS NULL) u
        ASOF LEFT JOIN _tiles a ON u.key = a.key AND u.s >= a.start_us
    ) r
    ASOF JOIN _tiles b ON r.key = b.key AND r.last_us >= b.start_us
),
pieces AS (
    SELECT path, key, tile, state, reason, e - s AS us
    FROM first
    WHERE e <= t_end
    UNION ALL
    SELECT sp.path, sp.key, t.idx AS tile, sp.state, sp.reason,
           least(sp.e, t.end_us) - greatest(sp.s, t.start_us) AS us
    FROM (SELECT *, unnest(generate_series(i, j)) AS k FROM spans) sp
    JOIN _tiles t ON t.key = sp.key AND t.idx = sp.k
)"""

_FAILURES = f"""
fail AS (
    SELECT path, key, s AS t, 1 AS entries, 0 AS us
    FROM iv
    WHERE src = 1 AND state IN ({FAILURE_STATE_LIST})
      AND (prev_state IS NULL OR prev_state NOT IN ({FAILURE_STATE_LIST}))
    UNION ALL
    SELECT path, key, s AS t, 0 AS entries, e - s AS us
    FROM iv
    WHERE state IN ({FAILURE_STATE_LIST}) AND e > s
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


def state_sql(
    group_by: Sequence[GroupKey], *, by_reason: bool, states: bool, failures: bool, exact: bool
) -> str:
    """State time rows (section 's') and/or failure rows (section 'f') from one interval pass.

    Columns: section, g_path, g_local_day, g_shift, kind, state, reason, seconds, failures. The
    fast form (``exact=False``) adds a row of section 't' whose ``failures`` counts the ties whose
    order matters; when it is not 0 the rows are not to be used: run the exact form.
    """
    parts = []
    ctes = [_intervals(exact)]
    if not exact:
        parts.append(
            """
SELECT 't' AS section, NULL::VARCHAR, NULL::DATE, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR,
       NULL::VARCHAR, NULL::DOUBLE, count(*)::BIGINT
FROM iv
WHERE tied"""
        )
    if states:
        ctes.append(_STATE_PIECES)
        reason = "reason" if by_reason else "NULL::VARCHAR"
        path = "path" if "path" in group_by else "NULL::VARCHAR"
        # Sum per tile first (integer keys, cheap), then name the tiles and regroup.
        parts.append(
            f"""
SELECT 's' AS section, {_group_columns(group_by, "a", "t")}, t.kind, a.state, a.reason,
       sum(a.us) / 1e6 AS seconds, 0::BIGINT AS failures
FROM (
    SELECT {path} AS path, key, tile, state, {reason} AS reason, sum(us) AS us
    FROM pieces
    WHERE us > 0
    GROUP BY ALL
) a JOIN _tiles t ON t.key = a.key AND t.idx = a.tile
GROUP BY ALL"""
        )
    if failures:
        ctes.append(_FAILURES)
        parts.append(
            f"""
SELECT 'f' AS section, {_group_columns(group_by, "f", "p")}, NULL::VARCHAR AS kind,
       NULL::VARCHAR AS state, NULL::VARCHAR AS reason,
       sum(f.us) / 1e6 AS seconds, sum(f.entries)::BIGINT AS failures
FROM fail f ASOF JOIN _tiles p ON f.key = p.key AND f.t >= p.start_us
WHERE f.t < p.end_us
GROUP BY ALL
HAVING count(*) > 0"""
        )
    body = " UNION ALL ".join(f"SELECT * FROM ({part})" for part in parts)
    return "WITH " + ",".join(ctes) + "\n" + body + "\nORDER BY ALL"


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
