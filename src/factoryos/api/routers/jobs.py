"""Twin runs and scenario comparisons as background jobs, every job's progress, and the
ingester's dead letters."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam

from factoryos.api.deps import EngineerDep, SiteDep
from factoryos.api.schemas import ComparisonRequest, JobOut, TwinRunRequest
from factoryos.app.experiments import check_scenario, compare_job, twin_run_job
from factoryos.model.errors import FactoryosError

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


@router.get("/sites/{site}/dead-letters", summary="What the ingester could not store")
def dead_letters(
    ctx: SiteDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    replayed: Annotated[bool, Query(description="Replayed ones instead of pending")] = False,
) -> dict[str, Any]:
    if len(ctx.service.sites) > 1:
        raise FactoryosError(
            "dead letters are kept per ingester, not per site: a server of several sites does "
            "not show them"
        )
    return ctx.service.dead_letters.page(limit=limit, replayed=replayed)


@router.get("/sites/{site}/jobs", summary="The site's background jobs")
def jobs(ctx: SiteDep) -> list[JobOut]:
    return [JobOut.of(j) for j in ctx.service.jobs.list(ctx.site.id)]


@router.get("/sites/{site}/jobs/{job}", summary="One job: status, progress, result")
def job(ctx: SiteDep, job: JobId) -> JobOut:
    found = ctx.service.jobs.get(job)
    if found is None or found.site != ctx.site.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job!r} at {ctx.site.id!r}")
    return JobOut.of(found)
