"""``factoryos fit``: failure models of every pool fitted from the stored state events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from factoryos.app.fit import FailureFit, fit_failures, stored_window
from factoryos.app.fit_figure import write_fit_figure
from factoryos.app.fit_overlay import overlay_text
from factoryos.app.settings import Settings
from factoryos.app.stores import open_store
from factoryos.cli.errors import reported_errors
from factoryos.cli.timeargs import parse_instant
from factoryos.model.loader import load_plant
from factoryos.reliability.fitting import FittedModel
from factoryos.reliability.lifetimes import MaintenancePolicy

console = Console()
HOUR_S = 3600.0


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float], None]]:
    """A Rich bar for long work; yields a callback that hears the fraction done."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=1.0)
        yield lambda done: progress.update(task, completed=done)


def fit(
    plant: Annotated[Path, typer.Option(help="Plant model YAML.")],
    db: Annotated[
        str | None,
        typer.Option(help="Event store: DuckDB file or postgresql:// URL; default $FACTORYOS_DB."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Window start: a date (plant-local) or ISO time; default: the first stored event.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="Window end (exclusive); default: just after the last stored event."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the fitted models as a scenario overlay YAML.")
    ] = None,
    figure: Annotated[
        Path | None, typer.Option(help="Draw fitted CDFs against Kaplan-Meier to this PNG.")
    ] = None,
    maintenance: Annotated[
        MaintenancePolicy,
        typer.Option(
            help="Planned maintenance pauses the failure clock (as the twin) or renews "
            "the unit (the running time between failures is censored there)."
        ),
    ] = MaintenancePolicy.PAUSES,
    min_failures: Annotated[
        int, typer.Option(help="Fit a pool (or a unit) only with at least this many failures.")
    ] = 10,
) -> None:
    """Time between failures and time to repair per pool (and unit): censored maximum likelihood,
    exponential / Weibull / lognormal by AIC, intervals, goodness of fit; a scenario overlay."""
    with reported_errors():
        model = load_plant(plant)
        store = open_store(Settings.from_env().with_db(db), must_exist=True)
        try:
            start, end = stored_window(
                store,
                parse_instant(from_, model.zone, "--from"),
                parse_instant(to, model.zone, "--to"),
                "nothing to fit",
            )
            with progress_bar("fitting failure models") as tick:
                result = fit_failures(
                    store,
                    model,
                    start,
                    end,
                    policy=maintenance,
                    min_failures=min_failures,
                    on_progress=tick,
                )
        finally:
            store.close()
        _print(result)
        if out is not None:
            out.write_text(overlay_text(result), encoding="utf-8")
            console.print(
                f"overlay written to {out} (use: factoryos simulate PLANT --scenario {out})"
            )
        if figure is not None:
            write_fit_figure(result, figure)
            console.print(f"goodness-of-fit figure written to {figure}")


def _model(m: FittedModel | None) -> str:
    if m is None:
        return "-"
    params = ", ".join(
        f"{p.name.removesuffix('_s')} {p.value / HOUR_S:.3g} h"
        if p.name.endswith("_s")
        else f"{p.name} {p.value:.3g}"
        for p in m.parameters
    )
    return f"{m.family.value} ({params})"


def _mean(m: FittedModel | None) -> str:
    if m is None:
        return "-"
    return f"{m.mean.value / HOUR_S:.3g} [{m.mean.lower / HOUR_S:.3g}, {m.mean.upper / HOUR_S:.3g}]"


def _print(result: FailureFit) -> None:
    table = Table(
        title=f"failure models {result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M} UTC "
        f"({result.state_events:,} state events; maintenance {result.policy.value})"
    )
    for heading in (
        "pool / unit",
        "failures",
        "cens.",
        "TBF model",
        "MTBF h [95 %]",
        "KS",
        "TTR model",
        "MTTR h [95 %]",
        "modelled MTBF h",
    ):
        table.add_column(
            heading, justify="left" if "model" in heading or "pool" in heading else "right"
        )
    for pool in result.pools:
        tbf = pool.tbf.best if pool.tbf else None
        ttr = pool.ttr.best if pool.ttr else None
        modelled = (
            f"{pool.modelled.time_between_failures.mean / HOUR_S:.3g}" if pool.modelled else "-"
        )
        table.add_row(
            pool.equipment_id,
            str(pool.tbf_data.events),
            str(pool.tbf_data.censored),
            _model(tbf),
            _mean(tbf),
            f"{tbf.ks_distance:.3f}" if tbf else "-",
            _model(ttr),
            _mean(ttr),
            modelled,
            end_section=not pool.units,
        )
        for i, unit in enumerate(pool.units):
            table.add_row(
                "  " + unit.path.rsplit("/", 1)[-1],
                "",
                "",
                _model(unit.tbf),
                _mean(unit.tbf),
                f"{unit.tbf.ks_distance:.3f}",
                _model(unit.ttr),
                _mean(unit.ttr),
                "",
                end_section=i == len(pool.units) - 1,
            )
    console.print(table)
    if result.unknown_paths:
        console.print(
            f"[yellow]{len(result.unknown_paths)} path(s) not in the plant model were left out, "
            f"e.g. {result.unknown_paths[0]}[/]"
        )
    if not result.age_known_at_start:
        console.print(
            "the store's history starts before the window: the operating time before each "
            "unit's first failure in the window is left out (its age is unknown)"
        )
