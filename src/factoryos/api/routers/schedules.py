"""Plans: create from an order book (a background job), read, Gantt rows, dispatch lists per work
unit and shift, repair (another job, making a child plan)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam

from factoryos.api.deps import PlannerDep, SiteContext, SiteDep
from factoryos.api.schemas import JobOut, PlanRequest, RepairRequest
from factoryos.app.plans import DownSpan, check_objective
from factoryos.model.errors import ParameterError

router = APIRouter(tags=["schedules"])

PlanId = Annotated[str, PathParam(pattern=r"^[a-f0-9]{12}$", description="A plan id")]


def _known(ctx: SiteContext, plan: str) -> str:
    if plan not in ctx.plans.ids():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan {plan!r} at {ctx.site.id!r}")
    return plan


@router.post(
    "/sites/{site}/schedules",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Plan an order book (CP-SAT) as a background job",
)
def create(ctx: PlannerDep, body: PlanRequest) -> JobOut:
    plan_id = ctx.plans.new(body.orders_csv, body.objective)
    plans = ctx.plans
    job = ctx.service.jobs.submit(
        "schedule", ctx.site.id, lambda progress: plans.solve(plan_id, body.time_limit_s, progress)
    )
    return JobOut.of(job)


@router.get("/sites/{site}/schedules", summary="The site's plans")
def list_plans(ctx: SiteDep) -> list[dict[str, Any]]:
    return [ctx.plans.summary(p) for p in ctx.plans.ids()]


@router.get("/sites/{site}/schedules/{plan}", summary="A plan: KPIs and its operations")
def read(ctx: SiteDep, plan: PlanId) -> dict[str, Any]:
    _known(ctx, plan)
    out = ctx.plans.summary(plan)
    if out.get("status") == "done":
        out["operations"] = ctx.plans.operations(plan)
    return out


@router.get("/sites/{site}/schedules/{plan}/gantt", summary="Gantt bars; what a repair moved")
def gantt(ctx: SiteDep, plan: PlanId) -> dict[str, Any]:
    _known(ctx, plan)
    out = ctx.plans.gantt(plan)
    out["now"] = ctx.service.now(ctx.site.id).isoformat()
    out["timezone"] = ctx.site.plant.site.timezone
    return out


@router.get(
    "/sites/{site}/schedules/{plan}/dispatch",
    summary="Dispatch list: one work unit's operations starting in one shift",
)
def dispatch(
    ctx: SiteDep,
    plan: PlanId,
    equipment: Annotated[str, Query(max_length=64)],
    day: Annotated[dt.date, Query(description="The shift's local day")],
    shift: Annotated[str, Query(max_length=64)],
    unit: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> list[dict[str, Any]]:
    _known(ctx, plan)
    return ctx.plans.dispatch(plan, equipment, unit, day, shift)


@router.post(
    "/sites/{site}/schedules/{plan}/repair",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Repair a plan at `now` after downtime, as a background job",
)
def repair(ctx: PlannerDep, plan: PlanId, body: RepairRequest) -> JobOut:
    _known(ctx, plan)
    check_objective(body.objective, single=True)
    if ctx.plans.summary(plan).get("status") != "done":
        raise ParameterError("plan", plan, "only a solved plan can be repaired")
    equipment = ctx.site.plant.equipment_by_id
    for i, d in enumerate(body.down):
        eq = equipment.get(d.equipment)
        if eq is None or d.unit > eq.units:
            raise ParameterError(f"down[{i}].equipment", f"{d.equipment}/{d.unit}", "no such unit")
        if d.end <= d.start:
            raise ParameterError(f"down[{i}].end", d.end.isoformat(), "ends before it starts")
    spans = [DownSpan(d.equipment, d.unit, d.start, d.end) for d in body.down]
    plans = ctx.plans
    job = ctx.service.jobs.submit(
        "repair",
        ctx.site.id,
        lambda progress: plans.repair(
            plan,
            now=body.now,
            down=spans,
            objective=body.objective,
            time_limit_s=body.time_limit_s,
            progress=progress,
        ),
    )
    return JobOut.of(job)
