"""Time-of-use energy cost: known answers for the objective, exact scoring, plan KPI."""

from __future__ import annotations

from factoryos.schedule import (
    Alternative,
    CpSatJobShop,
    EnergyPrices,
    Job,
    Objective,
    Operation,
    Problem,
    SolverParams,
    check,
    random_fjsp,
    solve,
    solve_lexicographic,
)

FAST = SolverParams(time_limit_s=5.0, num_workers=2)
PEAK, VALLEY = 1.2, 0.3


def _peak_or_valley() -> Problem:
    """A 10-unit op on a 100 kW machine, free to start in [0, 20]; slot 1 (10-19) is the valley.

    A 30-unit op on a machine drawing nothing sets the horizon, so both starts are feasible.
    """
    energy = EnergyPrices(slot=10, prices=(PEAK, VALLEY, PEAK), power_kw=(100.0, 0.0), unit_h=1.0)
    jobs = (
        Job((Operation((Alternative(0, 10),), name="press"),), name="J0"),
        Job((Operation((Alternative(1, 30),), name="idle"),), name="J1"),
    )
    return Problem(jobs, 2, name="peak-or-valley", energy=energy)


def test_energy_objective_moves_the_run_into_the_valley() -> None:
    p = _peak_or_valley()
    result = CpSatJobShop(p, objective=Objective(0, 0, 1)).solve(FAST)
    check(p, result.solution)
    press = result.solution.by_ref()[(0, 0)]
    assert (press.start, press.end) == (10, 20)
    # 100 kW x 10 h x 0.3 CNY/kWh = 300 CNY = 30,000 fen
    assert result.solution.energy_cost_fen(p) == 30_000
    assert result.objective == 30_000 and result.status == "optimal"


def test_the_solve_pipeline_also_finds_the_valley() -> None:
    # an energy term sends even a small plan through the windowed decomposition
    p = _peak_or_valley()
    result = solve(p, SolverParams(time_limit_s=1.0, num_workers=2), objective=Objective(0, 0, 1))
    check(p, result.solution)
    assert result.solution.by_ref()[(0, 0)].start == 10
    assert result.objective == 30_000


def test_makespan_alone_does_not_care_and_peak_costs_four_times_more() -> None:
    p = _peak_or_valley()
    e = p.energy
    assert e is not None
    assert e.cost_fen(0, 0, 10) == 4 * e.cost_fen(0, 10, 20) == 120_000
    # half in the peak, half in the valley: priced unit by unit
    assert e.cost_fen(0, 5, 15) == (60_000 + 15_000)
    # combined: makespan 30 either way, energy decides
    result = CpSatJobShop(p, objective=Objective(1, 0, 1)).solve(FAST)
    assert result.solution.by_ref()[(0, 0)].start == 10
    assert result.objective == 30 + 30_000


def test_energy_score_matches_the_solver_on_random_instances() -> None:
    base = random_fjsp(4, 3, seed=7, max_duration=8)
    energy = EnergyPrices(
        slot=6, prices=(1.0, 0.2, 0.6, 1.4, 0.2, 0.9), power_kw=(10.0, 25.0, 40.0), unit_h=0.25
    )
    p = Problem(base.jobs, base.num_machines, name="energy", energy=energy)
    obj = Objective(1, 0, 1)
    quick = SolverParams(time_limit_s=1.0, num_workers=2)
    result = solve(p, quick, objective=obj)
    check(p, result.solution)
    assert result.objective == obj.score(p, result.solution)
    makespan_only = solve(p, quick)
    assert result.solution.energy_cost_fen(p) <= makespan_only.solution.energy_cost_fen(p)


def test_lexicographic_order_decides_between_makespan_and_energy(valley_is_late: Problem) -> None:
    p = valley_is_late
    makespan, energy = Objective(1, 0), Objective(0, 0, 1)
    first_makespan = solve_lexicographic(p, [makespan, energy], FAST)
    check(p, first_makespan.result.solution)
    # makespan 21 (the late job); then the press starts as late as that allows: 11-21,
    # 9 peak hours and 1 valley hour: 100 kW x (9 x 1.2 + 0.3) = 1,110 CNY
    assert first_makespan.values == (21, 111_000)
    assert first_makespan.optimal == (True, True)
    assert first_makespan.result.solution.by_ref()[(0, 0)].start == 11
    first_energy = solve_lexicographic(p, [energy, makespan], FAST)
    check(p, first_energy.result.solution)
    assert first_energy.values == (30_000, 30)
    assert first_energy.result.status == "optimal"
