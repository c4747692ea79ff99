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
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    field_validator,
    model_validator,
)

from factoryos.model.calendar import Calendar, MaintenanceWindow, Tariff
from factoryos.model.distributions import FailureModel, PerformanceLoss
from factoryos.model.quantities import DurationS, PowerKW
from factoryos.model.states import MachineState

Identifier = str
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )


class EquipmentKind(StrEnum):
    """The equipment kinds factoryos knows the meaning of (e.g. ``industrial_robot`` counts in
    robot density). ``Equipment.kind`` is an open vocabulary: any other identifier is allowed
    when the equipment names its ``category``."""

    INDUSTRIAL_ROBOT = "industrial_robot"
    CNC = "cnc"
    ASSEMBLY_STATION = "assembly_station"
    TEST_BENCH = "test_bench"
    PAINT_BOOTH = "paint_booth"
    AGV = "agv"
    PACKAGING = "packaging"
    INSPECTION = "inspection"
    OTHER = "other"


KNOWN_KINDS = frozenset(k.value for k in EquipmentKind)


SetupPolicy = Literal["per_lot", "per_family_change"]
"""How an equipment charges setups (see ``Equipment.setup``)."""


class Equipment(_Frozen):
    """A pool of identical work units (ISA-95 work cells / equipment) in one line.

    ``batch_capacity`` is how many units of product one work unit processes together in one
    cycle: 1 for a machine that works unit by unit; N for an oven, a burn-in rack, a curing
    chamber or a paint booth that takes up to N units at once. On batch equipment an operation's
    ``run_time`` is the time of one cycle, whatever the fill (1 to N units).

    ``failure`` makes it unavailable now and then (availability); ``performance`` makes it slower
    than planned while it runs (minor stops, speed loss: effectiveness below 100 %).

    ``kind`` is one of :class:`EquipmentKind` or, for equipment of other industries (a reflow
    oven, a reactor vessel, a pick-and-place machine), any identifier together with a
    ``category`` that says what it is in plain words or a short id (``thermal``, ``vessel``).
    """

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    kind: Identifier = Field(pattern=ID_PATTERN)
    category: str | None = None
    units: int = Field(default=1, ge=1)
    skills: tuple[Identifier, ...] = Field(min_length=1)
    power_kw: dict[MachineState, PowerKW] = Field(default_factory=dict, alias="power")
    failure: FailureModel | None = None
    performance: PerformanceLoss | None = None
    """Minor stops and speed loss while running (effectiveness below 100 %)."""
    operators: NonNegativeFloat = 0.0
    axes: int | None = Field(default=None, ge=1)  # programmable axes (ISO 8373 robot: 3 or more)
    hourly_cost_cny: NonNegativeFloat = 0.0
    setup_matrix_s: dict[Identifier, dict[Identifier, DurationS]] = Field(
        default_factory=dict, alias="setup_matrix"
    )
    batch_capacity: int = Field(default=1, ge=1)
    setup: SetupPolicy = "per_lot"
    """When a unit sets up: ``per_lot`` (every new lot pays its step's ``setup_time``; after
    another family the ``setup_matrix`` entry instead, when there is one) or
    ``per_family_change`` (consecutive lots of one family run without a setup, a campaign; a
    family change pays the matrix entry, else the step's ``setup_time``). A unit's first lot or
    first campaign pays its step's ``setup_time`` (its state at the start is not known). The
    plan, the twin and the capacity check all follow it."""

    @model_validator(mode="after")
    def _kind_known_or_categorised(self) -> Equipment:
        if self.kind not in KNOWN_KINDS and not self.category:
            raise ValueError(
                f"kind {self.kind!r} is not one of {sorted(KNOWN_KINDS)}: give it a category "
                "(e.g. category: thermal) so reports can group it"
            )
        return self

    @property
    def known_kind(self) -> EquipmentKind | None:
        """The kind as factoryos knows it, or None for an open-vocabulary kind."""
        return EquipmentKind(self.kind) if self.kind in KNOWN_KINDS else None

    @property
    def performance_factor(self) -> float:
        """Expected running time per second of planned run time: minor stops and speed loss."""
        return self.performance.time_factor if self.performance is not None else 1.0

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
    """One step of a routing: a skill, where it may run, how long per unit, what it loses.

    ``run_time`` is per unit (per cycle on batch equipment, see ``Equipment.batch_capacity``);
    ``setup_time`` is per lot (see ``Product.lot_size``). Working time: by default a step runs
    only inside its unit's working stretches (shifts minus breaks). A ``resumable`` step pauses at
    the end of a stretch and goes on in the next one; a step that is not resumable stays inside
    one stretch. An ``unattended`` step (a reflow oven, a burn-in, a curing step) runs through
    breaks and off-shift time once started.
    """

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
    unattended: bool = False
    rework_at: Identifier | None = None
    """Id of the equipment (a repair station) where reworked units are repaired before they
    repeat this step; none: rework repeats the step at once on the same equipment."""
    rework_time_s: DurationS = Field(default=0.0, alias="rework_time")
    """Repair time per reworked unit at ``rework_at``."""
    count_point: bool = False
    """This step's good units are the product's finished units (default: the last step)."""

    @model_validator(mode="after")
    def _rework_station_needs_a_time(self) -> Operation:
        if self.rework_at is not None and not self.rework_time_s > 0:
            raise ValueError(f"rework_at {self.rework_at!r} needs a rework_time > 0")
        return self

    def run_time_on(self, equipment_id: str) -> float:
        """Run time on one equipment, seconds: per unit, or per cycle on batch equipment."""
        return self.run_time_on_s.get(equipment_id, self.run_time_s)

    def run_time_per_unit(self, equipment: Equipment) -> float:
        """Planned run time per unit (ISO 22400 PRI) on ``equipment``, seconds: a batch
        equipment's cycle time shared by the units of a full load."""
        return self.run_time_on(equipment.id) / equipment.batch_capacity


