"""Gantt charts of a :class:`~factoryos.model.schedule.Schedule`: plotly HTML and matplotlib PNG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from factoryos.model.schedule import Schedule

__all__ = ["gantt_html", "gantt_png"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _rows(schedule: Schedule) -> list[str]:
    units = sorted({(o.equipment_id, o.unit_index) for o in schedule})
    return [f"{equipment}/{unit}" for equipment, unit in units]


def gantt_html(schedule: Schedule, path: Path, *, title: str = "Production plan") -> Path:
    """Interactive chart, one row per work unit, one colour per product, hover shows the order."""
    import plotly.graph_objects as go

    fig = go.Figure()
    products = sorted({o.product for o in schedule})
    for product in products:
        ops = [o for o in schedule if o.product == product]
        fig.add_trace(
            go.Bar(
                name=product,
                orientation="h",
                y=[f"{o.equipment_id}/{o.unit_index}" for o in ops],
                x=[(o.end - o.start).total_seconds() * 1000 for o in ops],
                base=[o.start.isoformat() for o in ops],
                text=[f"{o.order_id} {o.operation_id}" for o in ops],
                hovertemplate="%{text}<br>%{base} +%{x:.0f} ms<extra>" + product + "</extra>",
            )
        )
    fig.update_layout(
        title=f"{title}: {schedule.objective_name} {schedule.objective:g} ({schedule.status})",
        barmode="overlay",
        xaxis={"type": "date"},
        yaxis={"categoryorder": "array", "categoryarray": _rows(schedule)[::-1]},
        height=max(400, 18 * len(_rows(schedule))),
    )
    fig.write_html(path, include_plotlyjs="cdn")
    return path


def gantt_png(schedule: Schedule, path: Path, *, title: str = "Production plan") -> Path:
    """Static chart for reports."""
    # a bare Figure draws to a file without pyplot's global state or switching the backend
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = _rows(schedule)
    index = {r: i for i, r in enumerate(rows)}
    products = sorted({o.product for o in schedule})
    cmap = colormaps["tab20"]
    colour = {p: cmap(i % 20) for i, p in enumerate(products)}
    fig = Figure(figsize=(14, max(4, 0.25 * len(rows))))
    ax = fig.subplots()
    for o in schedule:
        # matplotlib's date numbers: days since 1970-01-01 (its default epoch)
        start = (o.start - _EPOCH).total_seconds() / 86400
        width = (o.end - o.start).total_seconds() / 86400
        ax.barh(
            index[f"{o.equipment_id}/{o.unit_index}"], width, left=start, color=colour[o.product]
        )
    ax.set_yticks(range(len(rows)), rows, fontsize=6)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.set_title(f"{title}: {schedule.objective_name} {schedule.objective:g} ({schedule.status})")
    handles = [Patch(color=colour[p]) for p in products]
    ax.legend(handles, products, fontsize=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
