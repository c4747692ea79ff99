"""``factoryos schedule --time-limit`` is kept, on every example plant, at short limits: the plan
(loading, rules, the solver, the check and the KPIs of both plans) within the limit plus
:data:`TOLERANCE_S`; writing the outputs and Python's start-up come on top (docs/scheduling.md)."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app

EXAMPLES = Path(__file__).parents[2] / "examples"
TOLERANCE_S = 1.0
"""What a plan may overrun its limit by: CP-SAT stops a step within ~0.1 s, the rest is the
variance of a 2-core machine shared with other jobs (the phases after the solver are measured
in the same run and kept back, not estimated)."""
runner = CliRunner(env={"COLUMNS": "200"})

# (plant, its order book, the lot size that makes it heavy for its few orders)
BOOKS = [
    ("robot_factory.yaml", "orders_robot_4w.csv", 2),
    ("electronics_plant.yaml", "orders_electronics_4w.csv", 50),
    ("coatings_plant.yaml", "orders_coatings_4w.csv", 100),
]


def _small_book(src: Path, out: Path, orders: int) -> Path:
    with src.open(newline="") as fh:
        rows = list(csv.reader(fh))
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows[: orders + 1])
    return out


@pytest.mark.parametrize(("plant", "book", "lot"), BOOKS, ids=[b[0] for b in BOOKS])
def test_the_plan_keeps_its_time_limit(plant: str, book: str, lot: int, tmp_path: Path) -> None:
    orders = _small_book(EXAMPLES / book, tmp_path / book, orders=4)
    limit = 1.5
    t0 = time.perf_counter()
    result = runner.invoke(
        app,
        [
            "schedule",
            str(EXAMPLES / plant),
            str(orders),
            *("--time-limit", str(limit), "--lot-size", str(lot), "--workers", "1"),
        ],
    )
    used = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    line = re.search(r"time used \(1\.5 s limit\): (.*)", result.output)
    assert line is not None, result.output
    assert used <= limit + TOLERANCE_S, line.group(1)


def test_a_limit_too_short_for_the_solver_says_so(tmp_path: Path) -> None:
    """Loading and the list schedule take longer than 0.05 s: the rule's plan is the plan, the
    solver is not started (it would only overrun), and the output says why."""
    orders = _small_book(EXAMPLES / "orders_robot_4w.csv", tmp_path / "book.csv", orders=4)
    result = runner.invoke(
        app,
        ["schedule", str(EXAMPLES / "robot_factory.yaml"), str(orders), "--time-limit", "0.05"],
    )
    assert result.exit_code == 0, result.output
    assert "solver: not run:" in result.output
    assert "of the 0.05 s limit left after loading" in result.output
