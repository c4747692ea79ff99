"""Background jobs survive a server restart, on the embedded DuckDB file and on PostgreSQL: a job
done before is shown with its result, one that was running when the server stopped is shown
``interrupted`` (not lost, not running forever), over HTTP as in the service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from factoryos.api import create_app
from factoryos.app.jobs import INTERRUPTED, Progress
from factoryos.app.service import Service, ServiceSettings
from tests.api.conftest import PASSWORD, PLANT_A
from tests.pg import drop_schemas, fresh_schema_url, pg_unavailable

SITE = "jiading"


@pytest.fixture(params=["duckdb-file", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        if why := pg_unavailable():
            pytest.skip(why)
        yield fresh_schema_url()
        drop_schemas()
    else:
        yield str(tmp_path / "plant.duckdb")


def _service(db: str, tmp_path: Path) -> Service:
    return Service(ServiceSettings((PLANT_A,), db=db, work_dir=tmp_path / "work"))


def _close(service: Service) -> None:
    service.jobs.shutdown()
    service.records.close()
    service.accounts.users.close()
    service.store.close()


def test_jobs_outlive_the_server_and_a_running_one_comes_back_interrupted(
    db: str, tmp_path: Path
) -> None:
    first = _service(db, tmp_path)
    release = threading.Event()
    started = threading.Event()

    def blocked(progress: Progress) -> dict[str, object]:
        progress(0.25)
        started.set()
        release.wait(30)
        return {"late": True}

    done = first.jobs.submit("twin-run", SITE, lambda progress: {"finished": 7, "days": 2.0})
    assert first.jobs.wait(done.id, 10) is not None
    running = first.jobs.submit("comparison", SITE, blocked)
    queued = first.jobs.submit("schedule", SITE, lambda progress: {"never": True})
    assert started.wait(10)
    second = None
    try:
        # the server dies here: the next one on the same store finds what it left
        second = _service(db, tmp_path)
        jobs = {j.id: j for j in second.jobs.list(SITE)}
        assert list(jobs) == [done.id, running.id, queued.id]
        assert jobs[done.id].status == "done" and jobs[done.id].result == {
            "finished": 7,
            "days": 2.0,
        }
        assert jobs[done.id].created == done.created
        for job_id in (running.id, queued.id):
            assert jobs[job_id].status == "interrupted" and jobs[job_id].error == INTERRUPTED
        # progress is stored at most once a second: the last stored or the one before it
        assert jobs[running.id].progress in (0.0, 0.25)

        second.accounts.add("ada", PASSWORD)
        second.accounts.grant("ada", "viewer", SITE)
        with TestClient(create_app(second.settings, service=second)) as client:
            r = client.post("/api/v1/auth/token", data={"username": "ada", "password": PASSWORD})
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            listed = client.get(f"/api/v1/sites/{SITE}/jobs", headers=h).json()
            assert [(j["id"], j["status"]) for j in listed] == [
                (done.id, "done"),
                (running.id, "interrupted"),
                (queued.id, "interrupted"),
            ]
            one = client.get(f"/api/v1/sites/{SITE}/jobs/{running.id}", headers=h).json()
            assert one["error"] == INTERRUPTED
            # a new job does not take an old one's id
            new = second.jobs.submit("twin-run", SITE, lambda progress: {})
            assert new.id not in jobs
            assert second.jobs.wait(new.id, 10) is not None
    finally:
        release.set()
        assert first.jobs.wait(running.id, 10) is not None
        for service in (first, second):
            if service is not None:
                _close(service)


def test_a_server_that_stops_marks_its_queued_jobs_interrupted(db: str, tmp_path: Path) -> None:
    service = _service(db, tmp_path)
    release = threading.Event()
    started = threading.Event()

    def blocked(progress: Progress) -> dict[str, object]:
        started.set()
        release.wait(30)
        return {}

    service.jobs.submit("comparison", SITE, blocked)
    queued = service.jobs.submit("schedule", SITE, lambda progress: {})
    assert started.wait(10)
    service.jobs.shutdown()
    release.set()
    job = service.jobs.get(queued.id)
    assert job is not None and job.status == "interrupted"
    (stored,) = [j for j in service.records.jobs([SITE]) if j.id == queued.id]
    assert stored.status == "interrupted"
    _close(service)
