"""Gantt charts of a :class:`~factoryos.model.schedule.Schedule`: plotly HTML and matplotlib PNG.

Both are drawn in the plant's time zone, the way the shop floor reads a plan. The HTML carries
plotly.js inside the file, so it works on a plant network without internet. A step that pauses
(a resumable lot over a weekend, over a break) is drawn as its working pieces: the parts of its
``[start, end)`` inside its unit's calendar, not as one bar that hides the pause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from factoryos.model.calendar import shift_periods
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule, ScheduledOperation

__all__ = ["Piece", "gantt_html", "gantt_png", "working_pieces"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Piece:
    """One drawn bar: a working piece of an operation, in the plant's local time."""

    op: ScheduledOperation
    start: dt.datetime
    end: dt.datetime
    part: int  # 1-based index of the piece within its operation
    parts: int

    @property
    def row(self) -> str:
        return f"{self.op.equipment_id}/{self.op.unit_index}"

    @property
    def label(self) -> str:
        suffix = f" (part {self.part}/{self.parts})" if self.parts > 1 else ""
        return f"{self.op.order_id} {self.op.operation_id}{suffix}"


def working_pieces(schedule: Schedule, plant: Plant) -> list[Piece]:
    """Every operation as the parts of its ``[start, end)`` inside its unit's working time.

    An operation with no working time inside it (planned without a calendar) is one piece, and
    so is an unattended step, which runs through breaks and off-shift time.
    """
    zone = plant.zone
    line_of = {e.id: line for _, line, e in plant.equipment_items()}
    pieces: list[Piece] = []
    for op in schedule:
        spans = [(op.start, op.end)]
        line = line_of.get(op.equipment_id)
        if line is not None and op.end > op.start and not _runs_through(plant, op):
            calendar = plant.calendars[plant.calendar_id_of(line)]
            working = [(p.start, p.end) for p in shift_periods(calendar, zone, op.start, op.end)]
            spans = working or spans
        pieces.extend(
            Piece(op, lo.astimezone(zone), hi.astimezone(zone), i, len(spans))
            for i, (lo, hi) in enumerate(spans, start=1)
        )
    return pieces


def _runs_through(plant: Plant, op: ScheduledOperation) -> bool:
    """Whether the routing marks the step as running unattended through pauses."""
    product = plant.product_by_id.get(op.product)
    step_id = op.operation_id.rsplit(".", 1)[-1]
    step = next((s for s in product.routing if s.id == step_id), None) if product else None
    return step is not None and step.unattended


def _rows(schedule: Schedule) -> list[str]:
    units = sorted({(o.equipment_id, o.unit_index) for o in schedule})
    return [f"{equipment}/{unit}" for equipment, unit in units]


def _zone_label(plant: Plant, schedule: Schedule) -> str:
    """``Asia/Shanghai, UTC+08:00`` (the offset at the plan's start)."""
    at = schedule.start or dt.datetime.now(dt.UTC)
    offset = at.astimezone(plant.zone).isoformat()[-6:]  # "+08:00" (strftime's %:z is 3.12+)
    return f"{plant.site.timezone}, UTC{offset}"


def _local(instant: dt.datetime) -> str:
    return instant.isoformat(timespec="minutes")


def _wall(instant: dt.datetime) -> str:
    """Local wall-clock time without offset: plotly.js draws dates as given, ignoring zones."""
    return instant.replace(tzinfo=None).isoformat()


def gantt_html(
    schedule: Schedule, path: Path, plant: Plant, *, title: str = "Production plan"
) -> Path:
    """Interactive chart, one row per work unit, one colour per product, hover shows the order.

    plotly.js (about 4.5 MB) is written into the file: no CDN, so it opens offline.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    pieces = working_pieces(schedule, plant)
    for product in sorted({p.op.product for p in pieces}):
        mine = [p for p in pieces if p.op.product == product]
        fig.add_trace(
            go.Bar(
                name=product,
                orientation="h",
                y=[p.row for p in mine],
                # wall-clock length, matching the wall-clock axis (a DST change shifts an hour)
                x=[
                    (p.end.replace(tzinfo=None) - p.start.replace(tzinfo=None)).total_seconds()
                    * 1000
                    for p in mine
                ],
                base=[_wall(p.start) for p in mine],
                customdata=[
                    [
                        p.label,
                        p.start.isoformat(timespec="minutes"),
                        p.end.isoformat(timespec="minutes"),
                    ]
                    for p in mine
                ],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]} to %{customdata[2]}"
                "<extra>" + product + "</extra>",
            )
        )
    rows = _rows(schedule)
    fig.update_layout(
        title=f"{title}: {schedule.objective_name} {schedule.objective:g} ({schedule.status})",
        barmode="overlay",
        xaxis={"type": "date", "title": f"local time ({_zone_label(plant, schedule)})"},
        yaxis={"categoryorder": "array", "categoryarray": rows[::-1]},
        height=max(400, 18 * len(rows)),
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def gantt_png(
    schedule: Schedule, path: Path, plant: Plant, *, title: str = "Production plan"
) -> Path:
    """Static chart for reports, in the plant's local time."""
    # a bare Figure draws to a file without pyplot's global state or switching the backend
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = _rows(schedule)
    index = {r: i for i, r in enumerate(rows)}
    pieces = working_pieces(schedule, plant)
    products = sorted({p.op.product for p in pieces})
    cmap = colormaps["tab20"]
    colour = {p: cmap(i % 20) for i, p in enumerate(products)}
    fig = Figure(figsize=(14, max(4, 0.25 * len(rows))))
    ax = fig.subplots()
    # one collection per row and product: a bar per piece took 28 s for 4,600 pieces
    bars: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for piece in pieces:
        # matplotlib's date numbers: days since 1970-01-01 UTC (its default epoch)
        start = (piece.start - _EPOCH).total_seconds() / 86400
        end = (piece.end - _EPOCH).total_seconds() / 86400
        bars.setdefault((piece.row, piece.op.product), []).append((start, end - start))
    for (row, product), spans in bars.items():
        ax.broken_barh(spans, (index[row] - 0.4, 0.8), color=colour[product])
    ax.set_yticks(range(len(rows)), rows, fontsize=6)
    ax.invert_yaxis()
    ax.xaxis_date(tz=plant.zone)
    ax.set_xlabel(f"local time ({_zone_label(plant, schedule)})")
    ax.set_title(f"{title}: {schedule.objective_name} {schedule.objective:g} ({schedule.status})")
    handles = [Patch(color=colour[p]) for p in products]
    ax.legend(handles, products, fontsize=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
