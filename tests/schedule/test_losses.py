"""Expected losses in the plan, on the electronics and coatings plants: scrap raises the units a
routing starts, rework the runs of its step (and a repair station's time), a service by usage
its expected share of each operation on the unit; what is allowed for is said."""

from __future__ import annotations

import datetime as dt

import pytest

from factoryos.model import ProductionCount, load_plant, load_plant_text
from factoryos.model.plant import Plant
from factoryos.schedule import SchedulingError, check, dispatch, to_schedule
from factoryos.schedule.losses import step_loads
from factoryos.schedule.orders import Order, PlantProblem, build_problem
from factoryos.schedule.rules import best_rule
from factoryos.schedule.solution import SolveResult
from factoryos.simulate.demand import ProductionOrder
from factoryos.simulate.twin import DispatchRule, PlantTwin
from tests.example_plants import EXAMPLES
from tests.tiny_plants import tiny_plant

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def electronics() -> Plant:
    return load_plant(EXAMPLES / "electronics_plant.yaml")


@pytest.fixture(scope="module")
def coatings() -> Plant:
    return load_plant(EXAMPLES / "coatings_plant.yaml")


def _ops(pp: PlantProblem) -> dict[str, tuple[int, int]]:
    """Operation name -> (quantity, duration in minutes on its first alternative)."""
    [job] = pp.problem.jobs
    return {op.name: (op.quantity, op.alternatives[0].duration) for op in job.operations}


def test_scrap_starts_enough_units_and_rework_repeats_the_step(electronics: Plant) -> None:
    # io_board: smt_top, selective_soldering (2 % rework), ict (0.3 % scrap): 600 good boards
    # need 600 / 0.997 = 601.8 -> 602 started at every step; soldering runs 601.8 / 0.98 = 614.1
    # times on average, 60 s each (+ its service by usage: 160 h -> 2 h, i.e. 1.25 % of those
    # 614.1 min and the 15 min setup); ict 601.8 x 30 s
    pp = build_problem(electronics, [Order("E1", "io_board", 600, MONDAY)], calendar=False)
    ops = _ops(pp)
    assert ops["smt_top"][0] == ops["selective_soldering"][0] == ops["ict"][0] == 602
    assert ops["selective_soldering"][1] == 622  # ceil(614.1 + 1.25 % of 629.1) min
    assert ops["ict"][1] == 301
    assert any(a.startswith("scrap at ") for a in pp.allowances)
    assert any("selective_solder by usage" in a for a in pp.allowances)


def test_components_follow_the_started_units_of_their_consumer(coatings: Plant) -> None:
    # wall_white: let_down (5 % rework, 100-unit tanks, 4 h a cycle) then fill (1 min a unit);
    # each started unit takes one emulsion_sa (0.5 % scrap: 400 / 0.995 -> 403) and one paste
    pp = build_problem(coatings, [Order("C1", "wall_white", 400, MONDAY)], calendar=False)
    ops = _ops(pp)
    assert ops["emulsion_sa.polymerise"][0] == 403
    assert ops["paste_white.disperse"][0] == 400
    # 400 / 0.95 = 421.1 runs: 5 cycles of 4 h where the lot alone takes 4
    assert ops["let_down"] == (400, 5 * 240)
    # the filling line's valve overhaul after every 20,000 units (3 h): 400 x 0.54 s reserved
    assert ops["fill"] == (400, 404)


def test_scrap_replacements_take_a_share_of_a_batch_cycle(electronics: Plant) -> None:
    # controller: burn-in racks of 96, 4 h a cycle; fct after it scraps 0.2 % (and reworks 1 %):
    # a lot of 480 runs 480 / 0.998 = 481.0 units through burn-in, its own 480 in 5 full
    # cycles, the replacement (scrapped at fct, back alone) 1 / 96 of a cycle: 5.01 cycles, not 6
    pp = build_problem(electronics, [Order("E2", "controller", 480, MONDAY)], calendar=False)
    quantity, minutes = _ops(pp)["burn_in"]
    assert quantity == 481
    assert minutes == 1203  # ceil(5.0101 x 240)


