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

import bisect
import time
from collections.abc import Mapping, Sequence

from ortools.sat.python import cp_model

from factoryos.schedule.cpsat_energy import EnergyCost
from factoryos.schedule.cpsat_hints import Hints
from factoryos.schedule.cpsat_params import SearchWatch, SolverParams, status_name
from factoryos.schedule.cpsat_setups import SetupConstraints
from factoryos.schedule.cpsat_vars import EnergyVars, OpVars, Stretch
from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult

__all__ = ["CpSatJobShop", "SearchWatch", "SolverParams", "status_name"]


class CpSatJobShop(SetupConstraints, EnergyCost, Hints):
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
        deviation_unit: int = 0,
        fixed_ops: Mapping[int, Sequence[tuple[int, int, Operation]]] | None = None,
        bounds: Sequence[tuple[Objective, int]] = (),
        start_windows: Mapping[OpRef, tuple[int, int]] | None = None,
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
        # time units per hour: deviation counts the hours each operation moved, rounded up
        if deviation_weight and deviation_from and deviation_unit < 1:
            raise ValueError(f"deviation_unit (time units per hour) must be >= 1: {deviation_unit}")
        self._deviation_unit = deviation_unit
        # machine -> (start, end, operation) of work outside the model that sets up the unit
        self._fixed_ops = {m: list(v) for m, v in (fixed_ops or {}).items()}
        # lexicographic stages: earlier objectives kept at or below their optimum
        self._bounds = tuple(bounds)
        # op -> (lo, hi): a decomposition step's operations start near where they are
        self._windows = dict(start_windows or {})
        for ref, (mach, _) in self._frozen.items():
            self._fixed_machines[ref] = mach
        self.ops: dict[OpRef, OpVars] = {}
        self._late: dict[int, cp_model.IntVar] = {}
        self._energy: cp_model.LinearExprT | None = None
        # machine -> (from, to) -> arc literal of its setup circuit; None is the depot
        self._arcs: dict[int, dict[tuple[OpRef | None, OpRef | None], cp_model.IntVar]] = {}
        # (op, machine) -> (begin, size, end) of the changeover kept out of unavailable time
        self._setup_vars: dict[tuple[OpRef, int], tuple[cp_model.IntVar, ...]] = {}
        self._energy_vars: dict[OpRef, EnergyVars] = {}
        self._durations: dict[OpRef, cp_model.IntVar] = {}
        # (op, machine) -> stretch indices of a resumable run's start and end, stretch begins
        self._elastic_sizes: dict[tuple[OpRef, int], cp_model.IntVar] = {}
        self._stretch_vars: dict[tuple[OpRef, int], Stretch] = {}
        # op -> (|start change|, its hours rounded up) for the deviation term
        self._devs: dict[OpRef, tuple[cp_model.IntVar, cp_model.IntVar]] = {}
        self.makespan: cp_model.IntVar
        self._create_variables()
        self._add_constraints()
        self._set_objective()

    # -- model -------------------------------------------------------------------------------

    def start_range(self, ref: OpRef) -> tuple[int, int]:
        """The start domain's bounds: head and tail, cut by the operation's window if any."""
        lo = self.problem.head[ref]
        hi = max(lo, self.horizon - self.problem.tail[ref])
        window = self._windows.get(ref)
        if window is not None and ref not in self._frozen:
            w_lo, w_hi = max(lo, window[0]), min(hi, window[1])
            if w_lo <= w_hi:
                lo, hi = w_lo, w_hi
        return lo, hi

    def _create_variables(self) -> None:
        p, m = self.problem, self.model
        for ref, op in p.iter_operations():
            lo, hi = self.start_range(ref)
            alts = op.alternatives
            if ref in self._fixed_machines:
                alts = tuple(a for a in alts if a.machine == self._fixed_machines[ref])
            mode = p.mode_of(op)
            # where a resumable run pauses over its unit's time off, its length varies
            ends = {a.machine: p.run_end(a.machine, hi, a.duration, mode) for a in alts}
            elastic = {
                a.machine
                for a in alts
                if mode == "resumable"
                and a.duration > 0
                and any(o_lo < ends[a.machine] and o_hi > lo for o_lo, o_hi in p.off_on(a.machine))
            }
            start = m.new_int_var(lo, hi, f"s{ref}")
            end_hi = max(lo, min(self.horizon, max(ends.values())))
            if elastic:
                end_hi = max(lo, max(ends.values()))
            end = m.new_int_var(lo, end_hi, f"e{ref}")
            choices: dict[int, tuple[cp_model.IntVar | int, cp_model.IntervalVar]] = {}
            if len(alts) == 1:
                a = alts[0]
                if a.machine in elastic:
                    size = m.new_int_var(a.duration, end_hi - lo, f"d{ref}")
                    interval = m.new_interval_var(start, size, end, f"i{ref}")
                    self._elastic_end(ref, a.machine, start, end, a.duration, lo, end_hi)
                else:
                    interval = m.new_interval_var(start, a.duration, end, f"i{ref}")
                choices[a.machine] = (1, interval)
            else:
                durs = [a.duration for a in alts]
                dur = m.new_int_var(min(durs), max(max(durs), end_hi - lo), f"d{ref}")
                self._durations[ref] = dur
                interval = m.new_interval_var(start, dur, end, f"i{ref}")
                lits = []
                for a in alts:
                    lit = m.new_bool_var(f"x{ref}m{a.machine}")
                    if a.machine in elastic:
                        self._elastic_end(
                            ref, a.machine, start, end, a.duration, lo, end_hi, present=lit
                        )
                        size = m.new_int_var(a.duration, end_hi - lo, f"d{ref}m{a.machine}")
                        m.add(dur == size).only_enforce_if(lit)
                        opt = m.new_optional_interval_var(
                            start, size, end, lit, f"i{ref}m{a.machine}"
                        )
                        self._elastic_sizes[(ref, a.machine)] = size
                    else:
                        opt = m.new_optional_fixed_size_interval_var(
                            start, a.duration, lit, f"i{ref}m{a.machine}"
                        )
                        if elastic:
                            m.add(dur == a.duration).only_enforce_if(lit)
                    choices[a.machine] = (lit, opt)
                    lits.append(lit)
                m.add_exactly_one(lits)
                if not elastic:
                    m.add(dur == sum(lit * a.duration for lit, a in zip(lits, alts, strict=True)))
            self.ops[ref] = OpVars(start, end, interval, choices)
        self.makespan = m.new_int_var(0, max(self.horizon, self._makespan_floor), "makespan")

    def _elastic_end(
        self,
        ref: OpRef,
        mach: int,
        start: cp_model.IntVar,
        end: cp_model.IntVar,
        duration: int,
        lo: int,
        end_hi: int,
        *,
        present: cp_model.IntVar | None = None,
    ) -> None:
        """``end`` of a resumable run of ``duration`` working units from ``start`` on ``mach``,
        pausing over the unit's time off: on the unit's own working-time axis (wall time minus
        the time off before it) the end lies ``duration`` after the start. The run starts in
        stretch ``ks`` of the unit's working time and ends in stretch ``ke``; elements map each
        index to the stretch's bounds and to the time off before it. With ``present`` (a
        machine choice) the run's bounds hold only when the run is on ``mach``; the indices stay
        free otherwise."""
        m = self.model
        spans = [(a, b) for a, b in self.problem.off_on(mach) if b > lo and a < end_hi]
        begins = [lo] + [b for _, b in spans]
        closes = [a for a, _ in spans] + [end_hi]
        before = [0]
        for a, b in spans:
            before.append(before[-1] + b - a)
        n = len(begins)
        ks = m.new_int_var(0, n - 1, f"ks{ref}m{mach}")
        ke = m.new_int_var(0, n - 1, f"ke{ref}m{mach}")
        m.add(ke >= ks)
        bound = max(end_hi, before[-1]) + 1
        parts = [m.new_int_var(-bound, bound, f"el{k}{ref}m{mach}") for k in range(6)]
        s_lo, s_hi, e_lo, e_hi, off_s, off_e = parts
        m.add_element(ks, begins, s_lo)
        m.add_element(ks, [c - 1 for c in closes], s_hi)
        m.add_element(ke, [b + 1 for b in begins], e_lo)
        m.add_element(ke, closes, e_hi)
        m.add_element(ks, before, off_s)
        m.add_element(ke, before, off_e)
        for ct in (
            m.add(start >= s_lo),
            m.add(start <= s_hi),
            m.add(end >= e_lo),
            m.add(end <= e_hi),
            m.add(end - off_e == start - off_s + duration),
        ):
            if present is not None:
                ct.only_enforce_if(present)
        self._stretch_vars[(ref, mach)] = Stretch(ks, ke, begins, closes, before, tuple(parts))

    def _add_constraints(self) -> None:
        p, m = self.problem, self.model
        for j, job in enumerate(p.jobs):
            for a, b in job.precedence_pairs():
                first, then = self.ops[(j, a)], self.ops[(j, b)]
                lag = job.transfer(a, b)
                if lag is None:
                    m.add(then.start >= first.end)
                    continue
                batch, lot = lag  # overlapping lots (see Job.transfers)
                m.add(lot * (then.start - first.start) >= batch * (first.end - first.start))
                m.add(lot * (then.end - first.end) >= batch * (then.end - then.start))
        for a_ref, b_ref in self._fixed_precedences:
            m.add(self.ops[b_ref].start >= self.ops[a_ref].end)
        per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(p.num_machines)]
        for ov in self.ops.values():
            for mach, (_, iv) in ov.choices.items():
                per_machine[mach].append(iv)
        # Time already taken on a machine (operations outside this model) is a fixed interval;
        # a unit's calendar gives it spans all year, only those before the horizon matter.
        for mach, spans in self._busy.items():
            if not per_machine[mach]:
                continue
            for k, (lo, hi) in enumerate(spans):
                if hi > lo and lo < self.horizon:
                    per_machine[mach].append(
                        m.new_fixed_size_interval_var(lo, hi - lo, f"b{mach}_{k}")
                    )
        for ivs in per_machine:
            if len(ivs) > 1:
                m.add_no_overlap(ivs)
        if p.breaks or p.off:
            self._add_stretches()
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

    def _add_stretches(self) -> None:
        """Start domains: a ``stretch`` run of duration ``d`` starts nowhere in ``(b - d, b)``
        for a calendar pause ``b`` nor in ``(lo - d, hi)`` for a span ``[lo, hi)`` of its unit's
        time off; any other run starts nowhere in the time off. Per machine, the complement of
        those gaps (one domain for all machines that share it)."""
        p, m = self.problem, self.model
        breaks = p.breaks
        for ref, ov in self.ops.items():
            op = p.jobs[ref[0]].operations[ref[1]]
            mode = p.mode_of(op)
            if ref in self._frozen:
                continue
            lo, hi = self.start_range(ref)
            by_gaps: dict[tuple[tuple[int, int], ...], list[cp_model.IntVar | int]] = {}
            for mach, (lit, _) in ov.choices.items():
                dur = op.duration_on(mach)
                assert dur is not None
                if dur <= 0:
                    continue
                gaps = []
                if mode == "stretch" and dur > 1:
                    first = bisect.bisect_right(breaks, lo)
                    last = bisect.bisect_left(breaks, hi + dur)
                    gaps = [(b - dur + 1, b - 1) for b in breaks[first:last]]
                for a, b in p.off_on(mach):
                    if a > hi + dur:
                        break
                    if b > lo:
                        gaps.append((a - dur + 1 if mode == "stretch" else a, b - 1))
                if gaps:
                    by_gaps.setdefault(tuple(gaps), []).append(lit)
            for cut, lits in by_gaps.items():
                allowed = cp_model.Domain.from_intervals([list(g) for g in cut]).complement()
                allowed = allowed.intersection_with(cp_model.Domain(lo, hi))
                if len(lits) == len(ov.choices):
                    m.add_linear_expression_in_domain(ov.start, allowed)
                    continue
                for lit in lits:
                    ct = m.add_linear_expression_in_domain(ov.start, allowed)
                    if not isinstance(lit, int):
                        ct.only_enforce_if(lit)

    def _set_objective(self) -> None:
        terms = [self._objective_expr(self.objective)]
        if self._deviation_weight and self._deviation_from:
            devs = []
            for ref, old in self._deviation_from.items():
                if ref in self._frozen or ref not in self.ops:
                    continue
                dev = self.model.new_int_var(0, self.horizon, f"dev{ref}")
                self.model.add_abs_equality(dev, self.ops[ref].start - old)
                unit = self._deviation_unit
                hours = self.model.new_int_var(0, -(-self.horizon // unit), f"devh{ref}")
                self.model.add_division_equality(hours, dev + unit - 1, unit)
                self._devs[ref] = (dev, hours)
                devs.append(hours)
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

    # -- solving -----------------------------------------------------------------------------

    def add_bound(
        self, objective: Objective, bound: int, *, reference: Solution | None = None
    ) -> None:
        """Keep ``objective`` at or below ``bound`` (a lexicographic stage's earlier value).

        With coarse energy tables the model prices a plan differently from the scorer; given
        the ``reference`` plan that meets the bound (the hint), the bound moves by the model's
        error on it, so the hint stays feasible. Callers check the exact value afterwards.
        """
        expr = self._objective_expr(objective)
        if reference is not None and objective.energy_weight and self._energy_vars:
            error = self.table_energy_fen(reference) - reference.energy_cost_fen(self.problem)
            bound += objective.energy_weight * error
        self.model.add(expr <= bound)

    def solve(
        self,
        params: SolverParams,
        *,
        solver_name: str = "factoryos-cpsat",
        watch: SearchWatch | None = None,
    ) -> SolveResult:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, params.time_limit_s)
        solver.parameters.num_workers = params.num_workers
        solver.parameters.random_seed = params.seed
        solver.parameters.log_search_progress = params.log
        solver.parameters.ignore_subsolvers.extend(params.ignore_subsolvers)
        if not params.probing:
            solver.parameters.cp_model_probing_level = 0
            solver.parameters.use_strong_propagation_in_disjunctive = True
            solver.parameters.linearization_level = 0
            solver.parameters.symmetry_level = 0
        if not params.presolve:
            solver.parameters.cp_model_presolve = False
        t0 = time.perf_counter()
        if watch is not None:
            watch.attach(solver)
        status = solver.solve(self.model, watch)
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
