"""Benchmark (part of issue 17's loop): failure models fitted from a year of the robot plant.

The twin runs ``examples/robot_factory.yaml`` for ``--days`` (a year by default) with its state
events stored in a DuckDB file; ``fit_failures`` then reads them back and fits every pool. The
figures: twin time, fit time split into reading the store and building lifetimes vs the
maximum-likelihood fits, and per pool how close the fit is to the model's own failure model
(family chosen, mean time between failures and repair with their 95 % intervals, and whether
the modelled mean lies inside). The peer, measured in the same run on the same lifetimes, is a
bare lifelines ``WeibullFitter`` per pool: the ratio says what the whole use case (store read,
lifetimes, three families, intervals, KS, unit fits) costs over one bare fit.

With ``--latency`` it measures the loop's other half instead (``bench/loop_latency.py``): from
a breakdown stored to the repaired, twin-checked dispatch list published on MQTT, p50 / p99
over ``--failures`` injected failures on the robot plant with its four-week order book.

    .venv/bin/python bench/loop.py                 # a year
    nice -n 10 .venv/bin/python bench/loop.py --days 90
    nice -n 10 .venv/bin/python bench/loop.py --latency --failures 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from lifelines import WeibullFitter

import loop_latency  # bench/ is on the path when this file runs
from factoryos.app.fit import fit_failures
from factoryos.app.simulation import run_simulation
from factoryos.model import load_plant
from factoryos.store.duckdb_store import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
H = 3600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--demand", type=float, default=10_000.0, help="robots a year")
    parser.add_argument("--latency", action="store_true", help="the loop's latency instead")
    loop_latency.add_arguments(parser)
    args = parser.parse_args()
    if args.latency:
        loop_latency.measure(args)
        return
    plant = load_plant(ROOT / "examples" / "robot_factory.yaml")
    start = dt.datetime(2026, 1, 1, tzinfo=plant.zone)
    end = start + dt.timedelta(days=args.days)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "plant.duckdb"))
        t0 = time.perf_counter()
        outcome = run_simulation(
            plant,
            days=args.days,
            seed=args.seed,
            demand_per_year=args.demand,
            start=start,
            store=store,
            processes=1,
        )
        twin_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit = fit_failures(store, plant, start, end)
        fit_s = time.perf_counter() - t0
        store.close()
    t0 = time.perf_counter()
    bare = 0
    for pool in fit.pools:
        if pool.tbf_data.events >= fit.min_failures:
            WeibullFitter().fit(pool.tbf_data.durations_s / H, pool.tbf_data.observed)
            bare += 1
    bare_s = time.perf_counter() - t0
    print(
        f"twin: {args.days:g} days of {plant.site.id}, {outcome.events_stored:,} events stored "
        f"in {twin_s:.1f} s; {fit.state_events:,} state events read"
    )
    print(
        f"fit: {fit_s:.1f} s for {len(fit.pools)} pools "
        f"({sum(len(p.units) for p in fit.pools)} unit fits); bare lifelines Weibull on the "
        f"same lifetimes: {bare_s:.2f} s for {bare} pools; ratio {fit_s / max(bare_s, 1e-9):.1f}x"
    )
    print()
    header = (
        f"{'pool':<18}{'fail':>6}{'cens':>5}  {'TBF model -> fit':<26}{'MTBF h model':>13}"
        f"{'fit [95 %]':>22}  {'in':>3}  {'TTR model -> fit':<26}{'MTTR h model':>13}"
        f"{'fit [95 %]':>20}  {'in':>3}"
    )
    print(header)
    covered = total = 0
    for pool in fit.pools:
        model = pool.modelled
        row = f"{pool.equipment_id:<18}{pool.tbf_data.events:>6}{pool.tbf_data.censored:>5}  "
        if model is None or pool.tbf is None or pool.ttr is None:
            print(row + ("no failure model" if model is None else "too few failures to fit"))
            continue
        for modelled, result in (
            (model.time_between_failures, pool.tbf),
            (model.time_to_repair, pool.ttr),
        ):
            best = result.best
            inside = best.mean.covers(modelled.mean)
            covered += inside
            total += 1
            m = best.mean
            interval = f"{m.value / H:.1f} [{m.lower / H:.1f}, {m.upper / H:.1f}]"
            row += (
                f"{modelled.dist + ' -> ' + best.family.value:<26}{modelled.mean / H:>13.1f}"
                f"{interval:>22}  {'yes' if inside else 'NO':>3}  "
            )
        print(row)
    print(f"\nmodelled means inside the fitted 95 % interval: {covered} of {total}")


if __name__ == "__main__":
    main()
