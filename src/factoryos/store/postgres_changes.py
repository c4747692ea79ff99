"""A count of the store's changes: what lets a report's aggregates reuse one read.

The aggregates of one report read the same window (``kpi_report``: states, counts, energy,
failures), and the raw reads fetch what they share once (``postgres_raw_sql.KeptRead``, the
failures ``state_time`` summed). That is right only while nothing the reads see has changed.
``pg_current_snapshot()`` told that before, but it moves with any commit anywhere on the server
(another schema's ingester, another database): on a shared server the reuse then failed half
the time and the report read everything again. ``store_changes`` (migration 8) holds one
number per store (schema), raised by every transaction that changes what an aggregate answers:
an append (events, roll-up deltas, holes) and retention (months dropped). The raise is the
transaction's last statement, so writers of one store queue on the row only for each other's
commit.

Why a count read before a read proves the read still current: a reader notes the count, then
reads; later it reads the count again. A writer that committed before the first look is in
both the count and the read. One that committed after it raised the count past what the reader
noted (each raise waits for the previous writer's commit, so the count only grows in commit
order): the reader sees a different number and reads again. Compaction writes none: a pack is a
copy of events already there, read the same as they are. Roll-up refreshes write none either:
an aggregate refreshes before it reads roll-ups, so their answers equal the raw events' at every
count. Rows changed behind factoryos' back (a hand-edited pack) are not seen until the store
changes again or the window differs.
"""

from __future__ import annotations

DDL: tuple[str, ...] = (
    "CREATE TABLE store_changes (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
    "n bigint NOT NULL)",
    "INSERT INTO store_changes (n) VALUES (0)",
)
RAISE = "UPDATE store_changes SET n = n + 1"
COUNT = "(SELECT n FROM store_changes)::text"
