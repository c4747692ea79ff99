"""ETags for what clients poll: a tag from the request and the store's event count, checked
before the answer is computed, so an unchanged poll costs one count query and a 304."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from factoryos.app.service import Service


def cached_json(
    request: Request, service: Service, compute: Callable[[], Any], *extra: object
) -> Response:
    """``compute()`` as JSON with an ETag; 304 when the caller's ``If-None-Match`` still holds."""
    basis = f"{request.url.path}?{request.url.query}|{service.store.count()}|{extra!r}"
    tag = '"' + hashlib.blake2b(basis.encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if tag in request.headers.get("If-None-Match", ""):
        return Response(status_code=304, headers=headers)
    body = json.dumps(compute(), default=str, separators=(",", ":"))
    return Response(body, media_type="application/json", headers=headers)
