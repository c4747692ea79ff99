"""Signing in and out: a browser session (cookies) or an OAuth2 bearer token."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from factoryos.api.deps import CSRF_COOKIE, SESSION_COOKIE, PrincipalDep, ServiceDep
from factoryos.app.accounts import SESSION_TTL
from factoryos.model.errors import AccessError

router = APIRouter(prefix="/auth", tags=["auth"])


def _login(service: ServiceDep, username: str, password: str) -> str:
    try:
        return service.accounts.login(username, password)
    except AccessError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


@router.post("/login", summary="Sign in a browser: session and CSRF cookies")
def login(
    response: Response,
    service: ServiceDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> dict[str, Any]:
    token = _login(service, username, password)
    csrf = secrets.token_urlsafe(24)
    secure = service.settings.secure_cookies
    age = int(SESSION_TTL.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, token, max_age=age, httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, samesite="strict", secure=secure)
    return {"user": username, "csrf": csrf}


@router.post("/token", summary="OAuth2 password flow: a bearer token")
def token(
    service: ServiceDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, str]:
    return {"access_token": _login(service, form.username, form.password), "token_type": "bearer"}


@router.post("/logout", summary="End this session or token")
def logout(
    request: Request, response: Response, service: ServiceDep, principal: PrincipalDep
) -> dict[str, str]:
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    service.accounts.logout(token or request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return {"user": principal.name}


@router.get("/me", summary="Who is signed in, and their roles per site")
def me(principal: PrincipalDep, service: ServiceDep) -> dict[str, Any]:
    return {
        "user": principal.name,
        "roles": {site: sorted(r.value for r in roles) for site, roles in principal.roles.items()},
        "sites": [s for s in sorted(service.sites) if principal.can_read(s)],
    }
