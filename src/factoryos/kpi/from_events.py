"""Aggregate events held in memory into the rows a store would return for the same query.

This is the plain, obviously-correct definition of the store aggregates: the contract suite checks
every backend's SQL against it, and it lets the KPI engine run on events that were never stored.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from factoryos.kpi.report import AggregateRows
from factoryos.model.aggregates import (
    AggregateQuery,
    CountTotal,
    EnergyTotal,
    FailureTotal,
    GroupValues,
    PeriodKind,
    PlannedPeriod,
    StateTime,
)
from factoryos.model.events import EnergyReading, Event, ProductionCount, StateChange
from factoryos.model.states import FAILURE_STATES


class _Tiles:
    """The tiles of one calendar key, searchable by instant."""

    def __init__(self, tiles: list[PlannedPeriod]) -> None:
        self.tiles = sorted(tiles, key=lambda t: t.start)
        self.starts = [t.start for t in self.tiles]

    def at(self, instant: dt.datetime) -> PlannedPeriod | None:
        i = bisect.bisect_right(self.starts, instant) - 1
        if i >= 0 and self.tiles[i].start <= instant < self.tiles[i].end:
            return self.tiles[i]
        return None

    def overlapping(self, start: dt.datetime, end: dt.datetime) -> list[PlannedPeriod]:
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        out = []
        while i < len(self.tiles) and self.tiles[i].start < end:
            if self.tiles[i].end > start:
                out.append(self.tiles[i])
            i += 1
        return out


def aggregate_events(
    events: Iterable[Event], query: AggregateQuery, *, by_reason: bool = False
) -> AggregateRows:
    """The four aggregates of ``query`` over ``events`` (any order; duplicates by id ignored)."""
    tiles_by_key: dict[str, list[PlannedPeriod]] = defaultdict(list)
    for tile in query.periods:
        tiles_by_key[tile.key].append(tile)
    tiles = {key: _Tiles(t) for key, t in tiles_by_key.items()}

    def group_of(path: str, tile: PlannedPeriod) -> GroupValues:
        keys = query.group_by
        return GroupValues(
            path=path if "path" in keys else None,
            local_day=tile.local_day if "local_day" in keys else None,
            shift=tile.shift if "shift" in keys else None,
        )

    def in_scope(path: str) -> bool:
        node = query.node.rstrip("/")
        under = path == node or path.startswith(node + "/")
        return under and path in query.calendar_key_of_path

    seen: set[str] = set()
    states: dict[str, list[StateChange]] = defaultdict(list)
    state_time: dict[tuple[GroupValues, PeriodKind, str, str | None], float] = defaultdict(float)
    counts: dict[tuple[GroupValues, str, str, str | None], list[int]] = defaultdict(
        lambda: [0, 0, 0]
    )
    energy: dict[GroupValues, list[float]] = defaultdict(lambda: [0.0, 0.0])
    failures: dict[GroupValues, list[float]] = defaultdict(lambda: [0, 0.0])

    for event in events:
        if event.event_id in seen or not in_scope(event.path):
            continue
        seen.add(event.event_id)
        key_tiles = tiles[query.calendar_key_of_path[event.path]]
        if isinstance(event, StateChange):
            states[event.path].append(event)
            continue
        if not query.start <= event.ts < query.end:
            continue
        holder = key_tiles.at(event.ts)
        if holder is None:
            continue
        group = group_of(event.path, holder)
        if isinstance(event, ProductionCount):
            row = counts[(group, event.path, event.product, event.operation)]
            row[0] += event.good
            row[1] += event.scrap
            row[2] += event.rework
        elif isinstance(event, EnergyReading):
            energy[group][0] += event.energy_kwh
            energy[group][1] += event.energy_kwh * holder.price_cny_per_kwh

    failure_values = {s.value for s in FAILURE_STATES}
    for path, changes in states.items():
        changes.sort(key=lambda e: (e.ts, e.event_id))
        key_tiles = tiles[query.calendar_key_of_path[path]]
        previous_state: str | None = None
        for i, change in enumerate(changes):
            begin = max(change.ts, query.start)
            end = changes[i + 1].ts if i + 1 < len(changes) else query.end
            end = min(end, query.end)
            state = change.state.value
            is_failure = state in failure_values
            if (
                is_failure
                and previous_state not in failure_values
                and query.start <= change.ts < query.end
            ):
                entered = key_tiles.at(change.ts)
                if entered is not None:
                    failures[group_of(path, entered)][0] += 1
            previous_state = state
            if end <= begin:
                continue
            if is_failure:
                first = key_tiles.at(begin)
                if first is not None:
                    failures[group_of(path, first)][1] += (end - begin).total_seconds()
            reason = change.reason if by_reason else None
            for tile in key_tiles.overlapping(begin, end):
                seconds = (min(end, tile.end) - max(begin, tile.start)).total_seconds()
                state_time[(group_of(path, tile), tile.kind, state, reason)] += seconds

    return AggregateRows(
        states=[StateTime(g, k, s, r, secs) for (g, k, s, r), secs in state_time.items()],
        counts=[
            CountTotal(g, path, product, op, *row) for (g, path, product, op), row in counts.items()
        ],
        energy=[EnergyTotal(g, kwh, cost) for g, (kwh, cost) in energy.items()],
        failures=[FailureTotal(g, int(n), secs) for g, (n, secs) in failures.items()],
    )
