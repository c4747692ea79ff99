"""A count of the store's changes: what lets a report's aggregates reuse one read.

The aggregates of one report read the same window (``kpi_report``: states, counts, energy,
failures), and the raw reads fetch what they share once (``postgres_raw_sql.KeptRead``, the
failures ``state_time`` summed). That is right only while nothing the reads see has changed.
``pg_current_snapshot()`` told that before, but it moves with any commit anywhere on the server
(another schema's ingester, another database): on a shared server the reuse then failed half
the time and the report read everything again. ``store_changes`` (migration 8) holds the
store's (schema's) count, raised by every transaction that changes what an aggregate answers:
an append (events, roll-up deltas, holes) and retention (months dropped), as its last
statement. The count is the sum of 64 slots, a writer raising the slot of its backend: one row
for all made the parts of an append on several connections (``PostgresStore(connections=2)``)
commit one after the other (batches of 4,000 events: 74,000 against 84,000 events/s).

Why a count read before a read proves the read still current: a reader notes the count, then
reads; later it reads the count again. A writer that committed before the first look is in
both the count and the read. One that committed after it has raised a slot, and no slot ever
goes down, so the sum differs from what the reader noted: it reads again. Compaction writes
none: a pack is a copy of events already there, read the same as they are. Roll-up refreshes
write none either: an aggregate refreshes before it reads roll-ups, so their answers equal the
raw events' at every count. Rows changed behind factoryos' back (a hand-edited pack) are not
seen until the store changes again or the window differs.
"""

from __future__ import annotations

DDL: tuple[str, ...] = ("CREATE TABLE store_changes (slot integer PRIMARY KEY, n bigint NOT NULL)",)
RAISE = (
    "INSERT INTO store_changes AS c (slot, n) VALUES (pg_backend_pid() % 64, 1) "
    "ON CONFLICT (slot) DO UPDATE SET n = c.n + 1"
)
COUNT = "(SELECT coalesce(sum(n), 0) FROM store_changes)::text"
