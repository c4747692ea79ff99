"""Twin runs and scenario comparisons as background jobs, and every job's progress."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam

from factoryos.api.deps import EngineerDep, SiteDep
from factoryos.api.schemas import ComparisonRequest, JobOut, TwinRunRequest
from factoryos.app.experiments import check_scenario, compare_job, twin_run_job

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, PathParam(max_length=40, description="A job id")]


@router.post(
    "/sites/{site}/twin-runs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run the twin (replications, 95 % intervals, bottleneck) as a background job",
)
def twin_run(ctx: EngineerDep, body: TwinRunRequest) -> JobOut:
    plant = ctx.site.plant
    job = ctx.service.jobs.submit(
        "twin-run",
        ctx.site.id,
        lambda progress: twin_run_job(plant, body.days, body.seed, body.replications, progress),
    )
    return JobOut.of(job)


@router.post(
    "/sites/{site}/comparisons",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Compare a scenario overlay with the base plant (common random numbers)",
)
def comparison(ctx: EngineerDep, body: ComparisonRequest) -> JobOut:
    folder = ctx.service.work_dir / ctx.site.id / "scenarios" / uuid.uuid4().hex[:12]
    scenario = check_scenario(ctx.site.plant_path, body.scenario, folder)
    plant_path = ctx.site.plant_path
    job = ctx.service.jobs.submit(
        "comparison",
        ctx.site.id,
        lambda progress: compare_job(
            plant_path, scenario, body.days, body.seed, body.replications, progress
        ),
    )
    return JobOut.of(job)


@router.get("/sites/{site}/jobs", summary="The site's background jobs")
def jobs(ctx: SiteDep) -> list[JobOut]:
    return [JobOut.of(j) for j in ctx.service.jobs.list(ctx.site.id)]


@router.get("/sites/{site}/jobs/{job}", summary="One job: status, progress, result")
def job(ctx: SiteDep, job: JobId) -> JobOut:
    found = ctx.service.jobs.get(job)
    if found is None or found.site != ctx.site.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job!r} at {ctx.site.id!r}")
    return JobOut.of(found)
