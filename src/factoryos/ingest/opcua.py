"""OPC UA (asyncua): monitored items on the mapped nodes, reconnect with backoff, browse.

Each rule's ``opcua: {node: ...}`` becomes a monitored item of one subscription; a data change
is a reading stamped with the *server* timestamp (the source timestamp when the server gives
none), so a value read twice after a reconnect makes the same event id and is stored once. OPC UA
has no acknowledgement to hold back: delivery is at least once, deduplicated by id. A lost
connection is retried with exponential backoff (0.5 s doubling to 30 s) until stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.uaerrors import UaError

from factoryos.ingest.batching import BatchLoop, Commit, IngestOptions, Progress
from factoryos.ingest.convert import Protocol, Reading, Value
from factoryos.ingest.pipeline import Pipeline
from factoryos.model.errors import IngestError

BACKOFF_S = (0.5, 30.0)
PUBLISHING_MS = 100.0


@dataclass(frozen=True)
class BrowsedVariable:
    node_id: str
    path: str  # browse names from Objects, joined by "/"
    data_type: str
    value: str


class _Handler:
    def __init__(self, on_change: Callable[[str, Value, int], None]) -> None:
        self.on_change = on_change

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        value = data.monitored_item.Value
        stamp = value.ServerTimestamp or value.SourceTimestamp or dt.datetime.now(dt.UTC)
        if stamp.tzinfo is None:  # asyncua gives UTC without a zone
            stamp = stamp.replace(tzinfo=dt.UTC)
        plain = val if isinstance(val, bool | int | float | str) or val is None else str(val)
        self.on_change(node.nodeid.to_string(), plain, int(stamp.timestamp() * 1000))


class OpcUaIngester:
    """Subscribes to the mapping's OPC UA nodes on ``url`` and runs the batch loop."""

    def __init__(
        self,
        url: str,
        pipeline: Pipeline,
        commit: Commit,
        options: IngestOptions,
        on_batch: Progress | None = None,
    ) -> None:
        self.url = url
        self.nodes = sorted({r.opcua.node for r in pipeline.mapping.sources if r.opcua})
        if not self.nodes:
            raise IngestError("the mapping names no OPC UA node")
        self._loop = BatchLoop(pipeline, commit, options, on_batch)
        self.connections = 0

    def _on_change(self, node_id: str, value: Value, ts_ms: int) -> None:
        reading = Reading(Protocol.OPCUA, self.url, node_id, ts_ms, value)
        self._loop.offer(_take, reading)

    def run(self, stop: threading.Event) -> None:
        client = threading.Thread(target=lambda: asyncio.run(self._client(stop)), daemon=True)
        client.start()
        self._loop.run(stop)
        client.join(10)

    async def _client(self, stop: threading.Event) -> None:
        delay = BACKOFF_S[0]
        while not stop.is_set():
            try:
                async with Client(self.url, timeout=4) as client:
                    self.connections += 1
                    subscription = await client.create_subscription(
                        PUBLISHING_MS, _Handler(self._on_change)
                    )
                    await subscription.subscribe_data_change(
                        [client.get_node(n) for n in self.nodes]
                    )
                    delay = BACKOFF_S[0]
                    while not stop.is_set():
                        await asyncio.sleep(0.2)
                        await client.check_connection()
            except (OSError, TimeoutError, UaError, asyncio.CancelledError, ConnectionError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_S[1])


def browse(url: str, limit: int = 500) -> list[BrowsedVariable]:
    """Variables under Objects (breadth first, at most ``limit``), to propose a mapping."""
    try:
        return asyncio.run(_browse(url, limit))
    except (OSError, TimeoutError, UaError) as exc:
        raise IngestError(f"cannot browse {url}: {exc}") from exc


async def _browse(url: str, limit: int) -> list[BrowsedVariable]:
    found: list[BrowsedVariable] = []
    async with Client(url, timeout=4) as client:
        queue: list[tuple[Node, str]] = [(client.nodes.objects, "")]
        while queue and len(found) < limit:
            node, path = queue.pop(0)
            # one request for the children's names and classes, one for their values
            children = await node.get_children_descriptions()
            variables = []
            for child in children:
                if not path and child.NodeId.NamespaceIndex == 0:
                    continue  # the server's own objects (Server, Aliases, ...), not the plant's
                child_path = f"{path}/{child.BrowseName.Name}" if path else child.BrowseName.Name
                child_node = client.get_node(child.NodeId)
                if child.NodeClass == ua.NodeClass.Variable:
                    variables.append((child_node, child_path))
                else:
                    queue.append((child_node, child_path))
            if not variables:
                continue
            values = await client.read_attributes([n for n, _ in variables])
            for (child_node, child_path), value in zip(variables, values, strict=True):
                found.append(
                    BrowsedVariable(
                        child_node.nodeid.to_string(),
                        child_path,
                        value.Value.VariantType.name if value.Value else "",
                        repr(value.Value.Value if value.Value else None),
                    )
                )
    return found[:limit]


def _take(pipeline: Pipeline, now: int, reading: Reading) -> None:
    pipeline.opcua(reading, now)
