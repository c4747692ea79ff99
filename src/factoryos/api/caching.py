"""ETags and a response cache for what clients poll.

A tag is made from the request (path and query, so the site and every parameter) and the store's
event count (``Service.data_version``, read at most twice a second). The store is append-only
and idempotent, so an unchanged count means unchanged data: an ``If-None-Match`` that still holds
is a 304 without computing, and the body computed for a tag is kept (a small LRU per application)
and shared by every caller asking the same thing, computed once even when they ask at the same
moment (single flight). Access is checked before: the cache never answers a caller who may not
see the site.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from factoryos.app.service import Service

CACHE_SIZE = 256


class ResponseCache:
    """JSON bodies by tag, least recently used out first; one computation per tag at a time."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._flights: dict[str, threading.Lock] = {}

    def _hit(self, tag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(tag)
            if body is not None:
                self._bodies.move_to_end(tag)
            return body

    def get(self, tag: str, compute: Callable[[], bytes]) -> bytes:
        body = self._hit(tag)
        if body is not None:
            return body
        with self._lock:
            flight = self._flights.setdefault(tag, threading.Lock())
        with flight:
            body = self._hit(tag)
            if body is None:
                body = compute()
                with self._lock:
                    self._bodies[tag] = body
                    while len(self._bodies) > self._size:
                        self._bodies.popitem(last=False)
                    self._flights.pop(tag, None)
        return body


def cached_json(
    request: Request, service: Service, compute: Callable[[], Any], *extra: object
) -> Response:
    """``compute()`` as JSON with an ETag; 304 when the caller's ``If-None-Match`` still holds."""
    basis = f"{request.url.path}?{request.url.query}|{service.data_version()}|{extra!r}"
    tag = '"' + hashlib.blake2b(basis.encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if tag in request.headers.get("If-None-Match", ""):
        return Response(status_code=304, headers=headers)
    cache: ResponseCache = request.app.state.responses
    body = cache.get(
        tag, lambda: json.dumps(compute(), default=str, separators=(",", ":")).encode()
    )
    return Response(body, media_type="application/json", headers=headers)
