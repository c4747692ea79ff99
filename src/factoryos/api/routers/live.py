"""Live updates as Server-Sent Events: state changes as they are stored, KPIs about every second.

Each message is ``event: state|kpi`` with a JSON ``data`` line that carries ``stored_at`` (wall
clock seconds when it was stored), so a client can measure its own latency. A comment line every
15 s keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from factoryos.api.deps import SiteDep
from factoryos.app.hub import LiveMessage

router = APIRouter(tags=["live"])

QUEUE_SIZE = 10_000  # a client this far behind loses messages rather than the server's memory
KEEPALIVE_S = 15.0


def _format(message: LiveMessage) -> str:
    data = json.dumps({**message.data, "site": message.site, "stored_at": message.stored_at})
    return f"event: {message.kind}\ndata: {data}\n\n"


@router.get(
    "/sites/{site}/live",
    summary="Server-Sent Events: state changes and KPI updates of the site",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(request: Request, ctx: SiteDep) -> StreamingResponse:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[LiveMessage] = asyncio.Queue(QUEUE_SIZE)

    def put(message: LiveMessage) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(message)

    def deliver(message: LiveMessage) -> None:
        loop.call_soon_threadsafe(put, message)

    service = ctx.service
    unsubscribe = service.hub.subscribe(frozenset({ctx.site.id}), deliver)

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            idle = 0.0
            while not service.stopping and not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=1.0)
                except TimeoutError:
                    idle += 1.0
                    if idle >= KEEPALIVE_S:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                idle = 0.0
                yield _format(message)
        finally:
            unsubscribe()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
