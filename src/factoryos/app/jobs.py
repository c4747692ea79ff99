"""Background jobs (plans, repairs, twin runs, scenario comparisons) with progress.

One worker thread runs them in order: the CPU-heavy solvers and twins should not fight each other
(or the live twin) for the cores. A job's function gets a ``progress`` callable taking a fraction
0..1 and returns a JSON-ready result; an exception becomes the job's error message.

Every job is also kept in the service's :class:`~factoryos.store.records.RecordStore` (each change
of status at once, progress at most every ``PROGRESS_EVERY_S``), so that a restarted server still
shows it; a job that was queued or running when its server stopped is shown ``interrupted``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Literal

from factoryos.model.errors import FactoryosError, StoreError
from factoryos.store.records import JobRecord, RecordStore

__all__ = ["Job", "JobRunner"]

Job = JobRecord
JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]
Progress = Callable[[float], None]
Work = Callable[[Progress], dict[str, Any]]

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0  # a solver reports progress many times a second; the store hears less
INTERRUPTED = "the server stopped while this job was queued or running; submit it again"


class JobRunner:
    """Runs :data:`Work` in the background; jobs are read from memory and kept in ``records``.

    ``sites``: the sites this server serves; their jobs left unfinished by an earlier server
    are marked interrupted, and every earlier job of theirs is read back."""

    def __init__(self, records: RecordStore, sites: Sequence[str]) -> None:
        self._records = records
        self._pool: ThreadPoolExecutor | None = None  # made on the first job, again after shutdown
        self._lock = threading.Lock()
        records.interrupt_jobs(sites, INTERRUPTED)
        self._jobs: dict[str, Job] = {j.id: j for j in records.jobs(sites)}
        self._saved: dict[str, float] = {}  # job id -> monotonic time of its last progress save

    def submit(self, kind: str, site: str, work: Work) -> Job:
        # unique over restarts and over servers sharing one store
        job_id = f"{kind}-{uuid.uuid4().hex[:12]}"
        job = Job(job_id, kind, site, "queued", 0.0, dt.datetime.now(dt.UTC))
        self._records.put_job(job)
        with self._lock:
            self._jobs[job_id] = job
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="factoryos-job")
            self._pool.submit(self._run, job_id, work)
        return job

    def _set(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
        now = time.monotonic()
        if "status" not in changes and now - self._saved.get(job_id, 0.0) < PROGRESS_EVERY_S:
            return
        self._saved[job_id] = now
        try:
            self._records.put_job(job)
        except StoreError:  # the job goes on; a restart will show it as last stored
            log.exception("job %s was not stored", job_id)

    def _run(self, job_id: str, work: Work) -> None:
        self._set(job_id, status="running")

        def progress(fraction: float) -> None:
            self._set(job_id, progress=min(max(fraction, 0.0), 1.0))

        try:
            result = work(progress)
        except FactoryosError as exc:
            self._set(job_id, status="failed", error=str(exc))
        except Exception as exc:  # a job must end visibly, whatever broke inside it
            self._set(job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self._set(job_id, status="done", progress=1.0, result=result)
        self._saved.pop(job_id, None)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, site: str, kind: str | None = None) -> list[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.site == site]
        return [j for j in jobs if kind is None or j.kind == kind]

    def wait(self, job_id: str, timeout_s: float) -> Job | None:
        """The job once it has ended or ``timeout_s`` passed (tests and scripts)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job.status in ("done", "failed", "interrupted"):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Drop queued jobs (interrupted); a running one ends by itself (solvers have time
        limits), or, when the process ends first, the next server marks it interrupted."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            queued = [j.id for j in self._jobs.values() if j.status == "queued"]
        for job_id in queued:
            self._set(job_id, status="interrupted", error=INTERRUPTED)
