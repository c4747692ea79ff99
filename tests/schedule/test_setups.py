"""Sequence-dependent setups by product family: known answers, the validator, every solver."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from factoryos.schedule import (
    RULES,
    Alternative,
    Assignment,
    CpSatJobShop,
    DecomposeConfig,
    Disruption,
    Job,
    Objective,
    Operation,
    Problem,
    Solution,
    SolverParams,
    check,
    dispatch,
    random_fjsp,
    random_jssp,
    repair,
    right_shift,
    solve,
    solve_by_orders,
    to_schedule,
    validate,
    with_families,
)
from factoryos.schedule.convert import EPOCH

FAST = SolverParams(time_limit_s=5.0, num_workers=2)

# One machine, six lots of three families in interleaved order; changeovers are asymmetric and
# the step's own setup (9) applies to the change C -> A, which the matrix leaves out.
LOTS = (("A", 4), ("B", 3), ("A", 2), ("C", 5), ("B", 6), ("C", 1))
MATRIX = {("A", "B"): 5, ("B", "A"): 2, ("A", "C"): 7, ("C", "B"): 1, ("B", "C"): 8}


def _one_machine() -> Problem:
    jobs = tuple(
        Job(
            (Operation((Alternative(0, d),), name=f"L{k}", family=f, setup_default=9),),
            name=f"L{k}",
        )
        for k, (f, d) in enumerate(LOTS)
    )
    matrix = tuple((0, a, b, s) for (a, b), s in MATRIX.items())
    return Problem(jobs, 1, name="one-machine-families", setup_matrix=matrix)


def _changeovers(order: tuple[int, ...]) -> int:
    total = 0
    for a, b in itertools.pairwise(order):
        fa, fb = LOTS[a][0], LOTS[b][0]
        if fa != fb:
            total += MATRIX.get((fa, fb), 9)
    return total


def test_one_machine_optimum_groups_families_as_brute_force() -> None:
    p = _one_machine()
    best_order = min(itertools.permutations(range(len(LOTS))), key=_changeovers)
    optimum = sum(d for _, d in LOTS) + _changeovers(best_order)
    # by hand: A A -> B B (5) -> C C (8) = 13, B B -> A A (2) -> C C (7) = 9, C C -> B B -> A A = 3
    assert _changeovers(best_order) == 3
    assert optimum == 21 + 3
    result = solve(p, FAST)
    check(p, result.solution)
    assert result.solution.makespan == optimum
    assert result.status == "optimal"
    sequence = [LOTS[a.job][0] for a in result.solution.machine_sequences(1)[0]]
    assert sequence == ["C", "C", "B", "B", "A", "A"]
    # the interleaved order of the order book pays 8 changeovers' worth more
    assert _changeovers(tuple(range(len(LOTS)))) > 3
    setups = result.solution.setups(p)
    assert sorted(setups.values()) == [0, 0, 0, 0, 1, 2]


def test_rules_leave_room_for_changeovers_and_setup_rule_groups_families() -> None:
    p = _one_machine()
    for rule in RULES:
        check(p, dispatch(p, rule))
    grouped = dispatch(p, "SETUP")
    assert sum(grouped.setups(p).values()) <= _changeovers(tuple(range(len(LOTS))))


def _placed(order: tuple[int, ...]) -> list[Assignment]:
    """``order`` on the one machine, each lot right after its changeover."""
    out: list[Assignment] = []
    t = 0
    for k, lot in enumerate(order):
        if k:
            before, after = LOTS[order[k - 1]][0], LOTS[lot][0]
            t += 0 if before == after else MATRIX.get((before, after), 9)
        out.append(Assignment(lot, 0, 0, t, t + LOTS[lot][1]))
        t += LOTS[lot][1]
    return out


def test_validator_catches_a_missing_changeover() -> None:
    p = _one_machine()
    good = _placed(tuple(range(len(LOTS))))
    assert validate(p, Solution.from_assignments(good)) == []
    # L0 (A) then L1 (B): A -> B needs 5; start L1 three units early, still after L0's end
    assert good[1].start - good[0].end == 5
    broken = [Assignment(1, 0, 0, 6, 9) if a.job == 1 else a for a in good]
    violations = validate(p, Solution.from_assignments(broken))
    assert [v.kind for v in violations] == ["setup"]
    assert "(1, 0)" in violations[0].message and "needs 5" in violations[0].message
    # C -> A has no matrix entry: the step's own 9 is checked too
    no_entry = _placed((3, 0))
    assert no_entry[1].start - no_entry[0].end == 9
    early = [no_entry[0], Assignment(0, 0, 0, 13, 17)]
    sub = Problem((p.jobs[0], p.jobs[1], p.jobs[2], p.jobs[3]), 1, setup_matrix=p.setup_matrix)
    kinds = {v.kind for v in validate(sub, Solution.from_assignments(early))}
    assert "setup" in kinds


@pytest.mark.parametrize("seed", range(4))
def test_every_solver_returns_plans_that_respect_setups(seed: int) -> None:
    p = with_families(random_fjsp(6, 3, seed=seed), seed=seed)
    assert p.has_setups
    for rule in RULES:
        check(p, dispatch(p, rule))
    quick = SolverParams(0.5, 2, seed=seed)
    check(p, solve(p, quick).solution)
    obj = Objective(1, 1)
    cfg = DecomposeConfig(orders_per_step=2, step_time_limit_s=0.2)
    check(p, solve_by_orders(p, quick, objective=obj, config=cfg).solution)
    old = solve(p, quick).solution
    now = old.makespan // 2
    d = Disruption(now=now, down=((seed % 3, now, now + 10),))
    out = repair(p, old, d, quick, deviation_unit=1)
    check(out.problem, out.result.solution)
    check(out.problem, right_shift(out.problem, old, now))


def test_setups_cost_makespan_on_a_job_shop() -> None:
    base = random_jssp(5, 3, seed=1, max_duration=20)
    p = with_families(base, seed=1, max_setup=15)
    plain = CpSatJobShop(base).solve(FAST)
    with_setups = CpSatJobShop(p).solve(FAST)
    check(p, with_setups.solution)
    assert plain.status == with_setups.status == "optimal"
    assert with_setups.solution.makespan >= plain.solution.makespan
    # the plain optimum ignores changeovers: the validator rejects it under setups
    assert "setup" in {v.kind for v in validate(p, plain.solution)}


def _change_into_maintenance() -> Problem:
    # one unit: lot A (3) and lot B (2), changeover A -> B or B -> A of 2; maintenance 4-6
    jobs = (
        Job((Operation((Alternative(0, 3),), name="A", family="a", setup_default=2),), name="A"),
        Job((Operation((Alternative(0, 2),), name="B", family="b", setup_default=2),), name="B"),
    )
    return Problem(jobs, 1, name="change-into-maintenance", unavailable=((0, 4, 6),))


def test_a_changeover_does_not_overlap_maintenance() -> None:
    p = _change_into_maintenance()
    # A first: the gap 3-4 is too short for the changeover, so it runs 6-8 and B 8-10.
    # B first (0-2): the changeover fits 2-4, before the maintenance, and A runs 6-9: optimum 9
    r = CpSatJobShop(p).solve(FAST)
    check(p, r.solution)
    assert (r.solution.makespan, r.status) == (9, "optimal")
    assert [(a.start, a.end) for a in r.solution.assignments] == [(6, 9), (0, 2)]
    # the plan puts the changeover into the free stretch, not into the maintenance
    plan = to_schedule(p, r, time_unit=dt.timedelta(minutes=1))
    a_lot = next(o for o in plan if o.operation_id == "A")
    assert a_lot.setup_start == EPOCH + dt.timedelta(minutes=2)
    for rule in ("EDD", "SETUP", "SPT"):
        sol = dispatch(p, rule)
        check(p, sol)
        assert sol.makespan >= 9
    old = Solution.from_assignments([Assignment(0, 0, 0, 0, 3), Assignment(1, 0, 0, 6, 8)])
    violations = validate(p, old)
    assert [v.kind for v in violations] == ["setup"]
    assert "finds no available time in 3-6 (unavailable [(4, 6)])" in violations[0].message
    # without the maintenance the same plan is valid (the gap 3-6 holds the changeover)
    assert validate(Problem(p.jobs, 1), old) == []


@pytest.mark.parametrize("seed", range(3))
def test_changeovers_miss_downtime_in_every_solver(seed: int) -> None:
    base = with_families(random_fjsp(6, 3, seed=seed), families=3, max_setup=6, seed=seed)
    p = Problem(
        base.jobs,
        base.num_machines,
        setup_matrix=base.setup_matrix,
        unavailable=tuple((m, 10 + 7 * k + m, 13 + 7 * k + m) for m in range(3) for k in range(8)),
    )
    fast = SolverParams(0.5, 2, seed=seed)
    check(p, dispatch(p, "SETUP"))
    old = solve(p, fast).solution
    check(p, old)
    check(p, solve_by_orders(p, fast, config=DecomposeConfig(2, 1, 3, 0.2)).solution)
    out = repair(
        p, old, Disruption(now=old.makespan // 2, down=((0, 30, 40),)), fast, deviation_unit=1
    )
    check(out.problem, out.result.solution)
