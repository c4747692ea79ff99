"""A tiny plant for the twin's tests: two lines, an assembly join, one shift with a break."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from factoryos.model import Plant, load_plant_text

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday; the plant's zone is UTC

TINY_PLANT = """
enterprise: {id: acme}
site: {id: plant1, timezone: UTC}
skills: [cut, assemble, test]
calendars:
  day:
    shifts:
      - name: day
        start: "06:00"
        end: "18:00"
        days: [mon, tue, wed, thu, fri, sat, sun]
        breaks: [{start: "12:00", end: "13:00"}]
default_calendar: day
tariff:
  name: flat
  bands: [{name: flat, price_cny_per_kwh: 1.0, hours: ["00:00-24:00"]}]
cost_rates: {labour_cny_per_h: 50}
workforce: {headcount: 10}
areas:
  - id: parts
    lines:
      - id: cutting
        equipment:
          - id: saw
            kind: cnc
            units: 1
            skills: [cut]
            power: {producing: 10 kW, setup: 5 kW, idle: 2 kW, starved: 2 kW, off: 0 kW}
            failure:
              time_between_failures: {dist: exponential, mean: 3 h}
              time_to_repair: {dist: fixed, value: 20 min}
            setup_matrix:
              small: {large: 30 min}
              large: {small: 30 min}
  - id: final
    lines:
      - id: assembly
        input_buffer: 2
        equipment:
          - id: bench
            kind: assembly_station
            units: 2
            skills: [assemble]
            power: {producing: 3 kW, blocked: 1 kW, starved: 1 kW, idle: 1 kW}
          - id: tester
            kind: test_bench
            units: 1
            skills: [test]
            power: {producing: 1 kW}
products:
  - id: gizmo
    family: small
    value_added_cny: 100
    routing:
      - id: assemble
        skill: assemble
        run_time: 40 min
        consumes: [{product: blank, quantity: 2}]
      - id: test
        skill: test
        run_time: 10 min
        rework_rate: 0.2
        scrap_rate: 0.05
  - id: widget
    family: large
    value_added_cny: 50
    routing:
      - id: cut
        skill: cut
        run_time: 15 min
  - id: blank
    family: small
    routing:
      - id: cut
        skill: cut
        run_time: 10 min
        setup_time: 5 min
"""


@pytest.fixture(scope="session")
def tiny_plant() -> Plant:
    return load_plant_text(TINY_PLANT, filename="tiny.yaml")


@pytest.fixture(scope="session")
def tiny_plant_with() -> Callable[[dict[str, Any]], Plant]:
    def build(overlay: dict[str, Any]) -> Plant:
        return load_plant_text(TINY_PLANT, filename="tiny.yaml", overlay=overlay)

    return build
