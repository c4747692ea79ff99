"""The ingest mapping: which source (Sparkplug metric, MQTT JSON topic, OPC UA node) feeds which
work unit, as which kind of event.

A mapping is a YAML file validated like the plant model (errors name file, line, field and value,
through :func:`factoryos.model.loader.issues_of`). A rule names one source, the ISA-95 ``path``
of the work unit and the event kind::

    sources:
      - sparkplug: {group: jiading, node: "+", device: "+", metric: state}
        path: "step_robotics/{group}/{node}/{device}"
        kind: state
        values: machinery_item_state        # or packml, factoryos, or a {value: state} map

``+`` matches any id; ``{group}``, ``{node}``, ``{device}`` (and ``{name}`` segments of an MQTT
topic template) are replaced by the matched ids in ``path``, with ``.`` turned into ``/``: Sparkplug
ids may not contain ``/``, so ``arm_station.2`` names the unit ``.../arm_station/2``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from factoryos.ingest.valuemaps import PRESETS
from factoryos.model.errors import Issue, MappingError
from factoryos.model.loader import issues_of
from factoryos.model.states import MachineState

_ID = r"[^/+#]+"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class Kind(StrEnum):
    STATE = "state"
    COUNT = "count"
    ENERGY = "energy"
    SAMPLE = "sample"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkplugSource(_Strict):
    """A metric of a Sparkplug B edge node (``device`` omitted) or of one of its devices."""

    group: str
    node: str
    device: str | None = None
    metric: str

    @field_validator("group", "node", "device")
    @classmethod
    def _sparkplug_id(cls, value: str | None) -> str | None:
        if value is not None and value != "+" and not re.fullmatch(_ID, value):
            raise ValueError(f"a Sparkplug id is '+' or has no '/', '+', '#': {value!r}")
        return value

    def placeholders(self) -> set[str]:
        return {"group", "node"} | ({"device"} if self.device is not None else set())


class MqttSource(_Strict):
    """A JSON document published on ``topic``; ``{name}`` segments are wildcards named in path.

    ``value`` and ``timestamp`` are dotted paths into the document (``$.a.b`` or ``a.b``). A
    timestamp is ISO 8601 or epoch milliseconds; one without a zone is read in ``zone`` when
    given, otherwise it is a dead letter (never guessed). ``ident``, when given, is the path of
    a message number (a publisher's sequence): two readings of one topic at one millisecond are
    then two events in that order, not one event and a duplicate.
    """

    topic: str
    value: str
    timestamp: str
    zone: str | None = None
    ident: str | None = None

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        for level in value.split("/"):
            if level in ("", "#", "+") or ("{" in level and not _PLACEHOLDER.fullmatch(level)):
                raise ValueError(f"topic levels are names or {{placeholder}}s: {value!r}")
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.topic))

    @property
    def topic_filter(self) -> str:
        return _PLACEHOLDER.sub("+", self.topic)

    def matches(self, topic: str) -> dict[str, str] | None:
        """The placeholder values when ``topic`` fits the template, else None."""
        names = self.topic.split("/")
        levels = topic.split("/")
        if len(names) != len(levels):
            return None
        found = {}
        for name, level in zip(names, levels, strict=True):
            placeholder = _PLACEHOLDER.fullmatch(name)
            if placeholder is not None:
                found[placeholder.group(1)] = level
            elif name != level:
                return None
        return found


class OpcUaSource(_Strict):
    """A variable of an OPC UA server, by node id (``ns=2;s=Line1.Cnc3.State``)."""

    node: str

    def placeholders(self) -> set[str]:
        return set()


class Rule(_Strict):
    """One source -> one work unit path and event kind."""

    sparkplug: SparkplugSource | None = None
    mqtt: MqttSource | None = None
    opcua: OpcUaSource | None = None
    path: str
    kind: Kind
    # state
    values: str | dict[str | int, MachineState] | None = None
    # count
    field: Literal["good", "scrap", "rework"] | None = None
    product: str | None = None
    product_metric: str | None = None
    order_metric: str | None = None
    operation: str | None = None
    operation_metric: str | None = None
    # count, energy
    cumulative: bool = False
    rollover: int | None = Field(default=None, gt=0)
    scale: float = Field(default=1.0, gt=0)
    # sample
    sensor: str | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        sources = [s for s in (self.sparkplug, self.mqtt, self.opcua) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one source: sparkplug, mqtt or opcua")
        unknown = set(_PLACEHOLDER.findall(self.path)) - sources[0].placeholders()
        if unknown:
            raise ValueError(f"path uses placeholders the source does not give: {sorted(unknown)}")
        if self.kind is Kind.STATE:
            if self.values is None:
                raise ValueError("a state rule needs values (a preset or a value -> state map)")
            if isinstance(self.values, str) and self.values not in PRESETS:
                raise ValueError(f"unknown value map {self.values!r}; presets: {sorted(PRESETS)}")
        elif self.values is not None:
            raise ValueError(f"values is for state rules, not {self.kind.value}")
        if self.kind is Kind.COUNT:
            if self.field is None:
                raise ValueError("a count rule needs field: good, scrap or rework")
            if (self.product is None) == (self.product_metric is None):
                raise ValueError("a count rule needs one of product or product_metric")
            if self.operation is not None and self.operation_metric is not None:
                raise ValueError("give operation or operation_metric, not both")
        if self.kind is Kind.SAMPLE and self.sensor is None:
            raise ValueError("a sample rule needs sensor")
        if self.rollover is not None and not self.cumulative:
            raise ValueError("rollover is for cumulative counters and meters")
        return self

    @property
    def source(self) -> SparkplugSource | MqttSource | OpcUaSource:
        source = self.sparkplug or self.mqtt or self.opcua
        assert source is not None  # checked by _consistent
        return source

    def value_map(self) -> dict[str, MachineState]:
        """The state value map with keys as text (``2`` and ``"2"`` are the same value)."""
        if isinstance(self.values, str):
            return PRESETS[self.values]
        return {str(k): v for k, v in (self.values or {}).items()}

    def describe(self) -> str:
        s = self.source
        if isinstance(s, SparkplugSource):
            device = f"/{s.device}" if s.device is not None else ""
            return f"spBv1.0 {s.group}/{s.node}{device} {s.metric}"
        if isinstance(s, MqttSource):
            return f"mqtt {s.topic} {s.value}"
        return f"opcua {s.node}"


class IngestMapping(_Strict):
    """A whole mapping file."""

    host_id: str = "factoryos"
    max_future_s: float | None = Field(default=300.0, gt=0)
    # Sparkplug 3.0 "Reorder Timeout": how long a message that came before its turn waits for
    # the missing ones before the gap asks for a rebirth (0: at once). Longer than an edge
    # node's MQTT reconnect delay, so that the resends after a broker restart are waited for.
    reorder_timeout_s: float = Field(default=5.0, ge=0, le=600)
    sources: list[Rule] = Field(min_length=1)


def path_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the work-unit paths a path template can resolve to."""
    parts = _PLACEHOLDER.split(template)
    regex = "".join(
        re.escape(p) if i % 2 == 0 else r"[^/]+(?:/[^/]+)*" for i, p in enumerate(parts)
    )
    return re.compile(regex)


def fill_path(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by its value, ``.`` read as ``/``."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)].replace(".", "/"), template)


def load_mapping(path: str | Path) -> IngestMapping:
    """Read and validate a mapping YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError([Issue("file", f"cannot read: {exc.strerror}", str(path))]) from exc
    return load_mapping_text(text, path.name)


def load_mapping_text(text: str, filename: str = "<mapping>") -> IngestMapping:
    """Like :func:`load_mapping`, from YAML text."""
    try:
        document: Any = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise MappingError([Issue("yaml", exc.problem or str(exc), filename, line)]) from exc
    if not isinstance(document, Mapping):
        raise MappingError([Issue("document", "expected a mapping at the top", filename, 1)])
    try:
        return IngestMapping.model_validate(dict(document))
    except ValidationError as exc:
        raise MappingError(issues_of(exc, document, filename)) from exc
