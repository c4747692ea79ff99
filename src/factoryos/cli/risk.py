"""``factoryos risk train|score``: condition-based failure risk and maintenance windows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.fit import stored_window
from factoryos.app.risk import read_ai4i, score_units
from factoryos.app.risk_window import WindowCost, candidate_starts, place_maintenance
from factoryos.app.settings import Settings
from factoryos.app.stores import open_store
from factoryos.cli.errors import reported_errors
from factoryos.cli.timeargs import parse_instant
from factoryos.model.errors import ReliabilityError
from factoryos.model.loader import load_plant
from factoryos.model.quantities import parse_quantity
from factoryos.reliability.risk import SENSORS, RiskModel, train_risk_model

console = Console()
app = typer.Typer(help="Condition-based failure risk: train a classifier, score the units.")


@app.command("train")
def train(
    data: Annotated[Path, typer.Argument(help="AI4I 2020 CSV (Matzka 2020, UCI 601).")],
    out: Annotated[Path, typer.Option(help="Write the trained model here.")] = Path(
        "risk_model.pkl"
    ),
    folds: Annotated[int, typer.Option(help="Stratified cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of folds and trees.")] = 0,
) -> None:
    """Cross-validate and train the failure classifier (gradient boosting, balanced classes)."""
    with reported_errors():
        if folds < 2:
            raise ReliabilityError(f"--folds must be at least 2, got {folds}")
        ai4i = read_ai4i(data)
        with console.status(f"training and {folds}-fold cross-validating on {len(ai4i.y):,} rows"):
            model = train_risk_model(ai4i.x, ai4i.y, source=str(data), folds=folds, seed=seed)
        model.save(out)
    m = model.metrics
    if m is None:  # folds >= 2 was checked: train_risk_model cross-validated
        return
    table = Table(title=f"{m.folds}-fold stratified CV: {m.samples:,} rows, {m.failures} failures")
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("sd", justify="right")
    for name, mean, sd in (
        ("precision", m.precision, m.precision_sd),
        ("recall", m.recall, m.recall_sd),
        ("F1", m.f1, m.f1_sd),
        ("ROC AUC", m.auc, m.auc_sd),
    ):
        table.add_row(name, f"{mean:.3f}", f"{sd:.3f}")
    console.print(table)
    console.print(
        f"recall ceiling: {ai4i.determined_share:.1%} of the failures have a mode the features "
        "determine (heat dissipation, power, overstrain); tool-wear and random failures alone "
        f"do not. Never predicting a failure scores accuracy {1 - m.failures / m.samples:.1%}, "
        "recall 0."
    )
    console.print(f"model written to {out}")


@app.command("score")
def score(
    model_path: Annotated[Path, typer.Option("--model", help="A model from 'risk train'.")],
    plant: Annotated[Path, typer.Option(help="Plant model YAML.")],
    db: Annotated[
        str | None,
        typer.Option(help="Event store: DuckDB file or postgresql:// URL; default $FACTORYOS_DB."),
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Samples from (date or ISO).")] = None,
    to: Annotated[str | None, typer.Option(help="Samples until (exclusive).")] = None,
    threshold: Annotated[float, typer.Option(help="Propose maintenance above this risk.")] = 0.5,
    orders: Annotated[Path | None, typer.Option(help="Order book CSV of the plan.")] = None,
    plan: Annotated[
        Path | None, typer.Option(help="schedule.json: place windows for risky units in it.")
    ] = None,
    now: Annotated[str | None, typer.Option(help="First possible window start (ISO).")] = None,
    duration: Annotated[str, typer.Option(help="Maintenance window length.")] = "4 h",
    horizon: Annotated[str, typer.Option(help="Look for a window within this time.")] = "48 h",
    step: Annotated[str, typer.Option(help="Candidate starts every ...")] = "8 h",
    time_limit: Annotated[float, typer.Option(help="Seconds per repair of a candidate.")] = 5.0,
) -> None:
    """Risk per work unit from its latest sensor samples; above --threshold, with --plan and
    --orders, the maintenance window that costs the plan least."""
    with reported_errors():
        model = RiskModel.load(model_path)
        plant_model = load_plant(plant)
        store = open_store(Settings.from_env().with_db(db), must_exist=True)
        try:
            start, end = stored_window(
                store,
                parse_instant(from_, plant_model.zone, "--from"),
                parse_instant(to, plant_model.zone, "--to"),
                "no samples to score",
            )
            risks = score_units(store, plant_model, model, start, end)
        finally:
            store.close()
        if not risks:
            raise ReliabilityError(
                f"no work unit sent samples of the sensors {', '.join(SENSORS)} in the window"
            )
        table = Table(title=f"failure risk per work unit (threshold {threshold:.2f})")
        for heading in ("work unit", "risk", "latest sample", "note"):
            table.add_column(heading, justify="right" if heading == "risk" else "left")
        for r in risks:
            table.add_row(
                r.path.removeprefix(plant_model.root_path + "/"),
                "-" if r.risk is None else f"{r.risk:.3f}",
                "" if r.sampled_at is None else f"{r.sampled_at:%Y-%m-%d %H:%M}",
                f"missing {', '.join(r.missing)}"
                if r.missing
                else ("[bold red]maintenance proposed[/]" if (r.risk or 0) >= threshold else ""),
            )
        console.print(table)
        risky = [r for r in risks if r.risk is not None and r.risk >= threshold]
        if not risky or plan is None or orders is None:
            if risky:
                console.print("give --plan and --orders to place the maintenance windows")
            return
        first = parse_instant(now, plant_model.zone, "--now") or end
        length = dt.timedelta(seconds=parse_quantity(duration, "duration"))
        starts = candidate_starts(
            first,
            dt.timedelta(seconds=parse_quantity(horizon, "duration")),
            dt.timedelta(seconds=parse_quantity(step, "duration")),
        )
        for r in risky:
            with console.status(f"pricing {len(starts)} windows for {r.path}"):
                costs = place_maintenance(
                    plant, orders, plan, equipment=r.equipment_id, unit=r.unit,
                    duration=length, starts=starts, now=first, time_limit_s=time_limit,
                )  # fmt: skip
            _print_windows(r.path, costs, plant_model.zone)


def _print_windows(path: str, costs: list[WindowCost], zone: ZoneInfo) -> None:
    table = Table(title=f"maintenance window for {path}: cheapest first")
    for heading in ("window", "+ weighted tardiness h", "late orders", "displaced work h"):
        table.add_column(heading, justify="left" if heading == "window" else "right")
    for i, c in enumerate(costs):
        table.add_row(
            f"{c.start.astimezone(zone):%a %m-%d %H:%M} .. {c.end.astimezone(zone):%H:%M}"
            + (" (proposed)" if i == 0 else ""),
            f"{c.added_weighted_tardiness_h:.1f}",
            str(c.late_orders),
            f"{c.displaced_work_h:.1f}",
        )
    console.print(table)
