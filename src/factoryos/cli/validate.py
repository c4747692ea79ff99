"""``factoryos validate``: check a plant model and its static capacity."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.cli.errors import reported_errors
from factoryos.model.capacity import CapacityReport, calendar_year, rough_cut_capacity
from factoryos.model.loader import load_plant
from factoryos.model.plant import Plant

console = Console()


def validate(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    year: Annotated[
        int, typer.Option(help="Calendar year of the capacity check.")
    ] = dt.date.today().year,  # noqa: DTZ011 - the current local year is what a person means
    demand: Annotated[
        float | None,
        typer.Option(help="Sellable units a year to check; default: the plant's nominal capacity."),
    ] = None,
    lot_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Units per lot for every product (setups per lot); default: the model's."
        ),
    ] = None,
) -> None:
    """Validate PLANT.yaml (errors name file, line and field) and print its capacity check."""
    with reported_errors():
        model = load_plant(plant)
        start, end = calendar_year(model, year or dt.datetime.now(model.zone).year)
        probe = rough_cut_capacity(
            model, start, end, demand_units=demand or 1000.0, lot_size=lot_size
        )
        report = (
            probe
            if demand is not None
            else rough_cut_capacity(
                model, start, end, demand_units=probe.nominal_units, lot_size=lot_size
            )
        )
    console.print(f"[green]OK[/] {plant}: {_summary(model)}")
    print_capacity(report)


def _summary(plant: Plant) -> str:
    lines = sum(len(a.lines) for a in plant.areas)
    pools = sum(1 for _ in plant.equipment_items())
    return (
        f"{len(plant.areas)} areas, {lines} lines, {pools} equipment pools, "
        f"{len(plant.work_units)} work units, {len(plant.products)} products"
    )


def print_capacity(report: CapacityReport) -> None:
    table = Table(
        title=f"Rough-cut capacity {report.start.date()} .. {report.end.date()} "
        f"for {report.demand_units:,.0f} sellable units"
    )
    for name in ("line", "equipment", "units", "available h", "load h", "utilisation"):
        table.add_column(name, justify="left" if name in ("line", "equipment") else "right")
    bottleneck = report.bottleneck
    for pool in sorted(report.pools, key=lambda p: -p.utilisation):
        style = "bold red" if pool is bottleneck else None
        table.add_row(
            pool.line,
            pool.equipment,
            str(pool.units),
            f"{pool.available_s / 3600:,.0f}",
            f"{pool.load_s / 3600:,.0f}",
            _pct(pool.utilisation),
            style=style,
        )
    console.print(table)
    skills = Table(title="Load per skill")
    for name in ("skill", "available h", "load h", "utilisation"):
        skills.add_column(name, justify="left" if name == "skill" else "right")
    for group in sorted(report.skills, key=lambda g: -g.utilisation):
        skills.add_row(
            group.name,
            f"{group.available_s / 3600:,.0f}",
            f"{group.load_s / 3600:,.0f}",
            _pct(group.utilisation),
        )
    console.print(skills)
    console.print(
        f"bottleneck: [bold]{bottleneck.line}/{bottleneck.equipment}[/] at "
        f"{_pct(bottleneck.utilisation)}; takt time {report.takt_s / 60:.1f} min; "
        f"nominal output [bold]{report.nominal_units:,.0f}[/] sellable units a year"
    )
    lots = (
        "each product's lot_size"
        if report.lot_size is None
        else f"lots of {report.lot_size} (--lot-size)"
    )
    console.print(f"setups per lot: {lots}; run time per unit, per cycle on batch equipment")


def _pct(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.1%}"
