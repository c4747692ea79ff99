"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from tests.example_plants import EXAMPLE_PLANTS, ExamplePlant


@pytest.fixture(params=EXAMPLE_PLANTS, ids=[p.name for p in EXAMPLE_PLANTS])
def example_plant(request: pytest.FixtureRequest) -> ExamplePlant:
    """Each example plant in turn (robot, electronics, coatings)."""
    plant: ExamplePlant = request.param
    return plant
