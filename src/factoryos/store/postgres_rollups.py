"""Live hourly roll-ups of the PostgreSQL store, maintained inside every append's transaction.

Per work unit and UTC hour the store keeps what the aggregates sum, so a month reads roll-ups
instead of raw events:

- ``state_hours(path, hour, state, reason, us, last)``: microseconds in each state and reason
  (the ISO 22400 time elements APT, AUST, ADET, ADOT and planned downtime are these, read through
  the tile kinds of the calendar by the KPI engine), for *closed* intervals only: from an event
  to the unit's next one; ``last`` marks the state in force at the hour's end (a query starting
  raw work at the next hour takes it from there instead of searching the events). The open tail
  after a unit's last event is not rolled up; queries read it raw.
- ``fail_hours(path, hour, entries, us)``: entries into a failure state, and the full length of
  the failure intervals that begin in the hour (the aggregates attribute it to where it began).
- ``count_hours(path, hour, product, operation, good, scrap, rework)``, ``energy_hours(path,
  hour, kwh)``: sums of point events, added to as events arrive.

Counts and energy are incremented. States are recomputed over the hours a batch can change, per
unit: from the hour of the last event before the batch's first one up to the hour of the first
event after its last one, which also corrects the hours a late or out-of-order event touches.
Appenders lock the units of their batch (advisory locks, in path order, before anything else),
so two batches never recompute the same unit at once and never deadlock.
"""

from __future__ import annotations

from factoryos.store.postgres_sql import FAILURES as _F

ROLLUP_DDL: tuple[str, ...] = (
    """CREATE TABLE state_hours (
        path text COLLATE "C" NOT NULL, hour timestamptz NOT NULL, state text NOT NULL,
        reason text, us bigint NOT NULL, last boolean NOT NULL)""",
    "CREATE INDEX state_hours_path_hour ON state_hours (path, hour)",
    """CREATE TABLE fail_hours (
        path text COLLATE "C" NOT NULL, hour timestamptz NOT NULL, entries bigint NOT NULL,
        us bigint NOT NULL, PRIMARY KEY (path, hour))""",
    """CREATE TABLE count_hours (
        path text COLLATE "C" NOT NULL, hour timestamptz NOT NULL, product text NOT NULL,
        operation text, good bigint NOT NULL, scrap bigint NOT NULL, rework bigint NOT NULL,
        UNIQUE NULLS NOT DISTINCT (path, hour, product, operation))""",
    """CREATE TABLE energy_hours (
        path text COLLATE "C" NOT NULL, hour timestamptz NOT NULL, kwh float8 NOT NULL,
        PRIMARY KEY (path, hour))""",
)

# Session-local work tables of an append (emptied at commit): the units' hour ranges to
# recompute, and the state intervals over them (computed once, read by both state roll-ups).
WORK_TABLES: tuple[str, ...] = (
    'CREATE TEMP TABLE IF NOT EXISTS _ranges (path text COLLATE "C", a timestamptz, '
    "b timestamptz) ON COMMIT DELETE ROWS",
    'CREATE TEMP TABLE IF NOT EXISTS _iv (path text COLLATE "C", a timestamptz, b timestamptz, '
    "t timestamptz, src int, state text, reason text, prev_state text, nxt timestamptz) "
    "ON COMMIT DELETE ROWS",
)

LOCK_UNITS = """
SELECT count(pg_advisory_xact_lock(hashtextextended(path, 7)))
FROM (SELECT DISTINCT path FROM _incoming ORDER BY path) p
"""

_TS = "timestamptz '1970-01-01 00:00:00+00' + b.ts_us * interval '1 microsecond'"
_HOUR = f"date_trunc('hour', {_TS})"

ADD_COUNTS = f"""
INSERT INTO count_hours (path, hour, product, operation, good, scrap, rework)
SELECT b.path, {_HOUR}, b.product, b.operation, coalesce(sum(b.good), 0),
       coalesce(sum(b.scrap), 0), coalesce(sum(b.rework), 0)
FROM _incoming b
WHERE b.kind = 'count'
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
ON CONFLICT (path, hour, product, operation) DO UPDATE SET
    good = count_hours.good + excluded.good,
    scrap = count_hours.scrap + excluded.scrap,
    rework = count_hours.rework + excluded.rework
"""

ADD_ENERGY = f"""
INSERT INTO energy_hours (path, hour, kwh)
SELECT b.path, {_HOUR}, sum(b.energy_kwh)
FROM _incoming b
WHERE b.kind = 'energy' AND b.energy_kwh IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (path, hour) DO UPDATE SET kwh = energy_hours.kwh + excluded.kwh
"""

# The hours a batch's state events can change, per unit (see the module docstring).
STATE_RANGES = f"""
INSERT INTO _ranges (path, a, b)
SELECT nb.path, date_trunc('hour', coalesce(p.ts, nb.lo)),
       date_trunc('hour', coalesce(x.ts, nb.hi)) + interval '1 hour'
FROM (
    SELECT b.path, min({_TS}) AS lo, max({_TS}) AS hi
    FROM _incoming b
    WHERE b.kind = 'state'
    GROUP BY b.path
) nb
LEFT JOIN LATERAL (
    SELECT s.ts FROM state_events s WHERE s.path = nb.path AND s.ts < nb.lo
    ORDER BY s.ts DESC LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT s.ts FROM state_events s WHERE s.path = nb.path AND s.ts > nb.hi
    ORDER BY s.ts LIMIT 1
) x ON true
"""

