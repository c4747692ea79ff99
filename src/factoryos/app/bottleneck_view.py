"""The bottleneck of a node from its stored states, by the average active period method (Roser,
Nakano and Tanaka 2001): a unit is *active* unless it waits (starved, blocked, idle, off); the
equipment whose uninterrupted active periods are longest on average constrains the line. Works
the same on a real plant's events and on the twin's."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from factoryos.app.queries import STATE_LOOKBACK, Window
from factoryos.model import EventKind, MachineState, Plant
from factoryos.model.errors import FactoryosError
from factoryos.store.protocol import EventStore

__all__ = ["bottleneck_json"]

WAITING = frozenset(
    {MachineState.STARVED, MachineState.BLOCKED, MachineState.IDLE, MachineState.OFF}
)


def bottleneck_json(store: EventStore, plant: Plant, window: Window) -> dict[str, Any]:
    span = store.time_range()
    if span is None:
        raise FactoryosError("the store holds no events: import or simulate some first")
    start = window.start or span[0]
    end = window.end or span[1] + dt.timedelta(microseconds=1)
    table = store.events(start - STATE_LOOKBACK, end, window.node, [EventKind.STATE])
    units = plant.work_unit_by_path
    periods: dict[str, list[float]] = defaultdict(list)  # equipment -> active period lengths
    active_since: dict[str, dt.datetime] = {}
    for path, state, ts in zip(
        table["path"].to_pylist(), table["state"].to_pylist(), table["ts"].to_pylist(), strict=True
    ):
        if path not in units:
            continue
        active = MachineState(state) not in WAITING
        since = active_since.get(path)
        if since is not None and not active:
            _close(periods[units[path].equipment.id], since, ts, start)
            del active_since[path]
        elif since is None and active:
            active_since[path] = ts
    for path, since in active_since.items():
        _close(periods[units[path].equipment.id], since, end, start)
    pools = sorted(
        (
            {
                "equipment": eq,
                "active_periods": len(lengths),
                "mean_active_period_s": sum(lengths) / len(lengths),
                "active_s": sum(lengths),
            }
            for eq, lengths in periods.items()
            if lengths
        ),
        key=lambda p: -float(p["mean_active_period_s"]),
    )
    return {
        "node": window.node,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "method": "average active period (Roser, Nakano, Tanaka 2001)",
        "bottleneck": pools[0]["equipment"] if pools else None,
        "pools": pools,
    }


def _close(out: list[float], since: dt.datetime, until: dt.datetime, start: dt.datetime) -> None:
    seconds = (until - max(since, start)).total_seconds()
    if seconds > 0:
        out.append(seconds)
