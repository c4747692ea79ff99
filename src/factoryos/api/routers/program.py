"""The programme officer's view across the city's factories (registry, targets, rankings, award
shortlist, robot density), and a plant's own maturity assessment for its site's users.

The ``/program`` routes read the programme registry the server was started with (``serve
--registry``) and answer only the ``program_officer`` role; everyone else gets 403 whatever the
registry holds. ``/sites/{site}/assessment`` is scoped like every site route (404 for a site the
caller may not read).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from factoryos.api.caching import cached_json
from factoryos.api.deps import PrincipalDep, ServiceDep, SiteDep
from factoryos.app.accounts import Principal, Role
from factoryos.app.assess_json import site_assessment_json
from factoryos.app.program_serving import (
    Filters,
    ProgramRegistry,
    density_view_json,
    factories_json,
    factory_json,
    rankings_json,
    shortlist_json,
    targets_json,
)
from factoryos.app.queries import Window, parse_instant
from factoryos.model.errors import ParameterError
from factoryos.store.users import ALL_SITES

router = APIRouter(tags=["program"])


def programme_registry(principal: PrincipalDep, service: ServiceDep) -> ProgramRegistry:
    """403 unless the caller is a programme officer; 404 when the server has no registry."""
    if Role.PROGRAM_OFFICER not in principal.roles.get(ALL_SITES, frozenset()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{principal.name!r} is not a programme officer (role program_officer on site '*')",
        )
    if service.program is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "this server has no programme registry (start it with serve --registry FILE)",
        )
    return service.program


RegistryDep = Annotated[ProgramRegistry, Depends(programme_registry)]
Year = Annotated[
    int, Query(ge=2000, le=2100, description="Award year of the shortlist (and of the view)")
]
THIS_YEAR = 2025


async def _view_json(
    request: Request, service: ServiceDep, registry: ProgramRegistry, build: Any
) -> Response:
    """A view answer with an ETag over the registry file's version as well as the store's."""
    return await cached_json(
        request,
        request.app.state.responses,
        build,
        bound=None,
        extra=registry.path.stat().st_mtime_ns,
    )


@router.get("/program/factories", summary="The registry's factories, filtered (best score first)")
async def factories(
    request: Request,
    service: ServiceDep,
    registry: RegistryDep,
    district: Annotated[str | None, Query(max_length=60)] = None,
    industry: Annotated[str | None, Query(max_length=60)] = None,
    level: Annotated[int | None, Query(ge=0, le=5)] = None,
    year: Year = THIS_YEAR,
) -> Response:
    filters = Filters(district, industry, level)
    return await _view_json(
        request, service, registry, lambda: factories_json(registry.view(year), filters)
    )


@router.get(
    "/program/factories/{factory_id:path}",
    summary="One factory's assessment: level, sub-domain scores, gains with intervals, density",
)
def factory(
    registry: RegistryDep,
    factory_id: Annotated[str, Path(max_length=200, description="A registry factory id")],
    year: Year = THIS_YEAR,
) -> dict[str, Any]:
    try:
        return factory_json(registry.view(year), registry.scores(factory_id), factory_id)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no factory {factory_id!r}") from None


@router.get("/program/targets", summary="The programme's targets with progress")
async def targets(
    request: Request, service: ServiceDep, registry: RegistryDep, year: Year = THIS_YEAR
) -> Response:
    return await _view_json(request, service, registry, lambda: targets_json(registry.view(year)))


@router.get("/program/rankings", summary="Rankings by district and by industry")
async def rankings(
    request: Request, service: ServiceDep, registry: RegistryDep, year: Year = THIS_YEAR
) -> Response:
    return await _view_json(request, service, registry, lambda: rankings_json(registry.view(year)))


@router.get("/program/shortlist", summary="The award shortlist of a year, with the reasons")
async def shortlist(
    request: Request, service: ServiceDep, registry: RegistryDep, year: Year = THIS_YEAR
) -> Response:
    return await _view_json(request, service, registry, lambda: shortlist_json(registry.view(year)))


@router.get(
    "/program/density",
    summary="Robot density by industry and district against 383 (Shanghai) and the IFR figures",
)
async def density(
    request: Request, service: ServiceDep, registry: RegistryDep, year: Year = THIS_YEAR
) -> Response:
    return await _view_json(
        request, service, registry, lambda: density_view_json(registry.view(year))
    )


Period = Annotated[
    str | None,
    Query(max_length=90, description="A..B (YYYY-MM-DD or date-times with offsets)"),
]


def _period(ctx: SiteDep, field: str, text: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    if text is None:
        return None
    lo, sep, hi = text.partition("..")
    if not sep or not lo or not hi:
        raise ParameterError(field, text, "expected A..B, e.g. 2026-03-02..2026-03-09")
    start, end = (parse_instant(field, x, ctx.site.plant) for x in (lo, hi))
    if end <= start:
        raise ParameterError(field, text, "the period ends before or when it starts")
    return start, end


@router.get(
    "/sites/{site}/assessment",
    summary="The plant's maturity assessment (GB/T 39116/39117) from its stored events",
)
async def site_assessment(
    request: Request,
    ctx: SiteDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    baseline: Period = None,
    current: Period = None,
) -> Response:
    window = Window.parse(ctx.site.plant, None, start, end)
    evidence = None
    if window.start is not None or window.end is not None:
        first_last = ctx.service.store.time_range()
        lo = window.start or (first_last[0] if first_last else dt.datetime.now(dt.UTC))
        hi = window.end or ctx.service.now(ctx.site.id)
        evidence = (lo, hi)
    base, cur = _period(ctx, "baseline", baseline), _period(ctx, "current", current)
    if (base is None) != (cur is None):
        raise ParameterError("current" if cur is None else "baseline", None, "gains need both")
    service, site = ctx.service, ctx.site
    answers = service.answers.get(site.id)
    return await cached_json(
        request,
        request.app.state.responses,
        lambda: site_assessment_json(service.store, site.plant, answers, evidence, base, cur),
        bound=None,
    )


def _is_officer(principal: Principal) -> bool:
    return Role.PROGRAM_OFFICER in principal.roles.get(ALL_SITES, frozenset())


@router.get("/program/me", summary="Whether the caller may open the programme view")
def me(principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    return {"program_officer": _is_officer(principal), "registry": service.program is not None}
