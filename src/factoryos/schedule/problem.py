"""The internal scheduling problem: jobs -> operations -> alternatives (machine, duration).

Times are integers in an abstract unit (benchmark units, or seconds for the plant). A job's
operations are a chain unless ``Job.precedences`` lists explicit (before, after) pairs, which
is how an assembly join (an operation consuming the outputs of several sub-routings) is written.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["Alternative", "EnergyPrices", "Job", "OpRef", "Operation", "Problem"]

OpRef = tuple[int, int]
"""(job index, operation index within the job)."""


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way to run an operation: on ``machine`` for ``duration`` time units."""

    machine: int
    duration: int

    def __post_init__(self) -> None:
        if self.machine < 0:
            raise ValueError(f"machine index must be >= 0, got {self.machine}")
        if self.duration < 0:
            raise ValueError(f"duration must be >= 0, got {self.duration}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a job; runs on exactly one of its alternatives."""

    alternatives: tuple[Alternative, ...]
    name: str = ""
    product: str = ""
    """What the operation makes when it differs from its job's product (a sub-assembly)."""
    family: str = ""
    """Product family for sequence-dependent setups; empty means no setup before or after it."""
    setup_default: int = 0
    """Setup before this operation when the unit's previous family differs and the unit's matrix
    has no entry for the change (the routing step's own setup time)."""
    resumable: bool = False
    """Whether the operation may pause over a calendar pause (``Problem.breaks``) and resume;
    a non-resumable one runs inside one working stretch."""

    def __post_init__(self) -> None:
        if self.setup_default < 0:
            raise ValueError(f"operation {self.name!r}: setup_default must be >= 0")
        if not self.alternatives:
            raise ValueError(f"operation {self.name!r} has no eligible machine")
        machines = [a.machine for a in self.alternatives]
        if len(set(machines)) != len(machines):
            raise ValueError(f"operation {self.name!r} lists a machine twice: {machines}")

    @property
    def min_duration(self) -> int:
        return min(a.duration for a in self.alternatives)

    def duration_on(self, machine: int) -> int | None:
        for a in self.alternatives:
            if a.machine == machine:
                return a.duration
        return None


@dataclass(frozen=True, slots=True)
class Job:
    """A set of operations with precedences, a release date, an optional due date and a weight."""

    operations: tuple[Operation, ...]
    name: str = ""
    product: str = ""
    release_date: int = 0
    due_date: int | None = None
    weight: int = 1
    precedences: tuple[tuple[int, int], ...] | None = None
    """Explicit (before, after) operation-index pairs; ``None`` means a chain in list order."""

    def __post_init__(self) -> None:
        if self.release_date < 0:
            raise ValueError(f"job {self.name!r}: release_date must be >= 0")
        if self.precedences is not None:
            n = len(self.operations)
            for a, b in self.precedences:
                if not (0 <= a < n and 0 <= b < n) or a == b:
                    raise ValueError(f"job {self.name!r}: bad precedence ({a}, {b})")

    def precedence_pairs(self) -> tuple[tuple[int, int], ...]:
        if self.precedences is None:
            return tuple((o - 1, o) for o in range(1, len(self.operations)))
        return self.precedences


@dataclass(frozen=True)
class EnergyPrices:
    """Time-of-use electricity on the plan's time axis: one price per slot of ``slot`` units.

    ``prices[k]`` (CNY/kWh) holds for units ``[k * slot, (k + 1) * slot)``; past the last slot
    the last price holds. ``power_kw[m]`` is machine ``m``'s draw while producing and
    ``unit_h`` the length of one time unit in hours. Costs are in fen (0.01 CNY), integers,
    so solver and scorer add the same numbers.
    """

    slot: int
    prices: tuple[float, ...]
    power_kw: tuple[float, ...]
    unit_h: float

    def __post_init__(self) -> None:
        if self.slot < 1 or not self.prices:
            raise ValueError("energy prices need slot >= 1 and at least one price")

    def price(self, k: int) -> float:
        return self.prices[min(max(k, 0), len(self.prices) - 1)]

    def cost_fen(self, machine: int, start: int, end: int) -> int:
        """Cost of producing on ``machine`` over ``[start, end)``, rounded to the fen."""
        total = 0.0
        t = start
        while t < end:
            k = t // self.slot
            nxt = min(end, (k + 1) * self.slot)
            total += (nxt - t) * self.price(k)
            t = nxt
        return round(100 * total * self.power_kw[machine] * self.unit_h)

    def floor_fen(self, machine: int, duration: int) -> int:
        """The least a ``duration``-long run on ``machine`` can cost: all at the lowest price."""
        return round(100 * duration * min(self.prices) * self.power_kw[machine] * self.unit_h)

    def lower_bound_fen(self, problem: Problem) -> int:
        """Every operation on its cheapest machine at the lowest price: valid for any plan."""
        return sum(
            min(self.floor_fen(a.machine, a.duration) for a in op.alternatives)
            for _, op in problem.iter_operations()
        )


@dataclass(frozen=True)
class Problem:
    """A (flexible) job-shop instance."""

    jobs: tuple[Job, ...]
    num_machines: int
    name: str = ""
    machine_units: tuple[tuple[str, int], ...] = field(default=())
    """Per machine index: (equipment id, 1-based unit index); default ``("M<i>", 1)``."""
    unavailable: tuple[tuple[int, int, int], ...] = field(default=())
    """(machine, start, end): time a machine cannot work (breakdown, maintenance, calendar)."""
    setup_matrix: tuple[tuple[int, str, str, int], ...] = field(default=())
    """(machine, from family, to family, setup): the equipment's changeover matrix per unit."""
    energy: EnergyPrices | None = None
    """Time-of-use prices and machine power, for the energy-cost objective and KPI."""
    breaks: tuple[int, ...] = field(default=())
    """Sorted instants at which every machine's calendar pauses (a break, shift end, weekend or
    holiday lies there on the working-time axis). A non-resumable operation never has one
    strictly inside its run; a resumable one pauses there and goes on."""

    def __post_init__(self) -> None:
        if list(self.breaks) != sorted(set(self.breaks)):
            raise ValueError(f"{self.name}: breaks must be sorted and distinct")
        if self.energy is not None and len(self.energy.power_kw) != self.num_machines:
            raise ValueError(
                f"{self.name}: energy needs the power of all {self.num_machines} machines"
            )
        if self.machine_units and len(self.machine_units) != self.num_machines:
            raise ValueError(
                f"{self.name}: machine_units must name all {self.num_machines} machines"
            )
        for ref, op in self.iter_operations():
            for a in op.alternatives:
                if a.machine >= self.num_machines:
                    raise ValueError(
                        f"{self.name}: operation {ref} uses machine {a.machine} "
                        f">= num_machines {self.num_machines}"
                    )

    @cached_property
    def _setup_lookup(self) -> dict[tuple[int, str, str], int]:
        return {(m, a, b): d for m, a, b, d in self.setup_matrix}

    def setup(self, machine: int, before: Operation, after: Operation) -> int:
        """Changeover on ``machine`` when ``after`` directly follows ``before``.

        None within a family (or without families); the matrix entry when there is one, else
        the setup of ``after``'s own step.
        """
        if not before.family or not after.family or before.family == after.family:
            return 0
        found = self._setup_lookup.get((machine, before.family, after.family))
        return after.setup_default if found is None else found

    @cached_property
    def has_setups(self) -> bool:
        """Whether any changeover can be non-zero (false for the standard benchmark formats)."""
        families = {op.family for _, op in self.iter_operations() if op.family}
        if len(families) < 2:
            return False
        return any(d > 0 for *_, d in self.setup_matrix) or any(
            op.setup_default > 0 for _, op in self.iter_operations() if op.family
        )

    def unavailable_on(self, machine: int) -> list[tuple[int, int]]:
        return sorted((lo, hi) for m, lo, hi in self.unavailable if m == machine and hi > lo)

    def break_inside(self, start: int, end: int) -> int | None:
        """The first calendar pause strictly inside ``(start, end)``, if any."""
        i = bisect.bisect_right(self.breaks, start)
        if i < len(self.breaks) and self.breaks[i] < end:
            return self.breaks[i]
        return None

    def earliest_fit(
        self, machine: int, earliest: int, duration: int, *, resumable: bool = True
    ) -> int:
        """First start >= ``earliest`` at which ``duration`` fits between unavailable spans and,
        unless ``resumable``, inside one working stretch (pushed to the next pause)."""
        t = earliest
        if duration <= 0:
            return t
        spans = self.unavailable_on(machine)
        while True:
            for lo, hi in spans:
                if t + duration <= lo:
                    break
                if t < hi:
                    t = hi
            cut = None if resumable else self.break_inside(t, t + duration)
            if cut is None:
                return t
            t = cut

    def earliest_start(
        self,
        machine: int,
        ready: int,
        duration: int,
        *,
        free: int = 0,
        setup: int = 0,
        resumable: bool = True,
    ) -> int:
        """:meth:`earliest_fit` from ``ready`` for an operation whose unit is free from ``free``
        and needs a changeover of ``setup`` first: the changeover takes the first stretch of
        available time after ``free``, the operation follows it."""
        done = self.earliest_fit(machine, free, setup) + setup if setup else free
        return self.earliest_fit(machine, max(ready, done), duration, resumable=resumable)

    def changeover_slot(self, machine: int, free: int, start: int, setup: int) -> int | None:
        """The latest start of a ``setup``-long changeover in ``[free, start)`` that misses the
        machine's unavailable time (it sits right before ``start`` when nothing is in the way);
        ``None`` when the gap holds none."""
        t = start - setup
        for lo, hi in reversed(self.unavailable_on(machine)):
            if t < free:
                break
            if lo < t + setup and t < hi:
                t = lo - setup
        return t if t >= free else None

    def machine_unit(self, machine: int) -> tuple[str, int]:
        if self.machine_units:
            return self.machine_units[machine]
        return (f"M{machine}", 1)

    def iter_operations(self) -> Iterator[tuple[OpRef, Operation]]:
        for j, job in enumerate(self.jobs):
            for o, op in enumerate(job.operations):
                yield (j, o), op

    @cached_property
    def num_operations(self) -> int:
        return sum(len(job.operations) for job in self.jobs)

    @cached_property
    def is_flexible(self) -> bool:
        return any(len(op.alternatives) > 1 for _, op in self.iter_operations())

    @cached_property
    def predecessors(self) -> dict[OpRef, tuple[OpRef, ...]]:
        preds: dict[OpRef, list[OpRef]] = {ref: [] for ref, _ in self.iter_operations()}
        for j, job in enumerate(self.jobs):
            for a, b in job.precedence_pairs():
                preds[(j, b)].append((j, a))
        return {ref: tuple(p) for ref, p in preds.items()}

    @cached_property
    def successors(self) -> dict[OpRef, tuple[OpRef, ...]]:
        succ: dict[OpRef, list[OpRef]] = {ref: [] for ref, _ in self.iter_operations()}
        for ref, preds in self.predecessors.items():
            for p in preds:
                succ[p].append(ref)
        return {ref: tuple(s) for ref, s in succ.items()}

    @cached_property
    def tail(self) -> dict[OpRef, int]:
        """Minimal work from the start of an operation to the end of its job (itself included)."""
        out: dict[OpRef, int] = {}
        for ref in reversed(self.topological_order):
            op = self.jobs[ref[0]].operations[ref[1]]
            out[ref] = op.min_duration + max((out[s] for s in self.successors[ref]), default=0)
        return out

    @cached_property
    def head(self) -> dict[OpRef, int]:
        """Earliest possible start of each operation (release date and predecessors' work)."""
        out: dict[OpRef, int] = {}
        for ref in self.topological_order:
            rel = self.jobs[ref[0]].release_date
            out[ref] = max(
                [rel]
                + [
                    out[p] + self.jobs[p[0]].operations[p[1]].min_duration
                    for p in self.predecessors[ref]
                ]
            )
        return out

    @cached_property
    def topological_order(self) -> tuple[OpRef, ...]:
        order: list[OpRef] = []
        for j, job in enumerate(self.jobs):
            n = len(job.operations)
            indeg = [0] * n
            succ: list[list[int]] = [[] for _ in range(n)]
            for a, b in job.precedence_pairs():
                indeg[b] += 1
                succ[a].append(b)
            ready = [o for o in range(n) if indeg[o] == 0]
            seen = 0
            while ready:
                o = ready.pop(0)
                order.append((j, o))
                seen += 1
                for s in succ[o]:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        ready.append(s)
            if seen != n:
                raise ValueError(f"{self.name}: job {job.name!r} has a precedence cycle")
        return tuple(order)

    def trivial_lower_bound(self) -> int:
        """max(longest job path, heaviest machine load when forced); cheap and always valid."""
        path = max((self.head[r] + self.tail[r] for r, _ in self.iter_operations()), default=0)
        load = [0] * self.num_machines
        for _, op in self.iter_operations():
            if len(op.alternatives) == 1:
                load[op.alternatives[0].machine] += op.alternatives[0].duration
        total_min = sum(op.min_duration for _, op in self.iter_operations())
        avg = -(-total_min // max(self.num_machines, 1))
        return max(path, max(load, default=0), avg)

    def horizon(self) -> int:
        """A safe upper bound on any active schedule's makespan.

        All work (and a changeover before each operation) one operation after the other from
        the last release date, plus the unavailable time (all machines together) that starts
        before that end: a calendar-long list of maintenance windows does not stretch a
        four-week plan's domains to a year.
        """
        rel = max((j.release_date for j in self.jobs), default=0)
        # a non-resumable operation waits less than its own duration for the next stretch
        end = rel + sum(
            max(a.duration for a in op.alternatives) * (1 if op.resumable or not self.breaks else 2)
            for _, op in self.iter_operations()
        )
        if self.has_setups:
            # at most one changeover before each operation
            longest = max(
                [d for *_, d in self.setup_matrix]
                + [op.setup_default for _, op in self.iter_operations()]
            )
            end += longest * self.num_operations
        merged: list[list[int]] = []
        for _, lo, hi in sorted(self.unavailable, key=lambda u: u[1]):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            elif hi > lo:
                merged.append([lo, hi])
        for lo, hi in merged:
            if lo >= end:
                break
            end += hi - lo
        return end
