"""Advisory locks of the PostgreSQL store, scoped to the store's schema.

PostgreSQL's advisory locks are per database, while a store is a schema: one database may hold
several stores (plants, the tests' one schema per test). A lock key is therefore a hash of the
schema's name (and, for a unit, its path), never a bare constant: with bare keys the appends of
two stores with the same unit paths, and their roll-up refreshes, waited for each other
(measured: a 500,000-event profile spent 11.3 of 66 s waiting on the unit locks of a benchmark
appending in another schema).
"""

from __future__ import annotations

MIGRATION = 0x66_6F_73_01  # purposes: "fos" + a number, the seed of the schema name's hash
PARTITION = 0x66_6F_73_02
REFRESH = 0x66_6F_73_04

# One purpose's lock in the current schema, until the transaction ends: ``(purpose,)``.
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), %s))"

# The units of a batch, sorted (every writer locks in one order, so none waits in a cycle).
LOCK_UNITS = """
SELECT count(pg_advisory_xact_lock(hashtextextended(current_schema() || ' ' || p, 7)))
FROM (SELECT p FROM unnest(%(units)s::text[]) p ORDER BY p COLLATE "C") u
"""