def test_components_are_made_for_the_expected_units_not_the_rounded_up(
    electronics: Plant,
) -> None:
    # 10 gateways: fct scraps 0.2 %, so 10 / 0.998 = 10.02 gateways start (11 rounded up); their
    # boards are made for the 10.02 (ict scraps 0.3 %: 10.05 boards, 11 rounded up), 35 s each
    # on the SMT line: 6 min, where boards for 11 gateways (12 boards) would take 7
    pp = build_problem(electronics, [Order("E3", "gateway", 10, MONDAY)], calendar=False)
    ops = _ops(pp)
    assert ops["gateway_assembly"][0] == 11
    assert ops["gw_board.smt_top"] == (11, 6)


def test_a_loss_free_plant_plans_the_order_as_it_is(coatings: Plant) -> None:
    pp = build_problem(coatings, [Order("C1", "paste_white", 200, MONDAY)], calendar=False)
    assert _ops(pp) == {"disperse": (200, 2 * 180)}


def test_a_step_that_never_passes_is_refused_with_its_rates() -> None:
    text = REPAIR_PLANT.replace("rework_rate: 0.1", "rework_rate: 0.6, scrap_rate: 0.4")
    with pytest.raises(SchedulingError, match=r"board/place: scrap_rate 0.4 \+ rework_rate 0.6"):
        step_loads(load_plant_text(text).product_by_id["board"], 10)


# A placer whose reworked boards are repaired at a bench before they are placed again.
REPAIR_PLANT = tiny_plant(
    "place, repair",
    """areas:
  - id: a
    lines:
      - id: l
        equipment:
          - {id: placer, kind: cnc, skills: [place]}
          - {id: bench, kind: other, skills: [repair]}
products:
  - id: board
    family: f
    lot_size: 20
    routing:
      - {id: place, skill: place, run_time: 6 min, rework_rate: 0.1, rework_at: bench,
         rework_time: 5 min}
""",
)


def test_repairs_at_a_rework_station_are_planned_there_and_the_twin_follows() -> None:
    plant = load_plant_text(REPAIR_PLANT)
    pp = build_problem(plant, [Order("O1", "board", 20, MONDAY, MONDAY + dt.timedelta(days=1))])
    ops = _ops(pp)
    # 20 / 0.9 = 22.2 placements of 6 min; 20 x 0.1 / 0.9 = 2.2 repairs of 5 min at the bench
    assert ops["place"] == (20, 134)
    assert ops["place.rework-bench"] == (3, 12)
    rule, solution = best_rule(pp.problem)
    check(pp.problem, solution)
    bench = pp.problem.machine_units.index(("bench", 1))
    assert [a.machine for a in solution.assignments if a.op == 1] == [bench]
    plan = to_schedule(
        pp.problem,
        SolveResult(solution, "feasible", 0.0, 0.0, 0.0, rule),
        origin=pp.origin,
        time_unit=pp.time_unit,
        axis=pp.axis,
    )
    # the twin executes the plan: repairs at the bench are served as they come, not held
    # for the bench's planned block (the order never finished before)
    counts: list[ProductionCount] = []
    twin = PlantTwin(
        plant,
        [ProductionOrder("O1", "board", 20, 0.0, 86400.0)],
        start=MONDAY,
        horizon_s=86400.0,
        rule=DispatchRule.PLAN,
        schedule=plan,
        seed=3,
        sink=lambda e: counts.append(e) if isinstance(e, ProductionCount) else None,
    )
    twin.run()
    assert sum(c.rework for c in counts) > 0
    assert twin.orders[0].finished_s is not None
    # within the plan's end plus a few repairs more than expected
    assert twin.orders[0].finished_s <= (134 + 12) * 60 * 1.2


def test_a_rule_plan_of_the_lossy_books_passes_the_validator(
    electronics: Plant, coatings: Plant
) -> None:
    for plant, order in (
        (electronics, Order("E", "controller", 960, MONDAY)),
        (coatings, Order("C", "floor_grey", 400, MONDAY)),
    ):
        pp = build_problem(plant, [order])
        check(pp.problem, dispatch(pp.problem, "EDD"))


def test_what_the_plan_allows_for_is_said_per_kind(coatings: Plant) -> None:
    pp = build_problem(coatings, [Order("C1", "floor_grey", 200, MONDAY)], calendar=False)
    kinds = [a.split(" ", 1)[0] for a in pp.allowances]
    assert kinds == ["scrap", "rework", "maintenance"]
    assert "filling_line by usage" in pp.allowances[2]
    assert "0.54 s per unit" in pp.allowances[2]
    # nothing to allow for when nothing the book makes has losses or a service by usage
    assert build_problem(coatings, [Order("P", "paste_white", 100, MONDAY)]).allowances == ()
