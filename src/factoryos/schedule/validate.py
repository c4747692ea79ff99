"""The one schedule validator: checks every constraint without using any solver code."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from factoryos.schedule.errors import InvalidScheduleError
from factoryos.schedule.problem import Problem, RunMode
from factoryos.schedule.solution import Assignment, Solution

__all__ = ["Violation", "ViolationKind", "check", "setups_in_unavailable", "validate"]

ViolationKind = Literal[
    "missing",
    "duplicate",
    "unknown_operation",
    "ineligible_machine",
    "wrong_duration",
    "negative_start",
    "release_date",
    "precedence",
    "overlap",
    "setup",
    "unavailable",
    "break",
    "off_shift",
    "frozen",
]


@dataclass(frozen=True, slots=True)
class Violation:
    kind: ViolationKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def validate(problem: Problem, solution: Solution) -> list[Violation]:
    """Every broken constraint of ``solution`` for ``problem``; empty when the schedule is valid."""
    out: list[Violation] = []
    seen: dict[tuple[int, int], int] = {}
    for idx, a in enumerate(solution.assignments):
        ref = (a.job, a.op)
        if not (0 <= a.job < len(problem.jobs) and 0 <= a.op < len(problem.jobs[a.job].operations)):
            out.append(Violation("unknown_operation", f"{ref} is not an operation of the problem"))
            continue
        if ref in seen:
            out.append(Violation("duplicate", f"{ref} is scheduled more than once"))
            continue
        seen[ref] = idx
        job = problem.jobs[a.job]
        op = job.operations[a.op]
        dur = op.duration_on(a.machine)
        mode = problem.mode_of(op)
        if dur is None:
            out.append(Violation("ineligible_machine", f"{ref} cannot run on machine {a.machine}"))
        elif a.end != (need := problem.run_end(a.machine, a.start, dur, mode)):
            out.append(
                Violation(
                    "wrong_duration",
                    f"{ref} on machine {a.machine} runs {a.start}-{a.end}, needs {dur} "
                    f"working units: {a.start}-{need}",
                )
            )
        else:
            out.extend(_off_violations(problem, a, mode, f"{ref} {job.name}/{op.name}"))
        if a.start < 0:
            out.append(Violation("negative_start", f"{ref} starts at {a.start}"))
        if a.start < job.release_date:
            out.append(
                Violation("release_date", f"{ref} starts at {a.start} < release {job.release_date}")
            )
        if mode == "stretch" and problem.breaks:
            cut = problem.break_inside(a.start, a.end)
            if cut is not None:
                out.append(
                    Violation(
                        "break",
                        f"{ref} {job.name}/{op.name} runs {a.start}-{a.end} across the calendar "
                        f"pause at {cut}, and the routing does not mark it resumable",
                    )
                )
    for ref, _ in problem.iter_operations():
        if ref not in seen:
            out.append(Violation("missing", f"{ref} is not scheduled"))
    for j, job in enumerate(problem.jobs):
        for b, c in job.precedence_pairs():
            ib, ic = seen.get((j, b)), seen.get((j, c))
            if ib is None or ic is None:
                continue
            before, after = solution.assignments[ib], solution.assignments[ic]
            lag = job.transfer(b, c)
            if lag is not None:
                out.extend(_transfer_violations(before, after, *lag))
            elif after.start < before.end:
                out.append(
                    Violation(
                        "precedence",
                        f"({j}, {c}) starts at {after.start} before ({j}, {b}) "
                        f"ends at {before.end}",
                    )
                )
    # per machine first: a plant's calendars make thousands of unavailable spans
    on_machine: dict[int, list[tuple[tuple[int, int], Assignment]]] = {}
    for ref, idx in seen.items():
        a = solution.assignments[idx]
        on_machine.setdefault(a.machine, []).append((ref, a))
    for m, lo, hi in problem.unavailable:
        for ref, a in on_machine.get(m, ()):
            if a.end > a.start and a.start < hi and lo < a.end:
                out.append(
                    Violation(
                        "unavailable",
                        f"{ref} runs {a.start}-{a.end} on machine {m}, unavailable {lo}-{hi}",
                    )
                )
    by_machine: dict[int, list[tuple[int, int, tuple[int, int]]]] = {}
    for ref, idx in seen.items():
        a = solution.assignments[idx]
        by_machine.setdefault(a.machine, []).append((a.start, a.end, ref))
    for m, items in sorted(by_machine.items()):
        items.sort()
        latest_end, latest_ref = None, None
        for start, end, ref in items:
            # zero-length operations occupy no time, so they cannot overlap anything
            if end == start:
                continue
            if latest_end is not None and start < latest_end:
                out.append(
                    Violation(
                        "overlap",
                        f"{ref} starts at {start} on machine {m} while {latest_ref} runs "
                        f"until {latest_end}",
                    )
                )
            if latest_end is None or end > latest_end:
                latest_end, latest_ref = end, ref
        if problem.has_setups:
            out.extend(_setup_violations(problem, m, items))
    if problem.has_setups and (problem.unavailable or problem.off):
        out.extend(setups_in_unavailable(problem, solution))
    return out


def setups_in_unavailable(
    problem: Problem, solution: Solution, machines: Iterable[int] | None = None
) -> list[Violation]:
    """Changeovers that find no stretch of available time in the gap before their operation
    (``to_schedule`` puts each in the latest such stretch); only ``machines`` when given."""
    out: list[Violation] = []
    seqs = solution.machine_sequences(problem.num_machines)
    down = {m for m, lo, hi in problem.unavailable + problem.off if hi > lo}
    for m in sorted(down) if machines is None else sorted(set(machines) & down):
        seq = [a for a in seqs[m] if a.end > a.start]
        # the first operation's setup (``Problem.first_setup``) runs after the plan's start
        for before, after in itertools.pairwise([None, *seq]):
            assert after is not None
            op = problem.jobs[after.job].operations[after.op]
            if before is None:
                free, need = 0, problem.first_setup(m, op)
            else:
                free = before.end
                need = problem.setup(m, problem.jobs[before.job].operations[before.op], op)
            if need and problem.changeover_slot(m, free, after.start, need) is None:
                blocked = [s for s in problem.blocked_on(m) if s[0] < after.start and s[1] > free]
                out.append(
                    Violation(
                        "setup",
                        f"the changeover of {need} before {after.ref} on machine {m} finds no "
                        f"available time in {free}-{after.start} (unavailable {blocked})",
                    )
                )
    return out


def _transfer_violations(
    before: Assignment, after: Assignment, batch: int, lot: int
) -> list[Violation]:
    """Overlapping lots: ``after`` starts once a transfer batch of ``before`` is done and ends
    at least one batch's time of its own after ``before`` ends (see ``Job.transfers``)."""
    out = []
    if lot * (after.start - before.start) < batch * (before.end - before.start):
        out.append(
            Violation(
                "precedence",
                f"{after.ref} starts at {after.start}, before the first transfer batch "
                f"({batch} of {lot}) of {before.ref} ({before.start}-{before.end}) is done",
            )
        )
    if lot * (after.end - before.end) < batch * (after.end - after.start):
        out.append(
            Violation(
                "precedence",
                f"{after.ref} ends at {after.end}, less than a transfer batch's time "
                f"({batch} of {lot}) after {before.ref} ends at {before.end}",
            )
        )
    return out


