"""The warm-up period of a run: simulated, then left out of the figures.

A plant does not start empty on 1 January: a run that does cuts a year's output by the time the
pipeline takes to fill. The standard remedy of discrete-event simulation is a warm-up period
(Law, *Simulation Modeling and Analysis*, ch. 9: the initial-transient problem): the twin runs
it, then zeroes every statistic and measures from there. Its events are still emitted, with
times before the run's measured start, so ``factoryos kpi --from START`` leaves them out too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factoryos.simulate.twin import PlantTwin

__all__ = ["end_warmup"]


def end_warmup(twin: PlantTwin) -> None:
    """Zero the twin's statistics at the current instant; the state of the plant is kept."""
    now = twin.env.now
    for unit in twin.units:
        unit.accrue()  # the time so far belongs to the warm-up
        unit.time_in_s = [0.0] * len(unit.time_in_s)
        unit.energy_kwh = 0.0
        unit.pot_s = 0.0
        unit.planned_down_s = 0.0
        unit.failures = 0
    for pool in twin.pools.values():
        pool.good_planned_s = 0.0
        pool.active_periods = []
        if pool.active_since is not None:
            pool.active_since = now
    twin.finished.clear()
    twin.scrapped.clear()
    twin.reset_flow_statistics(now)
