"""Decomposition for plant-size problems: re-optimise a few orders at a time around the incumbent.

A step picks the ``k`` orders whose spans lie nearest a random instant of the incumbent, removes
them, and solves them again with CP-SAT while every other order's operations stay where they are
(their time on each machine becomes fixed intervals). The step's model is small whatever the plan
size, so thousands of operations fit in a one-minute budget; a step is kept when the whole plan's
objective does not get worse. ``k`` grows when steps solve to optimality and shrinks on timeouts.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from factoryos.schedule.cpsat import CpSatJobShop, SolverParams
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, Problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult
from factoryos.schedule.validate import setups_in_unavailable

__all__ = ["DecomposeConfig", "solve_by_orders", "step_model"]


@dataclass(frozen=True, slots=True)
class DecomposeConfig:
    orders_per_step: int = 8
    min_orders: int = 2
    max_orders: int = 40
    step_time_limit_s: float | None = None
    """``None``: 1 s with an energy term (plant steps found their last improvement within
    0.75 s, and 12 s runs with 1 s steps ended lower than with 2 s), else 2 s."""
    max_step_ops: int = 600
    """A step holds orders up to this many operations (without changeovers)..."""
    max_step_arcs: int = 6000
    """...or, with changeovers, up to this many arcs in the units' circuits (the square of a
    unit's candidate operations, summed): building a step of 1,400 operations on the
    electronics plant cut into lots of 100 (1.1 million arcs) took 88 s."""
    start_window: int | None = None
    """A step's operations start within this many time units of where they are; 0 lets them
    go anywhere. ``None`` picks: 8 price slots with an energy term (a peak run reaches the
    next valley), twice the longest operation on a calendar with pauses, else no window."""


def _start_window(problem: Problem, obj: Objective, cfg: DecomposeConfig) -> int:
    """Why a window at all: over the whole plan a step's energy tables and its operations'
    calendar domains (a gap per pause) made presolve take the step's budget (every plant step
    UNKNOWN); a window keeps both to a few entries."""
    if cfg.start_window is not None:
        return cfg.start_window
    if obj.energy_weight and problem.energy is not None:
        return 8 * problem.energy.slot
    if problem.breaks or problem.off:
        return 2 * max(
            (a.duration for _, op in problem.iter_operations() for a in op.alternatives), default=0
        )
    return 0


def _step_sizes(problem: Problem) -> list[dict[int, int]]:
    """Per order: its candidate operations per machine (what a step's model grows with)."""
    out: list[dict[int, int]] = []
    for job in problem.jobs:
        count: dict[int, int] = {}
        for op in job.operations:
            for a in op.alternatives:
                count[a.machine] = count.get(a.machine, 0) + 1
        out.append(count)
    return out


def _fits(problem: Problem, cfg: DecomposeConfig, load: dict[int, int]) -> bool:
    if problem.has_setups:
        return sum(n * n for n in load.values()) <= cfg.max_step_arcs
    return sum(load.values()) <= cfg.max_step_ops


def _sub_problem(problem: Problem, jobs: list[int]) -> Problem:
    return dataclasses.replace(
        problem,
        jobs=tuple(problem.jobs[j] for j in jobs),
        name=f"{problem.name}[{len(jobs)} orders]",
    )


def _kept_share(
    obj: Objective, problem: Problem, plan: Solution, sub: Problem, sub_plan: Solution
) -> int:
    """The part of ``obj`` that the orders outside a step contribute (tardiness and energy; the
    makespan is the step model's own, floored by the kept orders' end)."""
    whole = obj.score(problem, plan) - obj.makespan_weight * plan.makespan
    return whole - (obj.score(sub, sub_plan) - obj.makespan_weight * sub_plan.makespan)


def _lower_bound(problem: Problem, obj: Objective) -> int:
    """``Objective.lower_bound`` plus, with an energy term, every run at the lowest price."""
    bound = obj.lower_bound(problem)
    if obj.energy_weight and problem.energy is not None:
        bound += obj.energy_weight * problem.energy.lower_bound_fen(problem)
    return bound


def _costly_jobs(
    problem: Problem,
    obj: Objective,
    spans: dict[int, tuple[int, int]],
    plan: Solution,
) -> list[tuple[int, float]]:
    """Orders that cost something: late, ending the plan, or running above the cheapest price
    (what moving them could save)."""
    above: dict[int, float] = {}
    e = problem.energy
    if obj.energy_weight and e is not None:
        cheapest = min(e.prices)
        for a in plan.assignments:
            floor = 100 * (a.end - a.start) * cheapest * e.power_kw[a.machine] * e.unit_h
            saving = e.cost_fen(a.machine, a.start, a.end) - floor
            above[a.job] = above.get(a.job, 0.0) + obj.energy_weight * max(0.0, saving)
    out: list[tuple[int, float]] = []
    for j, (_, end) in spans.items():
        job = problem.jobs[j]
        cost = above.get(j, 0.0)
        if obj.tardiness_weight and job.due_date is not None and end > job.due_date:
            cost += obj.tardiness_weight * job.weight * (end - job.due_date)
        if obj.makespan_weight and end == plan.makespan:
            cost += obj.makespan_weight * plan.makespan
        if cost > 0:
            out.append((j, cost))
    return out


def _sub_and_hint(problem: Problem, plan: Solution, jobs: list[int]) -> tuple[Problem, Solution]:
    chosen = set(jobs)
    index = {j: i for i, j in enumerate(jobs)}
    sub_hint = Solution.from_assignments(
        [
            Assignment(index[a.job], a.op, a.machine, a.start, a.end)
            for a in plan.assignments
            if a.job in chosen
        ]
    )
    return _sub_problem(problem, jobs), sub_hint


def step_model(
    problem: Problem,
    plan: Solution,
    jobs: list[int],
    objective: Objective,
    *,
    window: int = 0,
    bounds: Sequence[tuple[Objective, int]] = (),
) -> tuple[CpSatJobShop, list[Assignment]]:
    """One step's hinted model: ``jobs`` (orders, in the sub-problem's order) re-solved with
    the rest of ``plan`` fixed, each operation starting within ``window`` of where it is (0: no
    window); and the fixed assignments. What :func:`solve_by_orders` solves, for probes and tests.
    """
    sub, sub_hint = _sub_and_hint(problem, plan, jobs)
    chosen = set(jobs)
    windows = {}
    # fixed work that no window reaches cannot meet the step's operations: left out
    reach = (0.0, float("inf"))
    if window:
        longest_op = max(
            (a.duration for _, op in problem.iter_operations() for a in op.alternatives),
            default=0,
        )
        longest_setup = max(
            [d for *_, d in problem.setup_matrix]
            + [op.setup_default for _, op in problem.iter_operations()],
            default=0,
        )
        windows = {a.ref: (a.start - window, a.start + window) for a in sub_hint.assignments}
        reach = (
            min(lo for lo, _ in windows.values()) - longest_setup,
            max(hi for _, hi in windows.values()) + longest_op + longest_setup,
        )
    busy: dict[int, list[tuple[int, int]]] = {}
    fixed_ops: dict[int, list[tuple[int, int, Operation]]] = {}
    frozen_end = 0
    kept: list[Assignment] = []
    for a in plan.assignments:
        if a.job in chosen:
            continue
        kept.append(a)
        frozen_end = max(frozen_end, a.end)
        if a.end < reach[0] or a.start > reach[1]:
            continue
        busy.setdefault(a.machine, []).append((a.start, a.end))
        if problem.has_setups:
            op = problem.jobs[a.job].operations[a.op]
            fixed_ops.setdefault(a.machine, []).append((a.start, a.end, op))
    horizon = problem.pad(
        max(plan.makespan, frozen_end)
        + sum(max(x.duration for x in op.alternatives) for _, op in sub.iter_operations())
    )
    model = CpSatJobShop(
        sub,
        upper_bound=horizon,
        objective=objective,
        busy=busy,
        makespan_floor=frozen_end,
        fixed_ops=fixed_ops,
        start_windows=windows,
    )
    for o, b in bounds:
        model.add_bound(o, b - _kept_share(o, problem, plan, sub, sub_hint), reference=sub_hint)
    model.add_hint(sub_hint)
    return model, kept


def solve_by_orders(
    problem: Problem,
    params: SolverParams,
    *,
    objective: Objective | None = None,
    hint: Solution | None = None,
    config: DecomposeConfig | None = None,
    rules: tuple[str, ...] = ("EDD", "FIFO", "MWKR", "MOPNR"),
    bounds: Sequence[tuple[Objective, int]] = (),
) -> SolveResult:
    """Best rule, then order-window re-optimisation until the time limit.

    ``bounds`` (a lexicographic stage's earlier objectives and their values) hold for the whole
    plan in every step: the kept orders' share of a bounded objective is fixed, so each step's
    model bounds its own orders by what is left (exact, makespan included, since the step's
    makespan is at least the kept orders' end). The hint must satisfy them.
    """
    cfg = config or DecomposeConfig()
    obj = objective or Objective()
    t_start = time.perf_counter()
    deadline = t_start + params.time_limit_s
    rng = random.Random(params.seed)

    def score(s: Solution) -> int:
        return obj.score(problem, s)

    if hint is None:
        if problem.has_setups and "SETUP" not in rules:
            rules = (*rules, "SETUP")
        _, hint = best_rule(problem, rules, score=score)
    best = hint
    best_score = score(best)
    lower = _lower_bound(problem, obj)
    k = min(cfg.orders_per_step, len(problem.jobs))
    window = _start_window(problem, obj, cfg)
    sizes = _step_sizes(problem)
    too_big = [j for j in range(len(problem.jobs)) if not _fits(problem, cfg, sizes[j])]
    if len(too_big) == len(problem.jobs):
        # no step could be built in time: the rule's plan is the answer, said so
        return SolveResult(
            solution=best,
            status="optimal" if best_score <= lower else "feasible",
            objective=float(best_score),
            best_bound=float(lower),
            wall_time_s=time.perf_counter() - t_start,
            solver="factoryos-orders-lns",
            note=f"no step run: each of the {len(too_big)} orders alone has more operations "
            "than a step holds (DecomposeConfig.max_step_ops/max_step_arcs); the plan is the "
            "rule's",
        )
    steps = kept_steps = 0
    step_limit = cfg.step_time_limit_s
    if step_limit is None:
        step_limit = 1.0 if obj.energy_weight and problem.energy is not None else 2.0
    while deadline - time.perf_counter() > 0.2 and best_score > lower:
        spans: dict[int, tuple[int, int]] = {}
        for a in best.assignments:
            lo, hi = spans.get(a.job, (a.start, a.end))
            spans[a.job] = (min(lo, a.start), max(hi, a.end))
        # Half the steps centre on an order that costs something (late, or ending the plan),
        # drawn by its cost; the others on a random instant, to move what is in the way.
        costly = _costly_jobs(problem, obj, spans, best)
        if costly and rng.random() < 0.5:
            focus = rng.choices([j for j, _ in costly], weights=[c for _, c in costly])[0]
            pivot = rng.uniform(*spans[focus])
        else:
            focus = -1
            pivot = rng.uniform(0, best.makespan)
        ranked = sorted(
            spans,
            key=lambda j: (
                j != focus,
                max(0.0, spans[j][0] - pivot, pivot - spans[j][1]),
                rng.random(),
            ),
        )
        jobs = []
        load: dict[int, int] = {}
        for j in ranked:
            grown = dict(load)
            for m, n in sizes[j].items():
                grown[m] = grown.get(m, 0) + n
            if _fits(problem, cfg, grown):
                jobs.append(j)
                load = grown
                if len(jobs) == k:
                    break
        if not jobs:
            continue
        sub, sub_hint = _sub_and_hint(problem, best, jobs)
        if not bounds and obj.score(sub, sub_hint) <= _lower_bound(sub, obj):
            continue  # these orders cost nothing the step could save (on time, off-peak)
        if deadline - time.perf_counter() < 0.3:
            break
        model, kept = step_model(problem, best, jobs, obj, window=window, bounds=bounds)
        limit = min(step_limit, deadline - time.perf_counter() - 0.1)
        if limit <= 0.05:
            break
        steps += 1
        # probing the setup circuits took a whole 2 s step on the plant (0.1 s deterministic)
        step = SolverParams(
            limit,
            params.num_workers,
            rng.randrange(1 << 30),
            False,
            probing=not problem.has_setups,
        )
        try:
            r = model.solve(step)
        except NoSolutionError:
            k = max(cfg.min_orders, k - 1)
            continue
        k = (
            min(cfg.max_orders, len(problem.jobs), k + 1)
            if r.status == "optimal"
            else max(cfg.min_orders, k - 1)
        )
        merged = Solution.from_assignments(
            kept
            + [
                Assignment(jobs[a.job], a.op, a.machine, a.start, a.end)
                for a in r.solution.assignments
            ]
        )
        s = score(merged)
        # against fixed work the circuit does not know a step's first changeover on a unit
        touched = {a.machine for a in r.solution.assignments}
        if (
            s <= best_score
            and all(o.score(problem, merged) <= b for o, b in bounds)
            and not setups_in_unavailable(problem, merged, touched)
        ):
            kept_steps += s < best_score
            best, best_score = merged, s
    skipped = f"; {len(too_big)} orders too big for a step, never re-solved" if too_big else ""
    return SolveResult(
        solution=best,
        status="optimal" if best_score <= lower else "feasible",
        objective=float(best_score),
        best_bound=float(lower),
        wall_time_s=time.perf_counter() - t_start,
        solver="factoryos-orders-lns",
        note=f"{steps} order-window steps, {kept_steps} improved the plan{skipped}",
    )
