"""The twin as a live virtual plant: run it and publish its events over MQTT Sparkplug B, MQTT
JSON or an OPC UA server, so that each ingest path has a live source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from ruamel.yaml import YAML

from factoryos.app.simulation import DAY_S, default_start, run_id
from factoryos.ingest.json_publisher import JsonTwinPublisher, json_twin_mapping
from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.mqtt import Broker
from factoryos.ingest.opcua_twin import OpcUaTwinServer, TwinUnit, opcua_twin_mapping
from factoryos.ingest.publisher import TwinPublisher, paced, twin_mapping
from factoryos.model import Event, Plant
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.results import TwinResult
from factoryos.simulate.twin import DispatchRule
from factoryos.store.protocol import EventStore


class Format(StrEnum):
    """How the twin publishes on an MQTT broker (an ``opc.tcp://`` URL serves OPC UA instead)."""

    SPARKPLUG = "sparkplug"
    JSON = "json"


@dataclass(frozen=True)
class PublishOutcome:
    result: TwinResult
    events: int  # events the twin made
    published: int  # MQTT messages sent (births, data, deaths), or OPC UA variable writes


class _Publisher(Protocol):
    @property
    def published(self) -> int: ...

    def publish(self, event: Event) -> bool: ...


def is_opcua(url: str) -> bool:
    return url.startswith("opc.tcp://")


def twin_units(plant: Plant) -> list[TwinUnit]:
    """The plant's work units with the counters the twin can move: per operation the unit's
    equipment is eligible for, good, and scrap and rework when the operation has their rate."""
    root = plant.root_path.rstrip("/") + "/"
    units = []
    for unit in plant.work_units:
        counters = []
        for product in plant.products:
            for op in product.routing:
                if all(e.id != unit.equipment.id for e in plant.eligible_equipment(op, product)):
                    continue
                counters.append((product.id, op.id, "good"))
                if op.scrap_rate > 0:
                    counters.append((product.id, op.id, "scrap"))
                if op.rework_rate > 0:
                    counters.append((product.id, op.id, "rework"))
        units.append(TwinUnit(unit.path.removeprefix(root), tuple(counters)))
    return units


def mapping_for_twin(
    plant: Plant, url: str = "mqtt://", fmt: Format = Format.SPARKPLUG, prefix: str = "factoryos"
) -> IngestMapping:
    """The ingest mapping that reads the virtual plant of ``plant`` published at ``url``."""
    if is_opcua(url):
        return opcua_twin_mapping(plant.root_path, twin_units(plant))
    if fmt is Format.JSON:
        return json_twin_mapping(plant.root_path, plant.site.id, prefix)
    return twin_mapping(plant.root_path, plant.site.id)


def write_twin_mapping(mapping: IngestMapping, path: Path, comment: str = "") -> None:
    """Write ``mapping`` as a YAML mapping file, one rule a line."""
    document = mapping.model_dump(mode="json", exclude_defaults=True)
    document["max_future_s"] = mapping.max_future_s  # a twin's null must be said, not dropped
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None  # a rule's fields on its line
    yaml.width = 4096
    with path.open("w", encoding="utf-8") as out:
        out.write("".join(f"# {line}\n" for line in comment.splitlines()))
        yaml.dump(document, out)


def publish_simulation(
    plant: Plant,
    url: str,
    *,
    days: float,
    seed: int,
    speed: float | None = None,
    demand_per_year: float = 10_000.0,
    start: dt.datetime | None = None,
    store: EventStore | None = None,
    on_event: Callable[[Event], None] | None = None,
    fmt: Format = Format.SPARKPLUG,
    prefix: str = "factoryos",
    on_ready: Callable[[], None] | None = None,
    before_close: Callable[[int], None] | None = None,
) -> PublishOutcome:
    """Run the twin on ``plant`` and publish each event as it happens, ``speed`` times faster
    than real time (None: as fast as possible); the twin's own events also go to ``store``.

    ``url`` is a broker (``mqtt://``, publishing in ``fmt``; JSON topics start with ``prefix``)
    or an OPC UA endpoint to serve (``opc.tcp://``). ``on_ready`` is called once the publisher
    is up and before the twin runs (OPC UA clients subscribe then); ``before_close`` with the
    number published so far, after the twin ran and before the publisher closes (an OPC UA
    server keeps serving meanwhile)."""
    start = start or default_start(plant)
    horizon = days * DAY_S
    orders = tuple(steady_demand(plant, demand_per_year, horizon))
    spec = RunSpec(plant, orders, start, horizon, seed, DispatchRule.FIFO, None)
    publisher: _Publisher
    close: Callable[[], None]
    if is_opcua(url):
        server = OpcUaTwinServer(url, plant.root_path, plant.site.id, twin_units(plant), start)
        server.start()
        publisher, close = server, server.close
    elif fmt is Format.JSON:
        json_out = JsonTwinPublisher(
            Broker.parse(url), plant.root_path, plant.site.id, plant.zone, prefix=prefix
        )
        publisher, close = json_out, json_out.close
    else:
        sparkplug = TwinPublisher(Broker.parse(url), plant.root_path, plant.site.id)
        end_ms = int((start.timestamp() + horizon) * 1000)
        publisher, close = sparkplug, lambda: sparkplug.close(end_ms)
    own: list[Event] = []

    def sink(event: Event) -> None:
        publisher.publish(event)
        if store is not None:
            own.append(event)
        if on_event is not None:
            on_event(event)

    made = 0

    def count(event: Event) -> None:
        nonlocal made
        made += 1
        sink(event)

    try:
        if on_ready is not None:
            on_ready()
        result = spec.twin(0, sink=paced(speed, count), run_id=run_id(spec)).run()
        if before_close is not None:
            if isinstance(publisher, OpcUaTwinServer):
                publisher.flush()  # the last millisecond's values, served while waiting
            before_close(publisher.published)
    finally:
        close()
    if store is not None:
        store.append(own)
    return PublishOutcome(result, made, publisher.published)
