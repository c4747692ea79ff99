"""The plan keeps to its time limit: rules within a budget (a rule too slow is stopped, with the
reason), a list schedule when none finishes, decomposition steps no bigger than they can be built
in time, and what used the time reported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factoryos.app.planning import plan_orders
from factoryos.schedule import Objective, check, random_fjsp, rules_within, serial
from factoryos.schedule.cpsat import SolverParams
from factoryos.schedule.decompose import DecomposeConfig, solve_by_orders
from factoryos.schedule.rules import SERIAL, RuleTimeout, dispatch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_rule_past_its_deadline_stops() -> None:
    p = random_fjsp(20, 5, seed=1)
    with pytest.raises(RuleTimeout, match="operations placed"):
        dispatch(p, "EDD", deadline=time.perf_counter() - 1)


def test_without_budget_every_rule_is_skipped_and_the_list_schedule_is_valid() -> None:
    p = random_fjsp(20, 5, seed=2)
    ran = rules_within(p, ("EDD", "FIFO"), lambda s: float(s.makespan), 0.0)
    assert ran.rule == SERIAL and [r for r, _ in ran.skipped] == ["EDD", "FIFO"]
    assert "budget" in ran.describe()
    check(p, ran.solution)
    check(p, serial(p))


def test_with_budget_the_best_rule_wins() -> None:
    p = random_fjsp(10, 4, seed=3)
    ran = rules_within(p, ("EDD", "SPT", "MWKR"), lambda s: float(s.makespan), 60.0)
    assert set(ran.seconds) == {"EDD", "SPT", "MWKR"} and not ran.skipped
    assert ran.solution.makespan == min(dispatch(p, r).makespan for r in ("EDD", "SPT", "MWKR"))


def test_orders_too_big_for_a_step_are_said_and_the_plan_kept() -> None:
    p = random_fjsp(6, 4, seed=4, ops_per_job=(8, 8))
    hint = serial(p)
    cfg = DecomposeConfig(max_step_ops=3)  # every order has 8 operations
    t0 = time.perf_counter()
    r = solve_by_orders(p, SolverParams(5.0, 1), objective=Objective(), hint=hint, config=cfg)
    assert time.perf_counter() - t0 < 1.0
    assert r.solution == hint and "no step run" in r.note


@pytest.mark.skipif(not (EXAMPLES / "electronics_plant.yaml").is_file(), reason="no examples")
def test_small_lots_keep_the_time_limit() -> None:
    """Lots of 200 (2,000 operations): EDD alone takes longer than the 0.6 s rule budget on
    this machine; the whole call stays near its 3 s (slack for a loaded machine)."""
    t0 = time.perf_counter()
    out = plan_orders(
        EXAMPLES / "electronics_plant.yaml",
        EXAMPLES / "orders_electronics_4w.csv",
        objective="combined",
        time_limit_s=3.0,
        lot_size=200,
    )
    used = time.perf_counter() - t0
    assert used < 3.0 + 2.0, out.timings
    assert [phase for phase, _ in out.timings][:2] == ["load", "rules"]
    assert out.rules_run and out.solver_note
    check(out.plant_problem.problem, out.solution)
