"""The service's records (jobs, loop proposals, adoptions) on every backend, and that they outlive
the store that wrote them: DuckDB in memory and in a file, PostgreSQL on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from factoryos.model.errors import StoreError
from factoryos.store.postgres_records import PostgresRecordStore
from factoryos.store.postgres_store import PostgresStore
from factoryos.store.records import DuckDBRecordStore, JobRecord, RecordStore
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
Opener = Callable[[], RecordStore]


@pytest.fixture(params=["duckdb-file", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same records again and again (a server and the one after it)."""
    if request.param == "postgres":
        if why := pg_unavailable():
            pytest.skip(why)
        url = fresh_schema_url()
        yield lambda: PostgresRecordStore(url)
        drop_schemas()
    else:
        path = tmp_path / "records.duckdb"
        yield lambda: DuckDBRecordStore(path)


def _job(n: int, site: str, status: str, **more: Any) -> JobRecord:
    return JobRecord(
        f"schedule-{n}", "schedule", site, status, 0.5, T0 + dt.timedelta(minutes=n), **more
    )


def test_jobs_outlive_the_store_and_unfinished_ones_are_interrupted(opener: Opener) -> None:
    first = opener()
    result = {"plan": "p1", "makespan_h": 12.5, "at": T0.isoformat(), "rows": [1, 2]}
    first.put_job(_job(1, "jiading", "done", result=result))
    first.put_job(_job(2, "jiading", "running"))
    first.put_job(_job(3, "jiading", "queued"))
    first.put_job(_job(4, "pudong", "running"))
    first.put_job(_job(5, "jiading", "failed", error="no feasible plan"))
    first.close()

    second = opener()
    assert second.interrupt_jobs(["jiading"], "the server stopped") == 2
    jobs = {j.id: j for j in second.jobs(["jiading"])}
    assert [j.id for j in second.jobs(["jiading"])] == [f"schedule-{n}" for n in (1, 2, 3, 5)]
    assert jobs["schedule-1"].result == result and jobs["schedule-1"].status == "done"
    assert jobs["schedule-1"].created == T0 + dt.timedelta(minutes=1)
    assert jobs["schedule-1"].created.utcoffset() == dt.timedelta(0)
    for n in (2, 3):
        assert jobs[f"schedule-{n}"].status == "interrupted"
        assert jobs[f"schedule-{n}"].error == "the server stopped"
    assert jobs["schedule-5"].status == "failed" and jobs["schedule-5"].error == "no feasible plan"
    # another site's server is its own business: its running job is left alone
    assert [j.status for j in second.jobs(["pudong"])] == ["running"]
    second.close()


def test_a_job_is_replaced_by_its_newer_state(opener: Opener) -> None:
    records = opener()
    records.put_job(_job(1, "jiading", "running"))
    records.put_job(_job(1, "jiading", "done", result={"ok": True}))
    assert [(j.status, j.result) for j in records.jobs(["jiading"])] == [("done", {"ok": True})]
    records.close()


def test_proposals_newest_kept_oldest_first_and_adoptions(opener: Opener) -> None:
    first = opener()
    for n in range(5):
        doc = {"id": f"p{n}", "status": "held", "summary": {"moved": n}}
        first.put_proposal("jiading", f"p{n}", T0 + dt.timedelta(seconds=n), doc)
    first.put_proposal("jiading", "p4", T0 + dt.timedelta(seconds=4), {"id": "p4", "status": "x"})
    first.put_proposal("pudong", "q0", T0, {"id": "q0"})
    first.put_adoption("jiading", "plan-a", T0)
    first.put_adoption("jiading", "plan-b", T0 + dt.timedelta(hours=1))
    first.close()

    second = opener()
    docs = second.proposals("jiading", 3)
    assert [d["id"] for d in docs] == ["p2", "p3", "p4"]
    assert docs[0]["summary"] == {"moved": 2} and docs[2]["status"] == "x"
    assert [d["id"] for d in second.proposals("pudong", 10)] == ["q0"]
    assert second.adoptions() == {"jiading": ("plan-b", T0 + dt.timedelta(hours=1))}
    second.close()


def test_memory_records_start_empty() -> None:
    records = DuckDBRecordStore(":memory:")
    assert records.jobs(["jiading"]) == [] and records.adoptions() == {}
    assert records.interrupt_jobs(["jiading"], "x") == 0


@pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")
def test_postgres_records_refuse_a_schema_from_before_them() -> None:
    url = fresh_schema_url()
    try:
        with PostgresStore(url, upgrade=True) as store:
            # as if written by the factoryos before the newest migration
            store._conn.execute(
                "DELETE FROM schema_version "
                "WHERE version = (SELECT max(version) FROM schema_version)"
            )
        with pytest.raises(StoreError, match="factoryos db upgrade"):
            PostgresRecordStore(url)
    finally:
        drop_schemas()
