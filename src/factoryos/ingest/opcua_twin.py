"""The twin as a virtual plant over OPC UA: an asyncua server whose variables follow the twin.

The address space mirrors the plant below its site: ``Objects/<site>/<area>/<line>/<equipment>
[/<n>]`` holds, per work unit, ``State`` (a String, one of factoryos' nine states), ``EnergyKWh``
(a Double, the unit's meter: kWh consumed since the server started) and, for each product and
operation the unit can run, ``Counts/<product>/<operation>/Good`` (and ``Scrap``, ``Rework`` when
the operation has a scrap or rework rate): Int64 counters, cumulative. Node ids are strings,
``ns=2;s=<area>/<line>/<unit>/State``, so a mapping can be written once
(:func:`opcua_twin_mapping`). Before the twin runs a unit's state is ``unknown``.

Cumulative counters and meters are what make the path exact through OPC UA: a subscription may
coalesce changes, but the difference between two readings of a counter is all that happened in
between. Each value is written with the twin's time as both its source and server timestamp (the
ingester stamps events with the server timestamp). Changes of one variable within one millisecond,
the ingester's resolution, are written once with the last value: one event per variable and
millisecond, as an event id allows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server

from factoryos.ingest.mapping import IngestMapping
from factoryos.model.errors import IngestError
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange

NAMESPACE_URI = "urn:factoryos:twin"
NS = 2  # the first namespace a server registers (0 is OPC UA's, 1 the server's own)
FIELDS = {"good": "Good", "scrap": "Scrap", "rework": "Rework"}
INITIAL_STATE = "unknown"  # before the twin runs, nothing is known of a unit


@dataclass(frozen=True)
class TwinUnit:
    """A work unit on the server: its path below the plant's root (``area/line/equipment/n``)
    and the counters it has: (product, operation, field) with field good, scrap or rework."""

    rel: str
    counters: tuple[tuple[str, str, str], ...]


def node_id(rel: str, *names: str) -> str:
    return f"ns={NS};s={'/'.join((rel, *names))}"


def counter_id(rel: str, product: str, operation: str, field: str) -> str:
    return node_id(rel, "Counts", product, operation, FIELDS[field])


def opcua_twin_mapping(
    root_path: str, units: Sequence[TwinUnit], host_id: str = "factoryos"
) -> IngestMapping:
    """The mapping that reads an :class:`OpcUaTwinServer`'s variables back."""
    root = root_path.rstrip("/")
    sources: list[dict[str, object]] = []
    for unit in units:
        path = f"{root}/{unit.rel}"
        sources.append(
            {
                "opcua": {"node": node_id(unit.rel, "State")},
                "path": path,
                "kind": "state",
                "values": "factoryos",
            }
        )
        sources.append(
            {
                "opcua": {"node": node_id(unit.rel, "EnergyKWh")},
                "path": path,
                "kind": "energy",
                "cumulative": True,
            }
        )
        for product, operation, field in unit.counters:
            sources.append(
                {
                    "opcua": {"node": counter_id(unit.rel, product, operation, field)},
                    "path": path,
                    "kind": "count",
                    "field": field,
                    "product": product,
                    "operation": operation,
                    "cumulative": True,
                }
            )
    return IngestMapping.model_validate(
        {"host_id": host_id, "max_future_s": None, "sources": sources}
    )


_Scalar = str | int | float


@dataclass
class _Variable:
    node: Node
    variant: ua.VariantType
    value: _Scalar
    written: _Scalar  # what the server holds


