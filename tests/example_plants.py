"""The example plants of ``examples/``: every test and benchmark that must hold for any plant
runs over this list (parametrise with ``EXAMPLE_PLANTS`` or the ``example_plant`` fixture of
``tests/conftest.py``), so nothing fits the robot plant alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@dataclass(frozen=True)
class ExamplePlant:
    """One example plant with its order book, rush orders and a scenario overlay."""

    name: str
    plant: Path
    orders: Path
    rush: Path
    scenario: Path
    start: str  # first day of the order book, YYYY-MM-DD
    year: int = 2026


EXAMPLE_PLANTS = (
    ExamplePlant(
        "robot",
        EXAMPLES / "robot_factory.yaml",
        EXAMPLES / "orders_robot_4w.csv",
        EXAMPLES / "orders_rush.csv",
        EXAMPLES / "scenarios" / "extra_arm_cell.yaml",
        "2026-03-02",
    ),
    ExamplePlant(
        "electronics",
        EXAMPLES / "electronics_plant.yaml",
        EXAMPLES / "orders_electronics_4w.csv",
        EXAMPLES / "orders_electronics_rush.csv",
        EXAMPLES / "scenarios" / "electronics_fifth_cell.yaml",
        "2026-03-16",
    ),
    ExamplePlant(
        "coatings",
        EXAMPLES / "coatings_plant.yaml",
        EXAMPLES / "orders_coatings_4w.csv",
        EXAMPLES / "orders_coatings_rush.csv",
        EXAMPLES / "scenarios" / "coatings_third_reactor.yaml",
        "2026-03-02",
    ),
)
