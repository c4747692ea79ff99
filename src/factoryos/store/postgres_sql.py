"""The SQL pieces the PostgreSQL roll-up aggregates (``postgres_rollup_sql``) are built of.

Every query gets the work units and the tiles as array parameters, unnested into ``units(path,
key)`` and ``tiles(key, idx, start_ts, end_ts, local_day, shift, kind, price)``; ``keys(key,
starts)`` holds each key's sorted tile starts, so the tile of an instant is one binary search
(``width_bucket``) and an equality join on (key, idx): no range join. Events at an instant no tile
holds are not aggregated (the search finds the tile before, whose end is then checked). An
interval spreads over tiles ``i..j`` (those of its first and last microsecond). Raw reads do the
same cutting in the client, on arrays (``postgres_columns``).
"""

from __future__ import annotations

from collections.abc import Sequence

from factoryos.model.aggregates import GroupKey
from factoryos.model.states import FAILURE_STATES
from factoryos.store import postgres_changes

FAILURES = "(" + ", ".join(f"'{s.value}'" for s in sorted(FAILURE_STATES)) + ")"

INPUTS = """
units AS (
    SELECT path COLLATE "C" AS path, key
    FROM unnest(%(u_path)b::text[], %(u_key)b::int[]) AS u(path, key)
),
tiles AS (
    SELECT * FROM unnest(
        %(t_key)b::int[], %(t_idx)b::int[], %(t_start)b::timestamptz[], %(t_end)b::timestamptz[],
        %(t_day)b::date[], %(t_shift)b::text[], %(t_kind)b::text[], %(t_price)b::float8[]
    ) AS t(key, idx, start_ts, end_ts, local_day, shift, kind, price)
),
keys AS (
    SELECT key, array_agg(start_ts ORDER BY idx) AS starts FROM tiles GROUP BY key
)"""


def subtree(column: str) -> str:
    """A condition on ``column`` for the subtree (parameters ``node``, ``lo``, ``hi``).

    ``node/`` <= path < ``node0`` in C collation is exactly "below node" ('0' follows '/'), and a
    btree on ``path`` serves it as a range scan; unlike LIKE, no character is a wildcard.
    """
    return f"({column} = %(node)s OR ({column} >= %(lo)s AND {column} < %(hi)s))"


# Each interval's tiles are enumerated behind a fence before the tiles are joined by (key,
# idx): unfenced, the planner paired every interval with every tile of its key first.
PIECES = """
cuts AS MATERIALIZED (
    SELECT sp.path, sp.key, sp.s, sp.e, sp.state, sp.reason, g.k AS tile
    FROM (
        SELECT iv.path, iv.key, iv.s, iv.e, iv.state, iv.reason,
               greatest(width_bucket(iv.s, k.starts), 1) AS i,
               width_bucket(iv.e - interval '1 microsecond', k.starts) AS j
        FROM iv JOIN keys k ON k.key = iv.key
        WHERE iv.e > iv.s
    ) sp
    CROSS JOIN LATERAL generate_series(sp.i, sp.j) AS g(k)
),
pieces AS (
    SELECT c.path, c.key, c.tile, c.state, c.reason,
           least(c.e, t.end_ts) - greatest(c.s, t.start_ts) AS d
    FROM cuts c JOIN tiles t ON t.key = c.key AND t.idx = c.tile
)"""

# The tile of each row computed before the join with the tiles, behind a fence: a join clause
# over three relations (row, key starts, tiles) left the planner free to pair every row with
# every tile of its key first (seconds, where the lookup costs microseconds).
TILED_FAIL = """
tiled AS MATERIALIZED (
    SELECT f.path, f.key, f.t, f.entries, f.d, width_bucket(f.t, k.starts) AS tile
    FROM fail f JOIN keys k ON k.key = f.key
)"""


def subtree_params(node: str) -> dict[str, str]:
    base = node.rstrip("/")
    return {"node": base, "lo": base + "/", "hi": base + "0"}


def groups(group_by: Sequence[GroupKey], row: str, tile: str) -> str:
    return ", ".join(
        [
            f"{row}.path AS g_path" if "path" in group_by else "NULL::text AS g_path",
            f"{tile}.local_day AS g_day" if "local_day" in group_by else "NULL::date AS g_day",
            f"{tile}.shift AS g_shift" if "shift" in group_by else "NULL::text AS g_shift",
        ]
    )


def with_(*ctes: str) -> str:
    return "WITH " + ",".join(ctes)


def state_time_select(group_by: Sequence[GroupKey], *, by_reason: bool, pieces: str) -> str:
    """The final SELECT of the state-time query over ``pieces`` (a relation with path, key,
    tile, state, reason, d): raw pieces here, raw plus rolled hours in the roll-up variant."""
    reason = "reason" if by_reason else "NULL::text"
    path = "path" if "path" in group_by else "NULL::text"
    return f"""
SELECT {groups(group_by, "a", "t")}, t.kind, a.state, a.reason,
       extract(epoch FROM sum(a.d))::float8 AS seconds
FROM (
    SELECT {path} AS path, key, tile, state, {reason} AS reason, sum(d) AS d
    FROM {pieces}
    WHERE d > interval '0'
    GROUP BY 1, 2, 3, 4, 5
) a JOIN tiles t ON t.key = a.key AND t.idx = a.tile
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6"""


def failure_select(group_by: Sequence[GroupKey]) -> str:
    """The final SELECT of the failure query over ``tiled`` (failure rows with their tile)."""
    return f"""
SELECT {groups(group_by, "f", "p")}, sum(f.entries)::bigint AS failures,
       extract(epoch FROM sum(f.d))::float8 AS seconds
FROM tiled f
JOIN tiles p ON p.key = f.key AND p.idx = f.tile
WHERE f.t < p.end_ts
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3"""


def states_and_failures(ctes: Sequence[str], states: str, failures: str) -> str:
    """One statement for the state rows (section ``s``) and the failure rows (``f``) over the
    same intervals, which both need and which cost a third of either query; a row of section
    ``v`` carries the store's change count as the statement saw it (``postgres_changes``), so
    that a later ``failure_totals`` can tell whether the rows it would read are still these.

    Columns: section, g_path, g_day, g_shift, kind, state, reason, seconds, failures, changes.
    """
    return (
        with_(*ctes, f"\nst AS ({states})", f"\nfa AS ({failures})")
        + """
SELECT 's' AS section, g_path, g_day, g_shift, kind, state, reason, seconds,
       NULL::bigint AS failures, NULL::text AS changes
FROM st
UNION ALL
SELECT 'f', g_path, g_day, g_shift, NULL, NULL, NULL, seconds, failures, NULL FROM fa
UNION ALL
SELECT 'v', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, """
        + postgres_changes.COUNT
        + """
ORDER BY 1, 2, 3, 4, 5, 6, 7"""
    )
