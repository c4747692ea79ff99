"""The CP-SAT model of the (flexible) job shop, in the shape of job_shop_lib's OR-Tools solver.

One ``start``/``end`` pair and a master interval per operation; a flexible operation adds one
optional interval per eligible machine, all sharing the master ``start`` (an absent optional
interval constrains nothing, so the sharing is sound and keeps the model small). Compared with the
plain model of OR-Tools' examples (see :mod:`factoryos.schedule.baseline`) it adds domains cut by
heads and tails, and takes a solution hint. Two options are off because they measured worse at
15 s with 2 workers: ``upper_bound`` from the hint as horizon (la27, la29 worse in 5 runs of 5)
and ``redundant`` (a cumulative over all operations plus a machine-load bound for flexible
shops: Hurink e-la27 1330 vs 1261, mk10 258 vs 249).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult

__all__ = ["CpSatJobShop", "SolverParams", "status_name"]


_EXACT_ENERGY_ENTRIES = 20_000
"""Above this many (start, machine) pairs an operation's energy table is per price slot."""


@dataclass(frozen=True, slots=True)
class SolverParams:
    """How long and with how many threads CP-SAT may search."""

    time_limit_s: float = 60.0
    num_workers: int = 2
    seed: int = 0
    log: bool = False
    ignore_subsolvers: tuple[str, ...] = ()
    """CP-SAT subsolvers to skip (names as in the CP-SAT log)."""
    probing: bool = True
    """Presolve probing; off for short decomposition steps, where it can take a step's budget."""


def status_name(status: int) -> str:
    return str(cp_model.CpSolver().status_name(status))


@dataclass(slots=True)
class _OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    interval: cp_model.IntervalVar
    choices: dict[int, tuple[cp_model.IntVar | int, cp_model.IntervalVar]]
    """machine -> (presence literal or 1, interval on that machine)."""


