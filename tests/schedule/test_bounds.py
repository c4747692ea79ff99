"""The bottleneck bound: a pool's released work over its available time, known answers."""

from __future__ import annotations

from factoryos.schedule import (
    Alternative,
    Assignment,
    Job,
    Operation,
    Problem,
    Solution,
    validate,
)
from factoryos.schedule.bounds import (
    bottleneck_bound,
    busy_while_waiting,
    calendar_heads,
    path_bound,
)
from factoryos.schedule.rules import dispatch


def _job(name: str, release: int, *steps: tuple[int, int]) -> Job:
    return Job(
        tuple(Operation((Alternative(m, d),)) for m, d in steps), name=name, release_date=release
    )


def test_the_bound_counts_work_time_off_and_releases() -> None:
    # machine 0 carries 3 x 10 units from 0, and is off over [10, 20): it cannot finish
    # before 40; a 5-unit step on machine 1 follows the last
    jobs = (_job("a", 0, (0, 10)), _job("b", 0, (0, 10)), _job("c", 0, (0, 10), (1, 5)))
    p = Problem(jobs, 2, off=((0, 10, 20),))
    b = bottleneck_bound(p)
    assert (b.machines, b.bound) == ((0,), 40)
    # one more job released at 100 on machine 0: 10 units from 100 at the earliest
    p2 = Problem((*jobs, _job("d", 100, (0, 10))), 2, off=((0, 10, 20),))
    assert bottleneck_bound(p2).bound == 110


def test_a_pool_of_two_units_shares_its_work() -> None:
    jobs = tuple(Job((Operation((Alternative(0, 10), Alternative(1, 10))),)) for _ in range(4))
    assert bottleneck_bound(Problem(jobs, 2)).bound == 20


def test_busy_while_waiting_counts_idle_time_with_work_ready() -> None:
    jobs = (_job("a", 0, (0, 10)), _job("b", 0, (0, 10)))
    p = Problem(jobs, 1)
    tight = Solution((Assignment(0, 0, 0, 0, 10), Assignment(1, 0, 0, 10, 20)))
    # b waits over [0, 10) while a runs: busy all that time
    assert busy_while_waiting(p, tight, (0,)) == 1.0
    loose = Solution((Assignment(0, 0, 0, 0, 10), Assignment(1, 0, 0, 15, 25)))
    # b waits over [0, 15): busy 10 of 15
    assert abs(busy_while_waiting(p, loose, (0,)) - 10 / 15) < 1e-9


def test_the_bound_adds_the_least_changeovers_of_its_families() -> None:
    # three families on one unit, each change in costs at least 4 (C in: 4, B in: 5, A in: 6):
    # two changes at least, the cheapest two: 4 + 5
    jobs = tuple(
        Job((Operation((Alternative(0, 10),), family=f),), name=f) for f in ("A", "B", "C")
    )
    matrix = tuple((0, a, b, {"A": 6, "B": 5, "C": 4}[b]) for a in "ABC" for b in "ABC" if a != b)
    assert bottleneck_bound(Problem(jobs, 1, setup_matrix=matrix)).bound == 30 + 4 + 5


def test_heads_in_the_calendars_of_lines_on_other_shifts() -> None:
    # line 0 is off until 100, line 1 off over [150, 300): a 50-unit step on line 0 ends at
    # 150 at the earliest, the 20-unit step after it (one stretch) cannot start before 300
    p = Problem((_job("a", 0, (0, 50), (1, 20)),), 2, off=((0, 0, 100), (1, 150, 300)))
    starts, ends = calendar_heads(p)
    assert (starts[(0, 0)], ends[(0, 0)], starts[(0, 1)], ends[(0, 1)]) == (100, 150, 300, 320)
    assert path_bound(p) == 320 == dispatch(p, "EDD").makespan
    # the pool bound of line 1 starts its work at that head, not at the working-unit head 50
    assert bottleneck_bound(p).bound == 320


def test_unattended_work_may_use_the_time_off() -> None:
    # a 100-unit unattended cycle on a unit off over [10, 200): it starts at 0 and runs
    # through, so time off must not count as lost in its pool's bound
    job = Job((Operation((Alternative(0, 100),), unattended=True),), name="oven")
    p = Problem((job,), 1, off=((0, 10, 200),))
    assert dispatch(p, "EDD").makespan == 100
    assert bottleneck_bound(p).bound <= 100


