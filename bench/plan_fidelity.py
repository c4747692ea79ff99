"""How far a followed plan's on-time count is from the plan's, with losses switched off one by one.

    python bench/plan_fidelity.py PLANT ORDERS schedule.json CONDITIONS [REPLICATIONS]

CONDITIONS is a comma list applied to a copy of PLANT: ``nofail`` (no failure models),
``norework`` / ``noscrap`` (rates 0), ``nobuf`` (no line input buffers), ``nobuf_<line>`` (one
line's), ``all`` (the model as it is). Prints the plan's on-time orders and total tardiness next to
the twin's (dispatch rule ``plan``), mean over the replications (docs/reliability.md, issue 17).
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from factoryos.app.robustness import _window
from factoryos.app.simulation import read_orders_file
from factoryos.model import load_plant
from factoryos.simulate.replicate import RunSpec
from factoryos.simulate.twin import DispatchRule


def _variant(plant: Path, conds: list[str]) -> Path:
    yaml = YAML()
    doc = yaml.load(plant.read_text(encoding="utf-8"))
    for area in doc["areas"]:
        for line in area["lines"]:
            if "nobuf" in conds or f"nobuf_{line['id']}" in conds:
                line.pop("input_buffer", None)
            for eq in line["equipment"]:
                if "nofail" in conds:
                    eq.pop("failure", None)
    for product in doc["products"]:
        for step in product["routing"]:
            if "norework" in conds:
                step["rework_rate"] = 0.0
            if "noscrap" in conds:
                step["scrap_rate"] = 0.0
    buf = io.StringIO()
    yaml.dump(doc, buf)
    out = Path(tempfile.mkdtemp()) / plant.name
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


def main(plant: str, orders: str, plan: str, conditions: str, replications: str = "1") -> None:
    conds = conditions.split(",")
    model = load_plant(_variant(Path(plant), conds))
    start, horizon_s, [(_, schedule)] = _window(Path(orders), [Path(plan)])
    book = tuple(read_orders_file(Path(orders), start))
    due = {o.order_id: o.due_s for o in book}
    planned: dict[str, float] = {}
    for op in schedule.operations:
        end = (op.end - start).total_seconds()
        planned[op.order_id] = max(planned.get(op.order_id, 0.0), end)
    plan_on_time = sum(end <= due[o] for o, end in planned.items())
    plan_late_h = sum(max(0.0, end - due[o]) for o, end in planned.items()) / 3600
    spec = RunSpec(model, book, start, horizon_s, 1, DispatchRule.PLAN, schedule)
    on_time, late_h = [], []
    for r in range(int(replications)):
        twin = spec.twin(r)
        twin.run()
        done = {o.spec.order_id: o.finished_s for o in twin.orders}
        ends = {o.order_id: done.get(o.order_id) for o in book}
        on_time.append(sum(e is not None and e <= due[o] for o, e in ends.items()))
        late_h.append(
            sum(max(0.0, (horizon_s if e is None else e) - due[o]) for o, e in ends.items()) / 3600
        )
    print(
        f"{conditions}: plan {plan_on_time} on time, {plan_late_h:.0f} h tardiness | twin "
        f"{statistics.mean(on_time):.1f} on time, {statistics.mean(late_h):.0f} h "
        f"({replications} replications)"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
