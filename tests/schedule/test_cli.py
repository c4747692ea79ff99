"""The scheduling commands end to end on the small order book (plan, then repair)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLANT = EXAMPLES / "robot_factory.yaml"
ORDERS = EXAMPLES / "orders_small.csv"
RUSH = EXAMPLES / "orders_rush.csv"

pytestmark = pytest.mark.skipif(
    not (PLANT.is_file() and ORDERS.is_file() and RUSH.is_file()), reason="examples missing"
)


def test_schedule_then_repair(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "plan"
    args = ["schedule", str(PLANT), str(ORDERS), "--time-limit", "2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "schedule.json").read_text())
    assert plan["status"] in ("optimal", "feasible")
    assert (out / "gantt.png").is_file() and (out / "gantt.html").is_file()
    result = runner.invoke(
        app,
        [
            "repair",
            str(PLANT),
            str(ORDERS),
            str(out / "schedule.json"),
            "--now",
            "2026-03-04T08:00+08:00",
            "--down",
            "arm_station/1@2026-03-04T08:00+08:00..2026-03-05T08:00+08:00",
            "--rush",
            str(RUSH),
            "--time-limit",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    repaired = json.loads((out / "repaired.json").read_text())
    assert any(op["order_id"] == "RUSH-0001" for op in repaired["operations"])


def test_bench_schedule_on_a_file(tmp_path: Path) -> None:
    ft = tmp_path / "tiny.txt"
    ft.write_text("2 2\n0 3 1 2\n1 4 0 1\n")
    result = CliRunner().invoke(app, ["bench-schedule", str(ft), "--time-limit", "1", "--baseline"])
    assert result.exit_code == 0, result.output
    assert "tiny" in result.output and "optimal" in result.output


def test_unknown_objective_is_a_clean_error() -> None:
    result = CliRunner().invoke(
        app, ["schedule", str(PLANT), str(ORDERS), "--objective", "profit", "--time-limit", "1"]
    )
    assert result.exit_code == 1
