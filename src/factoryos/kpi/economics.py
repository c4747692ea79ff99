"""Beyond ISO 22400: energy intensity of value added, productivity and operating cost.

These are the figures the Shanghai smart-factory programme reports (productivity, operating cost,
energy per unit of value added, see ``shared/reference/standards.md`` section 2.4).
"""

from __future__ import annotations

from factoryos.kpi.elements import GroupInputs
from factoryos.kpi.iso22400 import ratio

TCE_PER_KWH_CALORIFIC = 0.1229e-3
"""GB/T 2589-2020 calorific equivalent (当量值) of electricity: 0.1229 kgce/kWh, in tce/kWh."""


def energy_per_finished_unit_kwh(inputs: GroupInputs) -> float | None:
    """kWh per good finished product (all the group's energy over its finished output)."""
    return ratio(inputs.resources.energy_kwh, inputs.quantities.finished_good)


def energy_per_10k_cny_value_added_kwh(inputs: GroupInputs) -> float | None:
    """kWh per 10,000 CNY of value added (万元增加值能耗, electricity only, in kWh)."""
    return ratio(inputs.resources.energy_kwh, inputs.quantities.value_added_cny / 10_000.0)


def energy_per_10k_cny_value_added_tce(inputs: GroupInputs) -> float | None:
    """The same intensity in tonnes of standard coal equivalent (calorific equivalent basis)."""
    kwh = energy_per_10k_cny_value_added_kwh(inputs)
    return None if kwh is None else kwh * TCE_PER_KWH_CALORIFIC


def value_added_per_labour_hour_cny(inputs: GroupInputs) -> float | None:
    """Labour productivity: value added per direct labour hour."""
    return ratio(inputs.quantities.value_added_cny, inputs.resources.labour_h)


def good_units_per_labour_hour(inputs: GroupInputs) -> float | None:
    """Physical labour productivity: good finished units per direct labour hour."""
    return ratio(inputs.quantities.finished_good, inputs.resources.labour_h)


def operating_cost_cny(inputs: GroupInputs, labour_cny_per_h: float) -> float:
    """Direct labour + equipment hours + time-of-use energy + allocated site overhead."""
    r = inputs.resources
    return r.labour_h * labour_cny_per_h + r.equipment_cost_cny + r.energy_cost_cny + r.overhead_cny


def operating_cost_per_good_unit_cny(inputs: GroupInputs, labour_cny_per_h: float) -> float | None:
    """Operating cost per good finished unit."""
    return ratio(operating_cost_cny(inputs, labour_cny_per_h), inputs.quantities.finished_good)
