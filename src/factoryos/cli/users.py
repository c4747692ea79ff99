"""``factoryos users add|list|grant``: accounts kept in the store, roles granted per site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factoryos.app.accounts import Role, open_accounts
from factoryos.app.settings import Settings
from factoryos.cli.errors import reported_errors
from factoryos.model.loader import load_plant

console = Console()
app = typer.Typer(help="Users and their roles per site.", no_args_is_help=True)

Db = Annotated[
    str | None, typer.Option(help="DuckDB store file or postgresql:// URL; default $FACTORYOS_DB.")
]


def _db(db: str | None) -> str:
    return Settings.from_env().with_db(db).db


@app.command("add")
def add(
    name: str,
    db: Db = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a user (the password is stored as an argon2 hash)."""
    with reported_errors():
        open_accounts(_db(db)).add(name, password)
    console.print(f"added user {name!r}")


@app.command("grant")
def grant(
    name: str,
    role: Annotated[str, typer.Argument(help=f"One of {', '.join(r.value for r in Role)}.")],
    site: Annotated[str, typer.Argument(help="A site id, or '*' for program_officer.")],
    db: Db = None,
    plant: Annotated[
        list[Path] | None,
        typer.Option(help="Plant model(s) served: the site must be one of theirs.", exists=True),
    ] = None,
) -> None:
    """Grant a role on a site."""
    with reported_errors():
        sites = frozenset(load_plant(p).site.id for p in plant) if plant else None
        open_accounts(_db(db), sites).grant(name, role, site)
    console.print(f"granted {role} on {site!r} to {name!r}")


@app.command("list")
def list_users(db: Db = None) -> None:
    """Users and their grants."""
    with reported_errors():
        users = open_accounts(_db(db)).users.users()
    table = Table("user", "grants")
    for u in users:
        table.add_row(u.name, ", ".join(f"{g.role}@{g.site}" for g in u.grants) or "-")
    console.print(table)