class OpcUaTwinServer:
    """Serves the twin's work units at ``url`` (``opc.tcp://HOST:PORT[/path]``) from a thread of
    its own; :meth:`publish` is called from the twin's thread, in time order."""

    def __init__(
        self, url: str, root_path: str, site: str, units: Sequence[TwinUnit], start: dt.datetime
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "opc.tcp" or not parts.hostname or parts.port is None:
            raise IngestError(f"expected opc.tcp://HOST:PORT[/path], got {url!r}")
        self.url = url
        self.root = root_path.rstrip("/") + "/"
        self.site = site
        self.units = list(units)
        self.start_ts = start
        self.published = 0  # variable writes: one per changed variable and millisecond
        self._vars: dict[str, _Variable] = {}
        self._pending: dict[str, _Variable] = {}
        self._pending_ms: int | None = None
        self._pending_ts = start
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="opcua-twin", daemon=True)

    # -- life -------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 30.0) -> None:
        """Build the address space and listen; raises when the server cannot."""
        self._probe()
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise IngestError(f"the OPC UA server at {self.url} did not start in {timeout_s:g} s")
        if self._failure is not None:
            raise IngestError(f"cannot serve OPC UA at {self.url}: {self._failure}")

    def _probe(self) -> None:
        """Fail at once on an address in use, not after building the address space."""
        parts = urllib.parse.urlsplit(self.url)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((parts.hostname or "", parts.port or 0))
            except OSError as exc:
                raise IngestError(f"cannot serve OPC UA at {self.url}: {exc.strerror}") from exc

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start() or close()
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name(f"factoryos twin of {self.site}")
        # a virtual plant: no certificates and anonymous clients only, said rather than warned of
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        idx = await server.register_namespace(NAMESPACE_URI)
        if idx != NS:
            raise IngestError(f"namespace {NAMESPACE_URI} got index {idx}, not {NS}")
        await self._build(server)
        async with server:
            self._ready.set()
            await self._stop.wait()

    async def _build(self, server: Server) -> None:
        folders: dict[str, Node] = {
            "": await server.nodes.objects.add_object(
                ua.NodeId.from_string(f"ns={NS};s={self.site}"), ua.QualifiedName(self.site, NS)
            )
        }

        async def folder(rel: str) -> Node:
            if rel not in folders:
                parent_rel, _, name = rel.rpartition("/")
                parent = await folder(parent_rel)
                folders[rel] = await parent.add_object(
                    ua.NodeId.from_string(f"ns={NS};s={rel}"), ua.QualifiedName(name, NS)
                )
            return folders[rel]

        before = self.start_ts - dt.timedelta(milliseconds=1)

        async def variable(rel: str, name: str, value: _Scalar, vt: ua.VariantType) -> None:
            parent = await folder(rel)
            nid = node_id(rel, name)
            node = await parent.add_variable(
                ua.NodeId.from_string(nid), ua.QualifiedName(name, NS), value, vt
            )
            await server.write_attribute_value(node.nodeid, _value(value, vt, before))
            self._vars[nid] = _Variable(node, vt, value, value)

        for unit in self.units:
            await variable(unit.rel, "State", INITIAL_STATE, ua.VariantType.String)
            await variable(unit.rel, "EnergyKWh", 0.0, ua.VariantType.Double)
            for product, operation, field in unit.counters:
                rel = f"{unit.rel}/Counts/{product}/{operation}"
                await variable(rel, FIELDS[field], 0, ua.VariantType.Int64)
        self._server = server

    def close(self) -> None:
        """Write what is pending, stop serving and wait for the server's thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self.flush()
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._failure is not None and not isinstance(self._failure, asyncio.CancelledError):
            raise IngestError(f"the OPC UA server at {self.url} failed: {self._failure}")

    # -- events -----------------------------------------------------------------------------------
    def publish(self, event: Event) -> bool:
        """Apply one event to its unit's variables; False for kinds a unit does not report."""
        if not event.path.startswith(self.root):
            return False
        rel = event.path[len(self.root) :]
        changes = _changes(rel, event)
        if not changes:
            return False
        ms = int(event.ts.timestamp() * 1000)
        if self._pending_ms is not None and ms != self._pending_ms:
            self.flush()
        self._pending_ms, self._pending_ts = ms, event.ts
        for nid, value, add in changes:
            var = self._vars.get(nid)
            if var is None:
                raise IngestError(f"the OPC UA twin has no variable {nid} for event {event}")
            if add:  # a counter or meter: numbers both
                assert not isinstance(var.value, str) and not isinstance(value, str)
                var.value += value
            else:
                var.value = value
            self._pending[nid] = var
        return True

    def flush(self) -> None:
        """Write the pending changes, stamped with their millisecond's time."""
        if not self._pending or self._loop is None:
            return
        ts = self._pending_ts
        # a value written again unchanged would notify no subscriber: not a write
        changed = [v for v in self._pending.values() if v.value != v.written]
        self._pending = {}
        for v in changed:
            v.written = v.value
        writes = [(v.node, _value(v.value, v.variant, ts)) for v in changed]
        if not writes:
            return
        future = asyncio.run_coroutine_threadsafe(self._write(writes), self._loop)
        future.result(30)
        self.published += len(writes)

    async def _write(self, writes: list[tuple[Node, ua.DataValue]]) -> None:
        assert self._server is not None  # built before the server was ready
        for node, value in writes:
            await self._server.write_attribute_value(node.nodeid, value)


def _value(value: _Scalar, vt: ua.VariantType, ts: dt.datetime) -> ua.DataValue:
    stamp = cast(ua.DateTime, ts.astimezone(dt.UTC))  # asyncua's DateTime is a datetime
    return ua.DataValue(ua.Variant(value, vt), SourceTimestamp=stamp, ServerTimestamp=stamp)


def _changes(rel: str, event: Event) -> list[tuple[str, _Scalar, bool]]:
    """(variable, value, whether it adds to the variable) of one event."""
    if isinstance(event, StateChange):
        return [(node_id(rel, "State"), event.state.value, False)]
    if isinstance(event, EnergyReading):
        return [(node_id(rel, "EnergyKWh"), event.energy_kwh, True)]
    if isinstance(event, ProductionCount):
        if event.operation is None:
            raise IngestError(f"a count without its operation cannot be served: {event}")
        return [
            (counter_id(rel, event.product, event.operation, field), getattr(event, field), True)
            for field in FIELDS
            if getattr(event, field)
        ]
    return []


__all__ = [
    "NAMESPACE_URI",
    "OpcUaTwinServer",
    "TwinUnit",
    "counter_id",
    "node_id",
    "opcua_twin_mapping",
]
