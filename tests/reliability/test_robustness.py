"""Plan robustness: the twin executes a hand-made plan as planned; known answers.

The plant: four mills, 24/7, one 1 h step. The plan: order k (5 parts) on mill k from 08:00 + k h.
Without failures the twin is deterministic, so each order ends exactly 5 h after its planned
start; with the model's Weibull failures, on-time probabilities drop below one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factoryos.app.robustness import assess_plans, paired_difference
from factoryos.app.simulation import read_orders_file, read_schedule_file
from factoryos.cli.main import app
from factoryos.model import MachineState
from factoryos.model.events import EventKind, OperationEvent, StateChange
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.twin import DispatchRule
from factoryos.simulate.units import Outage
from tests.reliability.plants import RELIABILITY_PLANT, reliability_plant

T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
NO_FAILURES = {
    "areas": [
        {"id": "shop", "lines": [{"id": "cells", "equipment": [{"id": "mill", "failure": None}]}]}
    ]
}


def write_case(tmp_path: Path, delay_h: float = 0.0) -> tuple[Path, Path]:
    """Orders due 6 h after their planned start (1 h of slack); the plan (order SO-1 delayed
    by ``delay_h``)."""
    orders = tmp_path / "orders.csv"
    rows = ["order,product,quantity,release,due,weight"]
    ops = []
    for k in range(1, 5):
        begin = T0 + dt.timedelta(hours=k)
        rows.append(
            f"SO-{k},part,5,{T0.isoformat()},{(begin + dt.timedelta(hours=6)).isoformat()},1"
        )
        planned = begin + dt.timedelta(hours=delay_h if k == 1 else 0.0)
        ops.append(
            {
                "order_id": f"SO-{k}",
                "product": "part",
                "operation_id": "mill",
                "equipment_id": "mill",
                "unit_index": k,
                "start": planned.isoformat(),
                "end": (planned + dt.timedelta(hours=5)).isoformat(),
            }
        )
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    plan = tmp_path / f"plan_{delay_h:g}.json"
    plan.write_text(json.dumps({"operations": ops}), encoding="utf-8")
    return orders, plan


def test_each_step_runs_on_its_planned_unit_never_before_its_planned_start(tmp_path: Path) -> None:
    plant = reliability_plant(NO_FAILURES)
    orders, plan = write_case(tmp_path)
    schedule = read_schedule_file(plan)
    spec = RunSpec(
        plant, tuple(read_orders_file(orders, T0)), T0, 86400.0, 1, DispatchRule.PLAN, schedule
    )
    events: list[object] = []
    spec.twin(0, sink=events.append).run()
    starts = [
        e for e in events if isinstance(e, OperationEvent) and e.kind is EventKind.OPERATION_START
    ]
    assert len(starts) == 20
    for k in range(1, 5):
        mine = sorted(e.ts for e in starts if e.order_id == f"SO-{k}")
        assert {e.path for e in starts if e.order_id == f"SO-{k}"} == {
            f"acme/works/shop/cells/mill/{k}"
        }
        # the first part at the planned start (not at 08:00, when the unit is already free)
        assert mine[0] == T0 + dt.timedelta(hours=k)
        assert mine[-1] == T0 + dt.timedelta(hours=k + 4)


def test_without_failures_the_outcome_is_exact_and_a_delay_costs_its_length(tmp_path: Path) -> None:
    plant = reliability_plant(NO_FAILURES)
    orders, plan = write_case(tmp_path)
    _, late_plan = write_case(tmp_path, delay_h=3.0)
    base, late = assess_plans(plant, orders, [plan, late_plan], replications=3, processes=1)
    assert [o.on_time.value for o in base.orders] == [1.0, 1.0, 1.0, 1.0]
    assert base.total_tardiness_h.mean == 0.0
    assert [o.on_time.value for o in late.orders] == [0.0, 1.0, 1.0, 1.0]
    assert late.orders[0].tardiness_h.mean == pytest.approx(2.0)  # 3 h late start, 1 h slack
    on_time, tardiness = paired_difference(base, late)
    assert (on_time.mean, on_time.half_width) == (-1.0, 0.0)
    assert tardiness.mean == pytest.approx(2.0) and tardiness.half_width == pytest.approx(0.0)


def test_failures_make_orders_uncertain_and_common_random_numbers_pair_the_runs(
    tmp_path: Path,
) -> None:
    # Weibull(1.5, 8 h) failures: a 5 h order meets one with probability ~0.4; 3 h repairs
    often = {"dist": "weibull", "shape": 1.5, "scale": "8 h"}
    plant = reliability_plant(
        {
            "areas": [
                {
                    "id": "shop",
                    "lines": [
                        {
                            "id": "cells",
                            "equipment": [
                                {"id": "mill", "failure": {"time_between_failures": often}}
                            ],
                        }
                    ],
                }
            ]
        }
    )
    orders, plan = write_case(tmp_path)
    same, again = assess_plans(plant, orders, [plan, plan], replications=12, processes=1)
    p = [o.on_time.value for o in same.orders]
    assert max(p) < 1.0  # every order is late in some replication
    assert same.total_tardiness_h.mean > 0.0
    assert all(
        0.0 <= o.on_time.low <= o.on_time.value <= o.on_time.high <= 1.0 for o in same.orders
    )
    # the same plan twice with the same random numbers: every paired difference is zero
    on_time, tardiness = paired_difference(same, again)
    assert (on_time.mean, on_time.half_width, tardiness.mean, tardiness.half_width) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )


def test_cli_prints_per_order_probabilities_and_the_paired_difference(tmp_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(RELIABILITY_PLANT, encoding="utf-8")
    orders, plan = write_case(tmp_path)
    _, late_plan = write_case(tmp_path, delay_h=3.0)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app,
        [
            "robustness", str(plant_file), str(orders), str(plan),
            "--against", str(late_plan), "--replications", "3", "--processes", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SO-4" in result.output and "common random numbers" in result.output


def test_a_known_outage_delays_the_planned_unit_by_its_length(tmp_path: Path) -> None:
    """Mill 1 down for 2 h from SO-1's planned start: SO-1 ends 2 h later (1 h late, it had 1 h
    of slack) in every replication; the other mills' orders are untouched."""
    plant = reliability_plant(NO_FAILURES)
    orders, plan = write_case(tmp_path)
    down = Outage("mill", 1, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3))
    (out,) = assess_plans(plant, orders, [plan], replications=2, processes=1, outages=[down])
    assert [o.on_time.value for o in out.orders] == [0.0, 1.0, 1.0, 1.0]
    assert out.orders[0].tardiness_h.mean == pytest.approx(1.0)
    schedule = read_schedule_file(plan)
    spec = RunSpec(
        plant,
        tuple(read_orders_file(orders, T0)),
        T0,
        86400.0,
        1,
        DispatchRule.PLAN,
        schedule,
        outages=(down,),
    )
    events: list[object] = []
    spec.twin(0, sink=events.append).run()
    states = [
        (e.ts, e.state)
        for e in events
        if isinstance(e, StateChange) and e.path == "acme/works/shop/cells/mill/1"
    ]
    assert (T0 + dt.timedelta(hours=1), MachineState.FAULT) in states
    after = [s for ts, s in states if ts == T0 + dt.timedelta(hours=3)]
    assert after and after[-1] is MachineState.PRODUCING
