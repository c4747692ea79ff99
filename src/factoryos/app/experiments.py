"""Twin runs and scenario comparisons started from the service, as JSON-ready results.

The same use cases as ``factoryos simulate`` and ``compare``
(:mod:`factoryos.app.simulation`); a scenario arrives as a mapping (the YAML overlay's content)
and is written beside the job so that the plant loader can merge and validate it as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from factoryos.app.simulation import compare_scenario, run_simulation
from factoryos.model import Plant
from factoryos.model.errors import ParameterError, PlantModelError
from factoryos.model.loader import load_plant
from factoryos.simulate.stats import Interval

__all__ = ["check_scenario", "compare_job", "twin_run_job"]

Progress = Callable[[float], None]


def _interval(i: Interval) -> dict[str, float]:
    return {"mean": i.mean, "low": i.low, "high": i.high, "n": i.n}


def twin_run_job(
    plant: Plant, days: float, seed: int, replications: int, progress: Progress
) -> dict[str, Any]:
    """Figures with 95 % intervals, the bottleneck, and replication 0's work centers."""
    done = 0.0

    def step(amount: float) -> None:
        nonlocal done
        done += amount
        progress(done / replications)

    out = run_simulation(
        plant, days=days, seed=seed, replications=replications, processes=1, on_progress=step
    )
    return {
        "summary": {k: _interval(v) for k, v in out.summary.items()},
        "bottleneck": out.bottleneck,
        "pools": [
            {
                "equipment": p.equipment,
                "utilization": p.utilization,
                "blocked_share": p.blocked_share,
                "starved_share": p.starved_share,
                "down_share": p.down_share,
                "oee": p.oee,
                "bottleneck": asdict(p.bottleneck),
            }
            for p in out.first.pools
        ],
    }


def check_scenario(plant_path: Path, scenario: dict[str, Any], folder: Path) -> Path:
    """Write the overlay as ``scenario.yaml`` (JSON is YAML) and check it merges into a plant."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    try:
        load_plant(plant_path, overlay=scenario)
    except PlantModelError as exc:
        raise ParameterError("scenario", _short(scenario), str(exc)) from None
    return path


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare_job(
    plant_path: Path,
    scenario_path: Path,
    days: float,
    seed: int,
    replications: int,
    progress: Progress,
) -> dict[str, Any]:
    """Base against scenario with common random numbers: each figure and the paired difference."""
    total = 2 * replications
    done = 0.0

    def step(amount: float) -> None:
        nonlocal done
        done += amount
        progress(done / total)

    out = compare_scenario(
        plant_path,
        scenario_path,
        days=days,
        seed=seed,
        replications=replications,
        processes=1,
        on_progress=step,
    )
    return {
        "base_bottleneck": out.base_bottleneck,
        "scenario_bottleneck": out.scenario_bottleneck,
        "rows": [
            {
                "name": r.name,
                "base": _interval(r.base),
                "scenario": _interval(r.scenario),
                "difference": _interval(r.difference),
                "significant": r.significant,
            }
            for r in out.rows
        ],
    }
