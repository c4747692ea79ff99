"""The service's own records: background jobs and the live loop's proposals and adoptions, so
that a restarted server shows what it did before (the port and its DuckDB backend).

The store keeps what it is given: a job's status, progress and JSON result, a proposal as the
JSON document the loop makes of it, and per site the plan the loop adopted last. What a job or
a proposal means is the application's business (``factoryos.app.jobs``,
``factoryos.app.loop_records``). A job still queued or running when its server stopped is
marked ``interrupted`` by the next server of its site (:meth:`RecordStore.interrupt_jobs`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from factoryos.store.duckdb_tables import DuckDBTables

__all__ = ["UNFINISHED", "DuckDBRecordStore", "JobRecord", "RecordStore"]

UNFINISHED = ("queued", "running")  # job statuses a server's stop cuts short

_DDL = """
CREATE TABLE IF NOT EXISTS jobs (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    progress DOUBLE NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    result VARCHAR,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS loop_proposals (
    id VARCHAR PRIMARY KEY,
    site VARCHAR NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    doc VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS loop_adoptions (
    site VARCHAR PRIMARY KEY,
    plan VARCHAR NOT NULL,
    adopted TIMESTAMPTZ NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A background job as stored: ``result`` is JSON-ready, ``status`` one of queued, running,
    done, failed, interrupted."""

    id: str
    kind: str
    site: str
    status: str
    progress: float
    created: dt.datetime
    result: dict[str, Any] | None = None
    error: str | None = None


class RecordStore(Protocol):
    """Where jobs, loop proposals and adoptions persist."""

    def put_job(self, job: JobRecord) -> None:
        """Insert or replace the job of that id."""
        ...

    def jobs(self, sites: Sequence[str]) -> list[JobRecord]:
        """The jobs of ``sites``, oldest first."""
        ...

    def interrupt_jobs(self, sites: Sequence[str], error: str) -> int:
        """Mark the unfinished jobs of ``sites`` interrupted with ``error``; how many."""
        ...

    def put_proposal(
        self, site: str, proposal_id: str, created: dt.datetime, doc: dict[str, Any]
    ) -> None:
        """Insert or replace a proposal's document."""
        ...

    def proposals(self, site: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` proposal documents of ``site``, oldest first."""
        ...

    def put_adoption(self, site: str, plan: str, adopted: dt.datetime) -> None: ...

    def adoptions(self) -> dict[str, tuple[str, dt.datetime]]:
        """Per site, the plan the loop adopted last and when."""
        ...

    def close(self) -> None: ...


def job_row(job: JobRecord) -> tuple[Any, ...]:
    """A job as the backends' ``jobs`` row (the result as JSON text)."""
    result = None if job.result is None else json.dumps(job.result, default=str)
    return (job.id, job.kind, job.site, job.status, job.progress, job.created, result, job.error)


def job_of(row: Sequence[Any]) -> JobRecord:
    result = None if row[6] is None else json.loads(row[6])
    return JobRecord(row[0], row[1], row[2], row[3], float(row[4]), row[5], result, row[7])


def utc(ts: dt.datetime) -> dt.datetime:
    """DuckDB hands TIMESTAMPTZ back in the session's zone: the same instant, in UTC."""
    return ts.astimezone(dt.UTC)


class DuckDBRecordStore(DuckDBTables):
    """A :class:`RecordStore` in a DuckDB file (the event store's file is fine) or ``:memory:``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        super().__init__(path, _DDL, "the service records")

    def put_job(self, job: JobRecord) -> None:
        with self._guard("storing a job") as con:
            con.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", job_row(job))

    def jobs(self, sites: Sequence[str]) -> list[JobRecord]:
        with self._guard("reading jobs") as con:
            rows = con.execute(
                "SELECT * FROM jobs WHERE list_contains(?, site) ORDER BY created, id",
                [list(sites)],
            ).fetchall()
        return [job_of((*r[:5], utc(r[5]), *r[6:])) for r in rows]

    def interrupt_jobs(self, sites: Sequence[str], error: str) -> int:
        with self._guard("marking interrupted jobs") as con:
            rows = con.execute(
                "UPDATE jobs SET status = 'interrupted', error = ? "
                "WHERE list_contains(?, site) AND list_contains(?, status) RETURNING id",
                [error, list(sites), list(UNFINISHED)],
            ).fetchall()
        return len(rows)

    def put_proposal(
        self, site: str, proposal_id: str, created: dt.datetime, doc: dict[str, Any]
    ) -> None:
        with self._guard("storing a loop proposal") as con:
            con.execute(
                "INSERT OR REPLACE INTO loop_proposals VALUES (?, ?, ?, ?)",
                [proposal_id, site, created, json.dumps(doc, default=str)],
            )

    def proposals(self, site: str, limit: int) -> list[dict[str, Any]]:
        with self._guard("reading loop proposals") as con:
            rows = con.execute(
                "SELECT doc FROM loop_proposals WHERE site = ? ORDER BY created DESC, id DESC "
                "LIMIT ?",
                [site, limit],
            ).fetchall()
        return [json.loads(r[0]) for r in reversed(rows)]

    def put_adoption(self, site: str, plan: str, adopted: dt.datetime) -> None:
        with self._guard("storing an adoption") as con:
            con.execute(
                "INSERT OR REPLACE INTO loop_adoptions VALUES (?, ?, ?)", [site, plan, adopted]
            )

    def adoptions(self) -> dict[str, tuple[str, dt.datetime]]:
        with self._guard("reading adoptions") as con:
            rows = con.execute("SELECT site, plan, adopted FROM loop_adoptions").fetchall()
        return {site: (plan, utc(at)) for site, plan, at in rows}
