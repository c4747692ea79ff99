"""Quantities with units in the plant YAML."""

from __future__ import annotations

import pytest

from factoryos.model.quantities import parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "value"),
    [
        ("90 s", "duration", 90.0),
        ("1.5 h", "duration", 5400.0),
        ("10 min", "duration", 600.0),
        ("250 ms", "duration", 0.25),
        ("2 d", "duration", 172800.0),
        ("1e3 s", "duration", 1000.0),
        ("22 kW", "power", 22.0),
        ("800 W", "power", 0.8),
        ("1.2 MW", "power", 1200.0),
        ("5 kWh", "energy", 5.0),
        ("2 MWh", "energy", 2000.0),
        ("  7   KW ", "power", 7.0),
        (45, "duration", 45.0),
        (2.5, "power", 2.5),
    ],
)
def test_parse_quantity(text: object, dimension: str, value: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "dimension", "message"),
    [
        ("5 kW", "duration", "unit mismatch: '5 kW' is a power, expected a duration"),
        ("90 s", "power", "unit mismatch: '90 s' is a duration, expected a power"),
        ("3 kWh", "power", "'3 kWh' is a energy"),
        ("5 parsecs", "duration", "unknown unit 'parsecs'"),
        ("fast", "duration", "expected a duration such as '90 s', got 'fast'"),
        ("5", "duration", "expected a duration such as '90 s', got '5'"),
        (True, "duration", "expected a duration, got True"),
        (None, "power", "expected a power such as '90 s', got None"),
    ],
)
def test_bad_quantities_quote_the_value(text: object, dimension: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_quantity(text, dimension)
    assert message in str(caught.value)
