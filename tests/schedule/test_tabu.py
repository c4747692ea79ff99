"""The tabu search on its own: optimal on small instances, valid on joins and release dates."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from factoryos.schedule import Problem, best_rule, check, random_fjsp, random_jssp, tabu
from factoryos.schedule.generate import with_families
from factoryos.schedule.problem import Alternative, Job, Operation
from factoryos.schedule.solution import Assignment, Solution
from factoryos.schedule.tabu import applies_to, improve
from factoryos.schedule.tabu_kernel import evaluate
from tests.schedule.bruteforce import optimal_makespan


def test_reaches_the_ft06_optimum_from_the_worst_rule(ft06: Problem) -> None:
    _, start = best_rule(ft06, rules=("FIFO",))
    assert start.makespan > 55
    result = improve(ft06, start, time_limit_s=2.0, lower_bound=55)
    check(ft06, result.solution)
    assert result.solution.makespan == 55
    assert result.iterations > 0


def test_stops_when_asked() -> None:
    # beside CP-SAT the search ends when CP-SAT proves optimality, long before its time limit
    p = random_jssp(15, 10, seed=1)
    _, start = best_rule(p)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.perf_counter()
    result = improve(p, start, time_limit_s=30.0, stop=stop)
    assert time.perf_counter() - t0 < 5.0
    check(p, result.solution)
    assert result.solution.makespan <= start.makespan
    assert result.iterations > 0


def test_a_fresh_start_after_a_stall_keeps_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    # with no patience at all, every slice that finds no new best starts again from the rule's plan
    monkeypatch.setattr(tabu, "_STALE_S", 0.0)
    start_afresh = tabu._start_afresh
    kept: list[int] = []

    def spy(g: tabu._Graph, start: tabu._Graph, *rest: np.ndarray) -> None:
        start_afresh(g, start, *rest)
        state = rest[-1]
        assert np.array_equal(g.seqs[:3], start.seqs[:3]) and np.array_equal(g.mach, start.mach)
        assert tabu._best_solution(g).makespan == state[2]
        kept.append(int(state[2]))

    monkeypatch.setattr(tabu, "_start_afresh", spy)
    p = random_fjsp(10, 5, seed=3)
    _, start = best_rule(p)
    result = improve(p, start, time_limit_s=0.5)
    check(p, result.solution)
    assert len(kept) > 1
    assert kept[0] < start.makespan
    assert result.solution.makespan <= kept[-1] <= kept[0]


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_tiny_job_shops(seed: int) -> None:
    p = random_jssp(3, 3, seed=seed)
    _, start = best_rule(p)
    result = improve(p, start, time_limit_s=0.3, lower_bound=optimal_makespan(p))
    check(p, result.solution)
    assert result.solution.makespan == optimal_makespan(p)


def test_moves_a_critical_operation_to_another_eligible_machine() -> None:
    # both jobs start on M0 (makespan 10); moving the flexible one to M1 gives the optimum, 7
    p = Problem(
        (
            Job((Operation((Alternative(0, 5), Alternative(1, 7))),), name="flexible"),
            Job((Operation((Alternative(0, 5),)),), name="fixed"),
        ),
        2,
    )
    start = Solution.from_assignments([Assignment(0, 0, 0, 0, 5), Assignment(1, 0, 0, 5, 10)])
    check(p, start)
    result = improve(p, start, time_limit_s=0.5, lower_bound=7)
    check(p, result.solution)
    assert result.solution.makespan == 7
    assert result.solution.by_ref()[(0, 0)].machine == 1


def test_honours_release_dates_and_joins_in_a_flexible_shop() -> None:
    # a flexible shop with release dates, and a job whose last step joins two branches
    base = random_fjsp(8, 4, seed=5)
    jobs = [dataclasses.replace(job, release_date=7 * j) for j, job in enumerate(base.jobs)]
    ops = (
        Operation((Alternative(0, 5),)),
        Operation((Alternative(1, 4),)),
        Operation((Alternative(0, 3), Alternative(2, 6))),
    )
    jobs.append(Job(ops, name="join", release_date=3, precedences=((0, 2), (1, 2))))
    p = dataclasses.replace(base, jobs=tuple(jobs))
    _, start = best_rule(p)
    result = improve(p, start, time_limit_s=0.5, workers=2)
    check(p, result.solution)
    assert result.solution.makespan < start.makespan


def test_refuses_problems_with_changeovers() -> None:
    p = with_families(random_jssp(4, 3, seed=1), seed=1)
    assert p.has_setups and not applies_to(p)
    _, start = best_rule(p)
    with pytest.raises(ValueError, match="setups"):
        improve(p, start, time_limit_s=0.1)


def test_evaluate_reports_a_cycle() -> None:
    # two operations of one job (0 -> 1) sequenced 1 before 0 on one machine: a cycle
    p = np.array([2, 3], np.int64)
    zeros = np.zeros(2, np.int64)
    jp_ptr, jp_idx = np.array([0, 0, 1], np.int64), np.array([0], np.int64)
    js_ptr, js_idx = np.array([0, 1, 1], np.int64), np.array([1], np.int64)
    mprev, mnext = np.array([1, -1], np.int64), np.array([-1, 0], np.int64)
    r, q, order = zeros.copy(), zeros.copy(), np.empty(2, np.int64)
    assert evaluate(p, zeros, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order) == -1
    mprev, mnext = np.array([-1, 0], np.int64), np.array([1, -1], np.int64)
    assert evaluate(p, zeros, jp_ptr, jp_idx, js_ptr, js_idx, mprev, mnext, r, q, order) == 5
    assert list(r) == [0, 2] and list(q) == [3, 0]
