"""KPI reports from a store: build the query from the plant, ask the store, compute the KPIs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict

from factoryos.kpi.report import AggregateRows, GroupBy, KpiReport, build_query, compute_report
from factoryos.model.aggregates import AggregateQuery, PlannedPeriod
from factoryos.model.errors import FactoryosError
from factoryos.model.plant import Plant
from factoryos.store.protocol import EventStore


def kpi_report(
    store: EventStore,
    plant: Plant,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    node: str | None = None,
    by: GroupBy = GroupBy.TOTAL,
) -> KpiReport:
    """KPIs of ``node`` over [start, end); the window defaults to the stored events' span."""
    if start is None or end is None:
        span = store.time_range()
        if span is None:
            raise FactoryosError("the store holds no events: import or simulate some first")
        # whole local days: from the first event's midnight up to the next midnight at or after
        # the last event (a log that ends at midnight does not gain an empty day)
        start = start or _local_midnight(span[0], plant, days_after=0)
        end = end or _local_midnight_at_or_after(span[1], plant)
    query = _query(plant, start, end, node, by)
    rows = AggregateRows(
        states=store.state_time(query, by_reason=True),
        counts=store.count_totals(query),
        energy=store.energy_totals(query),
        failures=store.failure_totals(query),
    )
    # states per work unit over the window, to check each unit's effectiveness
    unit_states = (
        None
        if by is GroupBy.EQUIPMENT
        else store.state_time(dataclasses.replace(query, group_by=("path",)))
    )
    return compute_report(plant, query, by, rows, unit_states)


def _local_midnight_at_or_after(instant: dt.datetime, plant: Plant) -> dt.datetime:
    midnight = _local_midnight(instant, plant, days_after=0)
    return midnight if midnight == instant else _local_midnight(instant, plant, days_after=1)


def _local_midnight(instant: dt.datetime, plant: Plant, days_after: int) -> dt.datetime:
    local_day = instant.astimezone(plant.zone).date() + dt.timedelta(days=days_after)
    return dt.datetime.combine(local_day, dt.time(0), plant.zone).astimezone(dt.UTC)


class _Tilings:
    """Recent calendar tilings by plant and window: tiling a month is a tenth of a KPI report,
    and a server is asked the same windows again and again. A plant is not changed once loaded;
    an entry holds its plant, so the ``id`` in its key is not reused while it is kept."""

    SIZE = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[int, dt.datetime, dt.datetime], _Tiling] = OrderedDict()

    def periods(
        self, plant: Plant, start: dt.datetime, end: dt.datetime
    ) -> tuple[PlannedPeriod, ...] | None:
        with self._lock:
            kept = self._kept.get((id(plant), start, end))
            if kept is None or kept[0] is not plant:
                return None
            self._kept.move_to_end((id(plant), start, end))
            return kept[1]

    def keep(self, query: AggregateQuery, plant: Plant) -> None:
        with self._lock:
            self._kept[(id(plant), query.start, query.end)] = (plant, query.periods)
            while len(self._kept) > self.SIZE:
                self._kept.popitem(last=False)


_Tiling = tuple[Plant, tuple[PlannedPeriod, ...]]
_TILINGS = _Tilings()


def _query(
    plant: Plant, start: dt.datetime, end: dt.datetime, node: str | None, by: GroupBy
) -> AggregateQuery:
    periods = _TILINGS.periods(plant, start, end)
    query = build_query(plant, start, end, node, by, periods)
    if periods is None:
        _TILINGS.keep(query, plant)
    return query
