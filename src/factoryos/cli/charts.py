"""Charts of a KPI report: OEE and its factors per group, and where planned busy time went."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from factoryos.kpi.report import KpiGroup, KpiReport

FACTORS = [
    ("availability", "availability"),
    ("effectiveness", "effectiveness"),
    ("quality_ratio", "quality ratio"),
    ("oee_index", "OEE"),
]


def write_kpi_chart(report: KpiReport, path: Path, label: list[str]) -> None:
    """A PNG (or SVG/PDF, by suffix): KPI factors by group on the left, the six big losses right."""
    groups: list[KpiGroup] = report.groups or [report.total]
    # a bare Figure draws to files without pyplot's global state or a display
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    trend, losses = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    x = range(len(groups))
    for key, name in FACTORS:
        values = [g.kpis[key] for g in groups]
        trend.plot(
            list(x),
            [float("nan") if v is None else v for v in values],
            marker="o",
            linewidth=2.5 if key == "oee_index" else 1.2,
            label=name,
        )
    trend.set_xticks(list(x), label, rotation=45 if len(groups) > 6 else 0, ha="right")
    trend.yaxis.set_major_formatter(PercentFormatter(1.0))
    trend.set_ylim(0, 1.1)
    trend.grid(alpha=0.3)
    trend.legend(loc="lower left", ncols=4, fontsize="small")
    trend.set_title(f"ISO 22400 KPIs of {report.node} by {report.by.value}", fontsize="medium")

    split = report.total.losses.as_dict()
    names = [n.removesuffix("_s").replace("_", " ") for n in split]
    hours = [s / 3600 for s in split.values()]
    colours = ["#c44e52"] * 5 + ["#55a868"]
    losses.barh(names[::-1], hours[::-1], color=colours[::-1])
    losses.set_xlabel("hours of planned busy time")
    losses.set_title("Six big losses (whole window)", fontsize="medium")
    losses.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
