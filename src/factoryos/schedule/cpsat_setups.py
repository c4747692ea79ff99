"""Sequence-dependent setups in the CP-SAT job-shop model: a circuit per machine, changeovers
kept out of unavailable time, fixed work outside the model widened by its changeovers."""

from __future__ import annotations

from ortools.sat.python import cp_model

from factoryos.schedule.cpsat_vars import OpVars
from factoryos.schedule.problem import Operation, OpRef, Problem

__all__ = ["SetupConstraints"]


class SetupConstraints:
    """The setup part of :class:`factoryos.schedule.cpsat.CpSatJobShop` (a mixin: the model
    sets these attributes before it adds constraints)."""

    problem: Problem
    model: cp_model.CpModel
    horizon: int
    ops: dict[OpRef, OpVars]
    _frozen: dict[OpRef, tuple[int, int]]
    _fixed_ops: dict[int, list[tuple[int, int, Operation]]]
    _arcs: dict[int, dict[tuple[OpRef | None, OpRef | None], cp_model.IntVar]]
    _setup_vars: dict[tuple[OpRef, int], tuple[cp_model.IntVar, ...]]

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
            firsts = {i: p.first_setup(mach, op) for i, (_, op, _) in enumerate(items)}
            if any(setups.values()) or any(firsts.values()):
                self._circuit(mach, items, setups, firsts)
            fixed = self._fixed_ops.get(mach)
            if fixed:
                self._widen_fixed(mach, items, fixed)

    def _circuit(
        self,
        mach: int,
        items: list[tuple[OpRef, Operation, cp_model.IntVar | int]],
        setups: dict[tuple[int, int], int],
        firsts: dict[int, int],
    ) -> None:
        """``firsts``: the setup of each item when it comes first in the model
        (``Problem.first_setup``). In a step with fixed work on the machine an item first in
        the model may follow fixed work; asking its first setup from the plan's start then is
        stricter than needed only if that fixed work ends within the setup, never invalid."""
        m = self.model
        arcs: list[tuple[int, int, cp_model.LiteralT]] = []
        named = self._arcs.setdefault(mach, {})
        optional = False
        incoming: dict[int, list[tuple[cp_model.IntVar, int, OpRef | None]]] = {}
        for i, (ref, _, lit) in enumerate(items):
            first = m.new_bool_var(f"f{ref}m{mach}")
            last = m.new_bool_var(f"l{ref}m{mach}")
            arcs.append((0, i + 1, first))
            arcs.append((i + 1, 0, last))
            named[(None, ref)] = first
            named[(ref, None)] = last
            if firsts[i]:
                m.add(self.ops[ref].start >= firsts[i]).only_enforce_if(first)
                incoming.setdefault(i, []).append((first, firsts[i], None))
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
        incoming: dict[int, list[tuple[cp_model.IntVar, int, OpRef | None]]],
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
                if before is not None:  # a first setup starts after the plan's start (0)
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
