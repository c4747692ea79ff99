"""KPIs (``factoryos.kpi/2``), losses and downtime Pareto, energy, drill-down to time elements
and to the events behind them, and the stored events themselves (paged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from factoryos.api.caching import cached_json
from factoryos.api.deps import SiteDep
from factoryos.app.bottleneck_view import bottleneck_json
from factoryos.app.energy_view import energy_json
from factoryos.app.queries import (
    Window,
    drill_events,
    drill_kpi,
    event_page,
    kpis_json,
    losses_json,
)
from factoryos.kpi.report import GroupBy
from factoryos.model import EventKind
from factoryos.model.states import TimeElement

router = APIRouter(tags=["kpis"])

Node = Annotated[
    str | None,
    Query(
        max_length=300,
        description="A hierarchy path (full, or relative to the site); default: the site",
    ),
]
From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="YYYY-MM-DD (local midnight) or a date-time with its offset; default: the "
        "stored data's first day",
    ),
]
To = Annotated[str | None, Query(alias="to", max_length=40, description="End (exclusive)")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")]


def _window(ctx: SiteDep, node: str | None, start: str | None, end: str | None) -> Window:
    window = Window.parse(ctx.site.plant, node, start, end)
    return window.until(ctx.service.now(ctx.site.id))


async def _cached(
    request: Request,
    ctx: SiteDep,
    asked: tuple[str | None, str | None, str | None],
    compute: Callable[[Window], Any],
) -> Response:
    """An answer over the window ``asked`` (node, from, to), kept until a change touches the
    window. A window cut at the site's clock (to the whole second) is computed afresh: its end
    moves with every request."""
    window = Window.parse(ctx.site.plant, *asked)
    cut = window.until(ctx.service.now(ctx.site.id).replace(microsecond=0))
    live = cut != window
    return await cached_json(
        request,
        request.app.state.responses,
        lambda: compute(cut),
        bound=cut.end,
        extra=cut.end if live else None,
        keep=not live,
    )


@router.get("/sites/{site}/kpis", summary="ISO 22400 KPIs as factoryos.kpi/2 (ETag)")
async def kpis(
    request: Request,
    ctx: SiteDep,
    node: Node = None,
    start: From = None,
    end: To = None,
    by: Annotated[GroupBy, Query(description="Grouping")] = GroupBy.TOTAL,
) -> Response:
    store, plant = ctx.service.store, ctx.site.plant
    return await _cached(request, ctx, (node, start, end), lambda w: kpis_json(store, plant, w, by))


@router.get("/sites/{site}/losses", summary="Six big losses and the downtime Pareto (ETag)")
async def losses(
    request: Request, ctx: SiteDep, node: Node = None, start: From = None, end: To = None
) -> Response:
    store, plant = ctx.service.store, ctx.site.plant
    return await _cached(request, ctx, (node, start, end), lambda w: losses_json(store, plant, w))


@router.get("/sites/{site}/energy", summary="kWh per unit and per 10,000 CNY, load vs tariff")
async def energy(
    request: Request, ctx: SiteDep, node: Node = None, start: From = None, end: To = None
) -> Response:
    store, plant = ctx.service.store, ctx.site.plant
    return await _cached(request, ctx, (node, start, end), lambda w: energy_json(store, plant, w))


@router.get("/sites/{site}/bottleneck", summary="The bottleneck by the active period method")
async def bottleneck(
    request: Request, ctx: SiteDep, node: Node = None, start: From = None, end: To = None
) -> Response:
    store, plant = ctx.service.store, ctx.site.plant
    return await _cached(
        request, ctx, (node, start, end), lambda w: bottleneck_json(store, plant, w)
    )


@router.get("/sites/{site}/kpis/drill", summary="A KPI's time elements, total and per work unit")
def drill(
    ctx: SiteDep,
    kpi: Annotated[str, Query(max_length=60, description="A KPI name, e.g. oee_index")],
    node: Node = None,
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    window = _window(ctx, node, start, end)
    return drill_kpi(ctx.service.store, ctx.site.plant, window, kpi)


@router.get("/sites/{site}/kpis/drill/events", summary="The state intervals behind a time element")
def drill_to_events(
    ctx: SiteDep,
    element: Annotated[TimeElement, Query(description="The time element, e.g. adot")],
    start: From = None,
    end: To = None,
    node: Node = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    window = _window(ctx, node, start, end)
    store, plant = ctx.service.store, ctx.site.plant
    return drill_events(store, plant, window, element, limit=limit, offset=offset)


@router.get("/sites/{site}/events", summary="Stored events under a node, oldest first (paged)")
def events(
    ctx: SiteDep,
    node: Node = None,
    start: From = None,
    end: To = None,
    kind: Annotated[list[EventKind] | None, Query(description="Event kinds")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    window = _window(ctx, node, start, end)
    return event_page(ctx.service.store, window, kind, limit=limit, offset=offset)
