"""The GB/T 39116 capability maturity model as data: elements, domains, sub-domains, levels and
the requirements per level and sub-domain, loaded from YAML shipped with the package.

The structure follows the standard (4 elements, 12 domains, 20 sub-domains, 5 levels); the
requirement texts are factoryos's own wording (``data/gbt39116.yaml`` says why and how).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from factoryos.model.errors import AssessmentError

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
SCORES: tuple[float, ...] = (1.0, 0.8, 0.5, 0.0)
"""GB/T 39117 degree of satisfaction: fully / mostly / partly / not met."""


class ManufacturingType(StrEnum):
    """Which sub-domain set a manufacturer is assessed on (GB/T 39116 discrete vs process)."""

    DISCRETE = "discrete"
    PROCESS = "process"


@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str

    def in_(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True, slots=True)
class Requirement:
    """One maturity requirement of a sub-domain at a level; ``probe`` names the platform
    measurement that can score it (None: self-assessed only)."""

    id: str
    sub_domain: str
    level: int
    text: Text
    probe: str | None = None


@dataclass(frozen=True, slots=True)
class SubDomain:
    id: str
    name: Text
    domain: str
    element: str
    requirements: tuple[Requirement, ...]

    def at(self, level: int) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.level == level)


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    name: Text
    summary: Text


@dataclass(frozen=True, slots=True)
class Threshold:
    at_least: float
    score: float


@dataclass(frozen=True, slots=True)
class MaturityModel:
    """The whole model plus the weights in force (relative, per manufacturing type)."""

    name: str
    source: str
    levels: tuple[Level, ...]
    elements: dict[str, Text]
    domains: dict[str, Text]
    sub_domains: tuple[SubDomain, ...]
    excluded: dict[ManufacturingType, frozenset[str]]
    probe_thresholds: tuple[Threshold, ...]
    weights: dict[ManufacturingType, dict[str, float]]
    weights_source: str

    @property
    def requirements(self) -> dict[str, Requirement]:
        return {r.id: r for s in self.sub_domains for r in s.requirements}

    def applicable(self, kind: ManufacturingType) -> tuple[SubDomain, ...]:
        return tuple(s for s in self.sub_domains if s.id not in self.excluded[kind])

    def with_weights(self, path: str | Path) -> MaturityModel:
        """This model with a programme's own weights file laid over the shipped weights."""
        data, lines = read_yaml(Path(path))
        weights, source = _parse_weights(data, lines, str(path), self)
        merged = {k: {**self.weights[k], **weights.get(k, {})} for k in ManufacturingType}
        return _replace_weights(self, merged, source)


def _replace_weights(
    model: MaturityModel, weights: dict[ManufacturingType, dict[str, float]], source: str
) -> MaturityModel:
    return replace(model, weights=weights, weights_source=source)


@cache
def load_model() -> MaturityModel:
    """The shipped model with the shipped (equal, assumed) weights."""
    folder = resources.files("factoryos.assess") / "data"
    data = YAML(typ="safe").load(folder.joinpath("gbt39116.yaml").read_text("utf-8"))
    weights_doc = YAML(typ="safe").load(folder.joinpath("weights.yaml").read_text("utf-8"))
    return _build(data, weights_doc)


def _build(data: Mapping[str, Any], weights_doc: Mapping[str, Any]) -> MaturityModel:
    elements: dict[str, Text] = {}
    domains: dict[str, Text] = {}
    subs: list[SubDomain] = []
    for element in data["elements"]:
        elements[element["id"]] = Text(element["zh"], element["en"])
        for domain in element["domains"]:
            domains[domain["id"]] = Text(domain["zh"], domain["en"])
            for sub in domain["sub_domains"]:
                reqs = tuple(
                    Requirement(
                        id=f"{sub['id']}.L{level}.{n}",
                        sub_domain=sub["id"],
                        level=int(level),
                        text=Text(item["zh"], item["en"]),
                        probe=item.get("probe"),
                    )
                    for level, items in sorted(sub["requirements"].items())
                    for n, item in enumerate(items, start=1)
                )
                subs.append(
                    SubDomain(
                        sub["id"], Text(sub["zh"], sub["en"]), domain["id"], element["id"], reqs
                    )
                )
    model = MaturityModel(
        name=data["name"],
        source=" ".join(str(data["source"]).split()),
        levels=tuple(
            Level(v["level"], Text(v["zh"], v["en"]), Text(v["summary_zh"], v["summary_en"]))
            for v in data["levels"]
        ),
        elements=elements,
        domains=domains,
        sub_domains=tuple(subs),
        excluded={
            kind: frozenset(data["sets"][kind.value].get("exclude", ()))
            for kind in ManufacturingType
        },
        probe_thresholds=tuple(
            Threshold(float(t["at_least"]), float(t["score"])) for t in data["probes"]["thresholds"]
        ),
        weights={},
        weights_source="",
    )
    weights, source = _parse_weights(weights_doc, {}, "weights.yaml", model)
    return _replace_weights(model, weights, source)


def _parse_weights(
    data: Any, lines: Mapping[str, int], file: str, model: MaturityModel
) -> tuple[dict[ManufacturingType, dict[str, float]], str]:
    if not isinstance(data, Mapping):
        raise AssessmentError("expected a mapping at the top", file=file, line=1)
    known = {s.id for s in model.sub_domains}
    out: dict[ManufacturingType, dict[str, float]] = {}
    for key, table in data.items():
        if key == "source":
            continue
        try:
            kind = ManufacturingType(key)
        except ValueError:
            raise AssessmentError(
                "expected 'source', 'discrete' or 'process'",
                file=file,
                line=lines.get(key),
                item=key,
            ) from None
        weights: dict[str, float] = {}
        for sub, value in (table or {}).items():
            line = lines.get(f"{key}.{sub}")
            if sub not in known:
                raise AssessmentError("unknown sub-domain", file=file, line=line, item=sub)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise AssessmentError(
                    f"weight {value!r} is not a non-negative number", file=file, line=line, item=sub
                )
            weights[sub] = float(value)
        out[kind] = weights
    return out, str(data.get("source") or f"weights from {file}")


def read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """A YAML file and the 1-based line of each key (``a.b`` for nested keys)."""
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssessmentError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise AssessmentError(f"not YAML: {exc}", file=str(path), line=line) from exc
    return doc, key_lines(doc)


def key_lines(doc: Any, prefix: str = "") -> dict[str, int]:
    """Lines of the keys of a round-trip-loaded mapping, nested keys joined with dots."""
    lines: dict[str, int] = {}
    if not isinstance(doc, CommentedMap):
        return lines
    for key, value in doc.items():
        name = f"{prefix}{key}"
        lines[name] = doc.lc.key(key)[0] + 1
        lines.update(key_lines(value, name + "."))
    return lines
