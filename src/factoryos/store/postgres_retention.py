"""Retention of the PostgreSQL store: raw events for N days per plant, roll-ups kept.

A policy names a node of the hierarchy (normally a plant, ``enterprise/site``) and how many days
of raw events to keep under it. Expiry drops whole monthly partitions, never deletes rows: a
month goes when it ended more than the longest policy's days ago, so no plant loses raw events
its policy keeps (a store normally holds one plant; several plants share the partitions). A
month's day packs (``postgres_packs``) go with its events. The hourly roll-ups are never
touched: they hold the KPI inputs of the expired months for years.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from factoryos.model.errors import StoreError
from factoryos.store import postgres_changes, postgres_locks, postgres_packs
from factoryos.store.postgres_rollups import REFRESH
from factoryos.store.postgres_schema import (
    EVENT_TABLES,
    existing_months,
    next_month,
    partition_name,
)


@dataclass(frozen=True, slots=True)
class Policy:
    node: str
    raw_days: int


@dataclass(frozen=True, slots=True)
class MonthPartition:
    """One month of raw events: its bounds, rows (both event tables), and whether it expires."""

    month: dt.date
    start: dt.datetime
    end: dt.datetime
    rows: int
    expired: bool


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    policies: list[Policy]
    cutoff: dt.datetime | None  # months ending at or before it expire; None: no policy
    partitions: list[MonthPartition]
    rollup_hours: int  # hours with roll-up rows: kept whatever expires

    @property
    def expiring(self) -> list[MonthPartition]:
        return [p for p in self.partitions if p.expired]


def set_policy(conn: psycopg.Connection[Any], node: str, raw_days: int) -> None:
    if raw_days <= 0:
        raise StoreError(f"raw_days must be a positive number of days, got {raw_days}")
    conn.execute(
        "INSERT INTO retention (node, raw_days) VALUES (%s, %s) "
        "ON CONFLICT (node) DO UPDATE SET raw_days = excluded.raw_days",
        (node.rstrip("/"), raw_days),
    )


def plan(conn: psycopg.Connection[Any], now: dt.datetime) -> RetentionPlan:
    """What retention would drop at ``now``, without dropping anything."""
    policies = [
        Policy(str(node), int(str(days)))
        for node, days in conn.execute("SELECT node, raw_days FROM retention ORDER BY node")
    ]
    cutoff = now - dt.timedelta(days=max(p.raw_days for p in policies)) if policies else None
    partitions = []
    for month in sorted(existing_months(conn)):
        start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
        nxt = next_month(month)
        end = dt.datetime(nxt.year, nxt.month, 1, tzinfo=dt.UTC)
        rows = 0
        for table in EVENT_TABLES:
            counted = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(partition_name(table, month))
                )
            ).fetchone()
            rows += int(counted[0]) if counted else 0
        partitions.append(
            MonthPartition(month, start, end, rows, cutoff is not None and end <= cutoff)
        )
    hours = conn.execute("SELECT count(DISTINCT hour) FROM state_hours").fetchone()
    return RetentionPlan(policies, cutoff, partitions, int(hours[0]) if hours else 0)


def apply(conn: psycopg.Connection[Any], now: dt.datetime) -> RetentionPlan:
    """Drop the expired month partitions of both event tables, in one transaction."""
    with conn.transaction():
        conn.execute("LOCK TABLE state_events, other_events, day_packs IN ACCESS EXCLUSIVE MODE")
        # the marked roll-up hours are recomputed from the events about to go: now, not after
        conn.execute(postgres_locks.LOCK, (postgres_locks.REFRESH,))
        for statement in REFRESH:
            conn.execute(statement)
        result = plan(conn, now)
        postgres_packs.drop_months(conn, [part.month for part in result.expiring])
        for part in result.expiring:
            # the aggregates read these months from roll-ups alone from now on
            conn.execute(
                "INSERT INTO expired_months (month) VALUES (%s) ON CONFLICT DO NOTHING",
                (part.month,),
            )
            for table in EVENT_TABLES:
                conn.execute(
                    sql.SQL("DROP TABLE {}").format(
                        sql.Identifier(partition_name(table, part.month))
                    )
                )
        if result.expiring:
            conn.execute(postgres_changes.RAISE)
    return result
