"""The head every hand-written test plant shares: one enterprise and site in UTC, open around
the clock, a flat tariff, one worker. A test writes its skills and the rest (areas, lines,
products) and gets the whole YAML text."""

from __future__ import annotations

_AROUND_THE_CLOCK = """calendars:
  always:
    shifts:
      - {name: day, start: "00:00", end: "24:00", days: [mon, tue, wed, thu, fri, sat, sun]}
default_calendar: always
tariff: {name: flat, bands: [{name: flat, price_cny_per_kwh: 1, hours: ["00:00-24:00"]}]}
cost_rates: {labour_cny_per_h: 1}
workforce: {headcount: 1}
"""


def tiny_plant(skills: str, rest: str) -> str:
    """The plant's YAML: the shared head with ``skills`` (``"mill, bake"``), then ``rest``."""
    return (
        "\nenterprise: {id: acme}\nsite: {id: s, timezone: UTC}\n"
        f"skills: [{skills}]\n" + _AROUND_THE_CLOCK + rest
    )
