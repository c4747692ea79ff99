"""A programme registry of four hand-made factories with known answers (API and browser tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from factoryos.store.registry import SCHEMAS, Registry

# id, district, industry, year, level, total, robots, employees, (productivity, energy) factors
FACTORIES = [
    ("f0001/main", "Pudong", "automotive", 2024, 3, 2.9, 50, 1000, (1.5, 0.8)),
    ("f0002/main", "Pudong", "electronics", 2023, 4, 3.9, 10, 500, (0.9, 1.1)),
    ("f0003/main", "Jiading", "automotive", 2025, 2, 1.9, 0, 200, (1.2, 0.9)),
    ("f0004/main", "Jiading", "biomedicine", 2024, 3, 3.1, 5, 100, (1.2, 0.7)),
]
DAYS = 10


def _tables() -> dict[str, pa.Table]:
    factories, scores, days = [], [], []
    for fid, district, industry, year, level, total, robots, employees, (prod, energy) in FACTORIES:
        factories.append(
            {
                "factory_id": fid,
                "name": f"Factory {fid[:5]}",
                "district": district,
                "industry": industry,
                "certification_year": year,
                "type": "discrete",
                "level": level,
                "total_score": total,
                "robots": robots,
                "employees": employees,
                "assumed_axes": 0,
                "public_key": None,
                "source": "test",
            }
        )
        for lv in (1, 2):
            for sub, score in (("planning", 1.0), ("production", 0.8 if lv == 1 else 0.5)):
                scores.append({"factory_id": fid, "level": lv, "sub_domain": sub, "score": score})
        for period, first, va, kwh in (
            ("baseline", dt.date(2023, 1, 2), 1000.0, 100.0),
            ("current", dt.date(2025, 1, 6), 1000.0 * prod, 100.0 * energy * prod),
        ):
            for i in range(DAYS):
                # +-1 % day to day so that the bootstrap has spread, same in both periods
                wobble = 1 + 0.01 * (i % 3 - 1)
                days.append(
                    {
                        "factory_id": fid,
                        "period": period,
                        "day": first + dt.timedelta(days=i),
                        "value_added_cny": va * wobble,
                        "good_units": 10.0 * wobble,
                        "labour_h": 100.0,
                        "operating_cost_cny": 500.0,
                        "energy_kwh": kwh * wobble,
                        "oee_good_run_s": 20_000.0,
                        "pbt_s": 30_000.0,
                    }
                )
    return {
        "factories": pa.Table.from_pylist(factories, SCHEMAS["factories"]),
        "scores": pa.Table.from_pylist(scores, SCHEMAS["scores"]),
        "days": pa.Table.from_pylist(days, SCHEMAS["days"]),
    }


def write_registry(path: Path) -> Path:
    registry = Registry(path)
    registry.put(_tables())
    registry.close()
    return path
