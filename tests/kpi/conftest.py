from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from factoryos.model import Plant, load_plant

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def mini_plant() -> Plant:
    """Two CNC units and one bench; one shift 08:00-16:00 Mon-Fri, break 12:00-12:30."""
    return load_plant(FIXTURES / "mini_plant.yaml")


def local(day: int, hour: float) -> dt.datetime:
    """A Shanghai wall-clock instant in January 2026 (5 Jan is a Monday)."""
    whole = int(hour)
    minute = round((hour - whole) * 60)
    return dt.datetime(2026, 1, day, whole, minute, tzinfo=SHANGHAI)
