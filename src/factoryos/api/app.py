"""The HTTP application: ``create_app(settings)`` builds everything, nothing exists at import.

Routes live under ``/api/v1`` (one router per resource), the dashboard at ``/``. The service
(twins, KPI pusher, jobs) starts and stops with the application's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from factoryos import __version__
from factoryos.api import errors
from factoryos.api.caching import ResponseCache
from factoryos.api.routers import (
    auth,
    dashboard,
    jobs,
    kpis,
    live,
    loop,
    program,
    risk,
    schedules,
    sites,
)
from factoryos.api.timing import ServerTiming
from factoryos.app.service import Service, ServiceSettings

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(settings: ServiceSettings, *, service: Service | None = None) -> FastAPI:
    """The application over a new :class:`Service` (or the one given, e.g. by tests)."""
    svc = service if service is not None else Service(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        svc.start()
        try:
            yield
        finally:
            svc.stop()

    app = FastAPI(
        title="factoryos",
        version=__version__,
        summary="Plant model, live states, ISO 22400 KPIs, plans and the digital twin over HTTP.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.service = svc
    app.state.responses = ResponseCache(svc.changes)
    errors.install(app)
    app.add_middleware(ServerTiming)
    for router in (auth, sites, kpis, schedules, jobs, live, loop, program, risk):
        app.include_router(router.router, prefix=API_PREFIX)
    app.include_router(dashboard.router)
    return app