class CpSatJobShop:
    """Minimise the makespan of ``problem`` with CP-SAT.

    ``fixed_machines`` and ``fixed_precedences`` restrict the model; large-neighbourhood search
    uses them to freeze the part of the incumbent outside the neighbourhood.
    """

    def __init__(
        self,
        problem: Problem,
        *,
        upper_bound: int | None = None,
        fixed_machines: Mapping[OpRef, int] | None = None,
        fixed_precedences: Sequence[tuple[OpRef, OpRef]] = (),
        redundant: bool = False,
        objective: Objective | None = None,
        objective_upper_bound: int | None = None,
        busy: Mapping[int, Sequence[tuple[int, int]]] | None = None,
        makespan_floor: int = 0,
        frozen: Mapping[OpRef, tuple[int, int]] | None = None,
        not_before: int = 0,
        deviation_from: Mapping[OpRef, int] | None = None,
        deviation_weight: int = 0,
        fixed_ops: Mapping[int, Sequence[tuple[int, int, Operation]]] | None = None,
        bounds: Sequence[tuple[Objective, int]] = (),
    ) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.horizon = problem.horizon() if upper_bound is None else upper_bound
        self._fixed_machines = dict(fixed_machines or {})
        self._fixed_precedences = tuple(fixed_precedences)
        self._redundant = redundant
        self.objective = objective or Objective()
        self._objective_ub = objective_upper_bound
        self._busy: dict[int, list[tuple[int, int]]] = {m: list(s) for m, s in (busy or {}).items()}
        for mach, lo, hi in problem.unavailable:
            self._busy.setdefault(mach, []).append((lo, hi))
        self._makespan_floor = makespan_floor
        # frozen: op -> (machine, start) kept as is (done or running); others start >= not_before
        self._frozen = dict(frozen or {})
        self._not_before = not_before
        self._deviation_from = dict(deviation_from or {})
        self._deviation_weight = deviation_weight
        # machine -> (start, end, operation) of work outside the model that sets up the unit
        self._fixed_ops = {m: list(v) for m, v in (fixed_ops or {}).items()}
        # lexicographic stages: earlier objectives kept at or below their optimum
        self._bounds = tuple(bounds)
        for ref, (mach, _) in self._frozen.items():
            self._fixed_machines[ref] = mach
        self.ops: dict[OpRef, _OpVars] = {}
        self._late: dict[int, cp_model.IntVar] = {}
        self._energy: cp_model.LinearExprT | None = None
        # machine -> (from, to) -> arc literal of its setup circuit; None is the depot
        self._arcs: dict[int, dict[tuple[OpRef | None, OpRef | None], cp_model.IntVar]] = {}
        self.makespan: cp_model.IntVar
        self._create_variables()
        self._add_constraints()
        self._set_objective()

    # -- model -------------------------------------------------------------------------------

    def _create_variables(self) -> None:
        p, m = self.problem, self.model
        head, tail = p.head, p.tail
        for ref, op in p.iter_operations():
            lo = head[ref]
            hi = max(lo, self.horizon - tail[ref])
            alts = op.alternatives
            if ref in self._fixed_machines:
                alts = tuple(a for a in alts if a.machine == self._fixed_machines[ref])
            start = m.new_int_var(lo, hi, f"s{ref}")
            end = m.new_int_var(lo, self.horizon, f"e{ref}")
            choices: dict[int, tuple[cp_model.IntVar | int, cp_model.IntervalVar]] = {}
            if len(alts) == 1:
                a = alts[0]
                interval = m.new_interval_var(start, a.duration, end, f"i{ref}")
                choices[a.machine] = (1, interval)
            else:
                durs = [a.duration for a in alts]
                dur = m.new_int_var(min(durs), max(durs), f"d{ref}")
                interval = m.new_interval_var(start, dur, end, f"i{ref}")
                lits = []
                for a in alts:
                    lit = m.new_bool_var(f"x{ref}m{a.machine}")
                    opt = m.new_optional_fixed_size_interval_var(
                        start, a.duration, lit, f"i{ref}m{a.machine}"
                    )
                    choices[a.machine] = (lit, opt)
                    lits.append(lit)
                m.add_exactly_one(lits)
                m.add(dur == sum(lit * a.duration for lit, a in zip(lits, alts, strict=True)))
            self.ops[ref] = _OpVars(start, end, interval, choices)
        self.makespan = m.new_int_var(0, max(self.horizon, self._makespan_floor), "makespan")

    def _add_constraints(self) -> None:
        p, m = self.problem, self.model
        for j, job in enumerate(p.jobs):
            for a, b in job.precedence_pairs():
                m.add(self.ops[(j, b)].start >= self.ops[(j, a)].end)
        for a_ref, b_ref in self._fixed_precedences:
            m.add(self.ops[b_ref].start >= self.ops[a_ref].end)
        per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(p.num_machines)]
        for ov in self.ops.values():
            for mach, (_, iv) in ov.choices.items():
                per_machine[mach].append(iv)
        # Time already taken on a machine (operations outside this model) is a fixed interval.
        for mach, spans in self._busy.items():
            if not per_machine[mach]:
                continue
            for k, (lo, hi) in enumerate(spans):
                if hi > lo:
                    per_machine[mach].append(
                        m.new_fixed_size_interval_var(lo, hi - lo, f"b{mach}_{k}")
                    )
        for ivs in per_machine:
            if len(ivs) > 1:
                m.add_no_overlap(ivs)
        if p.has_setups or self._fixed_ops:
            # a window of one family still changes over against the fixed work around it
            self._add_setups()
        sinks = [ref for ref in self.ops if not p.successors[ref]]
        for ref in sinks:
            m.add(self.makespan >= self.ops[ref].end)
        if self._makespan_floor:
            m.add(self.makespan >= self._makespan_floor)
        for ref, ov in self.ops.items():
            if ref in self._frozen:
                m.add(ov.start == self._frozen[ref][1])
            elif self._not_before:
                m.add(ov.start >= self._not_before)
        if self._redundant and p.is_flexible:
            # Redundant: all operations together never use more than the machine count.
            m.add_cumulative(
                [ov.interval for ov in self.ops.values()],
                [1] * len(self.ops),
                p.num_machines,
            )
            total = []
            for ref, ov in self.ops.items():
                op = p.jobs[ref[0]].operations[ref[1]]
                for mach, (lit, _) in ov.choices.items():
                    dur = op.duration_on(mach)
                    assert dur is not None
                    total.append(lit * dur if not isinstance(lit, int) else dur)
            m.add(sum(total) <= p.num_machines * self.makespan)

    def _add_setups(self) -> None:
        """Sequence-dependent changeovers: a circuit per machine over its candidate operations.

        An arc i -> j (j directly after i) implies ``start_j >= end_i + setup(i, j)``; an absent
        operation takes its self-loop. Work fixed outside the model (a decomposition step's other
        orders) is not part of the circuit: per family of the model's operations its intervals
        are widened by the changeovers both ways, which keeps every pair valid (stricter than
        consecutive-only when the matrix breaks the triangle inequality).
        """
        p = self.problem
        on_machine: dict[int, list[tuple[OpRef, Operation, cp_model.IntVar | int]]] = {}
        for ref, ov in self.ops.items():
            op = p.jobs[ref[0]].operations[ref[1]]
            for mach, (lit, _) in ov.choices.items():
                on_machine.setdefault(mach, []).append((ref, op, lit))
        for mach, items in on_machine.items():
            setups = {
                (a, b): p.setup(mach, items[a][1], items[b][1])
                for a in range(len(items))
                for b in range(len(items))
                if a != b
            }
            if any(setups.values()):
                self._circuit(mach, items, setups)
            fixed = self._fixed_ops.get(mach)
            if fixed:
                self._widen_fixed(mach, items, fixed)

    def _circuit(
        self,
        mach: int,
        items: list[tuple[OpRef, Operation, cp_model.IntVar | int]],
        setups: dict[tuple[int, int], int],
    ) -> None:
        m = self.model
        arcs: list[tuple[int, int, cp_model.LiteralT]] = []
        named = self._arcs.setdefault(mach, {})
        optional = False
        for i, (ref, _, lit) in enumerate(items):
            first = m.new_bool_var(f"f{ref}m{mach}")
            last = m.new_bool_var(f"l{ref}m{mach}")
            arcs.append((0, i + 1, first))
            arcs.append((i + 1, 0, last))
            named[(None, ref)] = first
            named[(ref, None)] = last
            if not isinstance(lit, int):
                optional = True
                arcs.append((i + 1, i + 1, ~lit))
                m.add_implication(first, lit)
                m.add_implication(last, lit)
        if optional:
            empty = m.new_bool_var(f"empty_m{mach}")
            arcs.append((0, 0, empty))
            named[(None, None)] = empty
            for _, _, lit in items:
                if isinstance(lit, int):
                    m.add(empty == 0)
                else:
                    m.add_implication(empty, ~lit)
        for (a, b), setup in setups.items():
            ref_a, ref_b = items[a][0], items[b][0]
            arc = m.new_bool_var(f"a{ref_a}{ref_b}m{mach}")
            arcs.append((a + 1, b + 1, arc))
            named[(ref_a, ref_b)] = arc
            for _, _, lit in (items[a], items[b]):
                if not isinstance(lit, int):
                    m.add_implication(arc, lit)
            m.add(self.ops[ref_b].start >= self.ops[ref_a].end + setup).only_enforce_if(arc)
        m.add_circuit(arcs)

    def _widen_fixed(
        self,
        mach: int,
        items: list[tuple[OpRef, Operation, cp_model.IntVar | int]],
        fixed: list[tuple[int, int, Operation]],
    ) -> None:
        p, m = self.problem, self.model
        groups: dict[tuple[str, int], list[OpRef]] = {}
        for ref, op, _ in items:
            groups.setdefault((op.family, op.setup_default), []).append(ref)
        for (family, default), members in groups.items():
            probe = p.jobs[members[0][0]].operations[members[0][1]]
            spans = []
            for lo, hi, f_op in fixed:
                before = p.setup(mach, probe, f_op)
                after = p.setup(mach, f_op, probe)
                if before or after:
                    spans.append((lo - before, hi + after))
            merged: list[list[int]] = []
            for lo, hi in sorted(spans):
                if merged and lo < merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            if not merged:
                continue  # plain overlap is already excluded by the machine's no-overlap
            widened = [
                m.new_fixed_size_interval_var(lo, hi - lo, f"w{mach}_{family}_{default}_{k}")
                for k, (lo, hi) in enumerate(merged)
            ]
            m.add_no_overlap([self.ops[ref].choices[mach][1] for ref in members] + widened)

    def _set_objective(self) -> None:
        terms = [self._objective_expr(self.objective)]
        if self._deviation_weight and self._deviation_from:
            devs = []
            for ref, old in self._deviation_from.items():
                if ref in self._frozen or ref not in self.ops:
                    continue
                dev = self.model.new_int_var(0, self.horizon, f"dev{ref}")
                self.model.add_abs_equality(dev, self.ops[ref].start - old)
                devs.append(dev)
            terms.append(self._deviation_weight * sum(devs))
        expr = sum(terms)
        if self._objective_ub is not None:
            self.model.add(expr <= self._objective_ub)
        for objective, bound in self._bounds:
            self.model.add(self._objective_expr(objective) <= bound)
        self.model.minimize(expr)

    def _objective_expr(self, obj: Objective) -> cp_model.LinearExprT:
        p = self.problem
        terms: list[cp_model.LinearExprT] = []
        if obj.makespan_weight:
            terms.append(obj.makespan_weight * self.makespan)
        if obj.tardiness_weight:
            for j, job in enumerate(p.jobs):
                if job.due_date is None or not job.operations:
                    continue
                late = self._late.get(j)
                if late is None:
                    late = self.model.new_int_var(0, max(0, self.horizon - job.due_date), f"T{j}")
                    for o in range(len(job.operations)):
                        if not p.successors[(j, o)]:
                            self.model.add(late >= self.ops[(j, o)].end - job.due_date)
                    self._late[j] = late
                terms.append(obj.tardiness_weight * job.weight * late)
        if obj.energy_weight and p.energy is not None:
            if self._energy is None:
                self._energy = self._energy_cost()
            terms.append(obj.energy_weight * self._energy)
        return sum(terms)

    def _energy_cost(self) -> cp_model.LinearExprT:
        """Time-of-use cost: per operation and machine, a table of run costs by start.

        ``AddElement`` picks the entry of the operation's start; the presence literal selects
        the machine's table. Small start domains are priced exactly, unit by unit; wide ones
        (plant-size windows) by start slot, as if the run started at its slot's beginning; the
        scorer always prices the actual run.
        """
        p, m = self.problem, self.model
        e = p.energy
        assert e is not None
        costs = []
        for ref, ov in self.ops.items():
            op = p.jobs[ref[0]].operations[ref[1]]
            lo = p.head[ref]
            hi = max(lo, self.horizon - p.tail[ref])
            step = 1 if (hi - lo + 1) * len(ov.choices) <= _EXACT_ENERGY_ENTRIES else e.slot
            lo_k, hi_k = lo // step, hi // step
            index: cp_model.LinearExprT = ov.start
            if step > 1:
                k = m.new_int_var(lo_k, hi_k, f"h{ref}")
                m.add(ov.start >= step * k)
                m.add(ov.start < step * k + step)
                index = k
            tables = {}
            for mach in ov.choices:
                dur = op.duration_on(mach)
                assert dur is not None
                tables[mach] = [
                    e.cost_fen(mach, i * step, i * step + dur) for i in range(lo_k, hi_k + 1)
                ]
            cost = m.new_int_var(0, max(max(t) for t in tables.values()), f"c{ref}")
            for mach, (lit, _) in ov.choices.items():
                table = tables[mach]
                if isinstance(lit, int):
                    m.add_element(index - lo_k, table, cost)
                    continue
                c = m.new_int_var(min(table), max(table), f"c{ref}m{mach}")
                m.add_element(index - lo_k, table, c)
                m.add(cost >= c).only_enforce_if(lit)
            costs.append(cost)
        return sum(costs)

    # -- solving -----------------------------------------------------------------------------

    def add_hint(self, solution: Solution) -> None:
        """Warm start: hint every start and machine choice of ``solution``."""
        for a in solution.assignments:
            ov = self.ops.get(a.ref)
            if ov is None:
                continue
            self.model.add_hint(ov.start, a.start)
            self.model.add_hint(ov.end, a.end)
            for mach, (lit, _) in ov.choices.items():
                if not isinstance(lit, int):
                    self.model.add_hint(lit, mach == a.machine)
        self.model.add_hint(self.makespan, max(solution.makespan, self._makespan_floor))
        # a complete hint includes the setup circuits' arcs, else CP-SAT must rebuild them
        on: dict[int, list[Assignment]] = {}
        for a in sorted(solution.assignments, key=lambda a: (a.start, a.end)):
            if a.ref in self.ops:
                on.setdefault(a.machine, []).append(a)
        for mach, named in self._arcs.items():
            seq: list[OpRef | None] = [None, *(a.ref for a in on.get(mach, []))]
            used = set(itertools.pairwise([*seq, None])) if len(seq) > 1 else {(None, None)}
            for key, lit in named.items():
                self.model.add_hint(lit, key in used)

    def solve(self, params: SolverParams, *, solver_name: str = "factoryos-cpsat") -> SolveResult:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, params.time_limit_s)
        solver.parameters.num_workers = params.num_workers
        solver.parameters.random_seed = params.seed
        solver.parameters.log_search_progress = params.log
        solver.parameters.ignore_subsolvers.extend(params.ignore_subsolvers)
        if not params.probing:
            solver.parameters.cp_model_probing_level = 0
        t0 = time.perf_counter()
        status = solver.solve(self.model)
        wall = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise NoSolutionError(
                str(solver.status_name(status)), problem=self.problem.name, wall_time_s=wall
            )
        return SolveResult(
            solution=self.extract(solver),
            status="optimal" if status == cp_model.OPTIMAL else "feasible",
            objective=float(solver.objective_value),
            best_bound=float(solver.best_objective_bound),
            wall_time_s=wall,
            solver=solver_name,
        )

    def extract(self, solver: cp_model.CpSolver) -> Solution:
        out = []
        for ref, ov in self.ops.items():
            mach = next(
                mm
                for mm, (lit, _) in ov.choices.items()
                if isinstance(lit, int) or solver.boolean_value(lit)
            )
            out.append(
                Assignment(ref[0], ref[1], mach, solver.value(ov.start), solver.value(ov.end))
            )
        return Solution.from_assignments(out)
