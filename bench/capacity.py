"""Benchmark: the static capacity check against the digital twin, on every example plant.

For each plant of ``examples/`` the rough-cut capacity check (``factoryos validate``) gives the
nominal output of calendar year 2026 with the plant's own lot sizes; the twin then runs the same
year at a demand above it (``--over``, default 1.2 x nominal, steady, the check's default mix),
after a warm-up simulated before 1 January (``--warmup``, default 28 days) so that the year does
not start empty. The peer is the check: the twin's finished sellable units should come within 10 %
of its nominal output, and what differs is printed per plant: the bottleneck each names, the
bottleneck's time shares in the twin (busy, setup, minor stops, starved, blocked, down) against
the check's assumption (100 % of its available time busy).

    .venv/bin/python bench/capacity.py                      # a year each, ~minutes per plant
    nice -n 10 .venv/bin/python bench/capacity.py --days 91 --plants coatings
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from factoryos.model import MachineState, load_plant
from factoryos.model.capacity import rough_cut_capacity
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.twin import PlantTwin

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLANTS = {
    "robot": EXAMPLES / "robot_factory.yaml",
    "electronics": EXAMPLES / "electronics_plant.yaml",
    "coatings": EXAMPLES / "coatings_plant.yaml",
}
DAY_S = 86400.0


@dataclass(frozen=True)
class Row:
    plant: str
    nominal: float  # sellable units in the window, from the capacity check
    check_bottleneck: str
    twin_units: float
    twin_bottleneck: str
    shares: dict[str, float]  # the check's bottleneck pool in the twin: state -> share of on-shift
    wall_s: float

    @property
    def ratio(self) -> float:
        return self.twin_units / self.nominal


def measure(name: str, days: float, warmup_days: float, over: float, seed: int) -> Row:
    plant = load_plant(PLANTS[name])
    start = dt.datetime(2026, 1, 1, tzinfo=plant.zone)
    end = start + dt.timedelta(days=days)
    check = rough_cut_capacity(plant, start, end, demand_units=1000.0)
    nominal = check.nominal_units
    per_year = nominal * over * 365.0 / days
    warmup = warmup_days * DAY_S
    horizon = days * DAY_S + warmup
    orders = steady_demand(plant, per_year, horizon)
    began = time.perf_counter()
    twin = PlantTwin(
        plant,
        orders,
        start=start - dt.timedelta(seconds=warmup),
        horizon_s=horizon,
        seed=seed,
        warmup_s=warmup,
    )
    result = twin.run()
    wall = time.perf_counter() - began
    pool = next(p for p in result.pools if p.equipment == check.bottleneck.equipment)
    on_shift = sum(t for s, t in pool.time_in_state_s.items() if s is not MachineState.OFF)
    shares = {
        s.value: pool.time_in_state_s[s] / on_shift for s in MachineState if s != MachineState.OFF
    }
    return Row(
        name,
        nominal,
        check.bottleneck.equipment,
        float(sum(result.finished.values())),
        result.bottleneck.equipment,
        shares,
        wall,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--warmup", type=float, default=28.0)
    parser.add_argument("--over", type=float, default=1.2, help="demand / nominal output")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plants", nargs="*", default=list(PLANTS))
    args = parser.parse_args()
    with ProcessPoolExecutor() as pool:
        futures = [
            pool.submit(measure, name, args.days, args.warmup, args.over, args.seed)
            for name in args.plants
        ]
        rows = [f.result() for f in futures]
    print(
        f"{args.days:g} days from 2026-01-01 after a {args.warmup:g}-day warm-up, demand "
        f"{args.over:g} x nominal, seed {args.seed}"
    )
    print(f"{'plant':12} {'nominal':>10} {'twin':>10} {'ratio':>6}  bottleneck (check / twin)")
    for r in rows:
        print(
            f"{r.plant:12} {r.nominal:>10,.0f} {r.twin_units:>10,.0f} {r.ratio:>6.3f}  "
            f"{r.check_bottleneck} / {r.twin_bottleneck}   ({r.wall_s:.0f} s)"
        )
    print("\nthe check's bottleneck in the twin, shares of on-shift time:")
    for r in rows:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in r.shares.items() if v >= 0.0005)
        print(f"{r.plant:12} {r.check_bottleneck}: {shares}")


if __name__ == "__main__":
    main()
