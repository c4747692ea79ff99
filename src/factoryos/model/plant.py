"""The plant model: an ISA-95 equipment hierarchy with products, routings, calendars and costs.

Enterprise -> Site -> Area -> work center (production line) -> work unit. An ``Equipment`` entry is
a pool of ``units`` identical work units; each unit has its own ISA-95 path, which is what events
carry: ``enterprise/site/area/line/equipment`` for a single unit, with ``/<n>`` (1-based) appended
when the pool has several units.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, field_validator

from factoryos.model.calendar import Calendar, MaintenanceWindow, Tariff
from factoryos.model.distributions import FailureModel
from factoryos.model.quantities import DurationS, PowerKW
from factoryos.model.states import MachineState

Identifier = str
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )


class EquipmentKind(StrEnum):
    """What a piece of equipment is; drives defaults in reports, not behaviour."""

    INDUSTRIAL_ROBOT = "industrial_robot"
    CNC = "cnc"
    ASSEMBLY_STATION = "assembly_station"
    TEST_BENCH = "test_bench"
    PAINT_BOOTH = "paint_booth"
    AGV = "agv"
    PACKAGING = "packaging"
    INSPECTION = "inspection"
    OTHER = "other"


class Equipment(_Frozen):
    """A pool of identical work units (ISA-95 work cells / equipment) in one line."""

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    kind: EquipmentKind
    units: int = Field(default=1, ge=1)
    skills: tuple[Identifier, ...] = Field(min_length=1)
    power_kw: dict[MachineState, PowerKW] = Field(default_factory=dict, alias="power")
    failure: FailureModel | None = None
    operators: NonNegativeFloat = 0.0
    axes: int | None = Field(default=None, ge=1)  # programmable axes (ISO 8373 robot: 3 or more)
    hourly_cost_cny: NonNegativeFloat = 0.0
    setup_matrix_s: dict[Identifier, dict[Identifier, DurationS]] = Field(
        default_factory=dict, alias="setup_matrix"
    )

    def power_in(self, state: MachineState) -> float:
        """kW drawn by one unit in ``state`` (0 when the model gives none)."""
        return self.power_kw.get(state, 0.0)


class Line(_Frozen):
    """An ISA-95 work center of the discrete kind: a production line."""

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    calendar: Identifier | None = None
    input_buffer: int | None = Field(default=None, ge=0)
    equipment: tuple[Equipment, ...] = Field(min_length=1)


class Area(_Frozen):
    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    lines: tuple[Line, ...] = Field(min_length=1)


class Component(_Frozen):
    """An input an operation consumes: units of another product made by its own routing."""

    product: Identifier
    quantity: int = Field(default=1, ge=1)


class Operation(_Frozen):
    """One step of a routing: a skill, where it may run, how long per unit, what it loses."""

    id: Identifier = Field(pattern=ID_PATTERN)
    skill: Identifier
    equipment: tuple[Identifier, ...] = ()
    run_time_s: DurationS = Field(alias="run_time", gt=0)
    run_time_on_s: dict[Identifier, DurationS] = Field(default_factory=dict, alias="run_time_on")
    setup_time_s: DurationS = Field(default=0.0, alias="setup_time")
    scrap_rate: float = Field(default=0.0, ge=0, lt=1)
    rework_rate: float = Field(default=0.0, ge=0, lt=1)
    consumes: tuple[Component, ...] = ()
    resumable: bool = False

    def run_time_on(self, equipment_id: str) -> float:
        """Planned run time per unit (ISO 22400 PRI) on one equipment, seconds."""
        return self.run_time_on_s.get(equipment_id, self.run_time_s)


class Product(_Frozen):
    """A product or sub-assembly made in the plant, with its routing."""

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    family: Identifier
    value_added_cny: NonNegativeFloat = 0.0
    routing: tuple[Operation, ...] = Field(min_length=1)


class CostRates(_Frozen):
    labour_cny_per_h: NonNegativeFloat
    overhead_cny_per_h: NonNegativeFloat = 0.0


class Workforce(_Frozen):
    """People on the payroll; ``indirect_per_shift`` staff are present whenever a shift runs."""

    headcount: int = Field(ge=0)
    indirect_per_shift: NonNegativeFloat = 0.0


class Enterprise(_Frozen):
    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""


class Site(_Frozen):
    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One physical unit of an equipment pool, addressed by its ISA-95 path."""

    path: str
    area: Area
    line: Line
    equipment: Equipment
    unit: int


class Plant(_Frozen):
    """A whole plant model, validated and cross-checked (see ``factoryos.model.checks``)."""

    enterprise: Enterprise
    site: Site
    skills: tuple[Identifier, ...] = Field(min_length=1)
    calendars: dict[Identifier, Calendar] = Field(min_length=1)
    default_calendar: Identifier
    tariff: Tariff
    cost_rates: CostRates
    workforce: Workforce
    areas: tuple[Area, ...] = Field(min_length=1)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    products: tuple[Product, ...] = Field(min_length=1)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @property
    def root_path(self) -> str:
        return f"{self.enterprise.id}/{self.site.id}"

    def lines(self) -> Iterator[tuple[Area, Line]]:
        for area in self.areas:
            for line in area.lines:
                yield area, line

    def equipment_items(self) -> Iterator[tuple[Area, Line, Equipment]]:
        for area, line in self.lines():
            for equipment in line.equipment:
                yield area, line, equipment

    @cached_property
    def equipment_by_id(self) -> dict[str, Equipment]:
        return {e.id: e for _, _, e in self.equipment_items()}

    @cached_property
    def product_by_id(self) -> dict[str, Product]:
        return {p.id: p for p in self.products}

    @cached_property
    def work_units(self) -> tuple[WorkUnit, ...]:
        """Every work unit of the plant, in model order."""
        units = []
        for area, line, equipment in self.equipment_items():
            base = f"{self.root_path}/{area.id}/{line.id}/{equipment.id}"
            for n in range(1, equipment.units + 1):
                path = base if equipment.units == 1 else f"{base}/{n}"
                units.append(WorkUnit(path, area, line, equipment, n))
        return tuple(units)

    @cached_property
    def work_unit_by_path(self) -> dict[str, WorkUnit]:
        return {u.path: u for u in self.work_units}

    def calendar_id_of(self, line: Line) -> str:
        return line.calendar or self.default_calendar

    def maintenance_of(self, equipment_id: str) -> tuple[MaintenanceWindow, ...]:
        return tuple(w for w in self.maintenance if equipment_id in w.equipment)

    def eligible_equipment(self, operation: Operation) -> tuple[Equipment, ...]:
        """Equipment an operation may run on: the listed ones, else all with its skill."""
        if operation.equipment:
            return tuple(self.equipment_by_id[e] for e in operation.equipment)
        return tuple(e for _, _, e in self.equipment_items() if operation.skill in e.skills)

    def is_in_subtree(self, path: str, node: str) -> bool:
        """Whether ``path`` is ``node`` or below it in the hierarchy."""
        return path == node or path.startswith(node.rstrip("/") + "/")

    def node_exists(self, node: str) -> bool:
        return any(self.is_in_subtree(u.path, node) for u in self.work_units)
