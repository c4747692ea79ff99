"""``factoryos simulate``, ``compare`` and ``demo``: the digital twin from the command line."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from factoryos.app.kpis import kpi_report
from factoryos.app.publishing import (
    Format,
    is_opcua,
    mapping_for_twin,
    publish_simulation,
    write_twin_mapping,
)
from factoryos.app.settings import Settings
from factoryos.app.simulation import (
    ScenarioComparison,
    SimulationOutcome,
    compare_scenario,
    default_start,
    load_plant_and_scenario,
    read_orders_file,
    read_schedule_file,
    run_simulation,
)
from factoryos.app.stores import discard_embedded, open_store, shown
from factoryos.cli.errors import reported_errors
from factoryos.cli.kpi import print_report, significant
from factoryos.simulate.twin import DispatchRule

console = Console()

METRICS = {
    "throughput_per_day": ("Throughput (units/day)", "{:,.2f}"),
    "finished": ("Finished units", "{:,.0f}"),
    "oee": ("OEE (work centers, PBT-weighted)", "{:.1%}"),
    "unit_lead_time_h": ("Lead time per unit (h)", "{:,.1f}"),
    "wip_units": ("WIP (units)", "{:,.1f}"),
    "energy_per_unit_kwh": ("Energy per unit (kWh)", "sig"),
}

Days = Annotated[float, typer.Option(help="Simulated days.")]
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same events).")]
Replications = Annotated[int, typer.Option(help="Independent replications, run on all cores.")]
Demand = Annotated[float, typer.Option(help="Sellable units ordered per year (equal mix).")]
Rule = Annotated[DispatchRule, typer.Option(help="Dispatching rule.")]
Start = Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: 1 Jan).")]
Warmup = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="Days simulated before --start and left out of the figures (the plant does not "
        "start empty); their events carry times before --start.",
    ),
]
LotSize = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Units per lot for every product (setups per lot, run time per unit); an order's "
        "lot_size column wins; default: each product's lot_size.",
    ),
]


def _start(text: str | None, plant_zone_start: dt.datetime) -> dt.datetime:
    if text is None:
        return plant_zone_start
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD, got {text!r}", param_hint="--start"
        ) from exc
    return dt.datetime.combine(day, dt.time(0), plant_zone_start.tzinfo)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[float], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.1f}/{task.total:g} runs"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda amount: progress.advance(task, amount)


def _fmt(name: str, value: float) -> str:
    fmt = METRICS[name][1]
    return significant(value) if fmt == "sig" else fmt.format(value)


def print_outcome(outcome: SimulationOutcome, title: str) -> None:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("mean", justify="right")
    table.add_column("95 % CI", justify="right")
    for name, interval in outcome.summary.items():
        ci = "-" if interval.n < 2 else f"{_fmt(name, interval.low)} .. {_fmt(name, interval.high)}"
        table.add_row(METRICS[name][0], _fmt(name, interval.mean), ci)
    console.print(table)
    print_bottleneck(outcome)


def print_bottleneck(outcome: SimulationOutcome) -> None:
    result = outcome.first
    table = Table(
        title="Work centers (replication 0)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="busy, blocked, starved, down: shares of on-shift time; bneck (momentary "
        "bottleneck), sole and "
        "shift (shifting bottleneck, Roser 2002): shares of active time",
    )
    table.add_column("equipment", no_wrap=True)
    for col in ("busy", "block", "starv", "down", "OEE", "bneck", "sole", "shift"):
        table.add_column(col, justify="right")
    for pool in sorted(result.pools, key=lambda p: -p.bottleneck_share):
        table.add_row(
            pool.equipment,
            f"{pool.utilization:.0%}",
            f"{pool.blocked_share:.0%}",
            f"{pool.starved_share:.0%}",
            f"{pool.down_share:.0%}",
            f"{pool.oee:.0%}",
            f"{pool.bottleneck.momentary:.0%}",
            f"{pool.bottleneck.sole:.0%}",
            f"{pool.bottleneck.shifting:.0%}",
        )
    console.print(table)
    console.print(
        f"Bottleneck (shifting bottleneck method): [bold]{outcome.bottleneck}[/] "
        f"(named in {sum(r.bottleneck.equipment == outcome.bottleneck for r in outcome.results)}"
        f" of {len(outcome.results)} replications)"
    )


def simulate(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    days: Days = 30.0,
    seed: Seed = 1,
    replications: Replications = 1,
    db: Annotated[
        str | None,
        typer.Option(
            help="Store replication 0's events in this DuckDB file or postgresql:// URL "
            "(default $FACTORYOS_DB; unset: not stored)."
        ),
    ] = None,
    scenario: Annotated[Path | None, typer.Option(help="Scenario overlay YAML.")] = None,
    demand: Demand = 10_000.0,
    rule: Rule = DispatchRule.FIFO,
    start: Start = None,
    orders: Annotated[
        Path | None,
        typer.Option(help="Order book CSV (scheduler format) instead of --demand."),
    ] = None,
    schedule: Annotated[
        Path | None, typer.Option(help="Follow this plan (schedule.json of 'factoryos schedule').")
    ] = None,
    lot_size: LotSize = None,
    warmup: Warmup = 0.0,
    publish: Annotated[
        str | None,
        typer.Option(
            help="Publish the events live: to an MQTT broker (mqtt://HOST:PORT, see --format) or "
            "as an OPC UA server (opc.tcp://HOST:PORT)."
        ),
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="With --publish: simulated seconds per real second.")
    ] = None,
    publish_format: Annotated[
        Format,
        typer.Option("--format", help="With --publish mqtt://: Sparkplug B or plain JSON topics."),
    ] = Format.SPARKPLUG,
    topic_prefix: Annotated[
        str, typer.Option(help="With --format json: the first topic level.")
    ] = "factoryos",
    hold: Annotated[
        float,
        typer.Option(
            min=0.0, help="With --publish opc.tcp://: seconds to keep serving after the run."
        ),
    ] = 10.0,
) -> None:
    """Run the digital twin of PLANT; print throughput, OEE, lead time, WIP, energy with 95 % CIs
    and the bottleneck; optionally store the events for ``factoryos kpi``, or publish them live
    as a virtual plant (``--publish``)."""
    out = Publishing(publish, publish_format, topic_prefix, hold)
    unused = out.unused_options()
    if unused:
        raise typer.BadParameter(unused, param_hint="--publish")
    if out.url is not None:
        publish_live(plant, out, days=days, seed=seed, speed=speed, demand=demand)
        return
    with reported_errors():
        model = load_plant_and_scenario(plant, scenario)
        first_day = _start(start, default_start(model))
        book = read_orders_file(orders, first_day, model) if orders is not None else None
        plan = read_schedule_file(schedule) if schedule is not None else None
        settings = Settings.from_env()
        target = db or settings.db_from_env
        store = open_store(settings.with_db(target)) if target is not None else None
        try:
            with _progress(replications, f"simulating {days:g} days") as tick:
                outcome = run_simulation(
                    model,
                    days=days,
                    seed=seed,
                    replications=replications,
                    demand_per_year=demand,
                    rule=rule,
                    start=first_day,
                    store=store,
                    on_progress=tick,
                    orders=book,
                    schedule=plan,
                    lot_size=lot_size,
                    warmup_days=warmup,
                )
        finally:
            if store is not None:
                store.close()
    print_outcome(outcome, f"{plant.name}: {days:g} days, {replications} replication(s)")
    if target is not None:
        console.print(f"{outcome.events_stored:,} events stored in {shown(target)}")


@dataclass(frozen=True)
class Publishing:
    url: str | None
    fmt: Format
    prefix: str
    hold_s: float

    def unused_options(self) -> str | None:
        """Options given for another mode than --publish's (silently ignored otherwise)."""
        mqtt = self.url is not None and not is_opcua(self.url)
        given = {
            "--format": self.fmt is not Format.SPARKPLUG and not mqtt,
            "--topic-prefix": self.prefix != "factoryos" and not (mqtt and self.fmt is Format.JSON),
            "--hold": self.hold_s != 10.0 and not (self.url is not None and is_opcua(self.url)),
        }
        wrong = [name for name, bad in given.items() if bad]
        if not wrong:
            return None
        return (
            f"not for this mode: {', '.join(wrong)} (--format and --topic-prefix are for "
            "--publish mqtt://, --hold for --publish opc.tcp://)"
        )


