"""A mapping proposed from an OPC UA server's browsed variables (``factoryos ingest browse``).

Each variable becomes a rule. Its work unit is found in its browse path: the longest run of path
segments that is a work unit's path below the plant's root (``.../<area>/<line>/<equipment>/<n>/
State``); without a plant, or when none fits, the path is left ``TODO``. Its kind comes from its
name: ``State`` / ``Status`` / ``MachineState`` a state (values ``factoryos`` for one of our
state names, ``machinery_item_state`` for an integer), ``Good`` / ``Scrap`` / ``Rework`` a
cumulative counter (product and operation from the segments between the unit and the name when
they name them), a name with ``energy`` or ``kwh`` a cumulative meter, anything else a sensor
sample. Served by ``factoryos simulate --publish opc.tcp://``, the proposal is the twin's mapping.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

from factoryos.ingest.opcua import BrowsedVariable
from factoryos.model import Plant
from factoryos.model.states import MachineState

TODO = "TODO"
_STATES = {s.value for s in MachineState}
_STATE_NAMES = {"state", "status", "machinestate"}
_COUNT_NAMES = {"good": "good", "scrap": "scrap", "rework": "rework"}
_ENERGY = re.compile(r"energy|kwh", re.IGNORECASE)


@dataclass(frozen=True)
class Proposal:
    rules: list[dict[str, Any]]  # mapping rules; TODO where the browse could not tell
    unresolved: int  # rules with a TODO


def propose_mapping(variables: list[BrowsedVariable], plant: Plant | None) -> Proposal:
    """One rule per variable (see the module's docstring)."""
    units = _unit_paths(plant)
    rules = [_rule(v, units, plant) for v in variables]
    unresolved = sum(1 for r in rules if TODO in _texts(r))
    return Proposal(rules, unresolved)


def _unit_paths(plant: Plant | None) -> dict[tuple[str, ...], str]:
    """Work units by their path segments below the plant's root."""
    if plant is None:
        return {}
    root = plant.root_path.rstrip("/") + "/"
    return {tuple(u.path.removeprefix(root).split("/")): u.path for u in plant.work_units}


def _find_unit(
    segments: list[str], units: dict[tuple[str, ...], str]
) -> tuple[str, list[str]] | None:
    """The work unit whose path is the longest run of ``segments`` (the variable's name not
    included), and the segments after it."""
    best: tuple[int, str, list[str]] | None = None
    for start in range(len(segments)):
        for end in range(len(segments) - 1, start, -1):
            path = units.get(tuple(segments[start:end]))
            if path is not None and (best is None or end - start > best[0]):
                best = (end - start, path, segments[end:])
                break
    return None if best is None else (best[1], best[2])


def _rule(
    v: BrowsedVariable, units: dict[tuple[str, ...], str], plant: Plant | None
) -> dict[str, Any]:
    segments = v.path.split("/")
    name = segments[-1]
    found = _find_unit(segments, units)
    path, between = (found[0], found[1][:-1]) if found else (TODO, [])
    rule: dict[str, Any] = {"opcua": {"node": v.node_id}, "path": path}
    key = name.lower()
    if key in _STATE_NAMES:
        rule["kind"] = "state"
        rule["values"] = _value_map(v)
    elif key in _COUNT_NAMES:
        rule["kind"] = "count"
        rule["field"] = _COUNT_NAMES[key]
        product, operation = _product_operation(between, plant)
        rule["product"] = product
        if operation is not None:
            rule["operation"] = operation
        rule["cumulative"] = True
    elif _ENERGY.search(name):
        rule["kind"] = "energy"
        rule["cumulative"] = True
    else:
        rule["kind"] = "sample"
        rule["sensor"] = name
    return rule


def _value_map(v: BrowsedVariable) -> str:
    value = v.value.strip("'\"")
    if v.data_type == "String" and value in _STATES:
        return "factoryos"
    if v.data_type in ("Int16", "Int32", "UInt16", "UInt32", "Byte", "SByte"):
        return "machinery_item_state"
    return TODO


def _product_operation(between: list[str], plant: Plant | None) -> tuple[str, str | None]:
    """Product and operation named by the segments between the unit and the counter."""
    if plant is None:
        return TODO, None
    for i, segment in enumerate(between):
        product = plant.product_by_id.get(segment)
        if product is None:
            continue
        ops = {op.id for op in product.routing}
        rest = [s for s in between[i + 1 :] if s in ops]
        return product.id, (rest[0] if rest else None)
    return TODO, None


def _texts(rule: dict[str, Any]) -> list[str]:
    return [str(x) for x in rule.values() if not isinstance(x, dict)]


def proposal_yaml(proposal: Proposal, url: str) -> str:
    """The proposal as a mapping file's text."""
    out = io.StringIO()
    out.write(f"# proposed by factoryos ingest browse {url}")
    if proposal.unresolved:
        out.write(f"; fill in the {proposal.unresolved} rule(s) with {TODO}")
    out.write(
        "\n# an accelerated twin (simulate --speed) runs ahead of the clock: max_future_s: null\n"
    )
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.width = 4096
    yaml.dump({"sources": proposal.rules}, out)
    return out.getvalue()


__all__ = ["TODO", "Proposal", "proposal_yaml", "propose_mapping"]
