"""Solutions of the internal problem and the solver metadata that goes with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from factoryos.schedule.problem import OpRef, Problem

__all__ = ["Assignment", "Objective", "Solution", "SolveResult", "SolveStatus"]

SolveStatus = Literal["optimal", "feasible"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Operation ``(job, op)`` runs on ``machine`` from ``start`` to ``end``."""

    job: int
    op: int
    machine: int
    start: int
    end: int

    @property
    def ref(self) -> OpRef:
        return (self.job, self.op)


@dataclass(frozen=True)
class Solution:
    """One assignment per operation, in (job, op) order."""

    assignments: tuple[Assignment, ...]

    @property
    def makespan(self) -> int:
        return max((a.end for a in self.assignments), default=0)

    def by_ref(self) -> dict[OpRef, Assignment]:
        return {a.ref: a for a in self.assignments}

    def machine_sequences(self, num_machines: int) -> list[list[Assignment]]:
        seqs: list[list[Assignment]] = [[] for _ in range(num_machines)]
        for a in self.assignments:
            seqs[a.machine].append(a)
        for s in seqs:
            s.sort(key=lambda a: (a.start, a.end, a.job, a.op))
        return seqs

    def setups(self, problem: Problem) -> dict[OpRef, int]:
        """Changeover before each operation from its predecessor on the same machine (the first
        one's: ``Problem.first_setup``)."""
        out: dict[OpRef, int] = {}
        ops = {ref: op for ref, op in problem.iter_operations()}
        for seq in self.machine_sequences(problem.num_machines):
            previous = None
            for a in seq:
                out[a.ref] = (
                    problem.first_setup(a.machine, ops[a.ref])
                    if previous is None
                    else problem.setup(a.machine, ops[previous], ops[a.ref])
                )
                previous = a.ref
        return out

    @staticmethod
    def from_assignments(assignments: list[Assignment]) -> Solution:
        return Solution(tuple(sorted(assignments, key=lambda a: (a.job, a.op))))

    def energy_cost_fen(self, problem: Problem) -> int:
        """Time-of-use energy cost of every operation's run (0 without prices)."""
        if problem.energy is None:
            return 0
        e = problem.energy
        return sum(e.cost_fen(a.machine, a.start, a.end) for a in self.assignments)

    def total_weighted_tardiness(self, problem: Problem) -> int:
        ends: dict[int, int] = {}
        for a in self.assignments:
            ends[a.job] = max(ends.get(a.job, 0), a.end)
        total = 0
        for j, job in enumerate(problem.jobs):
            if job.due_date is not None and j in ends:
                total += job.weight * max(0, ends[j] - job.due_date)
        return total


@dataclass(frozen=True, slots=True)
class Objective:
    """Weighted sum ``makespan_weight * Cmax + tardiness_weight * sum(w_j * T_j)
    + energy_weight * energy cost (fen)``.

    The default is the makespan; ``Objective(0, 1)`` is the total weighted tardiness,
    ``Objective(0, 0, 1)`` the energy cost.
    """

    makespan_weight: int = 1
    tardiness_weight: int = 0
    energy_weight: int = 0

    def __post_init__(self) -> None:
        if min(self.makespan_weight, self.tardiness_weight, self.energy_weight) < 0:
            raise ValueError("objective weights must be >= 0")
        if self.makespan_weight == 0 and self.tardiness_weight == 0 and self.energy_weight == 0:
            raise ValueError("at least one objective weight must be > 0")

    @property
    def is_makespan(self) -> bool:
        return self.tardiness_weight == 0 and self.energy_weight == 0

    @property
    def name(self) -> str:
        parts = [
            (w, n)
            for w, n in (
                (self.makespan_weight, "makespan"),
                (self.tardiness_weight, "weighted_tardiness"),
                (self.energy_weight, "energy_cost"),
            )
            if w
        ]
        if len(parts) == 1:
            return parts[0][1]
        return "+".join(f"{w}*{n}" for w, n in parts)

    def lower_bound(self, problem: Problem) -> int:
        """Valid for any schedule: critical paths against release and due dates, machine loads."""
        bound = self.makespan_weight * problem.trivial_lower_bound()
        if self.tardiness_weight:
            for j, job in enumerate(problem.jobs):
                if job.due_date is None or not job.operations:
                    continue
                path = max(
                    problem.head[(j, o)] + problem.tail[(j, o)] for o in range(len(job.operations))
                )
                bound += self.tardiness_weight * job.weight * max(0, path - job.due_date)
        return bound

    def score(self, problem: Problem, solution: Solution) -> int:
        value = self.makespan_weight * solution.makespan
        if self.tardiness_weight:
            value += self.tardiness_weight * solution.total_weighted_tardiness(problem)
        if self.energy_weight:
            value += self.energy_weight * solution.energy_cost_fen(problem)
        return value


@dataclass(frozen=True)
class SolveResult:
    """A solution with how it was obtained: status, objective, proven bound, wall time."""

    solution: Solution
    status: SolveStatus
    objective: float
    best_bound: float
    wall_time_s: float
    solver: str
    note: str = ""
    """What the solver did, for the user (steps run, what it could not do and why)."""

    @property
    def gap(self) -> float:
        """Relative gap between objective and proven bound (0 when optimal)."""
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.best_bound) / self.objective)
