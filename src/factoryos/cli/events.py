"""``factoryos import``: an event log into the store, bad rows kept aside with their reason."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.importing import import_event_file, reject_reasons
from factoryos.app.settings import Settings
from factoryos.app.stores import shown
from factoryos.cli.errors import reported_errors
from factoryos.model.loader import load_plant

console = Console()


def import_events(
    events: Annotated[Path, typer.Argument(help="Event log, .csv or .parquet (docs/events.md).")],
    db: Annotated[
        str | None,
        typer.Option(
            help="Event store: DuckDB file (created if missing) or postgresql:// URL; "
            "default $FACTORYOS_DB."
        ),
    ] = None,
    plant: Annotated[
        Path | None, typer.Option(help="Plant model: reject events for unknown work units.")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where rejected rows go; default: EVENTS.rejects.csv.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with status 2 if any row is rejected.")
    ] = False,
) -> None:
    """Import an event log: good rows are stored (idempotently), bad rows go to a rejects file."""
    with reported_errors():
        model = load_plant(plant) if plant is not None else None
        settings = Settings.from_env().with_db(db)
        result = import_event_file(settings, events, model, rejects)
    table = Table(title=f"import {events.name} -> {shown(settings.db)}")
    for column in ("read", "accepted", "rejected", "stored", "already stored"):
        table.add_column(column, justify="right")
    table.add_row(
        *(f"{n:,}" for n in (result.read, result.accepted, result.rejected)),
        f"{result.inserted:,}",
        f"{result.duplicates:,}",
    )
    console.print(table)
    if result.rejects_path is not None:
        console.print(
            f"[yellow]{result.rejected:,} rejected row(s)[/] written with their reason to "
            f"{result.rejects_path}",
            highlight=False,
        )
        for event_id, reason in reject_reasons(result.rejects_path, limit=5):
            console.print(f"  {event_id or '(no id)'}: {reason}", markup=False, highlight=False)
        if strict:
            raise typer.Exit(2)
