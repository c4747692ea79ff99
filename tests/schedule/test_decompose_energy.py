"""Order-window decomposition with the energy term: known answers against the full CP-SAT model,
complete hints, and start windows that keep steps solvable (every plan passes the validator)."""

from __future__ import annotations

import dataclasses

import pytest

from factoryos.schedule import (
    Alternative,
    CpSatJobShop,
    DecomposeConfig,
    EnergyPrices,
    Job,
    Objective,
    Operation,
    Problem,
    Solution,
    SolverParams,
    best_rule,
    check,
    random_fjsp,
    solve_by_orders,
    solve_lexicographic,
    with_families,
)

PEAK, VALLEY = 1.0, 0.2
ENERGY = Objective(0, 0, 1)
# 6 runs x 10 h in the valley: 3 on the 100 kW machine, 3 on the 50 kW one
ALL_IN_VALLEYS_FEN = 100 * (3 * 10 * VALLEY * 100 + 3 * 10 * VALLEY * 50)


def _valleys() -> Problem:
    """Six one-step orders of 10 units, three per machine (100 kW and 50 kW); prices alternate
    peak and valley every 10 units, so [10, 20), [30, 40) and [50, 60) are the valleys and a
    plan of makespan 60 (the full model's horizon) can run everything there."""
    energy = EnergyPrices(slot=10, prices=(PEAK, VALLEY) * 4, power_kw=(100.0, 50.0), unit_h=1.0)
    jobs = tuple(
        Job((Operation((Alternative(j % 2, 10),), name="run"),), name=f"O{j}") for j in range(6)
    )
    return Problem(jobs, 2, name="valleys", energy=energy)


def _in_valleys(plan: Solution) -> bool:
    return all((a.start // 10) % 2 == 1 and a.end - a.start == 10 for a in plan.assignments)


def test_floor_is_every_run_at_the_lowest_price() -> None:
    p = _valleys()
    assert p.energy is not None
    assert p.energy.lower_bound_fen(p) == ALL_IN_VALLEYS_FEN == 90_000


@pytest.mark.parametrize(
    "objective", [ENERGY, Objective(1, 0, 1)], ids=["energy", "makespan+energy"]
)
def test_decomposition_moves_every_run_into_a_valley_like_the_full_model(
    objective: Objective,
) -> None:
    p = _valleys()
    full = CpSatJobShop(p, objective=objective).solve(SolverParams(5.0, 1))
    check(p, full.solution)
    assert full.status == "optimal"
    assert full.objective == objective.makespan_weight * 60 + ALL_IN_VALLEYS_FEN
    # the rule packs each machine from 0: peak, valley, peak
    _, rule = best_rule(p, ("FIFO",))
    assert rule.energy_cost_fen(p) == 100 * (2 * 10 * PEAK + 10 * VALLEY) * (100 + 50)
    result = solve_by_orders(
        p,
        SolverParams(1.0, 1),
        objective=objective,
        hint=rule,
        config=DecomposeConfig(orders_per_step=2, min_orders=2, step_time_limit_s=1.0),
    )
    check(p, result.solution)
    assert _in_valleys(result.solution)
    assert result.solution.energy_cost_fen(p) == ALL_IN_VALLEYS_FEN
    assert result.objective == full.objective == objective.score(p, result.solution)
    if objective == ENERGY:
        # the plan meets the lower bound (every run at the lowest price): the loop stops early
        assert result.status == "optimal" and result.wall_time_s < 0.5


def _calendar_plant(seed: int) -> Problem:
    """A flexible shop with families and changeovers, a calendar pause every 25 units that the
    first operation of each job may not span, a maintenance window, due dates and prices."""
    base = with_families(random_fjsp(6, 3, seed=seed, max_duration=9), seed=seed, max_setup=4)
    jobs = tuple(
        dataclasses.replace(
            job,
            operations=tuple(
                dataclasses.replace(op, resumable=o > 0) for o, op in enumerate(job.operations)
            ),
            due_date=40 + 10 * j,
            weight=1 + j % 3,
        )
        for j, job in enumerate(base.jobs)
    )
    energy = EnergyPrices(
        slot=6, prices=(1.2, 0.3, 0.7, 1.2, 0.3) * 10, power_kw=(30.0, 60.0, 90.0), unit_h=0.5
    )
    return dataclasses.replace(
        base,
        jobs=jobs,
        energy=energy,
        breaks=tuple(range(25, 400, 25)),
        unavailable=((1, 30, 38),),
        name=f"calendar_{seed}",
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hint_from_a_rule_is_complete_and_feasible(seed: int) -> None:
    p = _calendar_plant(seed)
    objective = Objective(1, 1, 1)
    _, rule = best_rule(p, ("EDD", "SETUP"), score=lambda s: objective.score(p, s))
    check(p, rule)
    windows = {a.ref: (a.start - 12, a.start + 12) for a in rule.assignments}
    model = CpSatJobShop(p, objective=objective, start_windows=windows)
    model.add_hint(rule)
    proto = model.model.proto
    hinted = set(proto.solution_hint.vars)
    unhinted = [
        v.name
        for i, v in enumerate(proto.variables)
        if i not in hinted and not (len(v.domain) == 2 and v.domain[0] == v.domain[1])
    ]
    assert unhinted == []
    # windowed, without probing (the decomposition's step settings): solves, never worse
    result = model.solve(SolverParams(1.0, 1, probing=False))
    check(p, result.solution)
    assert result.status in ("optimal", "feasible")
    assert all(
        lo <= a.start <= hi for a in result.solution.assignments for lo, hi in [windows[a.ref]]
    )
    # the model's energy is the scorer's whenever its tables are unit by unit (small domains)
    assert result.objective == objective.score(p, result.solution)
    assert result.objective <= objective.score(p, rule)


@pytest.mark.parametrize("seed", [1, 2])
def test_decomposed_plans_on_a_calendar_with_energy_pass_the_validator(seed: int) -> None:
    p = _calendar_plant(seed)
    objective = Objective(1, 1, 1)
    _, rule = best_rule(p, ("EDD", "SETUP"), score=lambda s: objective.score(p, s))
    result = solve_by_orders(
        p,
        SolverParams(1.5, 1, seed=seed),
        objective=objective,
        hint=rule,
        config=DecomposeConfig(orders_per_step=2, start_window=12, step_time_limit_s=0.5),
    )
    check(p, result.solution)
    assert result.objective == objective.score(p, result.solution) <= objective.score(p, rule)


def test_lexicographic_energy_then_makespan_keeps_the_exact_energy_with_coarse_tables() -> None:
    """48 operations over a ~500-unit horizon: the energy tables are priced by start steps, not
    unit by unit, yet the makespan stage never raises the energy the first stage reached."""
    base = random_fjsp(12, 4, seed=5, max_duration=20)
    energy = EnergyPrices(
        slot=12, prices=(1.1, 0.4, 0.7, 0.3) * 60, power_kw=(20.0, 45.0, 70.0, 90.0), unit_h=0.25
    )
    p = dataclasses.replace(base, energy=energy)
    lex = solve_lexicographic(p, [ENERGY, Objective(1, 0)], SolverParams(2.0, 1))
    plan = lex.result.solution
    check(p, plan)
    assert plan.energy_cost_fen(p) <= lex.values[0]
    assert lex.values == (lex.values[0], plan.makespan)
