"""``factoryos db``: look after the event store (schema upgrades, retention)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from factoryos.app.settings import Settings
from factoryos.app.stores import upgrade_store
from factoryos.cli.errors import reported_errors

console = Console(soft_wrap=True)  # URLs stay on one line
app = typer.Typer(
    help="Look after the event store: schema upgrades, retention.", no_args_is_help=True
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
