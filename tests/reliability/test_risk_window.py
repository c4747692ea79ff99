"""A maintenance window is placed where it costs the plan least: priced by the repair."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factoryos.app.planning import plan_orders, write_schedule
from factoryos.app.risk_window import candidate_starts, place_maintenance
from factoryos.model.errors import ReliabilityError
from factoryos.model.loader import load_plant

EXAMPLES = Path(__file__).parents[2] / "examples"
PLANT = EXAMPLES / "robot_factory.yaml"
ORDERS = EXAMPLES / "orders_small.csv"


def test_a_window_after_the_plan_beats_one_over_the_units_busiest_work(tmp_path: Path) -> None:
    outcome = plan_orders(PLANT, ORDERS, time_limit_s=2.0, num_workers=1)
    [plan_path] = [
        p
        for p in write_schedule(outcome.schedule, tmp_path, load_plant(PLANT))
        if p.suffix == ".json"
    ]
    ops = outcome.schedule.operations
    # the unit with the most planned work, and the start of its longest operation
    busiest = max(
        {(o.equipment_id, o.unit_index) for o in ops},
        key=lambda u: sum(
            (o.end - o.start).total_seconds() for o in ops if (o.equipment_id, o.unit_index) == u
        ),
    )
    longest = max(
        (o for o in ops if (o.equipment_id, o.unit_index) == busiest), key=lambda o: o.end - o.start
    )
    now = min(o.start for o in ops)
    after = max(o.end for o in ops) + dt.timedelta(hours=1)
    costs = place_maintenance(
        PLANT,
        ORDERS,
        plan_path,
        equipment=busiest[0],
        unit=busiest[1],
        duration=dt.timedelta(hours=4),
        starts=[longest.start, after],
        now=now,
        time_limit_s=1.0,
    )
    first, second = costs
    assert first.start == after
    assert first.displaced_work_h == 0.0
    # both repairs run CP-SAT under a time limit: allow some solver noise
    assert first.added_weighted_tardiness_h == pytest.approx(0.0, abs=1.0)
    assert second.displaced_work_h > 0.0


def test_candidate_starts_and_their_checks() -> None:
    t0 = dt.datetime(2026, 3, 4, 8, tzinfo=dt.UTC)
    starts = candidate_starts(t0, dt.timedelta(hours=24), dt.timedelta(hours=8))
    assert starts == [t0, t0 + dt.timedelta(hours=8), t0 + dt.timedelta(hours=16)]
    with pytest.raises(ReliabilityError, match="positive step"):
        candidate_starts(t0, dt.timedelta(hours=24), dt.timedelta(0))