def publish_live(
    plant: Path, out: Publishing, *, days: float, seed: int, speed: float | None, demand: float
) -> None:
    """The twin as a virtual plant: Sparkplug B edge nodes (one per line), JSON topics, or an
    OPC UA server with a node per work unit."""
    assert out.url is not None
    with reported_errors():
        model = load_plant_and_scenario(plant, None)
        pace = "as fast as possible" if speed is None else f"{speed:g}x real time"
        how = "OPC UA" if is_opcua(out.url) else out.fmt.value
        console.print(f"publishing {days:g} days of {plant.name} to {out.url} ({how}), {pace}")
        mapping = Path(f"{plant.stem}.ingest.yaml")
        rules = mapping_for_twin(model, out.url, out.fmt, out.prefix)
        write_twin_mapping(rules, mapping, f"reads {out.url} ({how}) of {plant.name} back")
        run = "--opcua " + out.url if is_opcua(out.url) else "--broker " + out.url
        console.print(
            f"its ingest mapping: {mapping} (factoryos ingest run --mapping {mapping} "
            f"--plant {plant} {run})"
        )

        def hold(_published: int) -> None:
            console.print(f"the run is over; serving its last values for {out.hold_s:g} s")
            time.sleep(out.hold_s)

        with console.status("publishing"):
            outcome = publish_simulation(
                model,
                out.url,
                days=days,
                seed=seed,
                speed=speed,
                demand_per_year=demand,
                fmt=out.fmt,
                prefix=out.prefix,
                before_close=hold if is_opcua(out.url) else None,
            )
    unit = "OPC UA variable writes" if is_opcua(out.url) else "MQTT messages"
    console.print(f"{outcome.events:,} events, {outcome.published:,} {unit} published")


