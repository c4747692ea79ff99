"""The model reference, ``docs/model.md``, generated from the Pydantic plant model.

Every section is a model class reachable from :class:`~factoryos.model.plant.Plant`; every row a
field with its YAML key, type, unit, default, meaning and an example taken from the example plants.
Meanings come from the field's docstring or trailing comment in the code, else from
``reference_notes.NOTES``; fields no example plant uses take their example from
``reference_notes.EXAMPLES``. A test fails when ``docs/model.md`` drifts::

    python -m factoryos.model.reference --write docs/model.md   # regenerate
    python -m factoryos.model.reference --check docs/model.md   # exit 1 when it drifted
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import enum
import inspect
import io
import re
import sys
import tokenize
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML

from factoryos.model.plant import ID_PATTERN, Plant
from factoryos.model.quantities import DurationS, PowerKW
from factoryos.model.reference_notes import EXAMPLES as FALLBACK_EXAMPLES
from factoryos.model.reference_notes import INTRO, NOTES

__all__ = ["FieldDoc", "field_docs", "main", "model_classes", "render"]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
# The quantity types are Annotated aliases: known by the identity of their validator.
_QUANTITIES = {
    id(typing.get_args(DurationS)[1]): ("duration", "s; or `90 s`, `5 min`, `1.5 h`"),
    id(typing.get_args(PowerKW)[1]): ("power", "kW; or `800 W`, `22 kW`"),
}
# Units of plain numbers, by the field's name (the house style puts units in names).
_NAME_UNITS = (
    ("_cny_per_kwh", "currency/kWh"),
    ("_cny_per_h", "currency/h"),
    ("_cny", "site currency"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_rate", "fraction (0.02 = 2 %)"),
    ("_s", "s"),
    ("_h", "h"),
)
_EXAMPLE_WIDTH = 60


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One row of the reference."""

    key: str
    type: str
    unit: str
    default: str
    meaning: str
    example: str


def model_classes(root: type[BaseModel] = Plant) -> list[type[BaseModel]]:
    """``root`` and every model class reachable from its fields, in order of first use."""
    seen: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(root)
    return seen


def field_docs(cls: type[BaseModel], examples: Mapping[str, str]) -> list[FieldDoc]:
    """The rows of one class; ``examples`` maps YAML keys to example values."""
    described = _code_descriptions(cls)
    rows = []
    for name, info in cls.model_fields.items():
        key = info.alias or name
        type_text, unit = _type_and_unit(info.annotation, info)
        if not unit:
            unit = next((u for suffix, u in _NAME_UNITS if name.endswith(suffix)), "")
        meaning = described.get(name) or NOTES.get(f"{cls.__name__}.{name}", "")
        example = examples.get(key) or FALLBACK_EXAMPLES.get(f"{cls.__name__}.{name}", "")
        rows.append(FieldDoc(key, type_text, unit, _default(info), meaning, example))
    return rows


