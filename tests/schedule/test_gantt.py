"""Gantt charts and plan files: offline HTML, the plant's local time, paused lots in pieces."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from factoryos.app.planning import write_schedule
from factoryos.model import load_plant
from factoryos.model.plant import Plant
from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.schedule.gantt import gantt_html, working_pieces

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_plant.yaml"
UTC = dt.UTC


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(MINI)  # Asia/Shanghai, one shift 08:00-16:00 Mon-Fri, break 12:00-12:30


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """2026-03-<day> local Shanghai time (UTC+08:00) as UTC."""
    local = dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return local.astimezone(UTC)


def plan(*ops: ScheduledOperation) -> Schedule:
    return Schedule(ops, "feasible", 1.0, 0.0, 0.1)


# A resumable lot started Friday 2026-03-06 15:00, paused over the weekend, done Monday 10:00.
WEEKEND_LOT = ScheduledOperation("SO-1", "part", "mill", "cnc", 1, at(6, 15), at(9, 10))


def test_a_lot_paused_over_a_weekend_is_drawn_as_its_working_pieces(plant: Plant) -> None:
    pieces = working_pieces(plan(WEEKEND_LOT), plant)
    assert [(p.start.isoformat(), p.end.isoformat(), p.label) for p in pieces] == [
        ("2026-03-06T15:00:00+08:00", "2026-03-06T16:00:00+08:00", "SO-1 mill (part 1/2)"),
        ("2026-03-09T08:00:00+08:00", "2026-03-09T10:00:00+08:00", "SO-1 mill (part 2/2)"),
    ]


def test_a_step_across_the_lunch_break_shows_the_break(plant: Plant) -> None:
    op = ScheduledOperation("SO-2", "widget", "assemble", "bench", 1, at(2, 11), at(2, 13))
    pieces = working_pieces(plan(op), plant)
    assert [(p.start.hour, p.start.minute, p.end.hour, p.end.minute) for p in pieces] == [
        (11, 0, 12, 0),
        (12, 30, 13, 0),
    ]


def test_html_works_offline_and_shows_local_times(plant: Plant, tmp_path: Path) -> None:
    html = gantt_html(plan(WEEKEND_LOT), tmp_path / "gantt.html", plant).read_text()
    # no script or stylesheet is fetched from anywhere: plotly.js is inside the file
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", html)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", html)
    assert len(html) > 1_000_000 and "Plotly.newPlot" in html
    # bars on the local wall clock, hover and axis with the zone and offset
    assert '"2026-03-06T15:00:00"' in html and '"2026-03-09T08:00:00"' in html
    assert "2026-03-06T15:00+08:00" in html
    assert "local time (Asia\\u002fShanghai, UTC+08:00)" in html  # plotly escapes "/"


def test_csv_and_json_times_carry_the_plants_offset(plant: Plant, tmp_path: Path) -> None:
    setup = ScheduledOperation(
        "SO-3",
        "part",
        "mill",
        "cnc",
        2,
        at(2, 9),
        at(2, 10),
        at(2, 8, 30),
        dt.timedelta(minutes=30),
    )
    paths = write_schedule(plan(WEEKEND_LOT, setup), tmp_path, plant, gantt=True)
    assert {p.name for p in paths} == {"schedule.csv", "schedule.json", "gantt.html", "gantt.png"}
    with (tmp_path / "schedule.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["start"], r["end"], r["setup_start"]) for r in rows] == [
        ("2026-03-02T09:00:00+08:00", "2026-03-02T10:00:00+08:00", "2026-03-02T08:30:00+08:00"),
        ("2026-03-06T15:00:00+08:00", "2026-03-09T10:00:00+08:00", ""),
    ]
    assert '"start": "2026-03-06T15:00:00+08:00"' in (tmp_path / "schedule.json").read_text()
