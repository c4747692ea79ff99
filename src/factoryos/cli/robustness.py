"""``factoryos robustness``: on-time probabilities of a plan executed by the twin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.robustness import PlanRobustness, assess_plans, paired_difference
from factoryos.app.simulation import load_plant_and_scenario
from factoryos.cli.errors import reported_errors
from factoryos.cli.fit import progress_bar

console = Console()


def robustness(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    orders: Annotated[Path, typer.Argument(help="Order book CSV the plan was made for.")],
    plan: Annotated[Path, typer.Argument(help="schedule.json written by 'factoryos schedule'.")],
    against: Annotated[
        Path | None, typer.Option(help="A second plan, compared with common random numbers.")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario overlay, e.g. the failure models of 'factoryos fit --out'."),
    ] = None,
    replications: Annotated[int, typer.Option(help="Independent twin runs per plan.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the random streams (shared by plans).")] = 1,
    processes: Annotated[
        int | None, typer.Option(help="Worker processes; default: all cores.")
    ] = None,
) -> None:
    """The twin executes the plan as planned (planned unit, never before the planned start)
    under the model's failures: per order the probability of being on time and the expected
    tardiness, with 95 % intervals; with --against, two plans paired replication by
    replication."""
    with reported_errors():
        model = load_plant_and_scenario(plant, scenario)
        plans = [plan] if against is None else [plan, against]
        with progress_bar(f"{replications} replications x {len(plans)} plan(s)") as tick:
            results = assess_plans(
                model,
                orders,
                plans,
                replications=replications,
                seed=seed,
                processes=processes,
                on_progress=tick,
            )
    _print_orders(results, model.zone)
    for r in results:
        console.print(
            f"{r.plan}: orders on time per run {r.on_time_orders.mean:.2f} ± "
            f"{r.on_time_orders.half_width:.2f}, total tardiness {r.total_tardiness_h.mean:.1f} ± "
            f"{r.total_tardiness_h.half_width:.1f} h (95 %, {r.replications} replications)"
        )
    if len(results) == 2:
        on_time, tardiness = paired_difference(*results)
        console.print(
            f"{against} minus {plan} (common random numbers): orders on time "
            f"{on_time.mean:+.2f} ± {on_time.half_width:.2f}, total tardiness "
            f"{tardiness.mean:+.1f} ± {tardiness.half_width:.1f} h"
        )


def _print_orders(results: list[PlanRobustness], zone: ZoneInfo) -> None:
    table = Table(title="per order: probability on time [95 %], expected tardiness h (95 %)")
    table.add_column("order")
    table.add_column("due")
    for r in results:
        table.add_column(f"P(on time) {r.plan.name}", justify="right")
        table.add_column(f"E[tardiness] {r.plan.name}", justify="right")
    for i, first in enumerate(results[0].orders):
        row = [first.order_id, first.due.astimezone(zone).strftime("%m-%d %H:%M")]
        for r in results:
            o = r.orders[i]
            p = o.on_time
            row.append(f"{p.value:.2f} [{p.low:.2f}, {p.high:.2f}]")
            row.append(
                f"{o.tardiness_h.mean:.1f} ± {o.tardiness_h.half_width:.1f}"
                + (f" ({o.unfinished} unfinished)" if o.unfinished else "")
            )
        table.add_row(*row)
    console.print(table)
