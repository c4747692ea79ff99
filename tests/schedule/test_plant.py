"""Orders on the reference robot plant: mapping, assembly joins, decomposition, KPIs, outputs."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import pytest

from factoryos.model.loader import load_plant
from factoryos.schedule import (
    InstanceFormatError,
    Objective,
    SolverParams,
    best_rule,
    check,
    to_schedule,
)
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.gantt import gantt_html, gantt_png
from factoryos.schedule.kpis import plan_kpis
from factoryos.schedule.orders import PlantProblem, build_problem, read_orders

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLANT = EXAMPLES / "robot_factory.yaml"
ORDERS = EXAMPLES / "orders_small.csv"

pytestmark = pytest.mark.skipif(
    not (PLANT.is_file() and ORDERS.is_file()), reason="examples/robot_factory.yaml not present"
)


@pytest.fixture(scope="module")
def small() -> PlantProblem:
    return build_problem(load_plant(PLANT), read_orders(ORDERS))


def test_orders_map_to_jobs_with_assembly_joins(small: PlantProblem) -> None:
    p = small.problem
    assert len(p.jobs) == len(small.orders) == 6
    job = p.jobs[0]
    names = [op.name for op in job.operations]
    arm = names.index("arm_assembly")
    feeders = {names[a] for a, b in job.precedence_pairs() if b == arm}
    # the arm assembly waits for the last step of each component routing
    assert {"castings_sr6.painting", "servo_motor.motor_test"} <= feeders
    assert all(0 <= a < len(names) for a, _ in job.precedence_pairs())
    # every unit of a pool is an alternative machine
    assert len(job.operations[arm].alternatives) == 12
    assert small.origin.tzinfo is not None


def test_lot_duration_is_run_time_times_quantity_and_setup_is_by_family(
    small: PlantProblem,
) -> None:
    order = small.orders[0]
    job = small.problem.jobs[0]
    arm = next(op for op in job.operations if op.name == "arm_assembly")
    assert order.product == "sr6"
    # sr6 arm assembly: 3.5 h per robot, for the robots that the later steps' scrap and its own
    # 2 % rework make it run on average (6 -> 6.13: 1,287.0 min, up to the next minute); its
    # 15 min setup applies only on a change of family
    assert order.quantity == 6
    assert arm.alternatives[0].duration == 1288
    assert arm.quantity == 7  # 6 robots over the later steps' yields, rounded up
    assert arm.setup_default == 15
    assert arm.family


def test_decomposition_keeps_plans_valid_and_not_worse_than_the_rule(small: PlantProblem) -> None:
    p = small.problem
    obj = Objective(makespan_weight=0, tardiness_weight=1)
    _, rule = best_rule(p, score=lambda s: obj.score(p, s))
    cfg = DecomposeConfig(orders_per_step=3, step_time_limit_s=0.5)
    result = solve_by_orders(p, SolverParams(2.0, 2), objective=obj, config=cfg)
    check(p, result.solution)
    assert result.objective <= obj.score(p, rule)
    kpis = plan_kpis(small, result.solution)
    assert kpis["orders"] == 6
    assert 0 < kpis["utilization_mean"] <= kpis["utilization_max"] <= 1
    # every lot draws power while producing, priced by the site's time-of-use tariff
    assert kpis["energy_cost_cny"] == result.solution.energy_cost_fen(p) / 100 > 0


def test_plan_carries_family_changeovers_on_each_unit(small: PlantProblem) -> None:
    plant = load_plant(PLANT)
    p = small.problem
    result = solve_by_orders(p, SolverParams(1.0, 2), config=DecomposeConfig(step_time_limit_s=0.3))
    check(p, result.solution)
    plan = to_schedule(p, result, origin=small.origin, time_unit=small.time_unit, axis=small.axis)
    changes = 0
    for eq_id, unit in {(o.equipment_id, o.unit_index) for o in plan}:
        ops = plan.for_equipment(eq_id, unit)
        equipment = plant.equipment_by_id[eq_id]
        first = ops[0]
        step = next(
            s
            for s in plant.product_by_id[first.product].routing
            if s.id == first.operation_id.rsplit(".", 1)[-1]
        )
        # the first lot sets up too on a per-lot unit, as in the twin
        seconds = step.setup_time_s if equipment.setup == "per_lot" else 0.0
        assert first.setup_duration == dt.timedelta(minutes=math.ceil(seconds / 60))
        if seconds:
            assert first.setup_start is not None
            assert first.setup_start + first.setup_duration <= first.start
        else:
            assert first.setup_start is None
        for before, after in itertools.pairwise(ops):
            a = plant.product_by_id[before.product].family
            b = plant.product_by_id[after.product].family
            step = next(
                s
                for s in plant.product_by_id[after.product].routing
                if s.id == after.operation_id.rsplit(".", 1)[-1]
            )
            if a != b:
                seconds = equipment.setup_matrix_s.get(a, {}).get(b, step.setup_time_s)
            else:  # a new lot of the same family
                seconds = step.setup_time_s if equipment.setup == "per_lot" else 0.0
            expected = dt.timedelta(minutes=math.ceil(seconds / 60))
            assert after.setup_duration == expected
            if expected:
                changes += 1
                assert after.setup_start is not None
                assert before.end <= after.setup_start
                assert after.setup_start + after.setup_duration <= after.start
            else:
                assert after.setup_start is None
    assert changes > 0


def test_plan_outputs_gantt_files(small: PlantProblem, tmp_path: Path) -> None:
    p = small.problem
    result = solve_by_orders(p, SolverParams(0.5, 1), config=DecomposeConfig(step_time_limit_s=0.2))
    plan = to_schedule(p, result, origin=small.origin, time_unit=small.time_unit)
    assert plan.start is not None and plan.start >= small.origin
    assert {o.product for o in plan} >= {"sr6", "servo_motor"}
    html = gantt_html(plan, tmp_path / "plan.html", load_plant(PLANT))
    png = gantt_png(plan, tmp_path / "plan.png", load_plant(PLANT))
    assert html.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_orders_csv_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text(
        "order,product,quantity,release,due\n"
        "a,sr6,2,2026-03-02T08:00+08:00,2026-03-09T08:00+08:00\n"
        "b,sr6,2,2026-03-02T08:00,2026-03-09T08:00+08:00\n"
    )
    with pytest.raises(InstanceFormatError) as info:
        read_orders(bad)
    assert info.value.line == 3
    assert "time zone" in str(info.value)


def test_calendar_plans_start_in_shifts_and_pause_over_breaks(small: PlantProblem) -> None:
    from factoryos.model.calendar import shift_periods

    plant = load_plant(PLANT)
    cal = plant.calendars[plant.default_calendar]
    p = small.problem
    result = solve_by_orders(p, SolverParams(0.5, 1), config=DecomposeConfig(step_time_limit_s=0.2))
    plan = to_schedule(p, result, origin=small.origin, time_unit=small.time_unit, axis=small.axis)
    assert plan.end is not None
    periods = [(q.start, q.end) for q in shift_periods(cal, plant.zone, small.origin, plan.end)]
    stretched = 0
    for o in plan:
        assert any(lo <= o.start < hi for lo, hi in periods), o
        assert any(lo < o.end <= hi for lo, hi in periods), o
        stretched += o.end - o.start > next(
            (hi - o.start for lo, hi in periods if lo <= o.start < hi)
        )
    assert stretched > 0  # long lots run across breaks and shift ends


def test_continuous_time_without_calendar() -> None:
    pp = build_problem(load_plant(PLANT), read_orders(ORDERS), calendar=False)
    result = solve_by_orders(pp.problem, SolverParams(0.3, 1))
    check(pp.problem, result.solution)
    plan = to_schedule(pp.problem, result, origin=pp.origin, axis=pp.axis)
    assert plan.start == pp.origin + dt.timedelta(
        minutes=min(j.release_date for j in pp.problem.jobs)
    )


def test_decomposition_respects_unavailable_time() -> None:
    from factoryos.schedule import Problem, random_fjsp

    base = random_fjsp(12, 3, seed=4, ops_per_job=(2, 3))
    p = Problem(base.jobs, 3, unavailable=((0, 5, 30), (1, 10, 25), (2, 0, 8)))
    result = solve_by_orders(
        p, SolverParams(1.0, 1), config=DecomposeConfig(orders_per_step=3, step_time_limit_s=0.2)
    )
    check(p, result.solution)
