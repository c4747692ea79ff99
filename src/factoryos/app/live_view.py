"""What a plant looks like right now: every work unit's state, since when, today's counts, and
today's OEE per line. "Today" is the plant-local day of the site's clock (the live twin's clock
when one runs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from factoryos.app.kpis import kpi_report
from factoryos.kpi.elements import GroupInputs
from factoryos.kpi.report import GroupBy, kpis
from factoryos.model import EventKind, Plant
from factoryos.store.protocol import EventStore

__all__ = ["UnitState", "line_oee_today", "local_midnight", "unit_states"]

LOOKBACKS = (dt.timedelta(days=4), dt.timedelta(days=45))
"""How far back to look for a unit's last state: a long weekend first, then a holiday."""


def local_midnight(instant: dt.datetime, plant: Plant) -> dt.datetime:
    day = instant.astimezone(plant.zone).date()
    return dt.datetime.combine(day, dt.time(0), plant.zone).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class UnitState:
    path: str
    area: str
    line: str
    equipment: str
    unit: int
    state: str | None  # None: no state known in the lookback
    reason: str | None
    since: dt.datetime | None
    good_today: int
    scrap_today: int


def _last_states(
    store: EventStore, node: str, now: dt.datetime, paths: set[str]
) -> dict[str, tuple[str, str | None, dt.datetime]]:
    found: dict[str, tuple[str, str | None, dt.datetime]] = {}
    for back in LOOKBACKS:
        table = store.events(now - back, now, node, [EventKind.STATE])
        rows = table.select(["path", "state", "reason", "ts"]).to_pylist()
        for row in rows:  # ordered by ts: the last one wins
            found[row["path"]] = (row["state"], row["reason"], row["ts"])
        if paths <= found.keys():
            break
    return found


def _counts(store: EventStore, node: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
    table = store.events(start, end, node, [EventKind.COUNT])
    return table.group_by("path").aggregate([("good", "sum"), ("scrap", "sum")])


def unit_states(store: EventStore, plant: Plant, now: dt.datetime) -> list[UnitState]:
    """Every work unit of ``plant`` in model order, as of ``now``."""
    node = plant.root_path
    end = now + dt.timedelta(microseconds=1)
    units = plant.work_units
    last = _last_states(store, node, end, {u.path for u in units})
    counts = _counts(store, node, local_midnight(now, plant), end)
    good = dict(zip(counts["path"].to_pylist(), counts["good_sum"].to_pylist(), strict=True))
    scrap = dict(zip(counts["path"].to_pylist(), counts["scrap_sum"].to_pylist(), strict=True))
    out = []
    for u in units:
        state, reason, since = last.get(u.path, (None, None, None))
        out.append(
            UnitState(
                u.path,
                u.area.id,
                u.line.id,
                u.equipment.id,
                u.unit,
                state,
                reason,
                since.astimezone(dt.UTC) if since else None,
                int(good.get(u.path) or 0),
                int(scrap.get(u.path) or 0),
            )
        )
    return out


def line_oee_today(store: EventStore, plant: Plant, now: dt.datetime) -> list[dict[str, Any]]:
    """Each line's OEE and its factors from local midnight to ``now`` (None before any PBT).

    One store query by work unit for the whole site; a line's KPIs come from the sum of its
    units' inputs, exactly as the KPI engine makes a group's figures from summed inputs."""
    start = local_midnight(now, plant)
    end = now.replace(microsecond=0)
    by_unit: dict[str, GroupInputs] = {}
    if end > start:
        rep = kpi_report(store, plant, start=start, end=end, by=GroupBy.EQUIPMENT)
        by_unit = {g.group.path or "": g.inputs for g in rep.groups}
    rate = plant.to_cny(plant.cost_rates.labour_cny_per_h)
    out = []
    for area, line in plant.lines():
        path = f"{plant.root_path}/{area.id}/{line.id}"
        mine = [i for p, i in by_unit.items() if plant.is_in_subtree(p, path)]
        figures = kpis(sum(mine, GroupInputs()), rate) if mine else {}
        out.append(
            {
                "path": path,
                "line": line.id,
                "oee": _finite(figures.get("oee_index")),
                "availability": _finite(figures.get("availability")),
                "effectiveness": _finite(figures.get("effectiveness")),
                "quality_ratio": _finite(figures.get("quality_ratio")),
            }
        )
    return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and value == value and abs(value) != float("inf") else None
