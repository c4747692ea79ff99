"""A city to test the programme view on: plant variants of several industries from parameterised
templates, each with a baseline year and a current year after its smart-factory upgrade.

A template is a flow line of stations (kind, skill, units, run time, power, operators, axes for
robots). A factory draws its sizes and speeds from the template's ranges with its own seed; its
upgrade makes stations faster, adds robots, takes operators off the line, cuts idle power and
raises its maturity. Everything here is an engineering assumption for testing at city scale, not
data of real factories; docs/assess.md says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from factoryos.assess.maturity import SCORES, ManufacturingType, MaturityModel

# Shanghai's 16 districts; the industrial ones carry more weight in the draw.
DISTRICTS: dict[str, int] = {
    "Jiading": 8,
    "Pudong": 14,
    "Songjiang": 8,
    "Minhang": 7,
    "Baoshan": 5,
    "Jinshan": 5,
    "Qingpu": 4,
    "Fengxian": 5,
    "Chongming": 1,
    "Xuhui": 1,
    "Putuo": 1,
    "Yangpu": 1,
    "Changning": 1,
    "Jing'an": 1,
    "Hongkou": 1,
    "Huangpu": 1,
}


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    kind: str
    skill: str
    units: tuple[int, int]  # range of units in the pool
    run_time_s: tuple[float, float]
    power_kw: float
    operators: float  # per unit
    axes: int | None = None


@dataclass(frozen=True, slots=True)
class Template:
    industry: str
    type: ManufacturingType
    weight: int  # share of the city's factories (automotive is a third in Shanghai, seed 000)
    headcount: tuple[int, int]
    value_added_cny: tuple[float, float]
    stations: tuple[Station, ...]


# Run times are per production lot (a body-shop batch of cars, a panel lot of boards, a batch of
# vials), so that a year of a factory is thousands of twin operations, not millions: the sweep
# over 1,000 factories then stays within minutes on two cores. Value added is per lot.
TEMPLATES: tuple[Template, ...] = (
    Template(
        "automotive",
        ManufacturingType.DISCRETE,
        33,
        (400, 1200),
        (80_000, 160_000),
        (
            Station("press", "other", "pressing", (1, 2), (1500, 2200), 150, 2),
            Station("weld", "industrial_robot", "welding", (6, 14), (9000, 14000), 18, 0.2, 6),
            Station("paint", "paint_booth", "painting", (1, 2), (1800, 2600), 120, 2),
            Station("trim", "assembly_station", "assembly", (6, 12), (8000, 12000), 3, 2),
            Station("eol", "test_bench", "testing", (2, 3), (2500, 3500), 8, 1),
        ),
    ),
    Template(
        "electronics",
        ManufacturingType.DISCRETE,
        25,
        (200, 800),
        (20_000, 60_000),
        (
            Station("smt", "other", "placement", (2, 4), (3600, 6000), 25, 0.5),
            Station("aoi", "inspection", "inspection", (1, 2), (1500, 2800), 3, 0.5),
            Station("insert", "industrial_robot", "insertion", (2, 6), (5000, 8000), 4, 0.3, 4),
            Station("ict", "test_bench", "testing", (2, 4), (5000, 9000), 2, 1),
            Station("pack", "packaging", "packaging", (1, 2), (1500, 3000), 5, 1),
        ),
    ),
    Template(
        "high_end_equipment",
        ManufacturingType.DISCRETE,
        22,
        (150, 600),
        (30_000, 90_000),
        (
            Station("cnc", "cnc", "machining", (4, 10), (7200, 14400), 35, 0.5),
            Station("tend", "industrial_robot", "tending", (1, 4), (1200, 2400), 6, 0.1, 6),
            Station("asm", "assembly_station", "assembly", (3, 8), (9600, 19200), 2, 2),
            Station("test", "test_bench", "testing", (1, 3), (4800, 9600), 15, 1),
        ),
    ),
    Template(
        "biomedicine",
        ManufacturingType.PROCESS,
        20,
        (150, 500),
        (40_000, 150_000),
        (
            Station("mix", "other", "compounding", (1, 2), (2400, 4200), 60, 1),
            Station("fill", "other", "filling", (1, 3), (3600, 6000), 30, 1),
            Station("pick", "industrial_robot", "handling", (1, 3), (3000, 5400), 3, 0.1, 4),
            Station("vision", "inspection", "inspection", (1, 2), (1800, 3600), 2, 0.2),
            Station("pack", "packaging", "packaging", (1, 2), (2400, 4800), 8, 1),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FactorySpec:
    """One generated factory: who it is and the seed of everything drawn for it."""

    index: int
    seed: int
    name: str
    district: str
    industry: str
    certification_year: int
    level: int  # the maturity level its synthetic answers aim at


def city(factories: int, seed: int) -> list[FactorySpec]:
    """``factories`` specs: industries by template weight, districts by weight, certification
    years so that ~100 are certified by 2023, 70 new in 2024 and the rest in 2025 (the 20035
    plan), levels mostly 2-4 with the 2024 cohort >70 % at level 3 or above."""
    rng = random.Random(seed)
    specs = []
    for i in range(factories):
        template = rng.choices(TEMPLATES, [t.weight for t in TEMPLATES])[0]
        district = rng.choices(list(DISTRICTS), list(DISTRICTS.values()))[0]
        share = i / max(factories, 1)
        year = (
            2020 + min(3, int(share * 2 / 0.1)) if share < 0.5 else 2024 if share < 0.85 else 2025
        )
        upper = 0.75 if year >= 2024 else 0.55
        level = rng.choices(
            [1, 2, 3, 4, 5], [0.05, 0.95 - upper - 0.05, upper * 0.7, upper * 0.28, upper * 0.02]
        )[0]
        specs.append(
            FactorySpec(
                i,
                rng.randrange(2**31),
                f"{template.industry}-{i:04d}",
                district,
                template.industry,
                year,
                level,
            )
        )
    return specs


def template_of(spec: FactorySpec) -> Template:
    return next(t for t in TEMPLATES if t.industry == spec.industry)


def plant_data(spec: FactorySpec, *, upgraded: bool) -> dict[str, Any]:
    """The factory's plant model (a YAML-shaped mapping), before or after its upgrade."""
    t, rng = template_of(spec), random.Random(spec.seed)
    faster, fewer_ops = 1 - rng.uniform(0.05, 0.25), 1 - rng.uniform(0.1, 0.3)
    extra_robots, idle_cut = rng.randint(1, 3), rng.uniform(0.3, 0.6)
    equipment, routing = [], []
    for s in t.stations:
        units = rng.randint(*s.units)
        run = rng.uniform(*s.run_time_s)
        robot = s.kind == "industrial_robot"
        if upgraded:
            run *= faster
            units += extra_robots if robot else 0
        item: dict[str, Any] = {
            "id": s.id,
            "kind": s.kind,
            "units": units,
            "skills": [s.skill],
            "operators": round(s.operators * (fewer_ops if upgraded else 1.0), 3),
            "power": {
                "producing": s.power_kw,
                "idle": s.power_kw * (0.3 * (idle_cut if upgraded else 1)),
            },
            "hourly_cost_cny": 20.0,
            "failure": {
                "time_between_failures": {
                    "dist": "exponential",
                    "mean": rng.uniform(60, 200) * 3600,
                },
                "time_to_repair": {
                    "dist": "lognormal",
                    "mean": rng.uniform(0.5, 3) * 3600,
                    "sigma": 0.5,
                },
            },
        }
        if s.axes is not None:
            item["axes"] = s.axes
        equipment.append(item)
        routing.append({"id": s.id, "skill": s.skill, "run_time": round(run, 1)})
    headcount = rng.randint(*t.headcount)
    return {
        "enterprise": {"id": f"f{spec.index:04d}", "name": spec.name},
        "site": {"id": "main", "timezone": "Asia/Shanghai"},
        "skills": [s.skill for s in t.stations],
        "calendars": {
            "two_shift": {
                "shifts": [
                    {
                        "name": "early",
                        "start": "08:00",
                        "end": "16:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                    },
                    {
                        "name": "late",
                        "start": "16:00",
                        "end": "24:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                    },
                ]
            }
        },
        "default_calendar": "two_shift",
        "tariff": {
            "name": "flat",
            "bands": [{"name": "flat", "price_cny_per_kwh": 0.8, "hours": ["00:00-24:00"]}],
        },
        "cost_rates": {"labour_cny_per_h": 75, "overhead_cny_per_h": 400},
        "workforce": {"headcount": round(headcount * (fewer_ops if upgraded else 1.0))},
        "areas": [{"id": "shop", "lines": [{"id": "line1", "equipment": equipment}]}],
        "products": [
            {
                "id": "product",
                "family": t.industry,
                "value_added_cny": round(rng.uniform(*t.value_added_cny)),
                "routing": routing,
            }
        ],
    }


def demand_per_year(data: dict[str, Any], utilisation: float = 0.75) -> float:
    """Units a year that load the slowest station to ``utilisation`` (two 8 h shifts, 250 days)."""
    hours = 2 * 8 * 250
    routing = {op["id"]: op["run_time"] for op in data["products"][0]["routing"]}
    capacity = min(
        e["units"] * hours * 3600 / routing[e["id"]]
        for e in data["areas"][0]["lines"][0]["equipment"]
    )
    return float(utilisation * capacity)


def synthetic_answers(spec: FactorySpec, model: MaturityModel) -> dict[str, float]:
    """Self-assessment scores that put the factory near its drawn level: requirements up to it
    mostly fully met, the next level partly, the rest not."""
    rng = random.Random(spec.seed ^ 0x5EED)
    kind = template_of(spec).type
    out = {}
    for sub in model.applicable(kind):
        for r in sub.requirements:
            if r.level <= spec.level:
                out[r.id] = rng.choices(SCORES[:2], [0.8, 0.2])[0]
            elif r.level == spec.level + 1:
                out[r.id] = rng.choice(SCORES[1:])
            else:
                out[r.id] = rng.choices(SCORES[2:], [0.2, 0.8])[0]
    return out