def test_units_that_set_up_per_lot_count_every_lot_the_first_too() -> None:
    # three 10-unit lots of one family on one unit with a 5-unit step setup: 3 x (5 + 10),
    # the first lot sets up too (as the twin does)
    lot = Operation((Alternative(0, 10),), family="f", setup_default=5)
    jobs = tuple(Job((lot,), name=f"l{k}") for k in range(3))
    per_lot = Problem(jobs, 1, lot_setup_machines=frozenset({0}))
    assert bottleneck_bound(per_lot).bound == 45 == dispatch(per_lot, "EDD").makespan
    # a campaign unit: no setup within the family
    assert bottleneck_bound(Problem(jobs, 1)).bound == 30 == dispatch(Problem(jobs, 1)).makespan


def test_busy_while_a_waiting_run_fits_leaves_out_stretch_ends_too_short() -> None:
    # the calendar pauses at 100; b (50 units, one stretch) waits from 0 while a runs 0-60,
    # then cannot fit into 60-100: idle for the plain share, not for the fitting one
    p = Problem((_job("a", 0, (0, 60)), _job("b", 0, (0, 50))), 1, breaks=(100,))
    plan = Solution((Assignment(0, 0, 0, 0, 60), Assignment(1, 0, 0, 100, 150)))
    assert abs(busy_while_waiting(p, plan, (0,)) - 0.6) < 1e-9
    assert busy_while_waiting(p, plan, (0,), fitting=True) == 1.0
    # a shorter waiting run (30) would have fitted from 60 to 70: those 11 instants count
    short = Problem((_job("a", 0, (0, 60)), _job("b", 0, (0, 30))), 1, breaks=(100,))
    late = Solution((Assignment(0, 0, 0, 0, 60), Assignment(1, 0, 0, 100, 130)))
    assert abs(busy_while_waiting(short, late, (0,), fitting=True) - 60 / 71) < 1e-9
    # with the pool's shortest run of 30 (another lot of the book), the first plan's stretch
    # end counts as long as that run would fit, whatever waits
    fits_30 = busy_while_waiting(p, plan, (0,), fitting=True, shortest_run=30)
    assert abs(fits_30 - 60 / 71) < 1e-9


def test_the_last_start_on_a_pool_bounds_the_makespan_through_overlapping_lots() -> None:
    # two lots of 10 on machine 0, each followed on a machine of its own by a 30-unit run that
    # may start once half the lot is done and ends at least 15 after it: the end of machine
    # 0's work (20) and the least 15 after it give 35; the lot that starts last (at 10 or
    # later) puts its 30-unit run from 15 to 45, which the optimum reaches
    def lot(name: str, machine: int) -> Job:
        ops = (Operation((Alternative(0, 10),)), Operation((Alternative(machine, 30),)))
        return Job(ops, name=name, transfers=((0, 1, 1, 2),))

    p = Problem((lot("a", 1), lot("b", 2)), 3)
    b = bottleneck_bound(p)
    assert (b.machines, b.bound, b.last_start) == ((0,), 45, 10)
    plan = Solution(
        (
            Assignment(0, 0, 0, 0, 10),
            Assignment(0, 1, 1, 5, 35),
            Assignment(1, 0, 0, 10, 20),
            Assignment(1, 1, 2, 15, 45),
        )
    )
    assert not validate(p, plan) and plan.makespan == 45


def test_heads_of_an_overlapping_resumable_run_that_pauses_over_time_off() -> None:
    # a 2-unit resumable run after an 8-unit one, half a lot's overlap (ends at least 1 after
    # it, so at 9 or later): from 7 (the ready time of rules) it would wait out the time off
    # [7, 18) and end at 20; from 6 it runs one unit, pauses, and ends at 19
    ops = (Operation((Alternative(0, 8),)), Operation((Alternative(1, 2),), resumable=True))
    p = Problem((Job(ops, transfers=((0, 1, 1, 2),)),), 2, off=((1, 7, 18),))
    starts, ends = calendar_heads(p)
    assert (starts[(0, 1)], ends[(0, 1)]) == (6, 19)
    assert not validate(p, Solution((Assignment(0, 0, 0, 0, 8), Assignment(0, 1, 1, 6, 19))))
    assert path_bound(p) == 19
