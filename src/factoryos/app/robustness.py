"""Plan robustness: how likely each order is to be on time when the twin executes the plan.

The twin runs the plan as planned (dispatch rule ``plan``: each operation on its planned work
unit, never before its planned start, see :mod:`factoryos.simulate.plan_follow`) under the
plant model's failures (the modelled ones, or fitted ones through a scenario overlay), for
``replications`` independent replications. Per order: the probability of finishing by its due
date (Wilson 95 % interval) and the expected tardiness (Student t 95 % interval). Two plans are
compared with common random numbers: replication r of both uses the same random streams (they
are keyed by seed, replication and work unit), so the paired differences show the plans'
difference, not the dice's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from factoryos.app.simulation import read_orders_file, read_schedule_file
from factoryos.model import Plant
from factoryos.model.errors import SimulationError
from factoryos.model.schedule import Schedule
from factoryos.schedule.orders import read_orders
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.stats import Interval, mean_interval
from factoryos.simulate.twin import DispatchRule
from factoryos.simulate.units import Outage

__all__ = [
    "OrderOutcome",
    "PlanRobustness",
    "Proportion",
    "assess_plans",
    "paired_difference",
]

SLACK = dt.timedelta(days=7)
"""Simulated beyond the later of the last due date and the plan's end: late orders can finish."""
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Proportion:
    """A share of replications with its Wilson 95 % interval."""

    value: float
    low: float
    high: float

    @classmethod
    def of(cls, successes: int, n: int) -> Proportion:
        p = successes / n
        centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
        return cls(p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order_id: str
    due: dt.datetime
    on_time: Proportion
    tardiness_h: Interval  # expected tardiness over the replications
    unfinished: int  # replications in which it did not finish (tardiness counted to the end)


@dataclass(frozen=True)
class PlanRobustness:
    plan: Path
    replications: int
    orders: tuple[OrderOutcome, ...]
    on_time_orders: Interval  # orders on time per replication
    total_tardiness_h: Interval
    per_replication: tuple[tuple[int, float], ...]  # (orders on time, total tardiness h)


def _finish_times(spec: RunSpec, replication: int) -> dict[str, float | None]:
    """Each order's finish (twin seconds) in one replication; None if it did not finish."""
    twin = spec.twin(replication)
    twin.run()
    finished: dict[str, float | None] = {o.order_id: None for o in spec.orders}
    for order in twin.orders:
        finished[order.spec.order_id] = order.finished_s
    return finished


def _summarise(
    plan: Path,
    spec: RunSpec,
    runs: Sequence[dict[str, float | None]],
    start: dt.datetime,
) -> PlanRobustness:
    n = len(runs)
    outcomes = []
    late_h: dict[str, list[float]] = {}
    on_time: dict[str, list[bool]] = {}
    for order in spec.orders:
        late_h[order.order_id], on_time[order.order_id] = [], []
        for run in runs:
            end = run[order.order_id]
            finish = spec.horizon_s if end is None else end
            late_h[order.order_id].append(max(0.0, finish - order.due_s) / 3600.0)
            on_time[order.order_id].append(end is not None and end <= order.due_s)
    for order in spec.orders:
        oid = order.order_id
        outcomes.append(
            OrderOutcome(
                oid,
                start + dt.timedelta(seconds=order.due_s),
                Proportion.of(sum(on_time[oid]), n),
                mean_interval(late_h[oid]),
                sum(run[oid] is None for run in runs),
            )
        )
    per_run = tuple(
        (
            sum(on_time[o.order_id][r] for o in spec.orders),
            sum(late_h[o.order_id][r] for o in spec.orders),
        )
        for r in range(n)
    )
    return PlanRobustness(
        plan,
        n,
        tuple(outcomes),
        mean_interval([float(k) for k, _ in per_run]),
        mean_interval([t for _, t in per_run]),
        per_run,
    )


def _window(
    orders_path: Path, plans: Sequence[Path]
) -> tuple[dt.datetime, float, list[tuple[Path, Schedule]]]:
    schedules = [(p, read_schedule_file(p)) for p in plans]
    book = read_orders(orders_path)
    if not book:
        raise SimulationError(f"{orders_path}: no orders")
    firsts = [o.release for o in book] + [
        min(op.start for op in s.operations) for _, s in schedules if s.operations
    ]
    lasts = [o.due for o in book if o.due] + [
        max(op.end for op in s.operations) for _, s in schedules if s.operations
    ]
    start = min(firsts)
    horizon_s = (max(lasts) + SLACK - start).total_seconds()
    return start, horizon_s, list(schedules)


def assess_plans(
    plant: Plant,
    orders_path: Path,
    plans: Sequence[Path],
    *,
    replications: int = 30,
    seed: int = 1,
    processes: int | None = None,
    on_progress: Callable[[float], None] | None = None,
    outages: Sequence[Outage] = (),
    pool: Executor | None = None,
) -> list[PlanRobustness]:
    """Each plan executed ``replications`` times by the twin, same seeds for all (CRN);
    ``outages`` are known downtimes on top of the modelled failures (the live loop's breakdown);
    ``pool`` is a process pool to run them in (kept warm by a caller that checks often), else
    one is made for ``processes`` workers."""
    if replications < 2:
        raise SimulationError(f"need at least 2 replications, got {replications}")
    start, horizon_s, schedules = _window(orders_path, plans)
    orders: tuple[ProductionOrder, ...] = tuple(read_orders_file(orders_path, start))
    known = tuple(outages)
    specs = [
        RunSpec(plant, orders, start, horizon_s, seed, DispatchRule.PLAN, schedule, outages=known)
        for _, schedule in schedules
    ]
    jobs = [(spec, r) for spec in specs for r in range(replications)]
    workers = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    results: list[dict[str, float | None]] = []
    if pool is None and workers == 1:
        for done, (spec, r) in enumerate(jobs, start=1):
            results.append(_finish_times(spec, r))
            if on_progress is not None:
                on_progress(done / len(jobs))
    else:
        with contextlib.ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))
            futures = [pool.submit(_finish_times, spec, r) for spec, r in jobs]
            for done, future in enumerate(futures, start=1):
                results.append(future.result())
                if on_progress is not None:
                    on_progress(done / len(jobs))
    return [
        _summarise(path, spec, results[i * replications : (i + 1) * replications], start)
        for i, ((path, _), spec) in enumerate(zip(schedules, specs, strict=True))
    ]


def paired_difference(a: PlanRobustness, b: PlanRobustness) -> tuple[Interval, Interval]:
    """(orders on time, total tardiness h) of ``b`` minus ``a``, replication by replication."""
    pairs = list(zip(a.per_replication, b.per_replication, strict=True))
    return (
        mean_interval([float(y[0] - x[0]) for x, y in pairs]),
        mean_interval([y[1] - x[1] for x, y in pairs]),
    )
