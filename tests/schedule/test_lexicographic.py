"""Lexicographic objectives through the order-window decomposition (plant-size path)."""

from __future__ import annotations

from factoryos.schedule import (
    DecomposeConfig,
    Objective,
    Problem,
    SolverParams,
    check,
    solve_lexicographic,
)

FAST = SolverParams(time_limit_s=1.0, num_workers=2)
ONE_ORDER = DecomposeConfig(orders_per_step=1, min_orders=1, max_orders=1, step_time_limit_s=0.3)
MAKESPAN, ENERGY = Objective(1, 0), Objective(0, 0, 1)


def test_a_decomposed_stage_keeps_the_earlier_value(valley_is_late: Problem) -> None:
    p = valley_is_late
    # each step re-solves one order with the other fixed; the energy stage may move the press
    # only as far as the makespan of 21 allows: 11-21, 100 kW x (9 x 1.2 + 0.3) = 1,110 CNY
    # (unbounded, the step would put it in the valley at 20-30)
    out = solve_lexicographic(
        p, [MAKESPAN, ENERGY], FAST, decompose_above_ops=0, decompose=ONE_ORDER
    )
    check(p, out.result.solution)
    assert out.values == (21, 111_000)
    assert out.result.solution.by_ref()[(0, 0)].start == 11
    assert out.result.solver == "factoryos-orders-lns"


def test_decomposed_energy_first_then_makespan(valley_is_late: Problem) -> None:
    p = valley_is_late
    out = solve_lexicographic(
        p, [ENERGY, MAKESPAN], FAST, decompose_above_ops=0, decompose=ONE_ORDER
    )
    check(p, out.result.solution)
    assert out.values == (30_000, 30)