def _off_violations(problem: Problem, a: Assignment, mode: RunMode, name: str) -> list[Violation]:
    """A run starts in its unit's working time; unless resumable (it paused there, which its
    end shows) or unattended (it runs on), it meets none of the unit's time off."""
    out: list[Violation] = []
    if a.end == a.start:
        return out
    for lo, hi in problem.off_on(a.machine):
        if lo >= a.end:
            break
        if lo <= a.start < hi:
            out.append(
                Violation(
                    "off_shift",
                    f"{name} starts at {a.start} on machine {a.machine}, in its time off {lo}-{hi}",
                )
            )
        elif mode == "stretch" and a.start < lo:
            out.append(
                Violation(
                    "break",
                    f"{name} runs {a.start}-{a.end} on machine {a.machine} into its time off "
                    f"{lo}-{hi}, and is neither resumable nor unattended",
                )
            )
    return out


def _setup_violations(
    problem: Problem, machine: int, items: list[tuple[int, int, tuple[int, int]]]
) -> list[Violation]:
    """Consecutive operations on ``machine`` (sorted by start) leave room for the changeover."""
    out: list[Violation] = []
    if items:
        start, _, first = items[0]
        need = problem.first_setup(machine, problem.jobs[first[0]].operations[first[1]])
        if start < need:
            out.append(
                Violation(
                    "setup",
                    f"{first} starts at {start} on machine {machine}, first there; its setup "
                    f"needs {need} from the plan's start",
                )
            )
    for (_, end, ref), (start, _, nxt) in itertools.pairwise(items):
        before = problem.jobs[ref[0]].operations[ref[1]]
        after = problem.jobs[nxt[0]].operations[nxt[1]]
        need = problem.setup(machine, before, after)
        if need and start < end + need:
            out.append(
                Violation(
                    "setup",
                    f"{nxt} starts at {start} on machine {machine}, {start - end} after {ref} "
                    f"ends; the change {before.family!r} -> {after.family!r} needs {need}",
                )
            )
    return out


def check(problem: Problem, solution: Solution) -> None:
    """Raise :class:`InvalidScheduleError` listing every violation, if any."""
    violations = validate(problem, solution)
    if violations:
        raise InvalidScheduleError(violations)
