"""Background jobs (plans, repairs, twin runs, scenario comparisons) with progress.

One worker thread runs them in order: the CPU-heavy solvers and twins should not fight each other
(or the live twin) for the cores. A job's function gets a ``progress`` callable taking a fraction
0..1 and returns a JSON-ready result; an exception becomes the job's error message.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal

from factoryos.model.errors import FactoryosError

__all__ = ["Job", "JobRunner"]

JobStatus = Literal["queued", "running", "done", "failed"]
Progress = Callable[[float], None]
Work = Callable[[Progress], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    site: str
    status: JobStatus
    progress: float
    created: dt.datetime
    result: dict[str, Any] | None = None
    error: str | None = None


class JobRunner:
    """Runs :data:`Work` in the background; jobs are kept (in memory) for reading."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None  # made on the first job, again after shutdown
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def submit(self, kind: str, site: str, work: Work) -> Job:
        job_id = f"{kind}-{next(self._ids)}"
        job = Job(job_id, kind, site, "queued", 0.0, dt.datetime.now(dt.UTC))
        with self._lock:
            self._jobs[job_id] = job
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="factoryos-job")
            self._pool.submit(self._run, job_id, work)
        return job

    def _set(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

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
            if job is None or job.status in ("done", "failed"):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Drop queued jobs; a running one ends by itself (solvers have time limits)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
