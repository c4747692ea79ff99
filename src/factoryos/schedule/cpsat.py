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
import itertools
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from factoryos.schedule.errors import NoSolutionError
from factoryos.schedule.problem import Operation, OpRef, Problem
from factoryos.schedule.solution import Assignment, Objective, Solution, SolveResult

__all__ = ["CpSatJobShop", "SearchWatch", "SolverParams", "status_name"]


_ENERGY_ENTRIES = 4_000
"""Energy-table entries (start steps x machines) per model, shared evenly by its operations:
CP-SAT expands each table into a literal per entry, and a plant step's exact tables (several
hundred thousand literals) took its whole budget in presolve."""


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
    """Presolve probing; off for short decomposition and repair steps, where it can take a
    step's budget. Off also means strong disjunctive propagation, no root LP and no symmetry
    detection: with probing level 0 and CP-SAT 9.15's default no-overlap propagation, plant
    steps ended INFEASIBLE although their hint was feasible, or "optimal" 7 % above the optimum
    CP-SAT proves with probing (1 and 2 workers); with strong propagation they match it."""
    presolve: bool = True
    """Off for decomposition steps on units with their own time off: presolve of a 100-operation
    electronics step (5,000 fixed intervals of time off, circuits) took 4.9 s, so every 2 s step
    ended UNKNOWN; without it the step starts from its (complete, feasible) hint at once."""


class SearchWatch(cp_model.CpSolverSolutionCallback):
    """Lets another thread read a running solve's best objective and stop the solve."""

    def __init__(self) -> None:
        super().__init__()
        self.best = math.inf
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self._stopped = False

    def on_solution_callback(self) -> None:
        self.best = self.ObjectiveValue()
        if self._stopped:  # asked to stop before the solve had started
            self.StopSearch()

    def attach(self, solver: cp_model.CpSolver) -> None:
        with self._lock:
            self._solver = solver

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._solver is not None:
                self._solver.stop_search()


def status_name(status: int) -> str:
    return str(cp_model.CpSolver().status_name(status))


