"""``factoryos deadletters list|show|replay``: what live sources sent that could not be stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.ingesting import dead_letter, list_dead_letters, replay_dead_letters
from factoryos.app.settings import Settings
from factoryos.cli.errors import reported_errors
from factoryos.ingest.mapping import load_mapping
from factoryos.model.loader import load_plant

console = Console()
app = typer.Typer(help="Dead letters of the live ingester.", no_args_is_help=True)

Db = Annotated[str, typer.Option(help="Event store the ingester wrote to (a DuckDB file).")]
Letters = Annotated[
    str | None,
    typer.Option(help="Dead-letter file, if not the default beside the store (ingest --letters)."),
]


@app.command("list")
def list_(
    db: Db = "factoryos.duckdb",
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    replayed: Annotated[bool, typer.Option(help="Show the replayed ones instead.")] = False,
    letters: Letters = None,
) -> None:
    """Pending dead letters, oldest first."""
    with reported_errors():
        found = list_dead_letters(Settings.from_env().with_db(db), limit, replayed, letters)
    table = Table(title=f"dead letters ({'replayed' if replayed else 'pending'})")
    for column in ("id", "received (UTC)", "topic / node", "bytes", "reason"):
        table.add_column(column)
    for d in found:
        table.add_row(
            d.letter_id,
            d.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.topic,
            f"{len(d.payload):,}",
            d.reason,
        )
    console.print(table)


@app.command("show")
def show(
    letter_id: Annotated[str, typer.Argument(help="Dead letter id (from list).")],
    db: Db = "factoryos.duckdb",
    letters: Letters = None,
) -> None:
    """One dead letter with its raw payload (hex) and the decoded value, if any."""
    with reported_errors():
        d = dead_letter(Settings.from_env().with_db(db), letter_id, letters)
    if d is None:
        console.print(f"[red]no dead letter {letter_id!r}[/]")
        raise typer.Exit(1)
    for name, value in (
        ("id", d.letter_id),
        ("received", d.received_at.isoformat()),
        ("protocol", d.protocol),
        ("topic", d.topic),
        ("reason", d.reason),
        ("reading", d.reading or "-"),
        ("replayed", d.replayed_at.isoformat() if d.replayed_at else "no"),
        ("payload", d.payload[:4096].hex(" ") + (" ..." if len(d.payload) > 4096 else "")),
    ):
        console.print(f"[bold]{name}:[/] {value}", highlight=False)


@app.command("replay")
def replay(
    mapping: Annotated[Path, typer.Option("--mapping", help="The (fixed) ingest mapping YAML.")],
    plant: Annotated[Path, typer.Option("--plant", help="Plant model YAML.")],
    db: Db = "factoryos.duckdb",
    letters: Letters = None,
) -> None:
    """Put pending dead letters through the mapping again; the ones that now map are stored
    (exactly once) and marked replayed, the others stay."""
    with reported_errors():
        result = replay_dead_letters(
            Settings.from_env().with_db(db), load_mapping(mapping), load_plant(plant), path=letters
        )
    console.print(
        f"replayed {result.tried:,}: stored {result.stored:,}, already stored "
        f"{result.duplicates:,}, still dead {result.still_dead:,}",
        highlight=False,
    )
