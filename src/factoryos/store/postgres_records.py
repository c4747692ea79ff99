"""The service's records (jobs, loop proposals and adoptions) on a PostgreSQL server, beside its
events: the tables of migration 6 (``postgres_schema``), in the URL's ``?schema=``.

Same semantics as :class:`~factoryos.store.records.DuckDBRecordStore`. One connection per store,
serialised by a lock (jobs and the loop write from their own threads); a lost connection is
reopened once per call. The schema is prepared as the event store prepares it: created when
empty, refused when older (``factoryos db upgrade``) or newer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from factoryos.store import postgres_schema
from factoryos.store.postgres_tables import PostgresTables
from factoryos.store.records import UNFINISHED, JobRecord

__all__ = ["PostgresRecordStore"]


_UPSERT_JOB = """
INSERT INTO jobs VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET status = excluded.status, progress = excluded.progress,
    result = excluded.result, error = excluded.error"""


class PostgresRecordStore(PostgresTables):
    """A :class:`~factoryos.store.records.RecordStore` on PostgreSQL."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "the service records")

    def _set_up(self, conn: psycopg.Connection[Any]) -> None:
        postgres_schema.prepare(conn, self.url.shown)

    def put_job(self, job: JobRecord) -> None:
        result = None if job.result is None else Jsonb(job.result, dumps=_dumps)
        row = (job.id, job.kind, job.site, job.status, job.progress, job.created, result, job.error)
        self._run("storing a job", lambda c: c.execute(_UPSERT_JOB, row))

    def jobs(self, sites: Sequence[str]) -> list[JobRecord]:
        def read(c: psycopg.Connection[Any]) -> list[JobRecord]:
            rows = c.execute(
                "SELECT id, kind, site, status, progress, created, result, error FROM jobs "
                "WHERE site = ANY(%s) ORDER BY created, id",
                (list(sites),),
            ).fetchall()
            return [JobRecord(*r) for r in rows]

        return self._run("reading jobs", read)

    def interrupt_jobs(self, sites: Sequence[str], error: str) -> int:
        return self._run(
            "marking interrupted jobs",
            lambda c: (
                c.execute(
                    "UPDATE jobs SET status = 'interrupted', error = %s "
                    "WHERE site = ANY(%s) AND status = ANY(%s)",
                    (error, list(sites), list(UNFINISHED)),
                ).rowcount
            ),
        )

    def put_proposal(
        self, site: str, proposal_id: str, created: dt.datetime, doc: dict[str, Any]
    ) -> None:
        self._run(
            "storing a loop proposal",
            lambda c: c.execute(
                "INSERT INTO loop_proposals VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (proposal_id, site, created, Jsonb(doc, dumps=_dumps)),
            ),
        )

    def proposals(self, site: str, limit: int) -> list[dict[str, Any]]:
        rows = self._run(
            "reading loop proposals",
            lambda c: c.execute(
                "SELECT doc FROM loop_proposals WHERE site = %s "
                "ORDER BY created DESC, id DESC LIMIT %s",
                (site, limit),
            ).fetchall(),
        )
        return [r[0] for r in reversed(rows)]

    def put_adoption(self, site: str, plan: str, adopted: dt.datetime) -> None:
        self._run(
            "storing an adoption",
            lambda c: c.execute(
                "INSERT INTO loop_adoptions VALUES (%s, %s, %s) ON CONFLICT (site) "
                "DO UPDATE SET plan = excluded.plan, adopted = excluded.adopted",
                (site, plan, adopted),
            ),
        )

    def adoptions(self) -> dict[str, tuple[str, dt.datetime]]:
        rows = self._run(
            "reading adoptions",
            lambda c: c.execute("SELECT site, plan, adopted FROM loop_adoptions").fetchall(),
        )
        return {site: (plan, at) for site, plan, at in rows}


def _dumps(obj: Any) -> str:
    """JSON as the DuckDB backend writes it: what JSON lacks (dates) as its text."""
    return json.dumps(obj, default=str)
