"""Load a plant model from YAML with errors that point at file, line and field.

ruamel.yaml keeps the line of every key and list item, so a pydantic error location such as
``('areas', 2, 'lines', 0, 'equipment', 1, 'skills', 0)`` becomes ``robot_factory.yaml:42``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from factoryos.model.checks import Loc, check_plant, format_loc
from factoryos.model.errors import Issue, PlantModelError
from factoryos.model.plant import Plant

# Fields a plant must state because any default would be a silent guess about the plant.
NO_DEFAULT = {
    "timezone": "give the site's IANA time zone, e.g. timezone: Asia/Shanghai",
    "days": "give the weekdays the shift starts on, e.g. days: [mon, tue, wed, thu, fri]",
}


def load_plant(path: str | Path, overlay: Mapping[str, Any] | None = None) -> Plant:
    """Read, validate and cross-check a plant YAML file; ``overlay`` is deep-merged first."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlantModelError([Issue("file", f"cannot read: {exc.strerror}", str(path))]) from exc
    return load_plant_text(text, filename=path.name, overlay=overlay)


def load_plant_text(
    text: str, filename: str = "<plant>", overlay: Mapping[str, Any] | None = None
) -> Plant:
    """Like :func:`load_plant`, from YAML text."""
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise PlantModelError([Issue("yaml", problem, filename, line)]) from exc
    if not isinstance(document, Mapping):
        raise PlantModelError([Issue("document", "expected a mapping at the top", filename, 1)])
    data = deep_merge(document, overlay) if overlay else document
    return validate_plant(data, filename)


def validate_plant(data: Mapping[str, Any], filename: str = "<plant>") -> Plant:
    """Validate parsed YAML (a mapping) into a consistent :class:`Plant`."""
    try:
        plant = Plant.model_validate(dict(data))
    except ValidationError as exc:
        raise PlantModelError(issues_of(exc, data, filename)) from exc
    findings = check_plant(plant)
    if findings:
        raise PlantModelError(
            [Issue(format_loc(f.loc), f.message, filename, line_of(data, f.loc)) for f in findings]
        )
    return plant


def issues_of(exc: ValidationError, data: Mapping[str, Any], filename: str) -> list[Issue]:
    """The errors of a pydantic validation of ``data`` (a ruamel document) as issues with lines."""
    errors = exc.errors()
    locs = [_data_loc(data, err["loc"]) for err in errors]
    issues = []
    for err, loc in zip(errors, locs, strict=True):
        # A list that failed because its items failed adds nothing to the items' own errors.
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue
        value = err.get("input")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing" and loc and loc[-1] in NO_DEFAULT:
            message = f"required, there is no default: {NO_DEFAULT[str(loc[-1])]}"
        elif (
            err["type"] != "missing"
            and not isinstance(value, Mapping | list)
            and repr(value) not in message
        ):
            message = f"{message} (got {value!r})"
        issues.append(Issue(format_loc(loc), message, filename, line_of(data, loc)))
    return issues


def _data_loc(data: Any, loc: tuple[int | str, ...]) -> Loc:
    """Drop the parts of a pydantic location that are not in the document (union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        found, child = _child(node, part)
        if found:
            out.append(part)
            node = child
        elif isinstance(node, Mapping) and isinstance(part, str) and "[" not in part:
            # A missing or unknown key: keep it for the message, the line is its parent's.
            out.append(part)
            node = None
    return tuple(out)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(node, Mapping) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def line_of(data: Any, loc: Loc) -> int | None:
    """1-based line of the deepest part of ``loc`` found in a ruamel document."""
    line: int | None = None
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            if line is None and isinstance(node, CommentedMap | CommentedSeq):
                line = node.lc.line + 1
            break
    return line


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: mappings merge key by key, anything else replaces.

    Lists of mappings with ``id`` keys merge by id, so a scenario can change one line's equipment
    without repeating the rest; other lists replace. A distribution (a mapping with ``dist``)
    replaces whole: its fields depend on its kind, so a fitted Weibull over a modelled
    exponential must not keep the exponential's ``mean``.
    """
    merged: dict[str, Any] = dict(base)
    for key, value in overlay.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping) and "dist" not in value:
            merged[key] = deep_merge(old, value)
        elif isinstance(old, list) and _is_id_list(old) and _is_id_list(value):
            by_id = {item["id"]: item for item in old}
            for item in value:
                by_id[item["id"]] = (
                    deep_merge(by_id[item["id"]], item) if item["id"] in by_id else item
                )
            merged[key] = list(by_id.values())
        else:
            merged[key] = value
    return merged


def _is_id_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, Mapping) and "id" in i for i in value)
