"""The dashboard: plain HTML/JS shipped inside the package, and plotly.js from the plotly
package itself (plants are often offline: no CDN, no external fonts)."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

import plotly.offline
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

ASSETS = {
    "app.js": "text/javascript",
    "i18n.js": "text/javascript",
    "loop.js": "text/javascript",
    "program.js": "text/javascript",
    "risk.js": "text/javascript",
    "session.js": "text/javascript",
    "style.css": "text/css",
}


def _asset(name: str) -> bytes:
    return resources.files("factoryos.api").joinpath("static", name).read_bytes()


@functools.cache
def _plotly() -> tuple[bytes, str]:
    body = plotly.offline.get_plotlyjs().encode()
    return body, '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


@router.get("/")
def index() -> HTMLResponse:
    return HTMLResponse(_asset("index.html"), headers={"Cache-Control": "no-cache"})


@router.get("/program")
def program_page() -> HTMLResponse:
    """The programme pages: the city view, a factory's report, a plant's own assessment."""
    return HTMLResponse(_asset("program.html"), headers={"Cache-Control": "no-cache"})


@router.get("/risk")
def risk_page() -> HTMLResponse:
    """The maintenance lead's page: failure risk per work unit and proposed windows."""
    return HTMLResponse(_asset("risk.html"), headers={"Cache-Control": "no-cache"})


@router.get("/static/plotly.min.js")
def plotly_js(request: Request) -> Response:
    body, tag = _plotly()
    headers = {"ETag": tag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("If-None-Match") == tag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type="text/javascript", headers=headers)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {name!r}")
    return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
