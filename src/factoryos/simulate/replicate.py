"""Independent replications on all cores, confidence intervals, and paired scenario comparison.

Replication ``r`` of any scenario uses the random streams ``(seed, r, work unit, purpose)``, so a
base run and a scenario run with the same seed share their random numbers wherever the model is
the same (common random numbers). The comparison then takes the per-replication differences,
whose interval is much tighter than the two separate intervals.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from factoryos.model import Plant
from factoryos.model.schedule import Schedule
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.results import TwinResult
from factoryos.simulate.stats import Interval, mean_interval
from factoryos.simulate.twin import DispatchRule, EventSink, PlantTwin
from factoryos.simulate.units import Outage

__all__ = ["Comparison", "RunSpec", "compare", "run_replications", "summarize"]


@dataclass(frozen=True)
class RunSpec:
    """Everything a replication needs; picklable, so it travels to worker processes."""

    plant: Plant
    orders: tuple[ProductionOrder, ...]
    start: dt.datetime
    horizon_s: float
    seed: int
    rule: DispatchRule = DispatchRule.FIFO
    schedule: Schedule | None = None
    lot_size: int | None = None  # --lot-size: replaces the products' lot sizes
    warmup_s: float = 0.0  # the first part of the horizon, left out of the figures
    outages: tuple[Outage, ...] = ()  # known downtime on top of the modelled failures

    def twin(
        self, replication: int, *, sink: EventSink | None = None, run_id: str | None = None
    ) -> PlantTwin:
        """The twin of one replication; events go to ``sink`` when given."""
        return PlantTwin(
            self.plant,
            self.orders,
            start=self.start,
            horizon_s=self.horizon_s,
            seed=self.seed,
            replication=replication,
            rule=self.rule,
            schedule=self.schedule,
            lot_size=self.lot_size,
            warmup_s=self.warmup_s,
            outages=self.outages,
            sink=sink,
            run_id=run_id,
        )

    def run(self, replication: int) -> TwinResult:
        """One replication without events (the figures only)."""
        return self.twin(replication).run()


def _run(args: tuple[RunSpec, int]) -> tuple[int, TwinResult]:
    spec, replication = args
    return replication, spec.run(replication)


def run_replications(
    specs: Sequence[RunSpec],
    replications: int,
    *,
    first: int = 0,
    processes: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[list[TwinResult]]:
    """Replications ``first .. first + replications - 1`` of each spec, spread over
    ``processes`` (default: all cores).

    Returns one list per spec, ordered by replication number, whatever order they finished in.
    """
    jobs = [(i, r) for i in range(len(specs)) for r in range(first, first + replications)]
    results: list[list[TwinResult | None]] = [[None] * replications for _ in specs]
    workers = min(processes or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        for i, r in jobs:
            results[i][r - first] = specs[i].run(r)
            if on_done is not None:
                on_done()
    else:
        # forkserver (spawn where it is missing): workers never inherit a forked copy of a
        # process whose other threads may hold locks (the CLI stores events meanwhile).
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_run, (specs[i], r)): i for i, r in jobs}
            for future in as_completed(futures):
                r, result = future.result()
                results[futures[future]][r - first] = result
                if on_done is not None:
                    on_done()
    return [[res for res in row if res is not None] for row in results]


def summarize(results: Sequence[TwinResult], confidence: float = 0.95) -> dict[str, Interval]:
    """Mean and interval of each figure of :meth:`TwinResult.metrics` over replications."""
    names = results[0].metrics().keys()
    values = [r.metrics() for r in results]
    return {name: mean_interval([v[name] for v in values], confidence) for name in names}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One figure of base and scenario, and their paired difference (scenario - base)."""

    name: str
    base: Interval
    scenario: Interval
    difference: Interval

    @property
    def significant(self) -> bool:
        """Whether the difference's interval excludes zero."""
        return not (self.difference.low <= 0.0 <= self.difference.high)


def compare(
    base: Sequence[TwinResult], scenario: Sequence[TwinResult], confidence: float = 0.95
) -> list[Comparison]:
    """Paired comparison, replication by replication (common random numbers)."""
    if len(base) != len(scenario):
        raise ValueError(f"{len(base)} base and {len(scenario)} scenario replications")
    b, s = summarize(base, confidence), summarize(scenario, confidence)
    out = []
    for name in b:
        diffs = [y.metrics()[name] - x.metrics()[name] for x, y in zip(base, scenario, strict=True)]
        out.append(Comparison(name, b[name], s[name], mean_interval(diffs, confidence)))
    return out