def render(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """The whole reference as Markdown; ``documents`` are (file name, parsed example plant)."""
    found: dict[type[BaseModel], dict[str, str]] = {}
    for _, data in documents:
        _collect_examples(Plant, data, found)
    out = [INTRO.strip(), ""]
    if documents:
        names = ", ".join(f"`examples/{name}`" for name, _ in documents)
        out += [f"Examples are taken from {names}.", ""]
    classes = model_classes()
    out += ["## Contents", ""]
    out += [f"- [{c.__name__}](#{c.__name__.lower()})" for c in classes]
    for cls in classes:
        out += ["", f"## {cls.__name__}", ""]
        doc = inspect.cleandoc(cls.__doc__ or "")
        if doc and not doc.startswith(f"{cls.__name__}("):  # pydantic's generated signature
            # reStructuredText roles and literals as Markdown code
            out += [re.sub(r":\w+:`([^`]+)`", r"`\1`", doc.replace("``", "`")), ""]
        out += [
            "| key | type | unit | default | meaning | example |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in field_docs(cls, found.get(cls, {})):
            cells = (
                f"`{row.key}`",
                row.type,
                row.unit,
                row.default,
                row.meaning,
                f"`{row.example}`" if row.example else "",
            )
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# -- types, units, defaults ------------------------------------------------------------------------


def _type_and_unit(annotation: Any, info: FieldInfo | None = None) -> tuple[str, str]:
    """A reader's name for a field type, and its unit when the type carries one."""
    metadata = list(info.metadata) if info is not None else []
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        metadata += list(annotation.__metadata__)
        annotation, origin, args = args[0], typing.get_origin(args[0]), typing.get_args(args[0])
    for item in metadata:
        if id(item) in _QUANTITIES:
            name, unit = _QUANTITIES[id(item)]
            return name + _constraints(metadata), unit
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        parts = [_type_and_unit(a) for a in options]
        text = " or ".join(p[0] for p in parts) + _constraints(metadata)
        if len(options) < len(args):
            text += " or null"
        return text, next((p[1] for p in parts if p[1]), "")
    if origin is tuple:
        inner, unit = _type_and_unit(args[0])
        return f"list of {inner}{_constraints(metadata)}", unit
    if origin is dict:
        key, _ = _type_and_unit(args[0])
        value, unit = _type_and_unit(args[1])
        return f"map of {key} to {value}{_constraints(metadata)}", unit
    if origin is typing.Literal:
        return "`" + "`, `".join(str(a) for a in args) + "`", ""
    return _scalar(annotation, metadata), ""


def _scalar(annotation: Any, metadata: list[Any]) -> str:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    names = {
        bool: "true/false",
        int: "integer",
        float: "number",
        dt.time: "clock time `HH:MM`",
        dt.date: "date `YYYY-MM-DD`",
        dt.datetime: "date-time with offset",
    }
    if annotation is str:
        patterned = any(getattr(m, "pattern", None) == ID_PATTERN for m in metadata)
        return ("identifier" if patterned else "text") + _constraints(metadata)
    return names.get(annotation, getattr(annotation, "__name__", str(annotation))) + _constraints(
        metadata
    )


def _constraints(metadata: list[Any]) -> str:
    bounds = []
    for item in metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                bounds.append(f"{sign} {value:g}")
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            bounds.append(f"at least {item.min_length}")
        pattern = getattr(item, "pattern", None)
        if pattern and pattern != ID_PATTERN:
            bounds.append(f"matching `{pattern}`")
    return f" ({', '.join(bounds)})" if bounds else ""


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        return "empty"
    value = info.default
    if value is None:
        return "none"
    if value == ():
        return "empty"
    return f"`{_flow(value)}`"


# -- meanings from the code ------------------------------------------------------------------------


def _code_descriptions(cls: type[BaseModel]) -> dict[str, str]:
    """Each field's docstring (the string after it) or trailing ``#`` comment in ``cls``."""
    source = inspect.cleandoc("\n" + inspect.getsource(cls))
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    out: dict[str, str] = {}
    for node, after in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            out[node.target.id] = inspect.cleandoc(after.value.value).replace("``", "`")
        elif (node.end_lineno or node.lineno) in comments:
            out[node.target.id] = comments[node.end_lineno or node.lineno]
    return out


# -- examples from the example plants --------------------------------------------------------------


def _collect_examples(
    cls: type[BaseModel], data: Any, found: dict[type[BaseModel], dict[str, str]]
) -> None:
    """Walk a parsed plant along the model; keep the first value seen for each class's keys."""
    if not isinstance(data, Mapping):
        return
    mine = found.setdefault(cls, {})
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key not in data:
            continue
        value = data[key]
        models = _models_in(info.annotation)
        if not models or not isinstance(value, Mapping | list):
            # a structure of models has no example of its own: its section shows its fields
            mine.setdefault(key, _example(value))
        for model in models:
            for item in _items(value, info.annotation):
                if _fits(model, item):
                    _collect_examples(model, item, found)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _items(value: Any, annotation: Any) -> list[Any]:
    """The values of a field that are models: the value, a list's items or a map's values."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _items(value, typing.get_args(annotation)[0])
    if origin is tuple and isinstance(value, list):
        return list(value)
    if origin is dict and isinstance(value, Mapping):
        return list(value.values())
    return [value]


def _fits(model: type[BaseModel], data: Any) -> bool:
    """Whether ``data`` is written for ``model``: all its keys are the model's (union members)."""
    if not isinstance(data, Mapping):
        return False
    keys = {info.alias or name for name, info in model.model_fields.items()}
    return set(data) <= keys


def _example(value: Any) -> str:
    text = _flow(value)
    return text if len(text) <= _EXAMPLE_WIDTH else text[: _EXAMPLE_WIDTH - 1] + "…"


def _flow(value: Any) -> str:
    """A value as YAML flow style, the way the examples write it."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return f'"{value:%H:%M}"'
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    special = not text or text[0] in "&*!|>'\"%@`" or text != text.strip()
    special = special or any(c in text for c in ",:[]{}#")
    return f'"{text}"' if special or _is_clock(text) else text


def _is_clock(text: str) -> bool:
    return len(text) == 5 and text[2] == ":" and text.replace(":", "").isdigit()


# -- command line ----------------------------------------------------------------------------------


def _example_documents(folder: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """The example plants of ``folder`` (YAML files with an ``enterprise``), by file name."""
    yaml = YAML(typ="safe")
    out = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"))
        if isinstance(data, Mapping) and "enterprise" in data:
            out.append((path.name, data))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print, write or check the model reference."""
    parser = argparse.ArgumentParser(prog="python -m factoryos.model.reference")
    parser.add_argument("--write", type=Path, help="write the reference to this file")
    parser.add_argument("--check", type=Path, help="exit 1 when this file differs")
    parser.add_argument("--examples", type=Path, default=EXAMPLES, help="example plants folder")
    args = parser.parse_args(argv)
    text = render(_example_documents(args.examples))
    if args.check is not None:
        if not args.check.is_file() or args.check.read_text(encoding="utf-8") != text:
            print(
                f"{args.check} is out of date: run python -m factoryos.model.reference "
                f"--write {args.check}",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.write is not None:
        args.write.write_text(text, encoding="utf-8")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
