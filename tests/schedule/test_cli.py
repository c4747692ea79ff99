"""The scheduling commands end to end on the small order book (plan, then repair)."""

from __future__ import annotations

import csv
import datetime as dt
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
    args = ["schedule", str(PLANT), str(ORDERS), "--time-limit", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "schedule.json").read_text())
    assert plan["status"] in ("optimal", "feasible")
    assert (out / "gantt.png").is_file() and (out / "gantt.html").is_file()
    now = dt.datetime.fromisoformat("2026-03-04T08:00+08:00")
    # scrap the latest operation that started before now
    started = [o for o in plan["operations"] if dt.datetime.fromisoformat(o["start"]) < now]
    scrapped = max(started, key=lambda o: o["start"])
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
            "--scrap",
            f"{scrapped['order_id']}:{scrapped['operation_id']}",
            "--time-limit",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    repaired = json.loads((out / "repaired.json").read_text())
    assert any(op["order_id"] == "RUSH-0001" for op in repaired["operations"])
    remakes = [
        op
        for op in repaired["operations"]
        if (op["order_id"], op["operation_id"])
        == (scrapped["order_id"], f"{scrapped['operation_id']}#remake")
    ]
    assert len(remakes) == 1 and dt.datetime.fromisoformat(remakes[0]["start"]) >= now
    # the same outputs as 'schedule', and what moved and why
    assert (out / "repaired.csv").is_file() and (out / "gantt.html").is_file()
    with (out / "moves.csv").open() as fh:
        moves = list(csv.DictReader(fh))
    rush = [m for m in moves if m["order_id"] == "RUSH-0001"]
    assert rush and all(m["reason"].startswith("new order (weight 10), due ") for m in rush)
    assert any(m["reason"] == "remake of scrapped work" for m in moves)
    assert "stopped" in result.output


def test_scrap_of_an_unknown_step_is_a_clean_error(tmp_path: Path) -> None:
    plan = tmp_path / "schedule.json"
    plan.write_text(json.dumps({"operations": []}))
    args = ["repair", str(PLANT), str(ORDERS), str(plan), "--now", "2026-03-04T08:00+08:00"]
    result = CliRunner().invoke(app, [*args, "--scrap", "SO-0004:welding"])
    assert result.exit_code == 1
    assert "SO-0004:welding" in result.output and "arm_assembly" in result.output
    result = CliRunner().invoke(app, [*args, "--scrap", "SO-0004"])
    assert result.exit_code == 2 and "ORDER:STEP" in result.output


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


def test_lexicographic_objective_on_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app,
        [
            "schedule",
            str(PLANT),
            str(ORDERS),
            "--objective",
            "lex:weighted_tardiness,makespan",
            "--time-limit",
            "2",
            "--no-gantt",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "schedule.json").read_text())
    assert plan["objective_name"] == "lex:weighted_tardiness,makespan"
    # the last stage's objective is the makespan in working minutes; KPIs are in wall-clock h
    assert plan["objective"] > 0 and plan["kpis"]["makespan_h"] > 0
    row = next(line for line in result.output.splitlines() if "lexicographic values" in line)
    ours, rule = (cell.strip() for cell in row.split("│")[2:4])
    tardiness, makespan = (float(v) for v in ours.split(" / "))
    rule_tardiness, _ = (float(v) for v in rule.split(" / "))
    # the first objective never loses against the rule that warm-starts it
    assert tardiness <= rule_tardiness and makespan == plan["objective"]


def test_lexicographic_objective_names_are_checked() -> None:
    result = CliRunner().invoke(
        app,
        ["schedule", str(PLANT), str(ORDERS), "--objective", "lex:makespan,profit"],
    )
    assert result.exit_code == 1
    assert "'profit'" in result.output and "lex:NAME,NAME" in result.output
