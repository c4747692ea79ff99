"""The internal scheduling problem: jobs -> operations -> alternatives (machine, duration).

Times are integers in an abstract unit (benchmark units, or seconds for the plant). A job's
operations are a chain unless ``Job.precedences`` lists explicit (before, after) pairs, which
is how an assembly join (an operation consuming the outputs of several sub-routings) is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from factoryos.schedule.problem_time import MachineTime, RunMode

__all__ = ["Alternative", "EnergyPrices", "Job", "OpRef", "Operation", "Problem", "RunMode"]

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
    """Whether the operation may pause over a calendar pause (``Problem.breaks``) or its unit's
    time off (``Problem.off``) and resume; a non-resumable one runs inside one working stretch."""
    quantity: int = 1
    """Units the run makes (a lot, or the components one lot consumes)."""
    unattended: bool = False
    """Whether the operation runs on through breaks and its unit's time off once started (an
    oven, a burn-in, a curing step); it still starts in its unit's working time."""

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
    transfers: tuple[tuple[int, int, int, int], ...] = ()
    """(before, after, batch, lot): precedence pairs of overlapping lots. ``after`` may start
    once the first ``batch`` of ``before``'s ``lot`` units are done, and ends at least the time
    of one batch of its own after ``before`` ends: ``lot * (start_after - start_before) >=
    batch * (end_before - start_before)`` and ``lot * (end_after - end_before) >= batch *
    (end_after - start_after)`` instead of ``start_after >= end_before``."""

    def __post_init__(self) -> None:
        if self.release_date < 0:
            raise ValueError(f"job {self.name!r}: release_date must be >= 0")
        pairs = set(self.precedence_pairs())
        for a, b, batch, lot in self.transfers:
            if (a, b) not in pairs or not 1 <= batch <= lot:
                raise ValueError(f"job {self.name!r}: bad transfer ({a}, {b}, {batch}, {lot})")
        if self.precedences is not None:
            n = len(self.operations)
            for a, b in self.precedences:
                if not (0 <= a < n and 0 <= b < n) or a == b:
                    raise ValueError(f"job {self.name!r}: bad precedence ({a}, {b})")

    def precedence_pairs(self) -> tuple[tuple[int, int], ...]:
        if self.precedences is None:
            return tuple((o - 1, o) for o in range(1, len(self.operations)))
        return self.precedences

    def transfer(self, before: int, after: int) -> tuple[int, int] | None:
        """(batch, lot) when ``after`` overlaps ``before`` (see ``transfers``)."""
        for a, b, batch, lot in self.transfers:
            if (a, b) == (before, after):
                return batch, lot
        return None


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
class Problem(MachineTime):
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
    off: tuple[tuple[int, int, int], ...] = field(default=())
    """(machine, start, end): a unit's own calendar time off on the plan's axis (another line's
    shift, its own breaks), when lines differ in calendars or unattended steps put the axis on
    the wall clock. A resumable operation pauses over it, an unattended one runs through it,
    any other stays out of it."""
    lot_setup_machines: frozenset[int] = field(default=frozenset())
    """Machines that set up for every new lot (``Equipment.setup: per_lot``): an operation
    after one of its own family pays its ``setup_default`` there; elsewhere only a family
    change costs a setup."""
    first_setups: bool = False
    """Whether every machine's first operation pays its ``setup_default`` (a plant's units,
    per lot or campaign: their state at the plan's start is not known); a machine that sets up
    per lot always does."""

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

        None without families; within a family ``after``'s own step setup on a machine that sets
        up per lot (``lot_setup_machines``), else none; after another family the matrix entry
        when there is one, else the setup of ``after``'s own step.
        """
        if not before.family or not after.family:
            return 0
        if before.family == after.family:
            return after.setup_default if machine in self.lot_setup_machines else 0
        found = self._setup_lookup.get((machine, before.family, after.family))
        return after.setup_default if found is None else found

    def first_setup(self, machine: int, op: Operation) -> int:
        """Setup before the first operation on ``machine`` (its state at the plan's start is
        not known): the new lot's step setup on a unit that sets up per lot, and before a
        campaign unit's first campaign where ``first_setups`` says so, as the twin charges it
        (``simulate.twin``: a unit that has made nothing yet sets up for its first job);
        elsewhere there is no family change to pay for."""
        if op.family and (self.first_setups or machine in self.lot_setup_machines):
            return op.setup_default
        return 0

    @cached_property
    def has_setups(self) -> bool:
        """Whether any changeover can be non-zero (false for the standard benchmark formats)."""
        first = self.lot_setup_machines
        if (self.first_setups or first) and any(
            op.setup_default > 0
            and (self.first_setups or any(a.machine in first for a in op.alternatives))
            for _, op in self.iter_operations()
            if op.family
        ):
            return True
        families = {op.family for _, op in self.iter_operations() if op.family}
        if len(families) < 2:
            return False
        return any(d > 0 for *_, d in self.setup_matrix) or any(
            op.setup_default > 0 for _, op in self.iter_operations() if op.family
        )

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
            job = self.jobs[ref[0]]
            d = job.operations[ref[1]].min_duration
            best = d
            for s in self.successors[ref]:
                lag = job.transfer(ref[1], s[1])
                if lag is None:
                    best = max(best, d + out[s])
                else:  # the successor starts after a batch, ends a batch after this one
                    d_s = job.operations[s[1]].min_duration
                    best = max(
                        best, -(-lag[0] * d // lag[1]) + out[s], d + -(-lag[0] * d_s // lag[1])
                    )
            out[ref] = best
        return out

    @cached_property
    def head(self) -> dict[OpRef, int]:
        """Earliest possible start of each operation (release date and predecessors' work)."""
        out: dict[OpRef, int] = {}
        for ref in self.topological_order:
            job = self.jobs[ref[0]]
            earliest = job.release_date
            for p in self.predecessors[ref]:
                d = job.operations[p[1]].min_duration
                lag = job.transfer(p[1], ref[1])
                earliest = max(earliest, out[p] + (d if lag is None else -(-lag[0] * d // lag[1])))
            out[ref] = earliest
        return out

    def ready(self, ref: OpRef, starts: dict[OpRef, int], ends: dict[OpRef, int]) -> int:
        """Earliest start of ``ref`` once its predecessors are placed (``starts``/``ends``):
        their ends, or for overlapping lots the first transfer batch and the last batch's
        time on ``ref``'s quickest machine (see ``Job.transfers``)."""
        job = self.jobs[ref[0]]
        out = job.release_date
        for p in self.predecessors[ref]:
            lag = job.transfer(p[1], ref[1])
            if lag is None:
                out = max(out, ends[p])
                continue
            batch, lot = lag
            d = job.operations[ref[1]].min_duration
            first = starts[p] + -(-batch * (ends[p] - starts[p]) // lot)
            last = ends[p] - (d - -(-batch * d // lot))
            out = max(out, first, last)
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
        if self.off:
            return self._serial_end(rel)
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
        return self.pad(end)

    def _serial_end(self, t: int) -> int:
        """Where every operation ends when each runs after the one before, from ``t``, on the
        alternative that ends last, after its longest changeover: a feasible plan's makespan,
        and so a bound on an optimal one, when units have their own time off (a step that must
        stay in one stretch may wait past stretches too short for it)."""
        longest = max(
            [d for *_, d in self.setup_matrix]
            + [op.setup_default for _, op in self.iter_operations()],
            default=0,
        )
        for ref in self.topological_order:
            op = self.jobs[ref[0]].operations[ref[1]]
            mode = self.mode_of(op)
            ends = []
            for a in op.alternatives:
                begin = self.earliest_fit(a.machine, t, longest) + longest if longest else t
                start = self.earliest_fit(a.machine, begin, a.duration, mode)
                ends.append(self.run_end(a.machine, start, a.duration, mode))
            t = max(ends)
        return t

    def pad(self, end: int) -> int:
        """``end`` pushed past the unavailable time and time off (all machines together) that
        starts before it: room for work that pauses or waits there."""
        merged: list[list[int]] = []
        for _, lo, hi in sorted(self.unavailable + self.off, key=lambda u: u[1]):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            elif hi > lo:
                merged.append([lo, hi])
        for lo, hi in merged:
            if lo >= end:
                break
            end += hi - lo
        return end
