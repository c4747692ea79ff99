"""Dispatch lists of the plan in force: per work unit, what it runs next; and their way out to
the cells over MQTT (the client itself lives in :mod:`factoryos.ingest.dispatch`)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from factoryos.ingest.dispatch import DispatchPublisher, dispatch_topic
from factoryos.ingest.mqtt import Broker
from factoryos.model import Plant

__all__ = ["DispatchOut", "dispatch_lists", "unit_topic_path"]

FIELDS = ("order_id", "product", "operation_id", "start", "end", "setup_duration_s")


def dispatch_lists(
    plant: Plant, operations: list[dict[str, Any]], now: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    """Every work unit's operations that end after ``now``, by planned start (an empty list:
    nothing for that unit)."""
    paths = {(w.equipment.id, w.unit): w.path for w in plant.work_units}
    out: dict[str, list[dict[str, Any]]] = {w.path: [] for w in plant.work_units}
    for o in operations:
        if dt.datetime.fromisoformat(o["end"]) <= now:
            continue
        path = paths.get((o["equipment_id"], int(o["unit_index"])))
        if path is not None:
            out[path].append({k: o[k] for k in FIELDS if k in o})
    for ops in out.values():
        ops.sort(key=lambda o: dt.datetime.fromisoformat(o["start"]))
    return out


def unit_topic_path(plant: Plant, path: str) -> str:
    """A unit's path below its site's root (the site is in the topic already)."""
    root = plant.root_path + "/"
    return path[len(root) :] if path.startswith(root) else path


class DispatchOut:
    """Publishes a site's dispatch lists, one retained JSON document per work unit on
    ``<prefix>/<site>/dispatch/<unit path>``."""

    def __init__(self, url: str, prefix: str, plants: dict[str, Plant]) -> None:
        self.prefix = prefix.rstrip("/")
        self.plants = plants
        client_id = f"factoryos-dispatch-{uuid.uuid4().hex[:8]}"
        self._publisher = DispatchPublisher(Broker.parse(url), client_id)

    def publish(
        self, site: str, lists: dict[str, list[dict[str, Any]]], plan: str, proposal: str
    ) -> None:
        plant = self.plants[site]
        stamp = dt.datetime.fromtimestamp(time.time(), dt.UTC).isoformat()
        self._publisher.publish(
            [
                (
                    dispatch_topic(self.prefix, site, unit_topic_path(plant, path)),
                    {
                        "site": site,
                        "unit": path,
                        "plan": plan,
                        "proposal": proposal,
                        "published_at": stamp,
                        "operations": ops,
                    },
                )
                for path, ops in lists.items()
            ]
        )

    def close(self) -> None:
        self._publisher.close()
