"""Cross-reference checks of a plant model that field-by-field validation cannot see.

Each problem is reported with the location of the offending field (a tuple of keys and indices into
the YAML document), so the loader can point at its line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from factoryos.model.plant import Plant

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    loc: Loc
    message: str


def format_loc(loc: Loc) -> str:
    """``('areas', 0, 'lines')`` -> ``areas[0].lines``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_plant(plant: Plant) -> list[Finding]:
    """Every cross-reference problem of ``plant``; an empty list means it is consistent."""
    return [
        *_check_ids(plant),
        *_check_calendars(plant),
        *_check_equipment(plant),
        *_check_routings(plant),
        *_check_components(plant),
        *_check_maintenance(plant),
    ]


def _duplicates(ids: list[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def _check_ids(plant: Plant) -> list[Finding]:
    found = []
    lines = [
        (a, li, line.id) for a, area in enumerate(plant.areas) for li, line in enumerate(area.lines)
    ]
    for dup in _duplicates([x[2] for x in lines]):
        a, li, _ = next(x for x in lines if x[2] == dup)
        found.append(Finding(("areas", a, "lines", li, "id"), f"duplicate line id {dup!r}"))
    equipment = [
        (a, li, e, eq.id)
        for a, area in enumerate(plant.areas)
        for li, line in enumerate(area.lines)
        for e, eq in enumerate(line.equipment)
    ]
    for dup in _duplicates([x[3] for x in equipment]):
        a, li, e, _ = [x for x in equipment if x[3] == dup][1]
        loc: Loc = ("areas", a, "lines", li, "equipment", e, "id")
        found.append(Finding(loc, f"duplicate equipment id {dup!r}"))
    found += _duplicate_items("areas", [a.id for a in plant.areas], "area")
    found += _duplicate_items("products", [p.id for p in plant.products], "product")
    for p, product in enumerate(plant.products):
        for dup in _duplicates([o.id for o in product.routing]):
            found.append(Finding(("products", p, "routing"), f"duplicate operation id {dup!r}"))
    return found


def _duplicate_items(field: str, ids: list[str], what: str) -> list[Finding]:
    """Point at the second occurrence of each repeated id of a top-level list."""
    found, seen = [], set()
    for i, item_id in enumerate(ids):
        if item_id in seen:
            found.append(Finding((field, i, "id"), f"duplicate {what} id {item_id!r}"))
        seen.add(item_id)
    return found


def _check_calendars(plant: Plant) -> list[Finding]:
    found = []
    if plant.default_calendar not in plant.calendars:
        found.append(Finding(("default_calendar",), f"unknown calendar {plant.default_calendar!r}"))
    for a, area in enumerate(plant.areas):
        for li, line in enumerate(area.lines):
            if line.calendar is not None and line.calendar not in plant.calendars:
                loc: Loc = ("areas", a, "lines", li, "calendar")
                found.append(Finding(loc, f"unknown calendar {line.calendar!r}"))
    return found


def _check_equipment(plant: Plant) -> list[Finding]:
    found = []
    skills = set(plant.skills)
    families = {p.family for p in plant.products}
    for a, area in enumerate(plant.areas):
        for li, line in enumerate(area.lines):
            for e, eq in enumerate(line.equipment):
                base: Loc = ("areas", a, "lines", li, "equipment", e)
                for s, skill in enumerate(eq.skills):
                    if skill not in skills:
                        found.append(Finding((*base, "skills", s), f"unknown skill {skill!r}"))
                for src, row in eq.setup_matrix_s.items():
                    for fam in (src, *row):
                        if fam not in families:
                            found.append(
                                Finding((*base, "setup_matrix"), f"unknown product family {fam!r}")
                            )
    return found


def _check_line_binding(plant: Plant, p: int, o: int, eligible: set[str]) -> list[Finding]:
    """A routing bound to a line needs, for each step, eligible equipment in that line."""
    product = plant.products[p]
    if product.line is None:
        return []
    lines = {line.id for _, line in plant.lines()}
    if product.line not in lines:
        if o > 0:
            return []  # reported once, at the first step
        return [Finding(("products", p, "line"), f"unknown line {product.line!r}")]
    if eligible and not any(plant.line_of_equipment.get(e) == product.line for e in eligible):
        step = product.routing[o].id
        return [
            Finding(
                ("products", p, "line"),
                f"step {step!r} has no eligible equipment in line {product.line!r}",
            )
        ]
    return []


def _check_routings(plant: Plant) -> list[Finding]:
    found = []
    skills = set(plant.skills)
    by_id = plant.equipment_by_id
    for p, product in enumerate(plant.products):
        marked = [o for o, op in enumerate(product.routing) if op.count_point]
        for o in marked[1:]:
            found.append(
                Finding(
                    ("products", p, "routing", o, "count_point"),
                    f"a second count point in the routing of {product.id!r} (the first is step "
                    f"{product.routing[marked[0]].id!r}): a product is counted once",
                )
            )
        for o, op in enumerate(product.routing):
            base: Loc = ("products", p, "routing", o)
            if op.skill not in skills:
                found.append(Finding((*base, "skill"), f"unknown skill {op.skill!r}"))
                continue
            for e, eq_id in enumerate(op.equipment):
                if eq_id not in by_id:
                    found.append(Finding((*base, "equipment", e), f"unknown equipment {eq_id!r}"))
                elif op.skill not in by_id[eq_id].skills:
                    found.append(
                        Finding(
                            (*base, "equipment", e),
                            f"equipment {eq_id!r} lacks skill {op.skill!r}",
                        )
                    )
            # Filter listed ids before lookup: eligible_equipment raises on unknown ones.
            eligible = (
                {e for e in op.equipment if e in by_id}
                if op.equipment
                else {eq.id for eq in plant.eligible_equipment(op)}
            )
            if not op.equipment and not eligible:
                found.append(Finding((*base, "skill"), f"no equipment has skill {op.skill!r}"))
            found += _check_line_binding(plant, p, o, eligible)
            if op.rework_at is not None and op.rework_at not in by_id:
                found.append(Finding((*base, "rework_at"), f"unknown equipment {op.rework_at!r}"))
            for eq_id in op.run_time_on_s:
                if eq_id not in eligible:
                    found.append(
                        Finding(
                            (*base, "run_time_on"),
                            f"equipment {eq_id!r} is not eligible for this operation",
                        )
                    )
    return found


def _check_components(plant: Plant) -> list[Finding]:
    found = []
    products = plant.product_by_id
    graph: dict[str, list[str]] = {p.id: [] for p in plant.products}
    for p, product in enumerate(plant.products):
        for o, op in enumerate(product.routing):
            for c, comp in enumerate(op.consumes):
                loc: Loc = ("products", p, "routing", o, "consumes", c, "product")
                if comp.product not in products:
                    found.append(Finding(loc, f"unknown product {comp.product!r}"))
                else:
                    graph[product.id].append(comp.product)
    if len(graph) < len(plant.products):
        return found  # duplicate product ids are reported on their own; the graph is ambiguous
    cycle = _find_cycle(graph)
    if cycle:
        p = next(i for i, prod in enumerate(plant.products) if prod.id == cycle[0])
        found.append(Finding(("products", p, "routing"), "cyclic routing: " + " -> ".join(cycle)))
    return found


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """A cycle in the product-consumes graph as a list of ids, or [] when there is none."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        colour[node] = GREY
        stack.append(node)
        for nxt in graph.get(node, []):
            if colour.get(nxt) == GREY:
                return [*stack[stack.index(nxt) :], nxt]
            if colour.get(nxt) == WHITE:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return []

    for node in graph:
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def _check_maintenance(plant: Plant) -> list[Finding]:
    found = []
    for w, window in enumerate(plant.maintenance):
        for e, eq_id in enumerate(window.equipment):
            if eq_id not in plant.equipment_by_id:
                loc: Loc = ("maintenance", w, "equipment", e)
                found.append(Finding(loc, f"unknown equipment {eq_id!r}"))
    return found
