"""Physical quantities in the plant YAML: ``"90 s"``, ``"1.5 h"``, ``"22 kW"``.

A bare number is read in the field's canonical unit (seconds, kW, kWh); a string must carry a unit
of the right dimension, so ``run_time: 5 kW`` is a unit mismatch rather than five seconds.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_UNITS: dict[str, tuple[str, float]] = {
    "ms": ("duration", 0.001),
    "s": ("duration", 1.0),
    "sec": ("duration", 1.0),
    "min": ("duration", 60.0),
    "h": ("duration", 3600.0),
    "d": ("duration", 86400.0),
    "w": ("power", 0.001),
    "kw": ("power", 1.0),
    "mw": ("power", 1000.0),
    "kwh": ("energy", 1.0),
    "mwh": ("energy", 1000.0),
}
_QUANTITY = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")


def parse_quantity(value: object, dimension: str) -> float:
    """Return ``value`` in the canonical unit of ``dimension``; raise ValueError on a mismatch."""
    if isinstance(value, bool):
        raise ValueError(f"expected a {dimension}, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a {dimension} such as '90 s', got {value!r}")
    match = _QUANTITY.match(value)
    if match is None:
        raise ValueError(f"expected a {dimension} such as '90 s', got {value!r}")
    number, unit = float(match.group(1)), match.group(2)
    known = _UNITS.get(unit.lower())
    if known is None:
        raise ValueError(f"unknown unit {unit!r} in {value!r}")
    unit_dimension, factor = known
    if unit_dimension != dimension:
        raise ValueError(f"unit mismatch: {value!r} is a {unit_dimension}, expected a {dimension}")
    return number * factor


def _nonneg(value: float, dimension: str, original: object) -> float:
    if value < 0:
        raise ValueError(f"negative {dimension} {original!r}")
    return value


DurationS = Annotated[
    float, BeforeValidator(lambda v: _nonneg(parse_quantity(v, "duration"), "duration", v))
]
"""A non-negative duration in seconds; YAML may write ``90``, ``"90 s"``, ``"1.5 h"``."""

PowerKW = Annotated[
    float, BeforeValidator(lambda v: _nonneg(parse_quantity(v, "power"), "power", v))
]
"""A non-negative power draw in kW; YAML may write ``22``, ``"22 kW"``, ``"800 W"``."""
