"""The one exception tree of factoryos.

    FactoryosError
     +-- PlantModelError        a plant YAML that is malformed or inconsistent (file, line, field)
     +-- EventError             an event that breaks the canonical schema (event id, field)
     +-- StoreError             a storage backend failed (re-raised from the driver's error)
     +-- ScheduleError          no feasible plan, or a plan that breaks a constraint
     +-- SimulationError        the twin cannot run the model as given
     +-- AssessmentError        a bad maturity answer, weight, KPI document or gains window
     +-- MappingError           an ingest mapping file that is malformed or inconsistent
     +-- IngestError            a live source (MQTT broker, OPC UA server) failed

Adapters catch their library's exceptions and re-raise one of these ``from exc``; messages quote
the offending value so that a user can find and fix it without a debugger.
"""

from __future__ import annotations

from dataclasses import dataclass


class FactoryosError(Exception):
    """Base of every error factoryos raises on purpose."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a plant model: where it is and what is wrong."""

    field: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.field}: {self.message}"


class PlantModelError(FactoryosError):
    """A plant model failed to load or validate; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class EventError(FactoryosError):
    """An event breaks the canonical schema or refers to something the plant does not have."""

    def __init__(self, message: str, *, event_id: str | None = None, field: str | None = None):
        self.event_id = event_id
        self.field = field
        prefix = f"event {event_id!r}: " if event_id else ""
        super().__init__(f"{prefix}{field + ': ' if field else ''}{message}")


class StoreError(FactoryosError):
    """A storage backend could not do what was asked."""


class ScheduleError(FactoryosError):
    """The scheduler found no plan, or a plan breaks a constraint."""


class SimulationError(FactoryosError):
    """The digital twin cannot execute the model as given."""


class AssessmentError(FactoryosError):
    """An assessment input is wrong: an answers or weights file, a KPI document, a window.

    ``file``, ``line`` and ``item`` say where (any may be None when it does not apply)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        item: str | None = None,
    ) -> None:
        self.file, self.line, self.item = file, line, item
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        what = f"{item}: " if item else ""
        super().__init__(f"{where}{what}{message}")


class ParameterError(FactoryosError):
    """A bad request parameter: names the field and the value (the API answers 422)."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}={value!r}: {message}")


class AccessError(FactoryosError):
    """Not signed in, or not allowed to do this (the API answers 401 or 403)."""


class MappingError(PlantModelError):
    """An ingest mapping (sources -> work units) failed to load or validate; lists ``issues``."""


class IngestError(FactoryosError):
    """A live source could not be reached or spoke something other than what was agreed."""


class ReliabilityError(FactoryosError):
    """Failure models or risk cannot be estimated as asked: too little data, a bad input file."""
