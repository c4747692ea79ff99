"""The twin as a live virtual plant: run it and publish its events over MQTT Sparkplug B."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from factoryos.app.simulation import DAY_S, default_start, run_id
from factoryos.ingest.mapping import IngestMapping
from factoryos.ingest.mqtt import Broker
from factoryos.ingest.publisher import TwinPublisher, paced, twin_mapping
from factoryos.model import Event, Plant
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.results import TwinResult
from factoryos.simulate.twin import DispatchRule
from factoryos.store.protocol import EventStore


@dataclass(frozen=True)
class PublishOutcome:
    result: TwinResult
    events: int  # events the twin made
    published: int  # MQTT messages sent (births, data, deaths)


def mapping_for_twin(plant: Plant) -> IngestMapping:
    """The ingest mapping that reads the virtual plant of ``plant`` back."""
    return twin_mapping(plant.root_path, plant.site.id)


def write_twin_mapping(plant: Plant, path: Path) -> None:
    """Write :func:`mapping_for_twin` as a YAML mapping file."""
    document = mapping_for_twin(plant).model_dump(mode="json", exclude_defaults=True)
    document["max_future_s"] = None  # excluded above as a non-default None: say it
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="safe", pure=True).dump(document, out)


def publish_simulation(
    plant: Plant,
    broker_url: str,
    *,
    days: float,
    seed: int,
    speed: float | None = None,
    demand_per_year: float = 10_000.0,
    start: dt.datetime | None = None,
    store: EventStore | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> PublishOutcome:
    """Run the twin on ``plant`` and publish each event as it happens, ``speed`` times faster
    than real time (None: as fast as possible); the twin's own events also go to ``store``."""
    start = start or default_start(plant)
    horizon = days * DAY_S
    orders = tuple(steady_demand(plant, demand_per_year, horizon))
    spec = RunSpec(plant, orders, start, horizon, seed, DispatchRule.FIFO, None)
    publisher = TwinPublisher(Broker.parse(broker_url), plant.root_path, plant.site.id)
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
        result = spec.twin(0, sink=paced(speed, count), run_id=run_id(spec)).run()
    finally:
        end_ms = int((start.timestamp() + horizon) * 1000)
        publisher.close(end_ms)
    if store is not None:
        store.append(own)
    return PublishOutcome(result, made, publisher.published)