class Product(_Frozen):
    """A product or sub-assembly made in the plant, with its routing.

    An order is made in lots of ``lot_size`` units (the last lot takes the rest): every step
    costs its setup once per lot and its run time per unit. ``transfer_batch`` units of a lot are
    passed on to the next step as soon as they are done (overlapping lots); ``None`` passes the
    whole lot when it is done. An order's ``lot_size`` column and the command line's
    ``--lot-size`` override ``lot_size`` (see ``factoryos.model.lots``).

    ``line`` binds the whole routing to one line: its steps run only on that line's equipment
    (a dedicated line for a product, though other lines have the skills too).
    """

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    family: Identifier
    value_added_cny: NonNegativeFloat = 0.0
    routing: tuple[Operation, ...] = Field(min_length=1)
    line: Identifier | None = None
    """Id of the one line whose equipment runs this routing; none: any line with the skills."""
    lot_size: int = Field(default=10, ge=1)
    transfer_batch: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _transfer_within_lot(self) -> Product:
        if self.transfer_batch is not None and self.transfer_batch > self.lot_size:
            raise ValueError(
                f"transfer_batch {self.transfer_batch} is larger than lot_size {self.lot_size}"
            )
        return self


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
    """An ISA-95 site: its time zone and the currency of every money figure of the model.

    Money fields keep their historical ``_cny`` names but hold amounts in the site's
    ``currency`` (ISO 4217, CNY by default); a site in another currency gives ``cny_per_unit``,
    the CNY value of one unit of its currency, so the programme's reports (energy per 10,000 CNY
    of value added) convert with :meth:`Plant.to_cny`. KPI reports give every money figure in CNY.
    """

    id: Identifier = Field(pattern=ID_PATTERN)
    name: str = ""
    timezone: str
    """IANA zone of the site (``Asia/Shanghai``); the YAML's clock times are local to it."""
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    cny_per_unit: PositiveFloat | None = None

    @model_validator(mode="after")
    def _rate_for_other_currencies(self) -> Site:
        if self.currency == "CNY" and self.cny_per_unit not in (None, 1.0):
            raise ValueError(f"cny_per_unit of a CNY site must be 1, got {self.cny_per_unit}")
        if self.currency != "CNY" and self.cny_per_unit is None:
            raise ValueError(
                f"currency {self.currency}: give cny_per_unit (CNY per 1 {self.currency})"
            )
        return self

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

    def to_cny(self, amount: float) -> float:
        """An amount in the site's currency, in CNY."""
        return amount * (self.site.cny_per_unit or 1.0)

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

    @cached_property
    def line_of_equipment(self) -> dict[str, str]:
        """Equipment id -> id of the line it stands in."""
        return {e.id: line.id for _, line, e in self.equipment_items()}

    def eligible_equipment(
        self, operation: Operation, product: Product | None = None
    ) -> tuple[Equipment, ...]:
        """Equipment an operation may run on: the listed ones, else all with its skill; only
        those of the product's ``line`` when the product's routing is bound to one."""
        if operation.equipment:
            found = tuple(self.equipment_by_id[e] for e in operation.equipment)
        else:
            found = tuple(e for _, _, e in self.equipment_items() if operation.skill in e.skills)
        if product is not None and product.line is not None:
            return tuple(e for e in found if self.line_of_equipment[e.id] == product.line)
        return found

    def is_in_subtree(self, path: str, node: str) -> bool:
        """Whether ``path`` is ``node`` or below it in the hierarchy."""
        return path == node or path.startswith(node.rstrip("/") + "/")

    def node_exists(self, node: str) -> bool:
        return any(self.is_in_subtree(u.path, node) for u in self.work_units)
