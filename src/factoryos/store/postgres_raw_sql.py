"""The statements of the raw reads (``postgres_columns``), and the read a report's aggregates share.

One statement reads any of the three kinds of events (``s`` states, ``c`` counts, ``e`` energy)
of a run of units in the window, from raw events and day packs at once (one snapshot). A report
asks four aggregates of one window (``kpi_report``: states, counts, energy, failures); they
used to read the same day packs three times, each in a statement of its own. A read of all
three kinds in one statement costs the server about a third less than the three (10 M events,
a line-month: 8.5 against 11.6 ms of backend CPU), and the client one round trip instead of
three. So the state read of a window of one run of units also fetches the point kinds when
they are read raw, and ``KeptRead`` keeps the rows for the next aggregates of that window,
used while the store's change count (``postgres_changes``) is still the one read before them
(``tests/store/test_postgres_reads.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from factoryos.store import postgres_changes

# Texts travel as one string per row, joined by the unit separator with NULL as the record
# separator (``postgres_columns._texts`` splits them in Arrow): a text array would become a
# Python string per element in psycopg, the largest part of the client's time once the server
# read day packs. Stored texts may hold those characters, so the form is checked, never
# trusted: a text holding the separator splits into more parts than the row has events
# (certain to show), and a text equal to the NULL mark makes the server send NULL instead of
# the string; either way the part is read again with text arrays (``exact``), slow but exact.
SEP, NULL_MARK = "\x1f", "\x1e"
_TEXTS = (
    "CASE WHEN bool_or({0} = chr(30)) THEN NULL "
    "ELSE string_agg(coalesce({0}, chr(30)), chr(31)) END"
)
_PACKED_TEXTS = (
    "CASE WHEN chr(30) = ANY({0}) THEN NULL ELSE array_to_string({0}, chr(31), chr(30)) END"
)
_UTC = "(({})::timestamp AT TIME ZONE 'UTC')"


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of events as the reads take it: its table and filter, the pack column of its
    instants, and its other columns as (raw column, pack column, form: ``t`` text, ``i``
    integer, ``f`` float)."""

    table: str
    where: str
    pack_ts: str
    columns: tuple[tuple[str, str, str], ...]
    ordered: bool  # raw events sorted by (ts, event id): the states' intervals need it


KINDS: dict[str, _Kind] = {
    "s": _Kind(
        "state_events", "", "state_ts", (("state", "state", "t"), ("reason", "reason", "t")), True
    ),
    "c": _Kind(
        "other_events",
        " AND e.kind = 'count'",
        "count_ts",
        tuple(
            (name, name, form)
            for name, form in (
                ("product", "t"),
                ("operation", "t"),
                ("good", "i"),
                ("scrap", "i"),
                ("rework", "i"),
            )
        ),
        False,
    ),
    "e": _Kind(
        "other_events",
        " AND e.kind = 'energy' AND e.energy_kwh IS NOT NULL",
        "energy_ts",
        (("energy_kwh", "kwh", "f"),),
        False,
    ),
}


def offsets(kinds: str) -> dict[str, int]:
    """Where each kind's instants sit in a row of ``events_sql(kinds)``: after (part, day,
    path), each kind's instants then its columns, in the order of ``kinds``."""
    at, found = 3, {}
    for kind in kinds:
        found[kind] = at
        at += 1 + len(KINDS[kind].columns)
    return found


def _raw(kind: str, form: str, exact: bool) -> str:
    if form == "t":
        return f"array_agg({kind})" if exact else _TEXTS.format(kind)
    return f"array_send(array_agg({kind if form == 'f' else f'coalesce({kind}, 0)'}))"


def _packed(column: str, form: str, exact: bool) -> str:
    if form == "t":
        return f"p.{column}" if exact else _PACKED_TEXTS.format(f"p.{column}")
    return f"array_send(p.{column})"


def _nulls(kind: str, exact: bool) -> list[str]:
    text = "NULL::text[]" if exact else "NULL::text"
    forms = [form for _, _, form in KINDS[kind].columns]
    return ["NULL::bytea", *(text if form == "t" else "NULL::bytea" for form in forms)]


