"""Replications in parallel, intervals, and paired comparison with common random numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factoryos.model import Plant
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.replicate import RunSpec, compare, run_replications, summarize

from .conftest import START

DAY = 86400.0


def spec(plant: Plant, seed: int = 11, mix: dict[str, float] | None = None) -> RunSpec:
    orders = tuple(steady_demand(plant, 8000, 6 * DAY, lot_size=4, mix=mix))
    return RunSpec(plant, orders, START, 6 * DAY, seed)


def test_parallel_replications_equal_sequential_ones(tiny_plant: Plant) -> None:
    done: list[int] = []
    [parallel] = run_replications(
        [spec(tiny_plant)], 4, processes=2, on_done=lambda: done.append(1)
    )
    [sequential] = run_replications([spec(tiny_plant)], 4, processes=1)
    assert len(done) == 4
    assert [r.metrics() for r in parallel] == [r.metrics() for r in sequential]
    assert len({r.finished_total for r in parallel} | {-1}) > 2  # replications differ


def test_summary_intervals_cover_their_replications(tiny_plant: Plant) -> None:
    [results] = run_replications([spec(tiny_plant)], 5, processes=1)
    summary = summarize(results)
    assert set(summary) == {
        "throughput_per_day",
        "finished",
        "oee",
        "unit_lead_time_h",
        "wip_units",
        "energy_per_unit_kwh",
    }
    finished = summary["finished"]
    assert finished.n == 5
    assert min(r.finished_total for r in results) <= finished.mean
    assert finished.mean <= max(r.finished_total for r in results)


def test_common_random_numbers_make_identical_scenarios_differ_by_exactly_zero(
    tiny_plant: Plant,
) -> None:
    base, same = run_replications([spec(tiny_plant), spec(tiny_plant)], 3, processes=1)
    for row in compare(base, same):
        assert row.difference.mean == 0.0
        assert row.difference.half_width == 0.0
        assert not row.significant


def test_a_second_tester_raises_throughput_significantly(
    tiny_plant_with: Callable[[dict[str, Any]], Plant],
) -> None:
    slow = {"products": [{"id": "gizmo", "routing": [{"id": "test", "run_time": "50 min"}]}]}
    base_plant = tiny_plant_with(slow)
    more = tiny_plant_with(
        {
            **slow,
            "areas": [
                {
                    "id": "final",
                    "lines": [{"id": "assembly", "equipment": [{"id": "tester", "units": 2}]}],
                }
            ],
        }
    )
    gizmos = {"gizmo": 1.0}  # ~22 a day: 22 x 50 min x 1.2 (rework) > one tester's 11 h
    base, scenario = run_replications(
        [spec(base_plant, mix=gizmos), spec(more, mix=gizmos)], 4, processes=1
    )
    rows = {c.name: c for c in compare(base, scenario)}
    assert base[0].bottleneck.equipment == "tester"
    assert rows["finished"].difference.mean > 0
    assert rows["finished"].significant
