"""Energy of a node over a window: kWh per finished unit and per 10,000 CNY of value added (the
KPI engine's figures), and the hourly load against the time-of-use tariff's price."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from factoryos.app.queries import Window, report
from factoryos.kpi.report import GroupBy
from factoryos.model import EventKind, Plant
from factoryos.store.protocol import EventStore

__all__ = ["energy_json"]


def energy_json(store: EventStore, plant: Plant, window: Window) -> dict[str, Any]:
    rep = report(store, plant, window, GroupBy.TOTAL)
    kpis = rep.total.kpis
    resources = rep.total.inputs.resources
    table = store.events(rep.start, rep.end, rep.node, [EventKind.ENERGY])
    by_hour: dict[dt.datetime, float] = defaultdict(float)
    for ts, kwh in zip(table["ts"].to_pylist(), table["energy_kwh"].to_pylist(), strict=True):
        # a reading covers the hour before it: charge it to the hour it ends
        hour = (ts - dt.timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
        by_hour[hour.astimezone(dt.UTC)] += kwh or 0.0
    hours = []
    for hour in sorted(by_hour):
        local = hour.astimezone(plant.zone)
        hours.append(
            {
                "hour": local.isoformat(),
                "kwh": by_hour[hour],
                "price_cny_per_kwh": plant.to_cny(plant.tariff.price_at(local)),
            }
        )
    return {
        "node": rep.node,
        "from": rep.start.isoformat(),
        "to": rep.end.isoformat(),
        "energy_kwh": resources.energy_kwh,
        "energy_cost_cny": resources.energy_cost_cny,
        "energy_per_finished_unit_kwh": kpis.get("energy_per_finished_unit_kwh"),
        "energy_per_10k_cny_value_added_kwh": kpis.get("energy_per_10k_cny_value_added_kwh"),
        "tariff": plant.tariff.name,
        "hours": hours,
    }