@functools.cache
def events_sql(kinds: str, exact: bool = False) -> str:
    """The events of ``kinds`` of a run of units (``u_path``) in the window, one statement (one
    snapshot): rows ``(0, NULL, path, ...)`` of the raw events, one per unit and kind, and
    ``(1, day, path, ...)`` of the day packs (``postgres_packs``), one per unit and day; each
    row holds, per kind of ``kinds`` (``offsets``), the instants as a binary array and the
    other columns (NULL where the row has no events of that kind). Packs serve the window's
    whole UTC days ``d_lo`` .. ``d_hi`` up to each unit's ``packed_until``, holes excepted; raw
    events the rest: the partial first and last days, the holes, the days not packed yet (per
    unit an index range each). Rows come in no particular order (a sort of the packs' wide rows
    cost the server more than the client's stable sort by (unit, instant) that follows).

    The window's bounds, repeated as constants, prune the partitions when the statement is
    planned (7 ms of planning over twelve months otherwise); ``OFFSET 0`` keeps the ranges an
    index probe each (flattened, the planner once hash-joined them to every month's energy
    readings: 2.3 s for a line-month at 10 M events). A unit's holes are looked up once, not
    once per pack (an anti-join probe per pack row: ~1 ms a statement for a line-month)."""
    selects = []
    for kind in kinds:
        spec = KINDS[kind]
        order = "ORDER BY e.path, e.ts, e.event_id" if spec.ordered else ""
        values = []
        for other in kinds:
            if other == kind:
                values.append("array_send(array_agg(ts))")
                values += [_raw(raw, form, exact) for raw, _, form in spec.columns]
            else:
                values += _nulls(other, exact)
        selects.append(f"""
SELECT 0 AS part, NULL::date AS day, path, {", ".join(values)} FROM (
    SELECT e.* FROM r CROSS JOIN LATERAL (
        SELECT * FROM {spec.table} e
        WHERE e.path = r.path AND e.ts >= greatest(r.lo, %(start)s::timestamptz)
          AND e.ts < least(r.hi, %(end)s::timestamptz){spec.where}
          AND e.ts >= %(start)s::timestamptz AND e.ts < %(end)s::timestamptz
        OFFSET 0
    ) e {order}
) e GROUP BY path""")
    packed = []
    for kind in kinds:
        spec = KINDS[kind]
        packed.append(f"array_send(p.{spec.pack_ts})")
        packed += [_packed(column, form, exact) for _, column, form in spec.columns]
    some = " OR ".join(f"p.{KINDS[kind].pack_ts} IS NOT NULL" for kind in kinds)
    return f"""
WITH u AS MATERIALIZED (
    SELECT u.path COLLATE "C" AS path,
           greatest(%(d_lo)s::date, least(%(d_hi)s::date,
                    coalesce(k.packed_until, %(d_lo)s::date))) AS upto,
           ARRAY(SELECT h.day FROM pack_holes h WHERE h.path = u.path COLLATE "C"
                 AND h.day >= %(d_lo)s::date AND h.day < %(d_hi)s::date) AS holes
    FROM unnest(%(u_path)b::text[]) AS u(path)
    LEFT JOIN unit_packs k ON k.path = u.path COLLATE "C"
), r AS (
    SELECT path, %(start)s::timestamptz AS lo, {_UTC.format("%(d_lo)s::date")} AS hi FROM u
    UNION ALL SELECT path, {_UTC.format("upto")}, %(end)s::timestamptz FROM u
    UNION ALL SELECT h.path, {_UTC.format("h.day")}, {_UTC.format("h.day + 1")}
    FROM pack_holes h JOIN u ON h.path = u.path
    WHERE h.day >= %(d_lo)s::date AND h.day < u.upto
){" UNION ALL".join(selects)}
UNION ALL
SELECT 1, p.day, p.path, {", ".join(packed)}
FROM u JOIN day_packs p ON p.path = u.path AND p.day >= %(d_lo)s::date AND p.day < u.upto
    AND p.day < %(d_hi)s::date
WHERE ({some}) AND p.day <> ALL(u.holes)"""


