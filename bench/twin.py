"""Benchmark: the same 5-station serial line in SimPy 4.1 and in the factoryos twin core.

Exponential process times (mean 1 s each), a buffer of 5 parts in front of stations 2-5,
blocking after service, a saturated first station. Both engines draw their service times from
the same factoryos random streams, so they simulate the very same sample path and the figures
compare the engines only. Each runs for ``--parts`` parts or ``--seconds`` of wall time,
whichever comes first, in alternating slices of simulated time so that both see the same load of
a shared machine.

Then one simulated year of ``examples/robot_factory.yaml`` (11,000 robots ordered by default, an
equal mix; the model's rough-cut capacity check gives ~11,900), each in a fresh process on one
core: wall time and peak memory (max RSS), once with the canonical events built (counted, not
stored) and once figures-only.

Events per second are counted by the model, not by the engine: each service a station
completes is three events of the queueing model (the part arrives in the station's queue, its
service starts, its service ends), 15 per part on this line, the same for both engines. That is
the like-for-like count: both engines simulate the same sample path, so they do the same model
events, and the ratio of model events/s is the ratio of work done per wall second (it equals the
parts/s ratio). An engine's *native* count measures its implementation instead: SimPy schedules
~13 events per part here (a ``Timeout`` per service, a get and a put event per buffer pass,
process resumptions), the factoryos core executes 5 callbacks (one per service end), so a ratio
of native events/s credits SimPy for the bookkeeping it needs. The native counts are printed in
their own columns, so nothing is hidden.

    .venv/bin/python bench/twin.py                 # 1 M parts or 20 s each
    nice -n 10 .venv/bin/python bench/twin.py --parts 100000 --seconds 3 --no-year
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import simpy
import typer
from rich.console import Console
from rich.table import Table

from factoryos.model import Event, load_plant
from factoryos.simulate.core import Environment
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.line import SerialLine
from factoryos.simulate.streams import RandomStreams
from factoryos.simulate.twin import PlantTwin

ROBOT_PLANT = Path(__file__).resolve().parent.parent / "examples" / "robot_factory.yaml"

STATIONS = 5
MEAN_PROCESS_S = 1.0
BUFFER = 5
CHUNK_S = 2_000.0  # simulated seconds between checks of the parts/wall-time budget


MODEL_EVENTS_PER_SERVICE = 3
"""Arrival in the station's queue, service start, service end: one completed service."""


@dataclass(frozen=True)
class Result:
    engine: str
    parts: int
    services: int
    native_events: int
    wall_s: float
    sim_time_s: float

    @property
    def model_events(self) -> int:
        return MODEL_EVENTS_PER_SERVICE * self.services

    @property
    def parts_per_s(self) -> float:
        return self.parts / self.wall_s

    @property
    def model_events_per_s(self) -> float:
        return self.model_events / self.wall_s

    @property
    def native_events_per_s(self) -> float:
        return self.native_events / self.wall_s


class SimpyLine:
    """The line written idiomatically in SimPy: a process per station, a Store per buffer."""

    name = "SimPy 4.1"

    def __init__(self, seed: int) -> None:
        env = self.env = simpy.Environment()
        streams = RandomStreams(seed)
        buffers = [simpy.Store(env, capacity=BUFFER) for _ in range(STATIONS - 1)]
        self.completed = [0] * STATIONS  # services completed per station (as Station.completed)

        def station(
            i: int, draw: Callable[[], float], inbox: simpy.Store | None, outbox: simpy.Store | None
        ) -> simpy.events.ProcessGenerator:
            completed = self.completed
            while True:
                part = env.now if inbox is None else (yield inbox.get())
                yield env.timeout(draw())
                completed[i] += 1
                if outbox is not None:
                    yield outbox.put(part)

        for i in range(STATIONS):
            draw = streams.exponential(f"S{i + 1}", MEAN_PROCESS_S)
            inbox = buffers[i - 1] if i > 0 else None
            outbox = buffers[i] if i < STATIONS - 1 else None
            env.process(station(i, draw, inbox, outbox))

    def advance(self, until_s: float) -> None:
        self.env.run(until=until_s)

    @property
    def parts(self) -> int:
        return self.completed[-1]

    @property
    def services(self) -> int:
        return sum(self.completed)

    @property
    def native_events(self) -> int:
        # SimPy numbers every scheduled event from one counter; reading it (once, at the end)
        # costs nothing in the loop, where a counting subclass of step() would slow SimPy down.
        # Scheduled ~= processed here.
        return next(self.env._eid)

    @property
    def now(self) -> float:
        return float(self.env.now)


class FactoryosLine:
    """The same line on the factoryos core."""

    name = "factoryos"

    def __init__(self, seed: int) -> None:
        self.env = Environment()
        self.line = SerialLine(
            self.env, RandomStreams(seed), [MEAN_PROCESS_S] * STATIONS, [BUFFER] * (STATIONS - 1)
        )

    def advance(self, until_s: float) -> None:
        self.env.run(until_s=until_s)

    @property
    def parts(self) -> int:
        return self.line.departures

    @property
    def services(self) -> int:
        return sum(station.completed for station in self.line.stations)

    @property
    def native_events(self) -> int:
        return self.env.events_processed

    @property
    def now(self) -> float:
        return self.env.now


