"""Time-of-use energy cost in the CP-SAT job-shop model: per operation a table of run costs by
start, picked with ``AddElement``."""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python import cp_model

from factoryos.schedule.cpsat_vars import ENERGY_ENTRIES, EnergyVars, OpVars, price_step
from factoryos.schedule.problem import OpRef, Problem
from factoryos.schedule.solution import Solution

__all__ = ["EnergyCost"]


class EnergyCost:
    """The energy part of :class:`factoryos.schedule.cpsat.CpSatJobShop` (a mixin)."""

    problem: Problem
    model: cp_model.CpModel
    horizon: int
    ops: dict[OpRef, OpVars]
    _energy_vars: dict[OpRef, EnergyVars]
    start_range: Callable[[OpRef], tuple[int, int]]

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
        share = ENERGY_ENTRIES // max(1, len(self.ops))
        for ref, ov in self.ops.items():
            op = p.jobs[ref[0]].operations[ref[1]]
            lo, hi = self.start_range(ref)
            step = price_step(hi - lo + 1, len(ov.choices), e.slot, share)
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
            self._energy_vars[ref] = EnergyVars(step, lo_k, k, cost, pick, tables)
            costs.append(cost)
        return sum(costs)

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
