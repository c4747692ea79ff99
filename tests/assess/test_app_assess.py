"""A plant's assessment from a simulated store: evidence, sources, gains, bad windows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factoryos.app.assess import assess_plant, measure_probes
from factoryos.assess.scoring import Source
from factoryos.model.errors import AssessmentError
from factoryos.model.plant import Plant
from factoryos.store.duckdb_store import DuckDBStore
from tests.assess.conftest import START


def test_probes_measure_the_simulated_plant(mini_store: DuckDBStore, mini_plant: Plant) -> None:
    probes = measure_probes(mini_store, mini_plant)
    assert probes["state_auto"].share == 1.0  # the twin reports every unit's state
    # the bench has no power figures, so the twin meters 2 of the 3 units (the cnc pool)
    assert probes["energy_metered"].share == pytest.approx(2 / 3)
    assert probes["routing_model"].share == 1.0
    # one of the two pools (cnc) has a failure model in the fixture
    assert probes["failure_models"].share == 0.5
    assert probes["failure_models"].detail.startswith("1 of 2")


def test_sources_per_requirement(
    mini_store: DuckDBStore, mini_plant: Plant, tmp_path: Path
) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text(
        "answers:\n"
        "  organisation_strategy.L1.1: {score: 1, evidence: [https://x/plan.pdf]}\n"
        "  energy_management.L2.1: 1\n",
        encoding="utf-8",
    )
    result = assess_plant(mini_store, mini_plant, answers=answers)
    by_id = {r.requirement.id: r for r in result.assessment.requirements}
    assert by_id["organisation_strategy.L1.1"].source is Source.SELF_ASSESSMENT
    assert by_id["organisation_strategy.L1.1"].evidence == ("https://x/plan.pdf",)
    metered = by_id["energy_management.L2.1"]  # measured 2 of 3 (-> 0.5) beats the claimed 1
    assert (metered.source, metered.score, metered.self_score) == (Source.PLATFORM, 0.5, 1.0)
    assert "2 of 3 work units with energy readings" in metered.detail
    assert by_id["equipment_management.L4.1"].score == 0.5  # 50 % of pools -> 0.5
    assert by_id["sales.L1.1"].source is Source.UNANSWERED


def test_gains_between_two_fortnights(mini_store: DuckDBStore, mini_plant: Plant) -> None:
    mid, end = START + dt.timedelta(days=14), START + dt.timedelta(days=28)
    result = assess_plant(mini_store, mini_plant, baseline=(START, mid), current=(mid, end))
    assert result.gains is not None
    oee = next(g for g in result.gains if g.metric.id == "oee")
    assert oee.baseline is not None and 0 < oee.baseline <= 1
    assert oee.low_pct is not None and oee.high_pct is not None
    assert oee.low_pct <= (oee.change_pct or 0.0) <= oee.high_pct


def test_a_baseline_window_without_events_is_an_error(
    mini_store: DuckDBStore, mini_plant: Plant
) -> None:
    before = START - dt.timedelta(days=30)
    with pytest.raises(
        AssessmentError, match=r"baseline: the baseline window 2026-01-31.* holds no"
    ):
        assess_plant(
            mini_store,
            mini_plant,
            baseline=(before, before + dt.timedelta(days=7)),
            current=(START, START + dt.timedelta(days=7)),
        )


def test_plan_adherence_from_operation_starts(mini_store: DuckDBStore, mini_plant: Plant) -> None:
    # three operations the twin started, planned at their actual start (2) and 2 h early (1)
    from factoryos.model.events import EventKind
    from factoryos.model.schedule import Schedule, ScheduledOperation

    first: dict[tuple[str, str, str], dict[str, object]] = {}
    for row in mini_store.events(kinds=[EventKind.OPERATION_START]).to_pylist():
        first.setdefault((row["order_id"], row["operation"], row["path"]), row)
    starts = list(first.values())[:3]
    operations = []
    for i, row in enumerate(starts):
        unit = mini_plant.work_unit_by_path[row["path"]]
        planned = row["ts"] - dt.timedelta(hours=2 if i == 2 else 0)
        operations.append(
            ScheduledOperation(
                row["order_id"], row["product"], row["operation"], unit.equipment.id, unit.unit,
                planned, planned + dt.timedelta(minutes=10),
            )
        )  # fmt: skip
    plan = Schedule(tuple(operations), "feasible", 0.0, 0.0, 0.0)
    result = assess_plant(mini_store, mini_plant, plan=plan)
    probe = result.measurements["aps_adherence"]
    assert probe.share == pytest.approx(2 / 3)
    assert probe.detail.startswith("2 of 3 planned operations")
    scored = {r.requirement.id: r for r in result.assessment.requirements}
    assert scored["planning_scheduling.L3.1"].score == 0.5  # 67 % -> partly met
