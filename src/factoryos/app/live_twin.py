"""The plant twin running live: real time, in a background thread, its events going to a store.

The twin starts at the plant's local midnight of the day it is started and first catches up to
the wall clock as fast as it can (so the day's KPIs and every unit's state are there at once);
from then on its clock runs ``speed`` times faster than the wall clock
(:class:`~factoryos.simulate.rt.RealtimeEnvironment`). Events are collected by a sink, as
:func:`factoryos.app.simulation._run_with_events` does for batch runs, and appended to the store
in small batches every ``flush_s`` of wall time, so a dashboard sees them within a second. The
same plant, seed and day give the same event ids: a restarted twin rewrites nothing twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence

from factoryos.app.live_view import local_midnight
from factoryos.model import Event, Plant
from factoryos.model.errors import SimulationError
from factoryos.simulate.core import Environment
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.rt import RealtimeEnvironment
from factoryos.simulate.twin import PlantTwin
from factoryos.store.protocol import EventStore

__all__ = ["LiveTwin", "StoredListener"]

DAY_S = 86400.0
StoredListener = Callable[[Sequence[Event]], None]
"""Hears each batch of events right after the store accepted it (e.g. to push them to browsers)."""


class LiveTwin:
    """One plant's twin in real time; :meth:`start` it, :meth:`stop` it (idempotent)."""

    def __init__(
        self,
        plant: Plant,
        store: EventStore,
        *,
        speed: float = 60.0,
        days: float = 30.0,
        seed: int = 0,
        demand_per_year: float = 10_000.0,
        flush_s: float = 0.25,
        now: dt.datetime | None = None,
        on_stored: StoredListener | None = None,
    ) -> None:
        """``now`` (default: the wall clock) is where the live part begins; the twin starts at
        its local midnight and runs ``days`` simulated days at most."""
        if speed <= 0 or days <= 0 or flush_s <= 0:
            raise SimulationError(
                f"a live twin needs speed, days and flush_s > 0, got {speed}, {days}, {flush_s}"
            )
        wall_now = now or dt.datetime.now(dt.UTC)
        self.plant = plant
        self.start_at = local_midnight(wall_now, plant)
        self.catch_up_s = (wall_now - self.start_at).total_seconds()
        self.horizon_s = max(days * DAY_S, self.catch_up_s + 1.0)
        self.speed = speed
        self.flush_s = flush_s
        self._store = store
        self._on_stored = on_stored
        self._env = RealtimeEnvironment(speed=speed, strict=False)
        self._batch: list[Event] = []
        orders = steady_demand(plant, demand_per_year, self.horizon_s)
        run_id = f"live-{plant.site.id}-{self.start_at:%Y%m%d}-s{seed}"
        self._twin = PlantTwin(
            plant,
            orders,
            start=self.start_at,
            horizon_s=self.horizon_s,
            seed=seed,
            sink=self._batch.append,
            run_id=run_id,
            env=self._env,
        )
        self._units = {u.path: u for u in self._twin.units}
        self._outages: list[tuple[str, float]] = []  # (unit path, twin seconds) to start
        self._outages_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored = 0
        self.error: BaseException | None = None

    @property
    def now(self) -> dt.datetime:
        """The twin's clock (UTC)."""
        return self.start_at + dt.timedelta(seconds=self._env.now)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise SimulationError("this live twin was started already")
        self._thread = threading.Thread(target=self._run, name="factoryos-live-twin", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to stop after its current slice, wait for it, store what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def inject_outage(self, path: str, duration_s: float) -> None:
        """Break the work unit at ``path`` down for ``duration_s`` twin seconds (a drill, a
        test): it goes to ``fault`` at the twin's next slice, at most ``flush_s`` from now."""
        if path not in self._units:
            raise SimulationError(f"no work unit {path!r} in the twin of {self.plant.site.id!r}")
        if duration_s <= 0:
            raise SimulationError(f"an outage lasts > 0 s, got {duration_s}")
        with self._outages_lock:
            self._outages.append((path, duration_s))

    def _start_outages(self) -> None:
        with self._outages_lock:
            due, self._outages = self._outages, []
        for path, duration_s in due:
            self._units[path].begin_outage(duration_s)

    def _run(self) -> None:
        env = self._env
        try:
            # Catch up with the wall clock without pacing: the base class's fast loop.
            Environment.run(env, until_s=self.catch_up_s)
            self._flush()
            env.sync()
            slice_s = self.flush_s * self.speed
            while not self._stop.is_set() and env.now < self.horizon_s:
                self._start_outages()
                env.run(until_s=min(env.now + slice_s, self.horizon_s))
                self._flush()
        except BaseException as exc:  # reported by the service; the thread must not vanish
            self.error = exc
        finally:
            self._flush()

    def _flush(self) -> None:
        """Store the events collected since the last flush (the twin's thread only)."""
        batch = self._batch
        if not batch:
            return
        events = list(batch)
        batch.clear()
        self.stored += self._store.append(events).inserted
        if self._on_stored is not None:
            self._on_stored(events)