def race(seed: int, max_parts: int, max_wall_s: float) -> list[Result]:
    """Run both engines in alternating slices of simulated time, so that both see the same
    load of a shared machine; each stops at ``max_parts`` or ``max_wall_s`` of its own time."""
    engines: list[SimpyLine | FactoryosLine] = [SimpyLine(seed), FactoryosLine(seed)]
    walls = [0.0] * len(engines)
    horizons = [0.0] * len(engines)
    active = [True] * len(engines)
    while any(active):
        for i, engine in enumerate(engines):
            if not active[i]:
                continue
            horizons[i] += CHUNK_S
            start = time.perf_counter()
            engine.advance(horizons[i])
            walls[i] += time.perf_counter() - start
            active[i] = engine.parts < max_parts and walls[i] < max_wall_s
    return [
        Result(e.name, e.parts, e.services, e.native_events, wall, e.now)
        for e, wall in zip(engines, walls, strict=True)
    ]


def simulate_year(with_events: bool, demand: float, seed: int) -> dict[str, float | str]:
    """One year of the robot plant in this (fresh) process; wall time and max RSS."""
    plant = load_plant(ROBOT_PLANT)
    year_s = 365 * 86400.0
    orders = steady_demand(plant, demand, year_s)
    events = [0]

    def count(_: Event) -> None:
        events[0] += 1

    start = time.perf_counter()
    twin = PlantTwin(
        plant,
        orders,
        start=dt.datetime(2026, 1, 1, tzinfo=plant.zone),
        horizon_s=year_s,
        seed=seed,
        sink=count if with_events else None,
    )
    result = twin.run()
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "robots": float(result.finished_total),
        "events": float(events[0]),
        "sim_events": float(result.sim_events),
        "bottleneck": result.bottleneck.equipment,
    }


def year_table(demand: float, seed: int) -> Table:
    table = Table(title=f"One simulated year of {ROBOT_PLANT.name}, {demand:,.0f} robots ordered")
    for column in ("events", "wall (s)", "max RSS (MB)", "robots made", "events out", "bottleneck"):
        table.add_column(column, justify="right")
    for with_events in (True, False):
        with ProcessPoolExecutor(max_workers=1) as pool:  # fresh process: its own peak memory
            r = pool.submit(simulate_year, with_events, demand, seed).result()
        table.add_row(
            "built" if with_events else "none",
            f"{r['wall_s']:.1f}",
            f"{r['max_rss_mb']:.0f}",
            f"{r['robots']:,.0f}",
            f"{r['events']:,.0f}",
            str(r["bottleneck"]),
        )
    return table


def main(
    parts: int = typer.Option(1_000_000, help="Stop each engine after this many parts."),
    seconds: float = typer.Option(20.0, help="...or after this much wall time."),
    seed: int = typer.Option(42),
    year: bool = typer.Option(True, help="Also time a simulated year of the robot plant."),
    demand: float = typer.Option(11_000.0, help="Robots ordered in the simulated year."),
) -> None:
    console = Console(width=max(Console().width, 120))  # the tables stay readable in a log
    results = race(seed, parts, seconds)
    table = Table(title=f"{STATIONS}-station serial line, exponential times, buffers of {BUFFER}")
    columns = (
        "engine",
        "parts",
        "sim time (s)",
        "wall (s)",
        "model events/part",
        "model events/s",
        "parts/s",
        "native events/part",
        "native events/s",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.engine,
            f"{r.parts:,}",
            f"{r.sim_time_s:,.0f}",
            f"{r.wall_s:.2f}",
            f"{r.model_events / r.parts:.1f}",
            f"{r.model_events_per_s:,.0f}",
            f"{r.parts_per_s:,.0f}",
            f"{r.native_events / r.parts:.1f}",
            f"{r.native_events_per_s:,.0f}",
        )
    console.print(table)
    simpy_r, ours = results
    console.print(
        "factoryos / SimPy: model events/s "
        f"x{ours.model_events_per_s / simpy_r.model_events_per_s:.2f} (like for like; goal x3), "
        f"parts/s x{ours.parts_per_s / simpy_r.parts_per_s:.2f}, "
        f"native events/s x{ours.native_events_per_s / simpy_r.native_events_per_s:.2f} "
        "(different units)"
    )
    # Same variates, same rules: the throughputs per simulated second must agree.
    console.print(
        "throughput (parts per simulated s): "
        + ", ".join(f"{r.engine} {r.parts / r.sim_time_s:.4f}" for r in results)
    )
    if year:
        console.print(year_table(demand, seed))


if __name__ == "__main__":
    typer.run(main)
