"""Plants and helpers shared by the plant-model tests: a tiny valid plant and ways to break it."""

from __future__ import annotations

from pathlib import Path

MINI = """\
enterprise: {id: acme}
site: {id: plant1, timezone: Asia/Shanghai}
skills: [machining, assembly]
calendars:
  day:
    shifts:
      - {name: early, start: "08:00", end: "16:00", breaks: [{start: "12:00", end: "12:30"}]}
default_calendar: day
tariff:
  name: flat
  bands: [{name: flat, price_cny_per_kwh: 0.8, hours: ["00:00-24:00"]}]
cost_rates: {labour_cny_per_h: 80}
workforce: {headcount: 10}
areas:
  - id: main
    lines:
      - id: line1
        equipment:
          - id: cnc
            kind: cnc
            units: 2
            skills: [machining]
            power: {producing: 20 kW, idle: 5}
            failure:
              time_between_failures: {dist: weibull, shape: 1.5, scale: 100 h}
              time_to_repair: {dist: lognormal, mean: 2 h, sigma: 0.5}
          - id: bench
            kind: assembly_station
            skills: [assembly]
products:
  - id: part
    family: parts
    routing:
      - {id: mill, skill: machining, run_time: 10 min}
  - id: widget
    family: widgets
    value_added_cny: 1000
    routing:
      - {id: assemble, skill: assembly, run_time: 5 min, consumes: [{product: part, quantity: 2}]}
"""

REPO = Path(__file__).resolve().parents[2]
ROBOT_FACTORY = REPO / "examples" / "robot_factory.yaml"


def line_with(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``needle`` in ``text``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def replaced(old: str, new: str, text: str = MINI) -> str:
    """``text`` with exactly one ``old`` replaced, so a typo in a test cannot pass silently."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)
