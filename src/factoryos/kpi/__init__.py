"""ISO 22400 KPIs, energy and cost figures: pure functions from aggregated events to numbers.

``build_query`` turns a plant, a window and a node into the aggregate query a store answers (or
``aggregate_events`` answers from events in memory); ``compute_report`` turns the answer into KPIs
per group, with the six big losses and a downtime Pareto.
"""

from factoryos.kpi.elements import GroupInputs, Maintenance, Quantities, Resources, TimeElements
from factoryos.kpi.from_events import aggregate_events
from factoryos.kpi.losses import ParetoEntry, SixBigLosses
from factoryos.kpi.periods import calendar_key_of_path, planned_periods
from factoryos.kpi.report import (
    AggregateRows,
    GroupBy,
    KpiGroup,
    KpiReport,
    build_query,
    compute_report,
    kpis,
)

__all__ = [
    "AggregateRows",
    "GroupBy",
    "GroupInputs",
    "KpiGroup",
    "KpiReport",
    "Maintenance",
    "ParetoEntry",
    "Quantities",
    "Resources",
    "SixBigLosses",
    "TimeElements",
    "aggregate_events",
    "build_query",
    "calendar_key_of_path",
    "compute_report",
    "kpis",
    "planned_periods",
]
