"""Known optima, warm starts and validity of every solver and rule on seeded random instances."""

from __future__ import annotations

import math
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factoryos.schedule import (
    RULES,
    CpSatJobShop,
    LnsConfig,
    NoSolutionError,
    Problem,
    Solution,
    SolverParams,
    best_rule,
    check,
    dispatch,
    lns,
    random_fjsp,
    random_jssp,
    solve,
    solve_baseline,
)
from factoryos.schedule.cpsat import SearchWatch
from factoryos.schedule.tabu import TabuResult
from tests.schedule.bruteforce import optimal_makespan

FAST = SolverParams(time_limit_s=5.0, num_workers=2)


def test_ft06_optimum_is_55(ft06: Problem) -> None:
    for result in (solve(ft06, FAST), solve_baseline(ft06, FAST)):
        check(ft06, result.solution)
        assert result.solution.makespan == 55
        assert result.status == "optimal"
        assert result.best_bound == 55
        assert result.wall_time_s > 0


def test_two_by_two_optimum_is_6(two_by_two: Problem) -> None:
    assert optimal_makespan(two_by_two) == 6
    result = solve(two_by_two, FAST)
    check(two_by_two, result.solution)
    assert (result.objective, result.status) == (6, "optimal")


def test_flexible_two_job_optimum_is_4(flex_two: Problem) -> None:
    for result in (solve(flex_two, FAST), solve_baseline(flex_two, FAST)):
        check(flex_two, result.solution)
        assert result.solution.makespan == 4
        assert result.status == "optimal"


@pytest.mark.parametrize("seed", range(4))
def test_cpsat_matches_brute_force_on_tiny_random_job_shops(seed: int) -> None:
    p = random_jssp(3, 3, seed=seed, max_duration=9)
    expected = optimal_makespan(p)
    for result in (solve(p, FAST), solve_baseline(p, FAST)):
        check(p, result.solution)
        assert result.solution.makespan == expected
        assert result.status == "optimal"


def test_an_impossible_upper_bound_raises_our_error(ft06: Problem) -> None:
    model = CpSatJobShop(ft06, upper_bound=50)
    with pytest.raises(NoSolutionError) as info:
        model.solve(FAST)
    assert info.value.status == "INFEASIBLE"


def test_hint_is_never_worse_than_the_best_rule() -> None:
    p = random_jssp(8, 5, seed=3)
    _, hint = best_rule(p)
    result = solve(p, SolverParams(time_limit_s=1.0, num_workers=2))
    check(p, result.solution)
    assert result.solution.makespan <= hint.makespan
    assert result.best_bound <= result.objective


def test_cpsat_and_tabu_side_by_side_improve_on_the_rule_and_stay_valid() -> None:
    p = random_jssp(12, 6, seed=11)
    _, hint = best_rule(p)
    trace: list[tuple[float, int]] = []
    result = solve(
        p,
        SolverParams(time_limit_s=1.0, num_workers=2),
        config=LnsConfig(),
        on_improvement=lambda t, makespan: trace.append((t, makespan)),
    )
    check(p, result.solution)
    assert result.solution.makespan < hint.makespan
    assert result.best_bound <= result.objective
    # each reported improvement is later and better than the one before, the last one returned
    assert trace == sorted(trace) and [m for _, m in trace] == sorted({m for _, m in trace})[::-1]
    assert trace[-1][1] == result.solution.makespan


def test_a_running_solve_stops_when_asked_from_another_thread() -> None:
    p = random_jssp(30, 15, seed=4)
    watch = SearchWatch()
    asked: list[float] = []

    def stop_after_a_first_solution() -> None:
        # not a fixed delay: on a loaded machine the first solution may take longer than that
        deadline = time.perf_counter() + 25.0
        while watch.best == math.inf and time.perf_counter() < deadline:
            time.sleep(0.05)
        asked.append(time.perf_counter())
        watch.stop()

    threading.Thread(target=stop_after_a_first_solution, daemon=True).start()
    result = CpSatJobShop(p).solve(SolverParams(time_limit_s=60.0, num_workers=2), watch=watch)
    assert asked, "the solve ended before it was asked to stop"
    assert time.perf_counter() - asked[0] < 5.0
    check(p, result.solution)
    assert watch.best == result.objective == result.solution.makespan


def test_cpsat_goes_on_uninterrupted_when_the_tabu_search_is_not_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the tabu search searches its whole share but finds nothing better than its start, the
    # rule's schedule, which CP-SAT is hinted with
    def no_better(
        _problem: Problem, start: Solution, *, time_limit_s: float, stop: threading.Event, **_: int
    ) -> TabuResult:
        stop.wait(time_limit_s)
        return TabuResult(start, 0)

    stops: list[SearchWatch] = []
    monkeypatch.setattr(lns.tabu, "improve", no_better)
    monkeypatch.setattr(SearchWatch, "stop", lambda watch: stops.append(watch))
    p = random_jssp(12, 6, seed=11)
    _, hint = best_rule(p)
    result = solve(p, SolverParams(time_limit_s=1.0, num_workers=2))
    check(p, result.solution)
    assert stops == []
    assert result.solution.makespan < hint.makespan


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_yields_a_valid_schedule(rule: str) -> None:
    for seed in range(3):
        for p in (random_jssp(6, 4, seed=seed), random_fjsp(6, 4, seed=seed)):
            check(p, dispatch(p, rule))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 6),
    m=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    flexible=st.booleans(),
)
def test_random_instances_always_yield_valid_schedules(
    n: int, m: int, seed: int, flexible: bool
) -> None:
    p = random_fjsp(n, m, seed=seed) if flexible else random_jssp(n, m, seed=seed)
    params = SolverParams(time_limit_s=0.5, num_workers=1, seed=seed)
    _, hint = best_rule(p)
    check(p, hint)
    result = solve(p, params)
    check(p, result.solution)
    assert result.best_bound <= result.objective <= hint.makespan
    check(p, solve_baseline(p, params).solution)


def test_weighted_tardiness_puts_the_heavy_urgent_job_first() -> None:
    from factoryos.schedule import Alternative, Job, Objective, Operation

    jobs = (
        Job((Operation((Alternative(0, 5),)),), name="long", due_date=5, weight=1),
        Job((Operation((Alternative(0, 1),)),), name="rush", due_date=1, weight=10),
    )
    p = Problem(jobs, 1)
    obj = Objective(makespan_weight=0, tardiness_weight=1)
    result = solve(p, FAST, objective=obj)
    check(p, result.solution)
    assert result.objective == 1
    assert result.status == "optimal"
    assert result.solution.by_ref()[(1, 0)].start == 0