ALL_RANGES = """
INSERT INTO _ranges (path, a, b)
SELECT path, date_trunc('hour', min(ts)), date_trunc('hour', max(ts)) + interval '1 hour'
FROM state_events GROUP BY path
"""

CLEAR_RANGES = (
    "DELETE FROM state_hours h USING _ranges r "
    "WHERE h.path = r.path AND h.hour >= r.a AND h.hour < r.b",
    "DELETE FROM fail_hours h USING _ranges r "
    "WHERE h.path = r.path AND h.hour >= r.a AND h.hour < r.b",
)

# Intervals touching [a, b): the carried-in state at a, the events in [a, b), and the first
# event at or after b (src 2) that closes the last of them. Every read of the events is an index
# probe per unit (LATERAL): a join the planner may turn into a scan of every partition is not
# written (the work tables have no statistics to stop it).
FILL_INTERVALS = """
INSERT INTO _iv (path, a, b, t, src, state, reason, prev_state, nxt)
SELECT path, a, b, t, src, state, reason, lag(state) OVER w, lead(t) OVER w
FROM (
    SELECT r.path, r.a, r.b, s.ts AS t, 1 AS src, s.event_id, s.state, s.reason
    FROM _ranges r CROSS JOIN LATERAL (
        SELECT s.ts, s.event_id, s.state, s.reason FROM state_events s
        WHERE s.path = r.path AND s.ts >= r.a AND s.ts < r.b
    ) s
    UNION ALL
    SELECT r.path, r.a, r.b, c.ts, 0, c.event_id, c.state, c.reason
    FROM _ranges r CROSS JOIN LATERAL (
        SELECT s.ts, s.event_id, s.state, s.reason FROM state_events s
        WHERE s.path = r.path AND s.ts < r.a ORDER BY s.ts DESC, s.event_id DESC LIMIT 1
    ) c
    UNION ALL
    SELECT r.path, r.a, r.b, n.ts, 2, n.event_id, n.state, n.reason
    FROM _ranges r CROSS JOIN LATERAL (
        SELECT s.ts, s.event_id, s.state, s.reason FROM state_events s
        WHERE s.path = r.path AND s.ts >= r.b ORDER BY s.ts, s.event_id LIMIT 1
    ) n
) ev
WINDOW w AS (PARTITION BY path ORDER BY t, event_id)
"""

FILL_STATE_HOURS = """
WITH clipped AS (
    SELECT path, state, reason, greatest(t, a) AS s, least(nxt, b) AS e
    FROM _iv WHERE src < 2 AND nxt IS NOT NULL AND least(nxt, b) > greatest(t, a)
)
INSERT INTO state_hours (path, hour, state, reason, us, last)
SELECT c.path, h, c.state, c.reason,
       (extract(epoch FROM sum(least(c.e, h + interval '1 hour') - greatest(c.s, h)))
        * 1000000)::bigint,
       bool_or(c.e >= h + interval '1 hour')
FROM clipped c
CROSS JOIN LATERAL generate_series(
    date_trunc('hour', c.s), c.e - interval '1 microsecond', interval '1 hour'
) AS h
GROUP BY 1, 2, 3, 4
"""

FILL_FAIL_HOURS = f"""
WITH f AS (
    SELECT path, date_trunc('hour', t) AS hour,
           (prev_state IS NULL OR prev_state NOT IN {_F})::int AS entries,
           CASE WHEN nxt IS NULL THEN 0
                ELSE (extract(epoch FROM nxt - t) * 1000000)::bigint END AS us
    FROM _iv WHERE src = 1 AND state IN {_F}
)
INSERT INTO fail_hours (path, hour, entries, us)
SELECT path, hour, sum(entries), sum(us) FROM f GROUP BY 1, 2
HAVING sum(entries) > 0 OR sum(us) > 0
"""

BACKFILL: tuple[str, ...] = (
    *WORK_TABLES,
    ALL_RANGES,
    FILL_INTERVALS,
    FILL_STATE_HOURS,
    FILL_FAIL_HOURS,
    """INSERT INTO count_hours (path, hour, product, operation, good, scrap, rework)
    SELECT path, date_trunc('hour', ts), product, operation, coalesce(sum(good), 0),
           coalesce(sum(scrap), 0), coalesce(sum(rework), 0)
    FROM other_events WHERE kind = 'count' GROUP BY 1, 2, 3, 4""",
    """INSERT INTO energy_hours (path, hour, kwh)
    SELECT path, date_trunc('hour', ts), sum(energy_kwh)
    FROM other_events WHERE kind = 'energy' AND energy_kwh IS NOT NULL GROUP BY 1, 2""",
    "DELETE FROM _ranges",
    "DELETE FROM _iv",
)

POINT_ROLLUPS: tuple[str, ...] = (ADD_COUNTS, ADD_ENERGY)
STATE_ROLLUPS: tuple[str, ...] = (
    FILL_INTERVALS,
    *CLEAR_RANGES,
    FILL_STATE_HOURS,
    FILL_FAIL_HOURS,
)
