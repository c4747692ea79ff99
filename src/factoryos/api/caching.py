"""ETags, Last-Modified and a response cache for what clients poll.

An answer is cached under its request (path and query, so the site and every parameter) with the
end of the window it covers (its *bound*; None when it depends on everything stored). The
service's :class:`~factoryos.app.changes.ChangeLog` drops the answers a change can alter: new
events from instant ``lo`` on alter only windows ending after ``lo``, so a month's KPIs stay
cached while a live plant appends today's events. Identical requests arriving together are
computed once (single flight); an answer computed while a change that touches it arrived is
served but not kept.

Each cached answer has a strong ETag (the request and the change number it was computed at) and
a Last-Modified (the second after it was computed, never later than now): a poll with an
``If-None-Match`` that still holds, or without one and an ``If-Modified-Since`` at or after it,
is a 304 without computing. Access is checked before (the site dependency): the cache never
answers a caller who may not see the site. A hit is served on the event loop; only a miss goes
to a worker thread.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from factoryos.app.changes import ChangeLog, touches

CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Answer:
    tag: str
    body: bytes
    bound: dt.datetime | None
    computed_at: float  # wall clock (s)

    def last_modified(self, now: float) -> int:
        """Whole seconds: after the computation (a client's copy dated then is this answer),
        not in the future."""
        return min(math.floor(self.computed_at) + 1, math.floor(now))


class ResponseCache:
    """JSON answers by request, least recently used out first, dropped by changes that touch
    them; one computation per request at a time."""

    def __init__(self, changes: ChangeLog, size: int = CACHE_SIZE) -> None:
        self._changes = changes
        self._size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._flights: dict[str, threading.Lock] = {}
        changes.subscribe(self.invalidate)

    def peek(self, key: str) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def get(
        self, key: str, bound: dt.datetime | None, compute: Callable[[], bytes], keep: bool = True
    ) -> Answer:
        """The cached answer, or ``compute()`` (blocking; call from a worker thread)."""
        answer = self.peek(key)
        if answer is not None:
            return answer
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            answer = self.peek(key)
            if answer is not None:
                return answer
            seq = self._changes.seq
            body = compute()
            digest = hashlib.blake2b(f"{key}|{seq}".encode(), digest_size=12).hexdigest()
            answer = Answer(f'"{digest}"', body, bound, time.time())
            with self._lock:
                self._flights.pop(key, None)
                # under the lock: a change recorded from now on finds the answer and drops it
                if keep and not self._changes.touched_since(seq, bound):
                    self._answers[key] = answer
                    while len(self._answers) > self._size:
                        self._answers.popitem(last=False)
        return answer

    def invalidate(self, lo: dt.datetime | None) -> None:
        """Events from ``lo`` on were stored: drop the answers they can alter."""
        with self._lock:
            for key in [k for k, a in self._answers.items() if touches(lo, a.bound)]:
                del self._answers[key]


def _not_modified(request: Request, answer: Answer) -> bool:
    tags = request.headers.get("If-None-Match")
    if tags is not None:  # it takes precedence over If-Modified-Since (RFC 9110 13.2.2)
        return tags.strip() == "*" or answer.tag in [t.strip() for t in tags.split(",")]
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC asks
    if when.tzinfo is None:
        return False
    # the caller's copy is dated after this answer was computed: it is this answer
    return answer.computed_at < when.timestamp()


async def cached_json(
    request: Request,
    cache: ResponseCache,
    compute: Callable[[], Any],
    *,
    bound: dt.datetime | None,
    extra: object = None,
    keep: bool = True,
) -> Response:
    """``compute()`` as JSON with ETag and Last-Modified; 304 when the caller's copy holds.

    ``bound``: the end of the window the answer covers (None: it depends on everything stored);
    ``extra``: what else the answer depends on besides the request (e.g. the site's day);
    ``keep=False``: an answer nobody will ask for again (a window cut at this moment)."""
    key = f"{request.url.path}?{request.url.query}|{extra!r}"
    answer = cache.peek(key)
    if answer is None:

        def body() -> bytes:
            return json.dumps(compute(), default=str, separators=(",", ":")).encode()

        answer = await run_in_threadpool(cache.get, key, bound, body, keep)
    modified = answer.last_modified(time.time())
    headers = {
        "ETag": answer.tag,
        "Last-Modified": email.utils.formatdate(modified, usegmt=True),
        "Cache-Control": "private, no-cache",
    }
    if _not_modified(request, answer):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)
