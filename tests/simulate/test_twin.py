"""The plant twin on a tiny plant: spec-like checks on the events it emits."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factoryos.model import (
    EnergyReading,
    Event,
    EventKind,
    MachineState,
    OperationEvent,
    OrderEvent,
    Plant,
    ProductionCount,
    StateChange,
    event_to_row,
    load_plant,
)
from factoryos.model.errors import SimulationError
from factoryos.model.schedule import Schedule, ScheduledOperation
from factoryos.simulate.demand import ProductionOrder, steady_demand
from factoryos.simulate.results import (
    BottleneckShare,
    TwinResult,
    bottleneck_analysis,
    bottleneck_shares,
)
from factoryos.simulate.rt import RealtimeEnvironment
from factoryos.simulate.twin import DispatchRule, PlantTwin

from .conftest import START

DAY = 86400.0
ROBOT_PLANT = Path(__file__).resolve().parents[2] / "examples" / "robot_factory.yaml"


def run(
    plant: Plant,
    orders: list[ProductionOrder],
    days: float,
    seed: int = 1,
    rule: DispatchRule = DispatchRule.FIFO,
) -> tuple[TwinResult, list[Event]]:
    events: list[Event] = []
    twin = PlantTwin(
        plant, orders, start=START, horizon_s=days * DAY, seed=seed, rule=rule, sink=events.append
    )
    return twin.run(), events


def gizmo_orders(n: int, quantity: int = 3) -> list[ProductionOrder]:
    return [
        ProductionOrder(f"g{i}", "gizmo", quantity, release_s=i * 4 * 3600.0, due_s=5 * DAY)
        for i in range(n)
    ]


def on_shift(ts: dt.datetime) -> bool:
    minutes = ts.hour * 60 + ts.minute + ts.second / 60
    return 6 * 60 <= minutes <= 12 * 60 or 13 * 60 <= minutes <= 18 * 60


def test_same_seed_same_events_other_seed_other_events(tiny_plant: Plant) -> None:
    orders = [*gizmo_orders(6), ProductionOrder("w1", "widget", 4, 3600.0, 3 * DAY)]
    _, first = run(tiny_plant, orders, days=4, seed=7)
    _, again = run(tiny_plant, orders, days=4, seed=7)
    _, other = run(tiny_plant, orders, days=4, seed=8)
    assert [event_to_row(e) for e in first] == [event_to_row(e) for e in again]
    assert [event_to_row(e) for e in first] != [event_to_row(e) for e in other]
    assert len({e.event_id for e in first}) == len(first)


def test_no_work_outside_shifts_and_breaks(tiny_plant: Plant) -> None:
    _, events = run(tiny_plant, gizmo_orders(10), days=5)
    work = [e for e in events if isinstance(e, ProductionCount | OperationEvent)]
    assert work
    assert all(on_shift(e.ts) for e in work), [e.ts for e in work if not on_shift(e.ts)][:3]
    # Every unit goes off at the break and at the end of the shift.
    offs = {e.ts.time() for e in events if isinstance(e, StateChange) and e.state == "off"}
    assert offs == {dt.time(12, 0), dt.time(18, 0)}


def test_assembly_waits_for_its_kit(tiny_plant: Plant) -> None:
    _, events = run(tiny_plant, gizmo_orders(8), days=5)
    blanks_done: dict[str, int] = {}
    assemblies: dict[str, int] = {}
    for e in events:
        if isinstance(e, ProductionCount) and e.product == "blank" and e.order_id:
            blanks_done[e.order_id] = blanks_done.get(e.order_id, 0) + e.good
        starts = isinstance(e, OperationEvent) and e.kind is EventKind.OPERATION_START
        if starts and isinstance(e, OperationEvent) and e.operation == "assemble":
            assemblies[e.order_id] = assemblies.get(e.order_id, 0) + 1
            assert blanks_done.get(e.order_id, 0) >= 2 * assemblies[e.order_id]
    assert sum(assemblies.values()) >= 8 * 3


def test_orders_complete_with_rework_loops_and_scrap_replacements(tiny_plant: Plant) -> None:
    result, events = run(tiny_plant, gizmo_orders(8), days=8, seed=3)
    ends = [e for e in events if isinstance(e, OrderEvent) and e.kind is EventKind.ORDER_END]
    assert {e.order_id for e in ends} == {f"g{i}" for i in range(8)}
    tests = [e for e in events if isinstance(e, ProductionCount) and e.operation == "test"]
    assert sum(e.good for e in tests) == 8 * 3 == result.finished["gizmo"]
    assert sum(e.rework for e in tests) > 0  # 20 % rework: repeated on the same operation
    scrapped = sum(e.scrap for e in tests)
    assert scrapped == result.scrapped.get("gizmo", 0)
    # Each scrapped gizmo was replaced by a new one with two new blanks.
    cut = [e for e in events if isinstance(e, ProductionCount) and e.product == "blank"]
    assert sum(e.good for e in cut) == 2 * (8 * 3 + scrapped)


def test_a_full_input_buffer_blocks_the_upstream_unit(
    tiny_plant_with: Callable[[dict[str, Any]], Plant],
) -> None:
    plant = tiny_plant_with(
        {
            "products": [
                {"id": "widget", "routing": [{"id": "test", "skill": "test", "run_time": "2 h"}]}
            ]
        }
    )
    orders = [
        ProductionOrder(f"w{i}", "widget", 3, 0.0, 9 * DAY) for i in range(4)
    ]  # 24 h of tests
    result, events = run(plant, orders, days=2)
    blocked = [e for e in events if isinstance(e, StateChange) and e.state == "blocked"]
    assert blocked and {e.path for e in blocked} == {"acme/plant1/parts/cutting/saw"}
    saw = next(p for p in result.pools if p.equipment == "saw")
    tester = next(p for p in result.pools if p.equipment == "tester")
    # blocked units get the first free place (before released work), so the saw is blocked
    # only while the tester works off the buffer
    assert saw.blocked_share > 0.1
    assert tester.utilization > 0.9
    assert result.bottleneck.equipment == "tester"


def test_planned_busy_time_is_the_calendar_time(tiny_plant: Plant) -> None:
    result, _ = run(tiny_plant, gizmo_orders(5), days=3)
    for pool in result.pools:  # 06:00-18:00 minus a 1 h break, every day; no maintenance
        assert pool.planned_busy_s == pytest.approx(pool.units * 3 * 11 * 3600.0)
        assert 0.0 <= pool.oee <= 1.0


def test_planned_maintenance_stops_work_and_leaves_planned_busy_time(
    tiny_plant_with: Callable[[dict[str, Any]], Plant],
) -> None:
    weekly = {"day": "mon", "start": "07:00", "duration": "1 h"}
    window = {"equipment": ["saw"], "weekly": weekly, "reason": "blade change"}
    plant = tiny_plant_with({"maintenance": [window]})
    result, events = run(plant, gizmo_orders(5), days=3)  # START is a Monday
    saw = [e for e in events if e.path.endswith("saw")]
    states = [(e.ts.time(), e.state) for e in saw if isinstance(e, StateChange)]
    assert (dt.time(7, 0), MachineState.MAINTENANCE) in states
    reasons = {e.reason for e in saw if isinstance(e, StateChange) and e.state == "maintenance"}
    assert reasons == {"blade change"}
    in_window = [e for e in saw if START.replace(hour=7) <= e.ts < START.replace(hour=8)]
    assert not [e for e in in_window if isinstance(e, ProductionCount | OperationEvent)]
    pool = next(p for p in result.pools if p.equipment == "saw")
    assert pool.planned_busy_s == pytest.approx((3 * 11 - 1) * 3600.0)
    assert pool.time_in_state_s[MachineState.MAINTENANCE] == pytest.approx(3600.0)


def test_energy_readings_add_up_to_power_times_state_time(tiny_plant: Plant) -> None:
    result, events = run(tiny_plant, gizmo_orders(5), days=3)
    readings = sum(e.energy_kwh for e in events if isinstance(e, EnergyReading))
    assert readings == pytest.approx(result.energy_kwh, rel=1e-9)
    by_pool = {p.equipment: p for p in result.pools}
    power = {eq.id: eq for _, _, eq in tiny_plant.equipment_items()}
    expected = sum(
        power[name].power_in(state) * seconds / 3600.0
        for name, pool in by_pool.items()
        for state, seconds in pool.time_in_state_s.items()
    )
    assert result.energy_kwh == pytest.approx(expected, rel=1e-9)
    assert result.energy_kwh > 0


def test_failures_are_repaired_after_the_repair_time(tiny_plant: Plant) -> None:
    result, events = run(tiny_plant, gizmo_orders(12), days=6)
    saw = [e for e in events if isinstance(e, StateChange) and e.path.endswith("saw")]
    faults = [i for i, e in enumerate(saw) if e.state == "fault"]
    assert faults, "MTBF 3 h of operating time: the saw must fail within days"
    for i in faults:
        if i + 1 < len(saw):
            assert saw[i + 1].ts - saw[i].ts == dt.timedelta(minutes=20)
    assert next(p for p in result.pools if p.equipment == "saw").failures == len(faults)
    assert {saw[i].reason for i in faults} == {"breakdown"}


def test_dispatching_rules(tiny_plant: Plant) -> None:
    # Three widget orders at once on the saw, due dates in reverse order of their ids.
    orders = [
        ProductionOrder(f"w{i}", "widget", 2, release_s=6 * 3600.0, due_s=(10 - i) * DAY)
        for i in range(3)
    ]

    def order_of_starts(rule: DispatchRule) -> list[str]:
        _, events = run(tiny_plant, orders, days=2, rule=rule)
        starts = [
            e.order_id
            for e in events
            if isinstance(e, OperationEvent) and e.kind is EventKind.OPERATION_START
        ]
        return list(dict.fromkeys(starts))

    assert order_of_starts(DispatchRule.FIFO) == ["w0", "w1", "w2"]
    assert order_of_starts(DispatchRule.EDD) == ["w0", "w2", "w1"]  # w0 takes the free saw
    assert order_of_starts(DispatchRule.CR) == ["w0", "w2", "w1"]
    assert order_of_starts(DispatchRule.SPT) == ["w0", "w1", "w2"]  # equal times: FIFO order


def test_following_a_schedule(tiny_plant: Plant) -> None:
    # Released before the shift; the plan says w2, w0, w1 on the saw.
    orders = [ProductionOrder(f"w{i}", "widget", 1, 3600.0, 3 * DAY) for i in range(3)]
    plan = Schedule(
        operations=tuple(
            ScheduledOperation(
                order_id,
                "widget",
                "cut",
                "saw",
                1,
                START + dt.timedelta(hours=6 + k * 0.25),
                START + dt.timedelta(hours=6.25 + k * 0.25),
            )
            for k, order_id in enumerate(["w2", "w0", "w1"])
        ),
        status="feasible",
        objective=0.0,
        best_bound=0.0,
        wall_time_s=0.0,
    )
    events: list[Event] = []
    twin = PlantTwin(
        tiny_plant,
        orders,
        start=START,
        horizon_s=DAY,
        rule=DispatchRule.SCHEDULE,
        schedule=plan,
        sink=events.append,
    )
    twin.run()
    starts = [
        (e.order_id, e.ts)
        for e in events
        if isinstance(e, OperationEvent) and e.kind is EventKind.OPERATION_START
    ]
    assert [o for o, _ in starts] == ["w2", "w0", "w1"]
    assert starts[0][1] == START + dt.timedelta(hours=6)
    with pytest.raises(SimulationError, match="go together"):
        PlantTwin(tiny_plant, orders, start=START, horizon_s=DAY, rule=DispatchRule.SCHEDULE)


def test_setups_by_family_change(tiny_plant: Plant) -> None:
    orders = [
        ProductionOrder("w1", "widget", 1, 6 * 3600.0, DAY),
        ProductionOrder("w2", "widget", 1, 7 * 3600.0, DAY),
        ProductionOrder("g1", "gizmo", 1, 8 * 3600.0, DAY),
    ]
    _, events = run(tiny_plant, orders, days=1)
    saw = [
        (e.ts.time(), e.state)
        for e in events
        if isinstance(e, StateChange) and e.path.endswith("saw") and e.ts.hour >= 6
    ]
    # w1 first (no setup), w2 same family (widget's cut has no batch setup time), then g1's two
    # blanks: family large -> small costs 30 min from the saw's setup matrix.
    # At 06:00 the shift starts and w1 is released: the log says producing, not idle first.
    assert saw == [
        (dt.time(6, 0), MachineState.PRODUCING),
        (dt.time(6, 15), MachineState.IDLE),
        (dt.time(7, 0), MachineState.PRODUCING),
        (dt.time(7, 15), MachineState.IDLE),
        (dt.time(8, 0), MachineState.SETUP),
        (dt.time(8, 30), MachineState.PRODUCING),
        (dt.time(8, 50), MachineState.STARVED),  # the gizmo order is still open
        (dt.time(12, 0), MachineState.OFF),
        (dt.time(13, 0), MachineState.IDLE),
        (dt.time(18, 0), MachineState.OFF),
    ]


def test_one_state_event_per_unit_and_instant(
    tiny_plant_with: Callable[[dict[str, Any]], Plant],
) -> None:
    # Maintenance from the shift start to the break, on a saw that never fails; one order of two
    # widgets waits for it. Every instant below carries several changes of the saw's flags.
    saw_overlay = {"id": "saw", "failure": None}
    window = {"equipment": ["saw"], "weekly": {"day": "mon", "start": "06:00", "duration": "6 h"}}
    plant = tiny_plant_with(
        {
            "areas": [{"id": "parts", "lines": [{"id": "cutting", "equipment": [saw_overlay]}]}],
            "maintenance": [{**window, "reason": "blade change"}],
        }
    )
    result, events = run(plant, [ProductionOrder("w1", "widget", 2, 5 * 3600.0, DAY)], days=1)
    saw = [
        (e.ts.time(), e.state, e.reason)
        for e in events
        if isinstance(e, StateChange) and e.path.endswith("saw")
    ]
    assert saw == [
        (dt.time(6, 0), MachineState.MAINTENANCE, "blade change"),  # not idle first
        (dt.time(12, 0), MachineState.OFF, None),  # maintenance ends as the break starts
        (dt.time(13, 0), MachineState.PRODUCING, None),  # not starved first
        # 13:15: the first widget done, the second started: no event (producing throughout)
        (dt.time(13, 30), MachineState.IDLE, None),  # the order is done
        (dt.time(18, 0), MachineState.OFF, None),
    ]
    pool = next(p for p in result.pools if p.equipment == "saw")
    assert pool.time_in_state_s[MachineState.PRODUCING] == pytest.approx(1800.0)
    assert pool.time_in_state_s[MachineState.MAINTENANCE] == pytest.approx(6 * 3600.0)


def test_a_week_of_the_robot_plant_has_one_state_per_unit_and_instant() -> None:
    plant = load_plant(ROBOT_PLANT)
    events: list[Event] = []
    twin = PlantTwin(
        plant,
        steady_demand(plant, 11_000, 7 * DAY),
        start=START,
        horizon_s=7 * DAY,
        seed=7,
        sink=events.append,
    )
    result = twin.run()
    states = [e for e in events if isinstance(e, StateChange)]
    assert len(states) > 1000
    instants = Counter((e.path, e.ts) for e in states)
    assert instants.most_common(1)[0][1] == 1
    last: dict[str, MachineState] = {}
    for e in states:  # each event is a change, in time order per unit
        assert last.get(e.path, MachineState.OFF) != e.state, e
        last[e.path] = e.state
    times = [e.ts for e in events]
    assert times == sorted(times)
    readings = sum(e.energy_kwh for e in events if isinstance(e, EnergyReading))
    assert readings == pytest.approx(result.energy_kwh, rel=1e-9)


def test_demand_profile_releases_the_yearly_quantity(tiny_plant: Plant) -> None:
    orders = steady_demand(tiny_plant, 3650, 365 * DAY, lot_size=5)
    assert sum(o.quantity for o in orders) == pytest.approx(3650, abs=10)
    assert {o.product for o in orders} == {"gizmo", "widget"}
    assert all(0 <= o.release_s < 365 * DAY for o in orders)


def test_unit_streams_do_not_depend_on_other_equipment(
    tiny_plant: Plant, tiny_plant_with: Callable[[dict[str, Any]], Plant]
) -> None:
    bigger = tiny_plant_with(
        {
            "areas": [
                {
                    "id": "final",
                    "lines": [{"id": "assembly", "equipment": [{"id": "bench", "units": 5}]}],
                }
            ]
        }
    )
    a = PlantTwin(tiny_plant, [], start=START, horizon_s=DAY, seed=5)
    b = PlantTwin(bigger, [], start=START, horizon_s=DAY, seed=5)
    assert len(b.pools["bench"].units) == 5
    saw_a, saw_b = a.pools["saw"].units[0], b.pools["saw"].units[0]
    assert saw_a.ttf_left_s == saw_b.ttf_left_s
    assert [saw_a.quality() for _ in range(20)] == [saw_b.quality() for _ in range(20)]


def test_bottleneck_shares_known_answers() -> None:
    assert bottleneck_shares({"a": [(0.0, 10.0)], "b": [(2.0, 5.0), (6.0, 8.0)]}) == {
        "a": 1.0,
        "b": 0.0,
    }
    # a is the momentary bottleneck on [0, 3), b (the longer period) from 3 on; their active
    # periods overlap on [3, 4): shifting time for both (Roser 2002), the rest is sole.
    analysis = bottleneck_analysis({"a": [(0.0, 4.0)], "b": [(3.0, 10.0)]})
    assert analysis["a"] == BottleneckShare(
        pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.1)
    )
    assert analysis["b"] == BottleneckShare(
        pytest.approx(0.7), pytest.approx(0.6), pytest.approx(0.1)
    )
    assert bottleneck_shares({"a": [(0.0, 4.0)], "b": [(3.0, 10.0)]}) == pytest.approx(
        {"a": 0.3, "b": 0.7}
    )
    # equal active periods: the bottleneck shifts between the two the whole time
    tied = bottleneck_analysis({"a": [(0.0, 2.0)], "b": [(0.0, 2.0)]})
    assert tied == {"a": BottleneckShare(0.5, 0.0, 1.0), "b": BottleneckShare(0.5, 0.0, 1.0)}
    assert bottleneck_shares({"a": []}) == {"a": 0.0}


def test_shifting_bottleneck_over_three_stations() -> None:
    # a [0, 5) is the bottleneck until c's longer period [4, 12) takes over; b [6, 8) never is.
    analysis = bottleneck_analysis({"a": [(0.0, 5.0)], "b": [(6.0, 8.0)], "c": [(4.0, 12.0)]})
    assert analysis["a"] == BottleneckShare(
        pytest.approx(4 / 12), pytest.approx(4 / 12), pytest.approx(1 / 12)
    )
    assert analysis["b"] == BottleneckShare(0.0, 0.0, 0.0)
    assert analysis["c"] == BottleneckShare(
        pytest.approx(8 / 12), pytest.approx(7 / 12), pytest.approx(1 / 12)
    )


def test_the_twin_runs_on_the_real_time_clock(tiny_plant: Plant) -> None:
    events: list[Event] = []
    env = RealtimeEnvironment(speed=1e6, strict=False)
    twin = PlantTwin(
        tiny_plant, gizmo_orders(1), start=START, horizon_s=DAY, sink=events.append, env=env
    )
    result = twin.run()
    assert result.horizon_s == DAY
    assert any(isinstance(e, OperationEvent) for e in events)


DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from simulate.conftest import START, TINY_PLANT
from factoryos.model import event_to_row, load_plant_text
from factoryos.simulate.demand import steady_demand
from factoryos.simulate.twin import PlantTwin
plant = load_plant_text(TINY_PLANT)
rows = []
twin = PlantTwin(plant, steady_demand(plant, 6000, 3 * 86400.0, lot_size=3), start=START,
                 horizon_s=3 * 86400.0, seed=4, sink=lambda e: rows.append(repr(event_to_row(e))))
twin.run()
print(len(rows), hashlib.sha256("\\n".join(rows).encode()).hexdigest())
"""


def test_events_do_not_depend_on_the_hash_seed_of_the_process() -> None:
    tests_dir = str(Path(__file__).resolve().parent.parent)
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT, tests_dir],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outputs.add(done.stdout.strip())
    assert len(outputs) == 1, outputs
    assert int(next(iter(outputs)).split()[0]) > 100
