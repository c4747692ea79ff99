"""``factoryos ingest check|run|browse``: live data (MQTT Sparkplug B and JSON, OPC UA) in."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from factoryos.app.ingesting import browse_server, check_mapping, run_ingest
from factoryos.app.mapping_proposal import proposal_yaml, propose_mapping
from factoryos.app.settings import Settings
from factoryos.cli.errors import reported_errors
from factoryos.ingest.mapping import load_mapping
from factoryos.ingest.pipeline import Batch, Counts, Pipeline
from factoryos.model.loader import load_plant

console = Console()
app = typer.Typer(
    help="Live data: MQTT Sparkplug B and JSON, OPC UA into the event store.", no_args_is_help=True
)

MappingArg = Annotated[Path, typer.Option("--mapping", help="Ingest mapping YAML.")]
PlantOpt = Annotated[Path, typer.Option("--plant", help="Plant model YAML.")]


@app.command("check")
def check(
    mapping: Annotated[Path, typer.Argument(help="Ingest mapping YAML.")],
    plant: PlantOpt,
) -> None:
    """Validate MAPPING against the plant: what maps where, and which work units have no source."""
    with reported_errors():
        report = check_mapping(mapping, plant)
    table = Table(title=f"{mapping.name} -> {plant.name}")
    for column in ("source", "kind", "path", "work units"):
        table.add_column(column, justify="right" if column == "work units" else "left")
    for rule in report.rules:
        units = f"{len(rule.units)}" if rule.units else "[red]0: matches no work unit[/]"
        table.add_row(rule.rule, rule.kind, rule.path, units)
    console.print(table)
    if report.without_state:
        console.print(f"[yellow]{len(report.without_state)} work unit(s) with no state source:[/]")
        for path in report.without_state:
            console.print(f"  {path}", markup=False, highlight=False)
    else:
        console.print("Every work unit has a state source.")
    if any(not r.units for r in report.rules):
        raise typer.Exit(1)


@app.command("browse")
def browse(
    url: Annotated[str, typer.Argument(help="OPC UA server, opc.tcp://HOST:PORT/...")],
    plant: Annotated[
        Path | None,
        typer.Option("--plant", help="Plant model YAML: find each variable's work unit."),
    ] = None,
    write: Annotated[
        Path | None, typer.Option(help="Write the proposed mapping to this file.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Stop after this many variables.")] = 5000,
) -> None:
    """List the variables of an OPC UA server and propose a mapping for them."""
    with reported_errors():
        model = load_plant(plant) if plant is not None else None
        variables = browse_server(url, limit)
        proposal = propose_mapping(variables, model)
    table = Table(title=f"{url}: {len(variables)} variable(s)")
    for column in ("node id", "path", "type", "value"):
        table.add_column(column)
    for v in variables:
        table.add_row(v.node_id, v.path, v.data_type, v.value)
    console.print(table)
    text = proposal_yaml(proposal, url)
    if write is not None:
        write.write_text(text, encoding="utf-8")
        console.print(
            f"proposed mapping written to {write} ({len(proposal.rules)} rules, "
            f"{proposal.unresolved} to complete)",
            soft_wrap=True,  # a long path stays one line that can be copied
        )
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)


class _Panel:
    """Rates since the previous refresh, totals, and the latest publish-to-commit latency."""

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.messages = 0
        self.values = 0
        self.table = self._render(Counts(), 0, 0.0, 0.0, 0.0)

    def update(self, pipeline: Pipeline, waiting: int, batch: Batch, now_ms: int) -> Table:
        now = time.monotonic()
        c = pipeline.counts
        span = max(now - self.at, 1e-6)
        rate_m = (c.messages - self.messages) / span
        rate_v = (c.received + c.unmapped - self.values) / span
        self.at, self.messages, self.values = now, c.messages, c.received + c.unmapped
        lag = (now_ms - batch.first_ms) / 1000 if batch.first_ms is not None else 0.0
        self.table = self._render(c, waiting, lag, rate_m, rate_v)
        return self.table

    @staticmethod
    def _render(c: Counts, waiting: int, lag: float, rate_m: float, rate_v: float) -> Table:
        table = Table(title="factoryos ingest (Ctrl-C: drain, commit and stop)", show_header=False)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in (
            ("messages/s", f"{rate_m:,.0f}"),
            ("metrics/s", f"{rate_v:,.0f}"),
            ("messages", f"{c.messages:,}"),
            ("stored", f"{c.stored:,}"),
            ("duplicates", f"{c.duplicates:,}"),
            ("dead letters", f"{c.dead_letters:,}"),
            ("waiting (not yet committed)", f"{waiting:,}"),
            ("lag (arrival to commit, last batch)", f"{lag:.3f} s"),
        ):
            table.add_row(name, value)
        table.caption = c.line()
        return table


@app.command("run")
def run(
    mapping: MappingArg,
    plant: PlantOpt,
    db: Annotated[str, typer.Option(help="Event store: a DuckDB file.")] = "factoryos.duckdb",
    broker: Annotated[str, typer.Option(help="MQTT broker URL.")] = "mqtt://127.0.0.1:1883",
    opcua: Annotated[
        str | None, typer.Option(help="Read the mapping's OPC UA nodes from this server instead.")
    ] = None,
    letters: Annotated[
        str | None,
        typer.Option(help="Dead letters and session file (default: beside the store)."),
    ] = None,
    seconds: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until stopped)."),
    ] = None,
) -> None:
    """Ingest until Ctrl-C or SIGTERM; then commit what arrived and print the reconciled counts."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True
        timer.start()
    panel = _Panel()
    with reported_errors():
        rules = load_mapping(mapping)
        model = load_plant(plant)
        with Live(panel.table, console=console, refresh_per_second=4) as live:
            counts = run_ingest(
                Settings.from_env().with_db(db),
                rules,
                model,
                opcua or broker,
                stop,
                on_batch=lambda p, w, b, t: live.update(panel.update(p, w, b, t)),
                letters_path=letters,
            )
    console.print(counts.line(), highlight=False)
    if not counts.reconciles():
        raise typer.Exit(3)
