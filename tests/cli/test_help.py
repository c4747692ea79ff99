"""Every command's ``--help`` renders (Rich reads square brackets in help text as markup)."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from factoryos.cli.main import app

runner = CliRunner(env={"COLUMNS": "200"})
GROUP = typer.main.get_command(app)
# Read from the registered app, so a command added later is covered without editing this test.
COMMANDS = sorted(getattr(GROUP, "commands", {}))


def test_every_registered_command_is_checked() -> None:
    assert {"validate", "import", "kpi", "schedule", "repair", "simulate"} <= set(COMMANDS)


@pytest.mark.parametrize(
    "command", [[], *([name] for name in COMMANDS)], ids=["factoryos", *COMMANDS]
)
def test_help_renders(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_repair_help_shows_the_down_syntax_with_its_brackets() -> None:
    result = runner.invoke(app, ["repair", "--help"])
    assert "EQUIPMENT[/UNIT]@START..END" in result.output