def print_comparison(result: ScenarioComparison, title: str) -> None:
    table = Table(title=title)
    for col in ("figure", "base", "scenario", "difference (95 % CI)", ""):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in result.rows:
        d = row.difference
        table.add_row(
            METRICS[row.name][0],
            f"{_fmt(row.name, row.base.mean)} ± {_fmt(row.name, row.base.half_width)}",
            f"{_fmt(row.name, row.scenario.mean)} ± {_fmt(row.name, row.scenario.half_width)}",
            f"{_fmt(row.name, d.mean)} ({_fmt(row.name, d.low)} .. {_fmt(row.name, d.high)})",
            "significant" if row.significant else "",
        )
    console.print(table)
    console.print(
        f"Bottleneck: base [bold]{result.base_bottleneck}[/], "
        f"scenario [bold]{result.scenario_bottleneck}[/]"
    )


def compare(
    plant: Annotated[Path, typer.Argument(help="Plant model YAML.")],
    scenario: Annotated[Path, typer.Option(help="Scenario overlay YAML.")],
    days: Days = 30.0,
    seed: Seed = 1,
    replications: Replications = 8,
    demand: Demand = 10_000.0,
    rule: Rule = DispatchRule.FIFO,
    start: Start = None,
    lot_size: LotSize = None,
    warmup: Warmup = 0.0,
) -> None:
    """Base plant and scenario side by side, paired by replication (common random numbers)."""
    with reported_errors():
        first_day = None
        if start is not None:
            first_day = _start(start, default_start(load_plant_and_scenario(plant, None)))
        with _progress(2 * replications, "simulating base and scenario") as tick:
            result = compare_scenario(
                plant,
                scenario,
                days=days,
                seed=seed,
                replications=replications,
                demand_per_year=demand,
                rule=rule,
                start=first_day,
                on_progress=tick,
                lot_size=lot_size,
                warmup_days=warmup,
            )
    print_comparison(result, f"{scenario.name} vs {plant.name}: {days:g} days, {replications} reps")


def demo(
    plant: Annotated[Path, typer.Option(help="Plant model YAML.")] = Path(
        "examples/robot_factory.yaml"
    ),
    db: Annotated[
        str | None,
        typer.Option(
            help="DuckDB file (replaced if it exists) or postgresql:// URL; default "
            "$FACTORYOS_DB, else demo.duckdb."
        ),
    ] = None,
    days: Days = 30.0,
    seed: Seed = 1,
) -> None:
    """Simulate a month of the robot plant, store its events, print the KPIs and the bottleneck."""
    with reported_errors():
        model = load_plant_and_scenario(plant, None)
        settings = Settings.from_env()
        target = db or settings.db_from_env or "demo.duckdb"
        discard_embedded(target)
        store = open_store(settings.with_db(target))
        first_day = default_start(model)
        try:
            with _progress(1, f"simulating {days:g} days of {plant.name}") as tick:
                outcome = run_simulation(
                    model, days=days, seed=seed, store=store, start=first_day, on_progress=tick
                )
            # The KPI window is the simulated one: after its end the twin says nothing.
            end = first_day + dt.timedelta(days=days)
            report = kpi_report(store, model, start=first_day, end=end)
        finally:
            store.close()
    console.print(f"{outcome.events_stored:,} events stored in {shown(target)}")
    print_report(report, model.zone)
    print_bottleneck(outcome)
