"""``factoryos kpi``: ISO 22400 KPIs from stored events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from factoryos.app.kpi_json import report_to_json
from factoryos.app.kpis import kpi_report
from factoryos.app.settings import Settings
from factoryos.app.stores import open_store
from factoryos.cli.charts import write_kpi_chart
from factoryos.cli.errors import reported_errors
from factoryos.cli.timeargs import parse_instant
from factoryos.kpi.report import GroupBy, KpiGroup, KpiReport
from factoryos.model.loader import load_plant

console = Console()

OEE_COLUMNS = [
    ("availability", "Avail", "{:.1%}"),
    ("effectiveness", "Effect", "{:.1%}"),
    ("quality_ratio", "Quality", "{:.1%}"),
    ("oee_index", "OEE", "{:.1%}"),
    ("mtbf_s", "MTBF h", "h"),
    ("mttr_s", "MTTR h", "h"),
]
ECONOMIC_COLUMNS = [
    ("comprehensive_energy_consumption_kwh", "kWh/op unit", "sig"),
    ("energy_per_finished_unit_kwh", "kWh/product", "sig"),
    ("energy_per_10k_cny_value_added_kwh", "kWh/10k CNY", "sig"),
    ("value_added_per_labour_hour_cny", "CNY VA/h", "{:,.0f}"),
    ("operating_cost_per_good_unit_cny", "CNY/prod", "{:,.0f}"),
]


def kpi(
    plant: Annotated[Path, typer.Option(help="Plant model YAML.")],
    db: Annotated[
        str | None,
        typer.Option(help="Event store: DuckDB file or postgresql:// URL; default $FACTORYOS_DB."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Window start: a date (plant-local) or ISO time.")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Window end (exclusive).")] = None,
    node: Annotated[
        str | None, typer.Option(help="ISA-95 path of the node; default: the whole site.")
    ] = None,
    by: Annotated[GroupBy, typer.Option(help="Group the KPIs.")] = GroupBy.TOTAL,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the documented JSON (docs/kpi-json.md).")
    ] = False,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the KPIs and losses to this PNG/SVG/PDF.")
    ] = None,
) -> None:
    """ISO 22400 KPIs of a node over a window, in total or by day, shift or equipment."""
    with reported_errors():
        model = load_plant(plant)
        store = open_store(Settings.from_env().with_db(db), must_exist=True)
        try:
            report = kpi_report(
                store,
                model,
                start=parse_instant(from_, model.zone, "--from"),
                end=parse_instant(to, model.zone, "--to"),
                node=node,
                by=by,
            )
        finally:
            store.close()
    if chart is not None:
        write_kpi_chart(report, chart, [_label(g, report) for g in report.groups] or ["total"])
    if as_json:
        typer.echo(json.dumps(report_to_json(report), indent=2, ensure_ascii=False))
    else:
        print_report(report, model.zone)
        if chart is not None:
            console.print(f"chart written to {chart}")


def _cell(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "h":
        return f"{value / 3600:.1f}"
    if fmt == "sig":
        return significant(value)
    return fmt.format(value)


def significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits and no exponent: 0.0123, 1.23, 123, 12,345."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


# What the two counts are: a product passes many routing steps, each of which counts it.
COUNTS_CAPTION = (
    "ops good: good units counted at every routing step; products: finished good products "
    "(each product counted once, at its routing's count point)"
)


def _table(
    title: str, report: KpiReport, columns: list[tuple[str, str, str]], caption: str | None = None
) -> Table:
    table = Table(title=title, caption=caption)
    table.add_column(report.by.value if report.groups else "", no_wrap=True)
    table.add_column("ops good", justify="right")
    table.add_column("products", justify="right")
    for _, heading, _ in columns:
        table.add_column(heading, justify="right")
    for group in [*report.groups, report.total]:
        label = "TOTAL" if group is report.total else _label(group, report)
        q = group.inputs.quantities
        row = [label, f"{q.gq:,}", f"{q.finished_good:,}"]
        row += [_cell(group.kpis[name], fmt) for name, _, fmt in columns]
        last = bool(report.groups) and group is report.groups[-1]
        table.add_row(*row, end_section=last)
    return table


def _label(group: KpiGroup, report: KpiReport) -> str:
    """A day, a day and shift, or a work unit's path below the report's node."""
    g = group.group
    if g.path is not None:
        return g.path.removeprefix(report.node.rstrip("/") + "/")
    day = g.local_day.isoformat() if g.local_day else ""
    if report.by is GroupBy.SHIFT:
        return f"{day} {g.shift or 'off'}"
    return day


def print_report(report: KpiReport, zone: ZoneInfo) -> None:
    start, end = report.start.astimezone(zone), report.end.astimezone(zone)
    window = f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} {zone.key}"
    title = f"ISO 22400 KPIs of {report.node}\n{window}"
    console.print(_table(title, report, OEE_COLUMNS, COUNTS_CAPTION))
    console.print(_table("Energy, value added and cost", report, ECONOMIC_COLUMNS))
    losses = report.total.losses.as_dict()
    pbt = report.total.inputs.time.pbt_s or 1.0
    loss_table = Table(title="Where planned busy time went (six big losses)")
    loss_table.add_column("loss")
    loss_table.add_column("hours", justify="right")
    loss_table.add_column("share", justify="right")
    for name, seconds in losses.items():
        loss_table.add_row(
            name.removesuffix("_s"), f"{seconds / 3600:,.1f}", f"{seconds / pbt:.1%}"
        )
    console.print(loss_table)
    if report.pareto:
        pareto = Table(title="Downtime reasons (Pareto of ADET)")
        for col in ("reason", "state", "hours", "cum. share"):
            pareto.add_column(col, justify="right" if col in ("hours", "cum. share") else "left")
        for entry in report.pareto[:10]:
            pareto.add_row(
                entry.reason,
                entry.state,
                f"{entry.seconds / 3600:,.1f}",
                f"{entry.cumulative_share:.0%}",
            )
        console.print(pareto)
    for error in report.modelling_errors:
        console.print(
            Text.assemble(("modelling error: ", "bold red"), error.message), highlight=False
        )
    for warning in report.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning), highlight=False)