def _price_step(starts: int, machines: int, slot: int, share: int) -> int:
    """Start granularity of an operation's energy tables: 1 (exact) when ``starts`` x
    ``machines`` entries fit in its ``share``, else the smallest divisor of the price ``slot``
    whose tables fit, else the slot."""
    if starts * machines <= share:
        return 1
    for step in range(2, slot):
        if slot % step == 0 and (starts // step + 2) * machines <= share:
            return step
    return slot


@dataclass(slots=True)
class _EnergyVars:
    """An operation's energy-cost variables, kept to hint them from a plan."""

    step: int
    lo_k: int
    index: cp_model.IntVar | None
    """Start step (start // step) when ``step > 1``."""
    cost: cp_model.IntVar
    pick: cp_model.IntVar | None
    """Entry of the machines' tables laid end to end (flexible operations only).

    One element over all machines instead of a cost per machine selected by its presence
    literal: CP-SAT 9.15 aborted presolve (``absl::btree_map::at`` in its hint crushing) on
    hinted per-machine costs."""
    tables: dict[int, list[int]]


@dataclass(slots=True)
class _OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    interval: cp_model.IntervalVar
    choices: dict[int, tuple[cp_model.IntVar | int, cp_model.IntervalVar]]
    """machine -> (presence literal or 1, interval on that machine)."""


@dataclass(frozen=True, slots=True)
class _Stretch:
    """A resumable run's stretch indices on one unit, what its elements map them to, and the
    element variables (start bounds, end bounds, time off before start and end)."""

    ks: cp_model.IntVar
    ke: cp_model.IntVar
    begins: list[int]
    closes: list[int]
    before: list[int]
    parts: tuple[cp_model.IntVar, ...]


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
        # machine -> (start, end, operation) of work outside the model that sets up the unit
        self._fixed_ops = {m: list(v) for m, v in (fixed_ops or {}).items()}
        # lexicographic stages: earlier objectives kept at or below their optimum
        self._bounds = tuple(bounds)
        # op -> (lo, hi): a decomposition step's operations start near where they are
        self._windows = dict(start_windows or {})
        for ref, (mach, _) in self._frozen.items():
            self._fixed_machines[ref] = mach
        self.ops: dict[OpRef, _OpVars] = {}
        self._late: dict[int, cp_model.IntVar] = {}
        self._energy: cp_model.LinearExprT | None = None
        # machine -> (from, to) -> arc literal of its setup circuit; None is the depot
        self._arcs: dict[int, dict[tuple[OpRef | None, OpRef | None], cp_model.IntVar]] = {}
        # (op, machine) -> (begin, size, end) of the changeover kept out of unavailable time
        self._setup_vars: dict[tuple[OpRef, int], tuple[cp_model.IntVar, ...]] = {}
        self._energy_vars: dict[OpRef, _EnergyVars] = {}
        self._durations: dict[OpRef, cp_model.IntVar] = {}
        # (op, machine) -> stretch indices of a resumable run's start and end, stretch begins
        self._elastic_sizes: dict[tuple[OpRef, int], cp_model.IntVar] = {}
        self._stretch_vars: dict[tuple[OpRef, int], _Stretch] = {}
        self._devs: dict[OpRef, cp_model.IntVar] = {}
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
            self.ops[ref] = _OpVars(start, end, interval, choices)
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
        self._stretch_vars[(ref, mach)] = _Stretch(ks, ke, begins, closes, before, tuple(parts))

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
        incoming: dict[int, list[tuple[cp_model.IntVar, int, OpRef]]] = {}
        for (a, b), setup in setups.items():
            ref_a, ref_b = items[a][0], items[b][0]
            arc = m.new_bool_var(f"a{ref_a}{ref_b}m{mach}")
            arcs.append((a + 1, b + 1, arc))
            named[(ref_a, ref_b)] = arc
            for _, _, lit in (items[a], items[b]):
                if not isinstance(lit, int):
                    m.add_implication(arc, lit)
            m.add(self.ops[ref_b].start >= self.ops[ref_a].end + setup).only_enforce_if(arc)
            if setup:
                incoming.setdefault(b, []).append((arc, setup, ref_a))
        m.add_circuit(arcs)
        spans = [(lo, hi) for lo, hi in self.problem.blocked_on(mach) if lo < self.horizon]
        if spans and incoming:
            self._setups_outside(mach, items, incoming, spans)

    def _setups_outside(
        self,
        mach: int,
        items: list[tuple[OpRef, Operation, cp_model.IntVar | int]],
        incoming: dict[int, list[tuple[cp_model.IntVar, int, OpRef]]],
        spans: list[tuple[int, int]],
    ) -> None:
        """A changeover needs a stretch of available time between the previous operation's end
        and its operation's start: an interval of the arc's setup inside that gap, in a
        no-overlap with the machine's unavailable spans (``to_schedule`` puts it in the latest
        such stretch, right before the operation when nothing is in the way)."""
        m = self.model
        intervals = []
        for b, arcs in incoming.items():
            ref = items[b][0]
            if ref in self._frozen:
                continue
            size = m.new_int_var(0, max(s for _, s, _ in arcs), f"su{ref}m{mach}")
            m.add(size == sum(arc * s for arc, s, _ in arcs))
            # present only when an arc with a changeover comes in: no zero-size interval (with
            # start windows CP-SAT 9.15 without presolve probing proved such steps infeasible)
            present = m.new_bool_var(f"sp{ref}m{mach}")
            m.add(present == sum(arc for arc, _, _ in arcs))
            begin = m.new_int_var(0, self.horizon, f"sb{ref}m{mach}")
            m.add(begin + size <= self.ops[ref].start)
            for arc, _, before in arcs:
                m.add(begin >= self.ops[before].end).only_enforce_if(arc)
            end = m.new_int_var(0, self.horizon, f"se{ref}m{mach}")  # = begin + size
            iv = m.new_optional_interval_var(begin, size, end, present, f"si{ref}m{mach}")
            intervals.append(iv)
            self._setup_vars[(ref, mach)] = (begin, size, end, present)
        intervals.extend(
            m.new_fixed_size_interval_var(lo, hi - lo, f"su{mach}_{k}")
            for k, (lo, hi) in enumerate(spans)
        )
        m.add_no_overlap(intervals)

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
                self._devs[ref] = dev
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

        ``AddElement`` picks the entry of the operation's start from the machines' tables laid
        end to end, the machine's presence literal shifting the index to its table. Small start
        domains are priced exactly, unit by unit; wider ones (a decomposition step's windows,
        whole plans) by start steps of a divisor of the price slot, as if the run started at
        its step's beginning; the scorer always prices the actual run.
        """
        p, m = self.problem, self.model
        e = p.energy
        assert e is not None
        costs = []
        share = _ENERGY_ENTRIES // max(1, len(self.ops))
        for ref, ov in self.ops.items():
            op = p.jobs[ref[0]].operations[ref[1]]
            lo, hi = self.start_range(ref)
            step = _price_step(hi - lo + 1, len(ov.choices), e.slot, share)
            lo_k, hi_k = lo // step, hi // step
            index: cp_model.IntVar = ov.start
            k: cp_model.IntVar | None = None
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
            flat = [c for t in tables.values() for c in t]
            cost = m.new_int_var(min(flat), max(flat), f"c{ref}")
            pick: cp_model.IntVar | None = None
            if len(tables) == 1:
                m.add_element(index - lo_k, flat, cost)
            else:
                # one table per machine, end to end: entry (machine position) x n + start step
                n = hi_k - lo_k + 1
                lits = [lit for lit, _ in ov.choices.values()]
                pick = m.new_int_var(0, len(flat) - 1, f"ci{ref}")
                shift = cp_model.LinearExpr.weighted_sum(lits, [i * n for i in range(len(lits))])
                m.add(pick == index - lo_k + shift)
                m.add_element(pick, flat, cost)
            self._energy_vars[ref] = _EnergyVars(step, lo_k, k, cost, pick, tables)
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
        self._hint_stretches(solution)
        self._hint_objective_terms(solution)
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
        p = self.problem
        starts = {a.ref: a.start for a in solution.assignments}
        # off its machine (or first on it) an operation has no changeover there
        setups = {sk: (starts[sk[0]], 0) for sk in self._setup_vars if sk[0] in starts}
        for mach, seq_a in on.items():
            for before, after in itertools.pairwise(seq_a):
                if (after.ref, mach) not in self._setup_vars:
                    continue
                op_b = p.jobs[before.job].operations[before.op]
                op_a = p.jobs[after.job].operations[after.op]
                size = p.setup(mach, op_b, op_a)
                if size:
                    slot = p.changeover_slot(mach, before.end, after.start, size)
                    setups[(after.ref, mach)] = (before.end if slot is None else slot, size)
        for sk, (begin, size) in setups.items():
            values = (begin, size, begin + size, int(size > 0))
            for var, value in zip(self._setup_vars[sk], values, strict=True):
                self.model.add_hint(var, value)

    def _hint_stretches(self, solution: Solution) -> None:
        """Hint the stretch indices, their elements' values and the lengths of resumable runs
        over their units' time off (a complete hint: CP-SAT failed to complete a partial one
        in a 2 s decomposition step); on the machines a run does not take, the first stretch
        (any index satisfies them)."""
        placed = {x.ref: x for x in solution.assignments}
        for (ref, mach), st in self._stretch_vars.items():
            run = placed.get(ref)
            on = run is not None and run.machine == mach
            first = max(0, bisect.bisect_right(st.begins, run.start) - 1) if run and on else 0
            last = max(0, bisect.bisect_left(st.begins, run.end) - 1) if run and on else 0
            self.model.add_hint(st.ks, first)
            self.model.add_hint(st.ke, last)
            values = (
                st.begins[first],
                st.closes[first] - 1,
                st.begins[last] + 1,
                st.closes[last],
                st.before[first],
                st.before[last],
            )
            for var, value in zip(st.parts, values, strict=True):
                self.model.add_hint(var, value)
            size = self._elastic_sizes.get((ref, mach))
            if size is not None and run is not None:
                self.model.add_hint(size, run.end - run.start if on else size.proto.domain[0])

    def _hint_objective_terms(self, solution: Solution) -> None:
        """Hint what the objective adds (durations, lateness, energy, deviation): CP-SAT
        completes a partial hint by search, which a plant step's budget does not allow."""
        p, m = self.problem, self.model
        by_ref = {a.ref: a for a in solution.assignments if a.ref in self.ops}
        for ref, dur in self._durations.items():
            if ref in by_ref:
                m.add_hint(dur, by_ref[ref].end - by_ref[ref].start)
        for j, late in self._late.items():
            due = p.jobs[j].due_date
            ends = [
                by_ref[(j, o)].end for o in range(len(p.jobs[j].operations)) if (j, o) in by_ref
            ]
            if due is not None and ends:
                m.add_hint(late, max(0, max(ends) - due))
        for ref, ev in self._energy_vars.items():
            a = by_ref.get(ref)
            if a is None:
                continue
            i = a.start // ev.step - ev.lo_k
            if ev.index is not None:
                m.add_hint(ev.index, a.start // ev.step)
            if not 0 <= i < len(ev.tables[a.machine]):
                continue  # the hint lies outside the start domain: CP-SAT repairs it
            m.add_hint(ev.cost, ev.tables[a.machine][i])
            if ev.pick is not None:
                position = list(ev.tables).index(a.machine)
                m.add_hint(ev.pick, i + len(ev.tables[a.machine]) * position)
        for ref, dev in self._devs.items():
            if ref in by_ref:
                m.add_hint(dev, abs(by_ref[ref].start - self._deviation_from[ref]))

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

    def table_energy_fen(self, solution: Solution) -> int:
        """The energy cost of ``solution``'s operations in this model as its tables price it
        (exact when they are unit by unit)."""
        total = 0
        for a in solution.assignments:
            ev = self._energy_vars.get(a.ref)
            if ev is None:
                continue
            table = ev.tables[a.machine]
            total += table[min(max(a.start // ev.step - ev.lo_k, 0), len(table) - 1)]
        return total

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
