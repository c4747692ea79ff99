"""The maintenance lead's view: failure risk per work unit from its latest samples and, above the
threshold, the maintenance window that costs the plan in force least (``factoryos risk score``
over HTTP; :mod:`factoryos.app.risk_view` does the joining)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from factoryos.api.caching import cached_json
from factoryos.api.deps import SiteContext, SiteDep
from factoryos.app.accounts import Role
from factoryos.app.queries import Window
from factoryos.app.risk_view import RiskModelCache, WindowAsk, plan_in_force, risk_json

router = APIRouter(tags=["risk"])

RISK_READERS = frozenset(
    {Role.MAINTENANCE, Role.ENGINEER, Role.PLANNER, Role.ADMIN, Role.PROGRAM_OFFICER}
)
_models_lock = threading.Lock()


def risk_models(request: Request, ctx: SiteContext) -> RiskModelCache:
    """The process's one classifier cache (made on first use, trained in its own thread)."""
    with _models_lock:
        models: RiskModelCache | None = getattr(request.app.state, "risk_models", None)
        if models is None:
            models = RiskModelCache(ctx.service.settings.risk_data)
            request.app.state.risk_models = models
    return models


def _plan(ctx: SiteContext) -> str | None:
    loop = ctx.service.loop
    if loop is not None:
        return loop.current(ctx.site.id)
    return plan_in_force(ctx.plans)


@router.get("/sites/{site}/risk", summary="Failure risk per work unit and maintenance windows")
async def risk(
    request: Request,
    ctx: SiteDep,
    start: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="Samples from; default: the store's first"),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description="Samples until (exclusive)")
    ] = None,
    threshold: Annotated[
        float, Query(ge=0.0, le=1.0, description="Propose maintenance at or above this risk")
    ] = 0.5,
    duration_h: Annotated[float, Query(gt=0, le=72, description="Window length")] = 4.0,
    horizon_h: Annotated[float, Query(gt=0, le=336, description="Look this far ahead")] = 48.0,
    step_h: Annotated[float, Query(gt=0, le=168, description="Candidate starts every")] = 8.0,
    time_limit_s: Annotated[
        float, Query(gt=0, le=10, description="Seconds per repair of a candidate")
    ] = 2.0,
) -> Response:
    """Units by risk (highest first; units lacking a sensor last), the threshold, and for each
    unit at or above it the cheapest maintenance window in the plan in force with its cost
    (added weighted tardiness, late orders, lost capacity = the unit's planned hours inside the
    window), the other candidates priced too. The classifier trains once per process on the
    ``serve --risk-data`` CSV, in a thread started by the first request: until it is ready the
    answer says ``training``. Maintenance, engineers, planners, admins and programme officers."""
    if not ctx.principal.roles_on(ctx.site.id) & RISK_READERS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{ctx.principal.name!r} may not read the maintenance risk of {ctx.site.id!r}",
        )
    window = Window.parse(ctx.site.plant, None, start, end)
    models = risk_models(request, ctx)
    model_status = models.state()[0]
    plan_id = _plan(ctx)
    ask = WindowAsk(
        dt.timedelta(hours=duration_h),
        dt.timedelta(hours=horizon_h),
        dt.timedelta(hours=step_h),
        time_limit_s,
    )
    return await cached_json(
        request,
        request.app.state.responses,
        lambda: risk_json(
            ctx.service.store,
            ctx.site.plant,
            models,
            ctx.plans,
            plan_id,
            threshold=threshold,
            start=window.start,
            end=window.end,
            now=None,
            ask=ask,
        ),
        bound=None,  # the latest samples of any time: every new event may change it
        # the ETag is of the request and the store's change number: the model's state and the
        # plan must be in it, or a poll after training finished would get a 304 to "training"
        extra=(plan_id, model_status),
        keep=model_status == "ready",  # a "training" answer is not kept
    )
