"""Work units in the twin: one state machine per physical unit of an equipment pool.

A unit works only when it is on shift, not in planned maintenance and not failed. Its work on a
job is a setup phase (on a family or batch change) then a run phase, executed in *segments* that
end at the next failure, shift end or maintenance start; the work left is kept, so an interrupted
operation resumes where it stopped. Time between failures counts operating time (setup and run),
as ISO 22400 defines TBF; repairs run on the clock, on shift or not.

Every state change is accounted (time and kWh by state) and, when a sink is attached, reported
to the twin, which emits at most one canonical ``StateChange`` per unit and instant. State
precedence: fault > maintenance > off > blocked > setup / producing > starved (orders open) /
idle (none).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from factoryos.model import Equipment, Line, MachineState, WorkUnit
from factoryos.model.calendar import UsageWindow
from factoryos.model.distributions import (
    Empirical,
    EmpiricalShare,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    UniformShare,
    Weibull,
)
from factoryos.simulate.core import Handle
from factoryos.simulate.streams import RandomStreams

if TYPE_CHECKING:
    from factoryos.simulate.twin import Job, PlantTwin

__all__ = ["STATES", "WAITING", "BatchKey", "Pool", "Unit", "sampler"]

STATES: tuple[MachineState, ...] = tuple(MachineState)
INDEX = {state: i for i, state in enumerate(STATES)}
WAITING = frozenset({MachineState.STARVED, MachineState.IDLE, MachineState.BLOCKED})
EPS = 1e-6
"""Seconds below which work or time-to-failure counts as done: well above the float spacing of
a year in seconds (~4e-9), so a leftover sliver never schedules a segment that cannot advance."""

BatchKey = tuple[str, str, int, int]
"""A batch: (order id, product id, operation index, lot index): one lot at one step."""


def sampler(
    dist: Exponential | Weibull | Lognormal | Gamma | Empirical | Fixed, gen: np.random.Generator
) -> Callable[[], float]:
    """Draws of one model distribution from one generator (rare events: scalar calls are fine)."""
    if isinstance(dist, Exponential):
        return lambda: float(gen.exponential(dist.mean_s))
    if isinstance(dist, Weibull):
        return lambda: dist.scale_s * float(gen.weibull(dist.shape))
    if isinstance(dist, Lognormal):
        return lambda: float(gen.lognormal(dist.mu, dist.sigma))
    if isinstance(dist, Gamma):
        return lambda: float(gen.gamma(dist.shape, dist.scale_s))
    if isinstance(dist, Empirical):
        values = dist.values_s
        return lambda: values[int(gen.integers(len(values)))]
    return lambda: dist.value_s


class Pool:
    """An equipment entry of the model: its identical units, one queue, and its active periods
    (all on-shift units busy, failed or in maintenance: none waiting) for bottleneck analysis."""

    def __init__(self, equipment: Equipment, line: Line) -> None:
        self.equipment = equipment
        self.line = line
        self.units: list[Unit] = []
        self.queue: list[tuple[float, int, BatchKey]] = []  # heap of batches to assign
        self.batches: dict[BatchKey, deque[tuple[Job, bool]]] = {}  # queued (job, entering)
        self.owner: dict[BatchKey, Unit] = {}  # the unit that started the batch
        self.queued = 0  # jobs in all batches
        self.free: dict[Unit, None] = {}  # ordered set of units ready for a job
        self.waiting = 0
        self.off = 0
        self.active_since: float | None = None
        self.active_periods: list[tuple[float, float]] = []
        self.good_planned_s = 0.0  # sum of planned run times of good units (ISO 22400 PRI x GQ)

    def update_activity(self, now: float) -> None:
        active = self.off < len(self.units) and self.waiting == 0
        if active and self.active_since is None:
            self.active_since = now
        elif not active and self.active_since is not None:
            if now > self.active_since:
                self.active_periods.append((self.active_since, now))
            self.active_since = None


class Unit:
    """One physical work unit: state, energy, failures and the job it works on."""

    def __init__(self, twin: PlantTwin, work_unit: WorkUnit, pool: Pool, streams: RandomStreams):
        self.twin = twin
        self.env = twin.env
        self.path = work_unit.path
        self.pool = pool
        equipment = work_unit.equipment
        self.power_kw = [equipment.power_in(state) for state in STATES]
        key = f"{equipment.id}/{work_unit.unit}"  # stable across pool sizes: CRN
        self.quality = streams.uniform(key, "quality")
        self._draw_tbf: Callable[[], float] | None = None
        self._draw_ttr: Callable[[], float] = lambda: 0.0
        self.ttf_left_s = float("inf")
        if equipment.failure is not None:
            self._draw_tbf = sampler(
                equipment.failure.time_between_failures, streams.generator(key, "failure")
            )
            self._draw_ttr = sampler(
                equipment.failure.time_to_repair, streams.generator(key, "repair")
            )
            self.ttf_left_s = self._draw_tbf()
        # performance losses: minor stops count running time (not setup), speed loss stretches
        # every run (ISO 22400: actual > planned run time)
        self.speed_factor = 1.0
        self._draw_speed: Callable[[], float] | None = None  # a speed loss drawn per cycle
        self.ttms_left_s = float("inf")
        self._draw_tbms: Callable[[], float] | None = None
        self._draw_stop: Callable[[], float] = lambda: 0.0
        self.minor_stopped = False
        performance = equipment.performance
        if performance is not None:
            loss = performance.speed_loss
            if isinstance(loss, UniformShare):
                draw = streams.generator(key, "speed")
                self._draw_speed = lambda: 1.0 / (1.0 - float(draw.uniform(loss.low, loss.high)))
            elif isinstance(loss, EmpiricalShare):
                draw, shares = streams.generator(key, "speed"), loss.values
                self._draw_speed = lambda: 1.0 / (1.0 - shares[int(draw.integers(len(shares)))])
            else:
                self.speed_factor = 1.0 / (1.0 - loss)
            stops = performance.minor_stops
            if stops is not None:
                self._draw_tbms = sampler(stops.time_between, streams.generator(key, "stops"))
                self._draw_stop = sampler(stops.duration, streams.generator(key, "stop_time"))
                self.ttms_left_s = self._draw_tbms()
        self.usage: list[tuple[UsageWindow, str, list[float]]] = []  # window, reason, [s, n]
        self.on_shift = False
        self.in_maintenance = False
        self.maintenance_reason = "planned maintenance"
        self.failed = False
        self.jobs: list[Job] = []  # the units of product in work: one, or a batch equipment's load
        self.holding: list[Job] = []  # finished jobs waiting for room downstream (blocked)
        self.setup_left_s = 0.0
        self.run_left_s = 0.0
        self.batch: BatchKey | None = None
        self.last_family: str | None = None
        self.last_lot: BatchKey | None = None
        self._handle: Handle | None = None
        self._segment_start = 0.0
        # accounting
        self.state = MachineState.OFF
        self.state_emitted = MachineState.OFF  # the state the event log last gave this unit
        self.state_pending = False  # listed for an event at the end of this instant
        self._since = self.env.now
        self.time_in_s = [0.0] * len(STATES)
        self.energy_kwh = 0.0
        self.unread_kwh = 0.0
        self.pot_s = 0.0  # on shift (planned operation time)
        self.planned_down_s = 0.0  # maintenance while on shift
        self.failures = 0
        pool.off += 1

    # -- availability ----------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.on_shift and not self.in_maintenance and not self.failed

    @property
    def unattended_running(self) -> bool:
        """Off shift, but running an ``unattended`` step (an oven, a burn-in) already started:
        it goes on through breaks and off-shift time (not through maintenance or a fault)."""
        return (
            bool(self.jobs)
            and self.jobs[0].operation.unattended
            and self.setup_left_s == 0.0  # a setup needs people
            and not self.in_maintenance
            and not self.failed
        )

    def set_on_shift(self, on: bool) -> None:
        self.accrue()  # the time so far belongs to the old flag
        self.on_shift = on
        self._availability_changed()

    def set_maintenance(self, on: bool) -> None:
        self.accrue()
        self.in_maintenance = on
        self._availability_changed()

    def _availability_changed(self) -> None:
        if self.available:
            if self.jobs:
                self._go()
            elif not self.holding:
                self.twin.unit_free(self)
        elif self.unattended_running:
            self.pool.free.pop(self, None)
            self._go()
        else:
            self._pause()
            self.pool.free.pop(self, None)
        self.refresh()

    # -- work ------------------------------------------------------------------------------------
    def start(self, jobs: list[Job], setup_s: float, run_s: float) -> None:
        """Work on ``jobs`` (one unit of product, or a batch equipment's load for one cycle)."""
        self.pool.free.pop(self, None)
        self.jobs = jobs
        self.setup_left_s = setup_s
        speed = self.speed_factor if self._draw_speed is None else self._draw_speed()
        self.run_left_s = run_s * speed
        self._go()
        self.refresh()

    def _go(self) -> None:
        if self._handle is not None or not self.jobs:
            return
        if self.minor_stopped or (not self.available and not self.unattended_running):
            return
        if self.setup_left_s > 0:
            work = self.setup_left_s
        else:
            work = min(self.run_left_s, self.ttms_left_s)
        self._segment_start = self.env.now
        segment = max(min(work, self.ttf_left_s), EPS)
        self._handle = self.env.schedule(segment, self._segment_end)

    def _pause(self) -> None:
        if self._handle is not None:
            self.env.cancel(self._handle)
            self._handle = None
            self._consume(self.env.now - self._segment_start)

    def _consume(self, elapsed: float) -> None:
        self.ttf_left_s -= elapsed
        for _, _, used in self.usage:
            used[0] += elapsed
        if self.setup_left_s > 0:
            self.setup_left_s -= elapsed
            if self.setup_left_s <= EPS:
                self.setup_left_s = 0.0
        else:
            self.run_left_s -= elapsed
            self.ttms_left_s -= elapsed

    def _segment_end(self, _: object) -> None:
        self._handle = None
        self._consume(self.env.now - self._segment_start)
        jobs = self.jobs
        if jobs and self.setup_left_s == 0.0 and self.run_left_s <= EPS:
            self.jobs = []
            for job in jobs:
                self.twin.operation_done(self, job)  # may leave the unit holding blocked jobs
            self._service_if_due(len(jobs))
        if self.ttf_left_s <= EPS:
            self._fail()
        elif self.jobs and self.ttms_left_s <= EPS:
            self._minor_stop()
        elif self.jobs:
            self._go()
        elif not self.holding and self.available:
            self.twin.unit_free(self)
        self.refresh()

    def release_blocked(self) -> None:
        """The held jobs found room downstream."""
        self.holding = []
        if self.available:
            self.twin.unit_free(self)
        self.refresh()

    # -- maintenance by usage ----------------------------------------------------------------------
    def watch_usage(self, window: UsageWindow, reason: str) -> None:
        """Service the unit after every ``window.hours`` of operating time or ``counts`` units."""
        self.usage.append((window, reason, [0.0, 0.0]))

    def _service_if_due(self, made: int) -> None:
        """After a finished job: start a due service (planned maintenance) at once."""
        for window, reason, used in self.usage:
            used[1] += made
            hours_due = window.hours_s is not None and used[0] >= window.hours_s
            counts_due = window.counts is not None and used[1] >= window.counts
            if hours_due or counts_due:
                used[0] = used[1] = 0.0
                self.accrue()
                self.maintenance_reason = reason
                self.in_maintenance = True
                self.pool.free.pop(self, None)
                self.env.schedule(window.duration_s, self._service_done)
                return

    def _service_done(self, _: object) -> None:
        self.set_maintenance(False)

    # -- minor stops (performance loss) ----------------------------------------------------------
    def _minor_stop(self) -> None:
        self.minor_stopped = True
        self.env.schedule(self._draw_stop(), self._minor_stop_end)

    def _minor_stop_end(self, _: object) -> None:
        self.minor_stopped = False
        assert self._draw_tbms is not None
        self.ttms_left_s = self._draw_tbms()
        self._go()
        self.refresh()

    # -- failures --------------------------------------------------------------------------------
    def _fail(self) -> None:
        self.failed = True
        self.failures += 1
        self.pool.free.pop(self, None)
        self.env.schedule(self._draw_ttr(), self._repaired)

    def _repaired(self, _: object) -> None:
        self.failed = False
        assert self._draw_tbf is not None
        self.ttf_left_s = self._draw_tbf()
        self._availability_changed()

    # -- accounting ------------------------------------------------------------------------------
    def _current_state(self) -> MachineState:
        if self.failed:
            return MachineState.FAULT
        if self.in_maintenance:
            return MachineState.MAINTENANCE
        if not self.on_shift and not self.unattended_running:
            return MachineState.OFF
        if self.holding:
            return MachineState.BLOCKED
        if self.minor_stopped and (self.on_shift or self.unattended_running):
            return MachineState.MINOR_STOP
        if self.jobs:
            return MachineState.SETUP if self.setup_left_s > 0 else MachineState.PRODUCING
        return MachineState.STARVED if self.twin.open_orders else MachineState.IDLE

    def accrue(self) -> None:
        """Account time and energy of the current state up to now."""
        now = self.env._now
        elapsed = now - self._since
        if elapsed > 0:
            i = INDEX[self.state]
            self.time_in_s[i] += elapsed
            kwh = self.power_kw[i] * elapsed / 3600.0
            self.energy_kwh += kwh
            self.unread_kwh += kwh
            if self.on_shift:
                self.pot_s += elapsed
                if self.in_maintenance:
                    self.planned_down_s += elapsed
        self._since = now

    def refresh(self) -> None:
        """Re-derive the state from the flags; account and emit when it changed."""
        new = self._current_state()
        old = self.state
        if new is old:
            return
        self.accrue()
        self.state = new
        pool = self.pool
        pool.waiting += (new in WAITING) - (old in WAITING)
        pool.off += (new is MachineState.OFF) - (old is MachineState.OFF)
        pool.update_activity(self.env._now)
        self.twin.state_changed(self)
