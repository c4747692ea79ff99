"""A small 24/7 plant with known failure models, for fitting the twin's events back."""

from __future__ import annotations

from typing import Any

from factoryos.model import Plant, load_plant_text

TRUE_SHAPE = 1.5
TRUE_SCALE_H = 40.0
TRUE_TTR_MEAN_H = 3.0
TRUE_TTR_SIGMA = 0.6

RELIABILITY_PLANT = f"""
enterprise: {{id: acme}}
site: {{id: works, timezone: UTC}}
skills: [mill]
calendars:
  always:
    shifts:
      - {{name: day, start: "00:00", end: "24:00", days: [mon, tue, wed, thu, fri, sat, sun]}}
default_calendar: always
tariff:
  name: flat
  bands: [{{name: flat, price_cny_per_kwh: 1.0, hours: ["00:00-24:00"]}}]
cost_rates: {{labour_cny_per_h: 50}}
workforce: {{headcount: 4}}
areas:
  - id: shop
    lines:
      - id: cells
        equipment:
          - id: mill
            kind: cnc
            units: 4
            skills: [mill]
            power: {{producing: 10 kW}}
            failure:
              time_between_failures: {{dist: weibull, shape: {TRUE_SHAPE}, scale: {TRUE_SCALE_H} h}}
              time_to_repair:
                {{dist: lognormal, mean: {TRUE_TTR_MEAN_H} h, sigma: {TRUE_TTR_SIGMA}}}
products:
  - id: part
    family: parts
    value_added_cny: 100
    routing:
      - {{id: mill, skill: mill, run_time: 1 h}}
"""


def reliability_plant(overlay: dict[str, Any] | None = None) -> Plant:
    return load_plant_text(RELIABILITY_PLANT, filename="reliability.yaml", overlay=overlay)


def with_units(units: int) -> Plant:
    return reliability_plant(
        {
            "areas": [
                {
                    "id": "shop",
                    "lines": [{"id": "cells", "equipment": [{"id": "mill", "units": units}]}],
                }
            ]
        }
    )
