"""Bad input on the command line and in the files it names: a message, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from factoryos.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLANT = EXAMPLES / "robot_factory.yaml"
ORDERS = EXAMPLES / "orders_small.csv"
runner = CliRunner(env={"COLUMNS": "200"})

BAD_ORDERS = """\
order,product,quantity,release,due,weight
SO-1,sr6,6,2026-03-04T16:00+08:00,2026-03-14T16:00+08:00,5
SO-2,sr7,6,2026-03-04T16:00+08:00,2026-03-14T16:00+08:00,1
SO-3,sr6,six,2026-03-04T16:00+08:00,2026-03-02T16:00+08:00,1
SO-4,sr6,2,2026-03-04T16:00,,1
SO-1,sa400,1,2026-03-04T16:00+08:00,2026-03-14T16:00+08:00
"""


def test_orders_csv_reports_every_error_with_file_and_line(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(BAD_ORDERS)
    result = runner.invoke(app, ["schedule", str(PLANT), str(orders), "--time-limit", "1"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line.strip() for line in result.output.splitlines()]
    expected = [
        f"{orders}:3: product: unknown product 'sr7' (the plant makes castings_sa400, "
        "castings_sr20, castings_sr6, harmonic_reducer, rv_reducer, sa400, servo_motor, sr20, sr6)",
        f"{orders}:4: quantity: not an integer: 'six'",
        f"{orders}:4: due: 2026-03-02T16:00+08:00 is before the release 2026-03-04T16:00+08:00",
        f"{orders}:5: release: '2026-03-04T16:00' has no time zone (write e.g. "
        "2026-03-02T08:00+08:00)",
        f"{orders}:6: order: duplicate order id 'SO-1', first on line 2",
    ]
    for message in expected:
        assert any(line.endswith(message) for line in lines), (message, result.output)
    assert "5 problem(s) in the orders" in result.output


def test_down_window_that_ends_before_it_starts(tmp_path: Path) -> None:
    plan = tmp_path / "schedule.json"
    plan.write_text("{}")
    down = "arm_station/1@2026-03-05T08:00+08:00..2026-03-04T08:00+08:00"
    args = ["repair", str(PLANT), str(ORDERS), str(plan), "--now", "2026-03-04T08:00+08:00"]
    result = runner.invoke(app, [*args, "--down", down])
    assert result.exit_code == 2
    assert "the window ends (2026-03-04T08:00+08:00) before it starts" in result.output
    result = runner.invoke(app, [*args, "--down", down.replace("/1@", "/one@")])
    assert result.exit_code == 2
    assert "unit 'one' is not a number" in result.output


def test_bench_schedule_names_a_bounds_csv_with_other_columns(tmp_path: Path) -> None:
    (tmp_path / "tiny.txt").write_text("2 2\n0 3 1 2\n1 2 0 4\n")
    (tmp_path / "bounds.csv").write_text("instance,lb,ub\ntiny,7,7\n")
    result = runner.invoke(app, ["bench-schedule", str(tmp_path / "tiny.txt"), "--time-limit", "1"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (
        f"{tmp_path / 'bounds.csv'}:1: columns ['instance', 'lb', 'ub']; expected lower_bound"
        in (result.output.replace("\n", ""))
    )
