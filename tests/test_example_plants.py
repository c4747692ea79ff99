"""validate, simulate and compare on every example plant (robot, electronics, coatings)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from factoryos.cli.main import app
from factoryos.model import load_plant
from tests.example_plants import ExamplePlant

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, text
    return float(match.group(1).replace(",", ""))


def test_validate_names_a_bottleneck_and_a_nominal_output(example_plant: ExamplePlant) -> None:
    out = _ok(["validate", str(example_plant.plant), "--year", str(example_plant.year)])
    assert "bottleneck:" in out
    nominal = _number(r"nominal output ([\d,]+) sellable units", out)
    # the designed output of each plant, from docs/example_plants.md (rounded)
    expected = {"robot": 11_900, "electronics": 705_000, "coatings": 403_000}[example_plant.name]
    assert 0.98 * expected < nominal < 1.02 * expected


def test_lots_of_ten_swamp_a_high_volume_line(example_plant: ExamplePlant) -> None:
    """The issue's finding: with lots of 10 the setups swamp the SMT line and the capacity
    figure falls by a factor of about four; the products' own lot sizes give the real one."""
    args = ["validate", str(example_plant.plant), "--year", str(example_plant.year)]
    own = _number(r"nominal output ([\d,]+)", _ok(args))
    tens = _number(r"nominal output ([\d,]+)", _ok([*args, "--lot-size", "10"]))
    if example_plant.name == "robot":  # its products are made in lots of 10 already
        assert tens == own
    else:
        assert tens < own / 2


def test_simulate_the_order_book(example_plant: ExamplePlant) -> None:
    out = _ok(
        [
            "simulate",
            str(example_plant.plant),
            "--orders",
            str(example_plant.orders),
            "--start",
            example_plant.start,
            "--days",
            "3",
        ]
    )
    assert _number(r"Finished units\s*│\s*([\d,]+)", out) > 0
    assert "Bottleneck (shifting bottleneck method):" in out


def test_compare_the_scenario(example_plant: ExamplePlant) -> None:
    plant = load_plant(example_plant.plant)
    out = _ok(
        [
            "compare",
            str(example_plant.plant),
            "--scenario",
            str(example_plant.scenario),
            "--days",
            "3",
            "--replications",
            "2",
            "--start",
            example_plant.start,
            "--demand",
            str(10_000 if plant.site.id == "jiading" else 400_000),
        ]
    )
    assert "Bottleneck: base" in out
