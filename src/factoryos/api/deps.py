"""Dependencies of the HTTP layer, as ``Annotated`` aliases the routers declare.

The dependencies are coroutines (a thread hop per dependency costs more than their work); the
store is asked from a worker thread only when a session is not in the accounts' short cache.
Authentication accepts a bearer token (``Authorization: Bearer``, from ``/auth/token``) or the
session cookie set by ``/auth/login``. A cookie-authenticated request that changes something must
echo the CSRF cookie in the ``X-CSRF-Token`` header (double submit; the cookies are SameSite=Strict
as well). Site scoping happens in ONE place, :func:`site_scope`: every site route takes
:data:`SiteDep`, which answers 404 for a site that does not exist *or* that the caller may not
read, so that other sites' existence does not leak.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from factoryos.app.accounts import Principal
from factoryos.app.plans import PlanStore
from factoryos.app.service import Service, Site

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "PrincipalDep",
    "ServiceDep",
    "SiteDep",
    "require_write",
]

SESSION_COOKIE = "factoryos_session"
CSRF_COOKIE = "factoryos_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Set by /auth/login")


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def current_principal(
    request: Request,
    service: ServiceDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The signed-in caller, or 401; a cookie session that writes needs the CSRF header."""
    token = bearer.credentials if bearer is not None else cookie
    principal = None
    if token:  # a recent session is answered on the event loop, others by the store
        principal = service.accounts.cached_session(token) or await run_in_threadpool(
            service.accounts.session, token
        )
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in first (POST /api/v1/auth/login or /api/v1/auth/token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if bearer is None and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(sent, expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class SiteContext:
    """A site the caller may read, with what the routes need of it."""

    site: Site
    principal: Principal
    service: Service

    @property
    def plans(self) -> PlanStore:
        return self.service.plans[self.site.id]


SiteId = Annotated[
    str, Path(description="A site id (the plant's site.id)", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
]


async def site_scope(site: SiteId, principal: PrincipalDep, service: ServiceDep) -> SiteContext:
    """The one place where a request is scoped to the caller's sites."""
    found = service.sites.get(site)
    if found is None or not principal.can_read(site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site!r}")
    return SiteContext(found, principal, service)


SiteDep = Annotated[SiteContext, Depends(site_scope)]


def require_write(resource: str) -> object:
    """A dependency: the caller holds a role on the site that may write ``resource``."""

    def check(ctx: SiteDep) -> SiteContext:
        if not ctx.principal.can_write(ctx.site.id, resource):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{ctx.principal.name!r} may not change {resource} of site {ctx.site.id!r}",
            )
        return ctx

    return Depends(check)


PlannerDep = Annotated[SiteContext, require_write("schedules")]
EngineerDep = Annotated[SiteContext, require_write("twin")]
