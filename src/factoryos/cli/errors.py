"""Turn factoryos errors into a message and an exit code instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from factoryos.model.errors import FactoryosError, PlantModelError

stderr = Console(stderr=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print a FactoryosError for a person (each issue of a plant model on its own line), exit 1."""
    try:
        yield
    except PlantModelError as exc:
        stderr.print(f"[bold red]invalid plant model[/] ({len(exc.issues)} problem(s)):")
        for issue in exc.issues:
            stderr.print(f"  {issue}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    except FactoryosError as exc:
        # The message is data (it may hold brackets, e.g. EQUIPMENT[/UNIT]): never markup.
        stderr.print(
            Text.assemble(("error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from exc
