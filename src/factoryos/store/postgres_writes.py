"""What an append writes besides the ids, built in the client as one value from a batch.

An append's client work (the kinds split, the roll-up deltas, the binary ``COPY`` bytes, the
parameters of its small statements) ran between its statements while the server waited, and the
server's work waited on it: at 10 M events, 20 s of client CPU and 81 s of server CPU made 104 s
of wall time (docs/store.md). Built as one value, it is made on a worker thread while the server
registers the batch's ids (``PostgresStore._insert``), so that the two overlap: psycopg lets go
of the GIL while it waits for the server, and Arrow while it computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from factoryos.store import (
    pgcopy,
    postgres_batch,
    postgres_changes,
    postgres_notices,
    postgres_packs,
    postgres_rollups,
)

_COPY = "COPY {} ({}) FROM STDIN (FORMAT binary)"


@dataclass(frozen=True, slots=True)
class Copy:
    """One binary ``COPY``: its statement and its bytes."""

    statement: sql.Composed
    data: bytes

    def send(self, cur: psycopg.Cursor[Any]) -> None:
        with cur.copy(self.statement) as copy:
            copy.write(self.data)


def copy_of(table: str, rows: pa.Table) -> Copy:
    """``rows`` into ``table``'s columns of their names, in binary (``pgcopy``).

    A column NULL in every row is left out of the column list (the server fills in NULL): a
    live batch of samples sends 6 of ``other_events``' 15 columns, and the client builds a
    third of the bytes (9 against 22 ms of CPU for 20,000 samples)."""
    rows = rows.select([c for c in rows.column_names if rows[c].null_count < rows.num_rows])
    statement = sql.SQL(_COPY).format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
    )
    return Copy(statement, pgcopy.binary_copy(rows))


@dataclass(frozen=True, slots=True)
class Writes:
    """A batch of new events as the append writes them after its ids."""

    events: int
    copies: tuple[Copy, ...]  # the state events, the other events
    deltas: tuple[tuple[Copy, str], ...]  # roll-up deltas into their work table, and the add
    unit_days: dict[str, pa.Array]  # the days whose packs the batch makes holes
    spans: dict[str, list[Any]] | None  # per unit, the batch's state span (None: no states)
    notice: dict[str, int]  # the stored range, for the live views' notice

    def send(self, cur: psycopg.Cursor[Any]) -> None:
        """Everything the batch writes after its ids, ending the transaction's statements
        (the change count, ``postgres_changes``, is raised last)."""
        for copy in self.copies:
            copy.send(cur)
        for copy, add in self.deltas:
            copy.send(cur)
            cur.execute(add)
        # days below a unit's packed_until lose their packs (postgres_packs)
        cur.execute(postgres_packs.MARK_HOLES, self.unit_days)
        if self.spans is not None:
            cur.execute(postgres_rollups.UPDATE_UNIT_LAST, self.spans)
            cur.execute(postgres_rollups.MARK_DIRTY, self.spans)
        # live views in other processes (factoryos serve) hear of it at commit
        cur.execute(postgres_notices.NOTIFY_STORED, self.notice)
        # last: the change count (a slot of this backend's: the parts of a batch never wait)
        cur.execute(postgres_changes.RAISE)


def deltas_of(others: pa.Table) -> tuple[tuple[Copy, str], ...]:
    """The count and energy roll-up deltas of ``others`` (point events): each one's ``COPY``
    into its work table and the statement that adds it."""
    deltas = (
        ("_counts", postgres_batch.count_deltas(others), postgres_rollups.ADD_COUNTS),
        ("_energy", postgres_batch.energy_deltas(others), postgres_rollups.ADD_ENERGY),
    )
    return tuple((copy_of(name, table), add) for name, table, add in deltas if table.num_rows)


def writes_of(new: pa.Table) -> Writes:
    """What storing ``new`` (events whose ids are new, at least one) writes after the ids."""
    states, others = postgres_batch.split_kinds(new)
    copies = tuple(
        copy_of(name, part)
        for name, part in (("state_events", states), ("other_events", others))
        if part.num_rows
    )
    lo_hi = pc.min_max(new["ts"].cast(pa.int64()))
    return Writes(
        events=new.num_rows,
        copies=copies,
        deltas=deltas_of(others) if others.num_rows else (),
        unit_days=postgres_batch.unit_days(new),
        spans=postgres_batch.state_spans(states) if states.num_rows else None,
        notice={"lo": lo_hi["min"].as_py(), "hi": lo_hi["max"].as_py(), "n": new.num_rows},
    )
