"""Solution hints for the CP-SAT job-shop model: every variable of the model set from a plan
(starts, machines, setup arcs and changeovers, stretches, energy, objective terms), so the
hint is complete."""

from __future__ import annotations

import bisect
import itertools

from ortools.sat.python import cp_model

from factoryos.schedule.cpsat_vars import EnergyVars, OpVars, Stretch
from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["Hints"]


class Hints:
    """The hint part of :class:`factoryos.schedule.cpsat.CpSatJobShop` (a mixin)."""

    problem: Problem
    model: cp_model.CpModel
    horizon: int
    ops: dict[OpRef, OpVars]
    makespan: cp_model.IntVar
    _makespan_floor: int
    _late: dict[int, cp_model.IntVar]
    _arcs: dict[int, dict[tuple[OpRef | None, OpRef | None], cp_model.IntVar]]
    _setup_vars: dict[tuple[OpRef, int], tuple[cp_model.IntVar, ...]]
    _energy_vars: dict[OpRef, EnergyVars]
    _durations: dict[OpRef, cp_model.IntVar]
    _elastic_sizes: dict[tuple[OpRef, int], cp_model.IntVar]
    _stretch_vars: dict[tuple[OpRef, int], Stretch]
    _devs: dict[OpRef, tuple[cp_model.IntVar, cp_model.IntVar]]
    _deviation_unit: int
    _deviation_from: dict[OpRef, int]

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
            for before, after in itertools.pairwise([None, *seq_a]):
                assert after is not None
                if (after.ref, mach) not in self._setup_vars:
                    continue
                op_a = p.jobs[after.job].operations[after.op]
                if before is None:  # first in the model: its first setup from the start
                    free, size = 0, p.first_setup(mach, op_a)
                else:
                    op_b = p.jobs[before.job].operations[before.op]
                    free, size = before.end, p.setup(mach, op_b, op_a)
                if size:
                    slot = p.changeover_slot(mach, free, after.start, size)
                    setups[(after.ref, mach)] = (free if slot is None else slot, size)
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
        for ref, (dev, hours) in self._devs.items():
            if ref in by_ref:
                moved = abs(by_ref[ref].start - self._deviation_from[ref])
                m.add_hint(dev, moved)
                m.add_hint(hours, -(-moved // self._deviation_unit))  # rounded up, as the model
