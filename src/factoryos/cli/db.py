"""``factoryos db``: look after the event store (schema upgrades, retention, compaction)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from factoryos.app.settings import Settings
from factoryos.app.stores import compact as run_compact
from factoryos.app.stores import retention as run_retention
from factoryos.app.stores import upgrade_store
from factoryos.cli.errors import reported_errors

console = Console(soft_wrap=True)  # URLs stay on one line
app = typer.Typer(
    help="Look after the event store: schema upgrades, retention, compaction.",
    no_args_is_help=True,
)

Db = Annotated[
    str | None,
    typer.Option(help="Event store: DuckDB file or postgresql:// URL; default $FACTORYOS_DB."),
]


@app.command("upgrade")
def upgrade(db: Db = None) -> None:
    """Apply the schema migrations this factoryos has and the store lacks (data is kept)."""
    with reported_errors():
        where, applied = upgrade_store(Settings.from_env().with_db(db))
    if not applied:
        console.print(f"{where}: schema up to date", highlight=False)
    for line in applied:
        console.print(f"{where}: applied migration {line}", highlight=False)


@app.command("compact")
def compact(db: Db = None) -> None:
    """Pack each unit's closed days into one row of arrays for fast reads (PostgreSQL).

    Days an append reached after they were packed are read from raw events until the next
    compaction packs them again; answers are the same either way.
    """
    with reported_errors(), Progress(console=console, transient=True) as progress:
        task = progress.add_task("packing days", total=None)
        where, done = run_compact(
            Settings.from_env().with_db(db),
            progress=lambda n, total: progress.update(task, completed=n, total=total),
        )
    console.print(
        f"{where}: packed {done.packs:,} unit-day(s), {done.holes:,} of them holes left by "
        f"appends, in {done.steps:,} step(s)",
        highlight=False,
    )


@app.command("retention")
def retention(
    db: Db = None,
    node: Annotated[
        str | None, typer.Option(help="Plant (hierarchy node) whose policy to set.")
    ] = None,
    raw_days: Annotated[
        int | None, typer.Option(help="Days of raw events to keep under --node.")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Drop the expired months (default: only show).")
    ] = False,
) -> None:
    """Show the retention policies and which months of raw events expire; --apply drops them.

    Raw events go by whole monthly partitions; the hourly roll-ups stay, for years of KPIs.
    """
    with reported_errors():
        plan = run_retention(
            Settings.from_env().with_db(db), node=node, raw_days=raw_days, apply=apply
        )
    for policy in plan.policies:
        console.print(
            f"policy: {policy.node or '(all)'} keeps {policy.raw_days} days of raw events"
        )
    if not plan.policies:
        console.print(
            "no retention policy: raw events are kept for ever (set one with --node --raw-days)"
        )
    table = Table(title="raw events by month")
    for column in ("month", "events", "status"):
        table.add_column(column, justify="right" if column == "events" else "left")
    verb = "dropped" if apply else "expires"
    for part in plan.partitions:
        table.add_row(
            part.month.strftime("%Y-%m"), f"{part.rows:,}", verb if part.expired else "kept"
        )
    console.print(table)
    console.print(
        f"{len(plan.expiring)} month(s) {'dropped' if apply else 'to drop with --apply'}; "
        f"roll-ups kept for {plan.rollup_hours:,} hour(s)"
    )
