"""Read use cases of the service: windows and nodes checked, KPIs, losses, drill-down, events.

Every bad parameter is a :class:`ParameterError` naming the field and its value; the HTTP layer
turns it into a 422. Dates are local midnight in the plant's zone; a date-time must carry its UTC
offset (a window without a zone is ambiguous).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from factoryos.app.kpi_json import group_to_json, report_to_json
from factoryos.app.kpis import kpi_report
from factoryos.kpi.report import GroupBy, KpiReport
from factoryos.model import EventKind, Plant
from factoryos.model.errors import ParameterError
from factoryos.model.states import TIME_ELEMENT_OF_STATE, TimeElement
from factoryos.store.protocol import EventStore

STATE_LOOKBACK = dt.timedelta(days=45)

__all__ = ["Window", "drill_events", "drill_kpi", "event_page", "kpis_json", "losses_json"]


def parse_instant(field: str, text: str, plant: Plant) -> dt.datetime:
    """``YYYY-MM-DD`` (local midnight of the plant) or a date-time with its offset, in UTC."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(0), plant.zone).astimezone(dt.UTC)
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            field, text, "expected YYYY-MM-DD or an ISO date-time with offset"
        ) from None
    if instant.tzinfo is None:
        raise ParameterError(
            field, text, "a date-time needs its UTC offset (e.g. 2026-03-02T08:00+08:00)"
        )
    return instant.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """A checked query: node (full path) and [start, end), either end None for "the data's"."""

    node: str
    start: dt.datetime | None
    end: dt.datetime | None

    @classmethod
    def parse(cls, plant: Plant, node: str | None, start: str | None, end: str | None) -> Window:
        path = resolve_node(plant, node)
        lo = parse_instant("from", start, plant) if start else None
        hi = parse_instant("to", end, plant) if end else None
        if lo is not None and hi is not None and hi <= lo:
            raise ParameterError("to", end, f"the window ends before or when it starts ({start})")
        return cls(path, lo, hi)

    def until(self, now: dt.datetime) -> Window:
        """The window cut at the site's clock when ``now`` falls inside it: a unit's last state
        would otherwise run on into hours that have not happened yet (a shift still to come
        showing availability, the current one a performance as if its end were reached)."""
        if (self.start is None or self.start < now) and (self.end is None or now < self.end):
            return Window(self.node, self.start, now)
        return self


def resolve_node(plant: Plant, node: str | None) -> str:
    """A node as a full hierarchy path; a path relative to the site is accepted."""
    if not node:
        return plant.root_path
    path = node.strip("/")
    if not path.startswith(plant.root_path):
        path = f"{plant.root_path}/{path}"
    if not plant.node_exists(path):
        raise ParameterError("node", node, f"no work unit of site {plant.site.id!r} lies under it")
    return path


def report(store: EventStore, plant: Plant, window: Window, by: GroupBy) -> KpiReport:
    return kpi_report(store, plant, start=window.start, end=window.end, node=window.node, by=by)


def kpis_json(store: EventStore, plant: Plant, window: Window, by: GroupBy) -> dict[str, Any]:
    """The ``factoryos.kpi/2`` document (docs/kpi-json.md), as ``factoryos kpi --json``."""
    return report_to_json(report(store, plant, window, by))


def losses_json(store: EventStore, plant: Plant, window: Window) -> dict[str, Any]:
    """The six big losses (seconds) and the downtime Pareto of the window."""
    doc = kpis_json(store, plant, window, GroupBy.TOTAL)
    return {
        "node": doc["node"],
        "from": doc["from"],
        "to": doc["to"],
        "losses_s": doc["total"]["losses_s"],
        "downtime_pareto": doc["downtime_pareto"],
    }


def drill_kpi(store: EventStore, plant: Plant, window: Window, kpi: str) -> dict[str, Any]:
    """One KPI, the time elements and quantities it is computed from, and the same per work
    unit below the node (the next step is :func:`drill_events`)."""
    rep = report(store, plant, window, GroupBy.EQUIPMENT)
    if kpi not in rep.total.kpis:
        raise ParameterError("kpi", kpi, f"choose from {sorted(rep.total.kpis)}")
    total = group_to_json(rep.total)
    return {
        "kpi": kpi,
        "node": rep.node,
        "from": rep.start.isoformat(),
        "to": rep.end.isoformat(),
        "value": total["kpis"][kpi],
        "time_elements_s": total["time_elements_s"],
        "quantities": total["quantities"],
        "units": [
            {
                "path": g["group"]["path"],
                "value": g["kpis"][kpi],
                "time_elements_s": g["time_elements_s"],
                "quantities": g["quantities"],
            }
            for g in map(group_to_json, rep.groups)
        ],
    }


def drill_events(
    store: EventStore,
    plant: Plant,
    window: Window,
    element: TimeElement,
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The state intervals behind a time element: each state event whose state counts toward
    ``element``, with how long it lasted inside the window (until the unit's next state).
    Intervals are whole state intervals clipped to the window, not yet to planned busy time."""
    if window.start is None or window.end is None:
        raise ParameterError("from", None, "drilling down to events needs both from and to")
    states = {s.value for s, e in TIME_ELEMENT_OF_STATE.items() if e is element}
    # a unit's state at the window start is its last earlier event (within a holiday's reach)
    since = window.start - STATE_LOOKBACK
    table = store.events(since, window.end, window.node, [EventKind.STATE])
    intervals: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}
    for row in table.select(["event_id", "ts", "path", "state", "reason"]).to_pylist():
        _close(open_.pop(row["path"], None), row["ts"], window, intervals)
        if row["state"] in states:
            open_[row["path"]] = row
    for row in open_.values():
        _close(row, window.end, window, intervals)
    intervals.sort(key=lambda r: (r["start"], r["path"]))
    return {
        "element": element.value,
        "states": sorted(states),
        "total": len(intervals),
        "seconds": sum(r["seconds"] for r in intervals),
        "items": intervals[offset : offset + limit],
    }


def _close(
    row: dict[str, Any] | None, until: dt.datetime, window: Window, out: list[dict[str, Any]]
) -> None:
    assert window.start is not None and window.end is not None
    if row is None:
        return
    lo, hi = max(row["ts"], window.start), min(until, window.end)
    if hi > lo:
        out.append(
            {
                "event_id": row["event_id"],
                "path": row["path"],
                "state": row["state"],
                "reason": row["reason"],
                "start": lo.astimezone(dt.UTC).isoformat(),
                "end": hi.astimezone(dt.UTC).isoformat(),
                "seconds": (hi - lo).total_seconds(),
            }
        )


def event_page(
    store: EventStore,
    window: Window,
    kinds: list[EventKind] | None,
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Stored events of the window under the node, oldest first, a page at a time."""
    table: pa.Table = store.events(window.start, window.end, window.node, kinds)
    page = table.slice(offset, limit).to_pylist()
    for row in page:
        row["ts"] = row["ts"].astimezone(dt.UTC).isoformat()
        for key in [k for k, v in row.items() if v is None]:
            del row[key]
    return {"total": table.num_rows, "limit": limit, "offset": offset, "items": page}