CARRIED = """
SELECT u.path, c.state, c.reason
FROM unnest(%(u_path)b::text[]) AS u(path)
CROSS JOIN LATERAL (
    SELECT s.state, s.reason FROM state_events s
    WHERE s.path = u.path COLLATE "C" AND s.ts < %(start)s
    ORDER BY s.ts DESC, s.event_id DESC LIMIT 1
) c"""

# What every raw read asks first, in the same round trip: the months in the window whose raw
# events retention dropped (the caller then reads roll-ups instead) and the store's change
# count (``postgres_changes``): a later aggregate reuses what was read only while it is current.
CHECK = (
    "SELECT ARRAY(SELECT month FROM expired_months WHERE month < %(end)s "
    f"AND month >= %(start)s::date - 31), {postgres_changes.COUNT}"
)
CHANGES = f"SELECT {postgres_changes.COUNT}"


@dataclass(frozen=True, slots=True)
class Check:
    expired: frozenset[dt.date]
    changes: str  # the store's change count before the read (postgres_changes)


@dataclass(frozen=True, slots=True)
class Read:
    """One read of a run of units: the check, the kinds read, each unit's carried-in state
    (when ``s`` is among them) and the rows of ``events_sql(kinds)``."""

    check: Check
    kinds: str
    carried: list[Any]
    rows: list[Any]


# A read of a run of units (the parameters of ``postgres_columns._parts``): (part, kinds, exact)
Fetch = Callable[[dict[str, Any], str, bool], Read]


def read(conn: psycopg.Connection[Any], part: dict[str, Any], kinds: str, exact: bool) -> Read:
    """The check, the carried-in states (with ``s``) and the events of ``kinds``, all in one
    round trip (a pipeline)."""
    statements = [CHECK, *([CARRIED] if "s" in kinds else []), events_sql(kinds, exact)]
    with conn.pipeline():
        cursors = [conn.execute(text, part, binary=True) for text in statements]
    row = cursors[0].fetchone()
    if row is None:
        raise AssertionError("unreachable: a SELECT without FROM returns one row")
    check = Check(frozenset(row[0]), str(row[1]))
    carried = cursors[1].fetchall() if "s" in kinds else []
    rows = cursors[-1].fetchall()
    rows.sort(key=_ORDER)
    return Read(check, kinds, carried, rows)


# (part, path, day): raw rows by unit, then packs by unit and day, as the server sorted them
# before; the sums of floats then add in the same order (and give the same last digits)
_ORDER = operator.itemgetter(0, 2, 1)


class KeptRead:
    """The last read of a window of one run of units, for the next aggregates of that window
    (the same parameters object: ``PostgresStore._params`` keeps one per window)."""

    def __init__(self) -> None:
        self._kept: tuple[dict[str, Any], object, Read] | None = None

    def fetch(
        self, conn: psycopg.Connection[Any], params: dict[str, Any], mode: object, also: str = ""
    ) -> Fetch:
        """Reads for the aggregates of ``params``: a window of one run of units reads the
        kinds asked for and ``also`` and is kept; a later read of it in the same roll-up
        ``mode`` is the kept one while the store's change count is the one read before it (a mode
        switched reads anew, as the failures do: the benchmark compares the modes on each
        query). Exact re-reads, and windows of several runs (a site's year: too many events
        to hold), are read as asked and not kept."""

        def fetch(part: dict[str, Any], kinds: str, exact: bool) -> Read:
            if exact or len(part["u_path"]) != len(params["u_path"]):
                return read(conn, part, kinds, exact)
            kept = self._kept
            if (
                kept is not None
                and kept[0] is params
                and kept[1] == mode
                and set(kinds) <= set(kept[2].kinds)
            ):
                row = conn.execute(CHANGES).fetchone()
                if row is not None and row[0] == kept[2].check.changes:
                    return kept[2]
            wanted = "".join(k for k in "sce" if k in kinds or k in also)
            got = read(conn, part, wanted, exact)
            self._kept = (params, mode, got)
            return got

        return fetch
