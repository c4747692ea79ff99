"""Robot density: industrial robots per 10,000 employees, against the published figures.

An industrial robot is equipment of kind ``industrial_robot`` programmable in three or more axes
(ISO 8373:2021, the IFR definition); a robot whose axes the model does not give is counted and
reported as assumed. The employees are the plant's workforce headcount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from factoryos.assess.maturity import Text
from factoryos.model.plant import Equipment, Plant

ROBOT_KIND = "industrial_robot"
MIN_AXES = 3


@dataclass(frozen=True, slots=True)
class Reference:
    name: Text
    per_10k: float
    source: str


REFERENCES: tuple[Reference, ...] = (
    Reference(
        Text("上海重点产业", "Shanghai key industries"),
        383.0,
        "Shanghai smart-factory meeting 2024-01-03 (standards.md 7.4; seed 000)",
    ),
    Reference(Text("中国 (IFR)", "China (IFR)"), 470.0, "IFR World Robotics 2024, 2023 data"),
    Reference(
        Text("世界平均 (IFR)", "World average (IFR)"), 162.0, "IFR World Robotics 2024, 2023 data"
    ),
)


@dataclass(frozen=True, slots=True)
class Density:
    robots: int
    employees: int
    assumed_axes: int  # robots counted without an axes figure in the model

    @property
    def per_10k(self) -> float | None:
        return self.robots / self.employees * 10_000 if self.employees > 0 else None

    def __add__(self, other: Density) -> Density:
        return Density(
            self.robots + other.robots,
            self.employees + other.employees,
            self.assumed_axes + other.assumed_axes,
        )


def is_industrial_robot(equipment: Equipment) -> bool:
    """ISO 8373: kind industrial robot, and three or more axes when the model says how many."""
    if str(equipment.kind) != ROBOT_KIND:
        return False
    return equipment.axes is None or equipment.axes >= MIN_AXES


def robot_density(plant: Plant) -> Density:
    robots = [e for _, _, e in plant.equipment_items() if is_industrial_robot(e)]
    return Density(
        robots=sum(e.units for e in robots),
        employees=plant.workforce.headcount,
        assumed_axes=sum(e.units for e in robots if e.axes is None),
    )


def total_density(densities: Iterable[Density]) -> Density:
    """Robots over employees of many plants (sums, not a mean of densities)."""
    return sum(densities, Density(0, 0, 0))
