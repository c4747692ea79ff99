"""Shared fixtures: tiny instances with known optima and the benchmark folder (when present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factoryos.schedule import (
    Alternative,
    EnergyPrices,
    Job,
    Operation,
    Problem,
    parse_fjsp,
    parse_jssp,
)

FT06 = """6 6
2 1 0 3 1 6 3 7 5 3 4 6
1 8 2 5 4 10 5 10 0 10 3 4
2 5 3 4 5 8 0 9 1 1 4 7
1 5 0 5 2 5 3 3 4 8 5 9
2 9 1 3 4 5 5 4 0 3 3 1
1 3 3 3 5 9 0 10 4 4 2 1
"""

# J0: M0 3 then M1 2; J1: M1 4 then M0 1. M1 carries 6 units of work and can start at 0 -> 6.
TWO_BY_TWO = """2 2
0 3 1 2
1 4 0 1
"""

# Each job may take either machine; putting J0 on M0 (3) and J1 on M1 (4) gives 4.
FLEX_TWO = """2 2 2
1 2 1 3 2 5
1 2 1 3 2 4
"""


def benchmarks_dir() -> Path | None:
    env = os.environ.get("FACTORYOS_BENCHMARKS")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared/reference/benchmarks"
    return root if root.is_dir() else None


@pytest.fixture
def ft06() -> Problem:
    return parse_jssp(FT06, name="ft06")


@pytest.fixture
def two_by_two() -> Problem:
    return parse_jssp(TWO_BY_TWO, name="2x2")


@pytest.fixture
def flex_two() -> Problem:
    return parse_fjsp(FLEX_TWO, name="flex2")


@pytest.fixture
def valley_is_late() -> Problem:
    """The press (10 units, 100 kW) either ends the plan early in the peak (1.2 CNY/kWh) or waits
    for the valley (0.3) at 20-30; a 1-unit job released at 20 on a powerless machine ends at 21
    at the earliest and keeps both starts open."""
    energy = EnergyPrices(slot=10, prices=(1.2, 1.2, 0.3), power_kw=(100.0, 0.0), unit_h=1.0)
    jobs = (
        Job((Operation((Alternative(0, 10),), name="press"),), name="J0"),
        Job((Operation((Alternative(1, 1),), name="late"),), name="J1", release_date=20),
    )
    return Problem(jobs, 2, name="valley-is-late", energy=energy)


@pytest.fixture
def bench_root() -> Path:
    root = benchmarks_dir()
    if root is None:
        pytest.skip("benchmark instances not found (set FACTORYOS_BENCHMARKS to their folder)")
    return root
