"""The live loop over HTTP: the plan in force and its dispatch lists, what the loop did and why,
rush orders and scrap reports in, a planner's approval, and a breakdown drill on the live twin.

Everything here answers 409 when ``factoryos serve`` runs without ``--loop``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from factoryos.api.deps import EngineerDep, PlannerDep, SiteContext, SiteDep
from factoryos.app.live_loop import LiveLoop
from factoryos.app.loop_repair import Proposal
from factoryos.model.errors import FactoryosError, ParameterError

router = APIRouter(tags=["loop"])

ProposalId = Annotated[str, PathParam(pattern=r"^[a-f0-9]{12}$", description="A proposal id")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RushRequest(_Body):
    orders_csv: str = Field(
        min_length=1,
        max_length=200_000,
        description="Rush orders with the order book's header: order, product, quantity, "
        "release, due[, weight]",
    )


class ScrapRequest(_Body):
    order_id: str = Field(max_length=64)
    step: str = Field(max_length=128, description="The step as the plan names it")


class DrillRequest(_Body):
    path: str = Field(max_length=256, description="The work unit's path")
    duration_h: float = Field(gt=0, le=168)


def _loop(ctx: SiteContext) -> LiveLoop:
    loop = ctx.service.loop
    if loop is None:
        raise FactoryosError("the live loop is off: start with 'factoryos serve --loop auto'")
    return loop


def _current(ctx: SiteContext) -> str:
    plan = _loop(ctx).current(ctx.site.id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan in force at {ctx.site.id!r}")
    return plan


@router.get("/sites/{site}/loop", summary="The loop's policy, plan in force and known downtime")
def state(ctx: SiteDep) -> dict[str, Any]:
    loop = _loop(ctx)
    site = ctx.site.id
    proposals = loop.proposals(site)
    return {
        "policy": loop.settings.policy.value,
        "plan": loop.current(site),
        "held": [p.id for p in proposals if p.status == "held"],
        "proposals": len(proposals),
        "ignored_triggers": loop.ignored,
        "down": [
            {"equipment": d.equipment, "unit": d.unit, "start": d.start, "end": d.end}
            for d in loop.downs(site)
        ],
        "now": ctx.service.now(site).isoformat(),
    }


@router.get("/sites/{site}/loop/events", summary="What the loop did (newest first), moves and why")
def events(ctx: SiteDep, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict[str, Any]]:
    return [p.to_json() for p in _loop(ctx).proposals(ctx.site.id)[:limit]]


def _proposal(ctx: SiteContext, proposal: str) -> Proposal:
    try:
        return _loop(ctx).proposal(ctx.site.id, proposal)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {proposal!r}") from None


@router.get(
    "/sites/{site}/loop/proposals/{proposal}", summary="One repair: moves, on-time before/after"
)
def proposal(ctx: SiteDep, proposal: ProposalId) -> dict[str, Any]:
    return _proposal(ctx, proposal).to_json()


@router.post(
    "/sites/{site}/loop/proposals/{proposal}/approve",
    summary="Adopt a held repair and publish its dispatch lists",
)
def approve(ctx: PlannerDep, proposal: ProposalId) -> dict[str, Any]:
    _proposal(ctx, proposal)
    decided = _loop(ctx).decide(ctx.site.id, proposal, approve=True, by=ctx.principal.name)
    return decided.to_json()


@router.post("/sites/{site}/loop/proposals/{proposal}/reject", summary="Reject a held repair")
def reject(ctx: PlannerDep, proposal: ProposalId) -> dict[str, Any]:
    _proposal(ctx, proposal)
    decided = _loop(ctx).decide(ctx.site.id, proposal, approve=False, by=ctx.principal.name)
    return decided.to_json()


@router.post(
    "/sites/{site}/loop/rush",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Rush orders: the loop repairs the plan in force to fit them",
)
def rush(ctx: PlannerDep, body: RushRequest) -> dict[str, Any]:
    return _loop(ctx).rush(ctx.site.id, body.orders_csv, ctx.principal.name).to_json()


@router.post(
    "/sites/{site}/loop/scrap",
    status_code=status.HTTP_202_ACCEPTED,
    summary="A scrapped step (running or done): the loop remakes it",
)
def scrap(ctx: PlannerDep, body: ScrapRequest) -> dict[str, Any]:
    loop = _loop(ctx)
    steps = {
        o["operation_id"]
        for o in ctx.plans.operations(_current(ctx))
        if o["order_id"] == body.order_id
    }
    if body.step not in steps:
        raise ParameterError(
            "step", body.step, f"steps of {body.order_id} in the plan: {sorted(steps) or 'none'}"
        )
    return loop.report_scrap(ctx.site.id, body.order_id, body.step, ctx.principal.name).to_json()


@router.post(
    "/sites/{site}/loop/drill",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Break a work unit of the live twin down (a drill of the loop)",
)
def drill(ctx: EngineerDep, body: DrillRequest) -> dict[str, Any]:
    twin = ctx.service.twins.get(ctx.site.id)
    if twin is None:
        raise FactoryosError("no live twin runs: start with 'factoryos serve --twin'")
    twin.inject_outage(body.path, body.duration_h * 3600.0)
    return {"path": body.path, "duration_h": body.duration_h}


@router.get("/sites/{site}/plans/current", summary="The plan in force, with its operations")
def current_plan(ctx: SiteDep) -> dict[str, Any]:
    plan = _current(ctx)
    out = ctx.plans.summary(plan)
    out["operations"] = ctx.plans.operations(plan)
    return out


@router.get(
    "/sites/{site}/dispatch",
    summary="Dispatch lists of the plan in force: per work unit, what it runs next",
)
def dispatch(
    ctx: SiteDep,
    unit: Annotated[str | None, Query(max_length=256, description="One unit's path")] = None,
) -> dict[str, Any]:
    loop = _loop(ctx)
    plan = _current(ctx)
    lists = loop.dispatch(ctx.site.id, plan)
    if unit is not None:
        if unit not in lists:
            raise ParameterError("unit", unit, "no such work unit at this site")
        lists = {unit: lists[unit]}
    return {"plan": plan, "now": ctx.service.now(ctx.site.id).isoformat(), "units": lists}
