"""Sites, their plant hierarchy, the live state of every work unit, today's OEE per line."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response

from factoryos.api.caching import cached_json
from factoryos.api.deps import PrincipalDep, ServiceDep, SiteDep
from factoryos.app.live_view import line_oee_today, unit_states

router = APIRouter(tags=["plant"])


@router.get("/sites", summary="The sites the caller may read")
def sites(principal: PrincipalDep, service: ServiceDep) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "name": s.plant.site.name,
            "enterprise": s.plant.enterprise.name,
            "timezone": s.plant.site.timezone,
            "root": s.plant.root_path,
            "twin": s.id in service.twins,
        }
        for s in service.sites.values()
        if principal.can_read(s.id)
    ]


@router.get("/sites/{site}", summary="A site's plant: hierarchy down to the work units")
def plant(ctx: SiteDep) -> dict[str, Any]:
    p = ctx.site.plant
    return {
        "id": ctx.site.id,
        "name": p.site.name,
        "enterprise": p.enterprise.name,
        "timezone": p.site.timezone,
        "root": p.root_path,
        "now": ctx.service.now(ctx.site.id).isoformat(),
        "twin": _twin(ctx),
        "areas": [
            {
                "id": a.id,
                "name": a.name,
                "lines": [
                    {
                        "id": ln.id,
                        "name": ln.name,
                        "path": f"{p.root_path}/{a.id}/{ln.id}",
                        "calendar": p.calendar_id_of(ln),
                        "equipment": [
                            {"id": e.id, "name": e.name, "kind": str(e.kind), "units": e.units}
                            for e in ln.equipment
                        ],
                    }
                    for ln in a.lines
                ],
            }
            for a in p.areas
        ],
        "units": [u.path for u in p.work_units],
        "shifts": sorted({s.name for c in p.calendars.values() for s in c.shifts}),
    }


def _twin(ctx: SiteDep) -> dict[str, Any] | None:
    twin = ctx.service.twins.get(ctx.site.id)
    if twin is None:
        return None
    return {
        "running": twin.running,
        "speed": twin.speed,
        "started_at": twin.start_at.isoformat(),
        "events_stored": twin.stored,
        "error": None if twin.error is None else f"{type(twin.error).__name__}: {twin.error}",
    }


@router.get("/sites/{site}/units", summary="Live state of every work unit (ETag)")
async def units(request: Request, ctx: SiteDep) -> Response:
    service, site = ctx.service, ctx.site
    now = service.now(site.id)

    def compute() -> dict[str, Any]:
        rows = [dataclasses.asdict(r) for r in unit_states(service.store, site.plant, now)]
        for row in rows:
            row["since"] = row["since"].isoformat() if row["since"] else None
        return {"now": now.isoformat(), "units": rows}

    # the answer holds each unit's last state: any stored event may change it
    return await cached_json(
        request, request.app.state.responses, compute, bound=None, extra=now.date()
    )


@router.get("/sites/{site}/lines/today", summary="Today's OEE and its factors per line (ETag)")
async def lines_today(request: Request, ctx: SiteDep) -> Response:
    service, site = ctx.service, ctx.site
    now = service.now(site.id)

    def compute() -> dict[str, Any]:
        return {"now": now.isoformat(), "lines": line_oee_today(service.store, site.plant, now)}

    return await cached_json(
        request,
        request.app.state.responses,
        compute,
        bound=None,
        extra=now.replace(second=0, microsecond=0),
    )
