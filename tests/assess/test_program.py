"""Programme view known answers: target progress, rankings, the award shortlist and its reasons."""

from __future__ import annotations

from factoryos.assess.density import Density
from factoryos.assess.gains import METRICS, Gain
from factoryos.assess.program import FactoryRecord, load_programme, progress, rankings, shortlist

PROD, ENERGY = METRICS[0], METRICS[3]


def record(
    n: int,
    year: int,
    level: int,
    district: str = "Jiading",
    prod: tuple[float, float, float] = (50.0, 20.0, 80.0),
    energy: tuple[float, float, float] = (-15.0, -25.0, -5.0),
    robots: int = 10,
) -> FactoryRecord:
    gains = {
        PROD.id: Gain(PROD, 1.0, 1.5, *prod),
        ENERGY.id: Gain(ENERGY, 1.0, 0.85, *energy),
    }
    return FactoryRecord(
        f"f{n}", f"F{n}", district, "automotive", year, level, level + 0.3,
        Density(robots, 200, 0), gains,
    )  # fmt: skip


def test_target_progress() -> None:
    # 2024 cohort: 3 factories, 2 at level >= 3 (67 % < 70 %); by 2025: 4 new since 2024
    records = [
        record(1, 2023, 2),
        record(2, 2024, 3),
        record(3, 2024, 4),
        record(4, 2024, 2),
        record(5, 2025, 3),
    ]
    by_id = {p.target.id: p for p in progress(records, load_programme())}
    assert (by_id["new_2024"].actual, by_id["new_2024"].goal) == (3, 70)
    assert by_id["upper_2024"].actual == 2 / 3
    assert not by_id["upper_2024"].met
    assert by_id["new_by_2025"].actual == 4
    assert by_id["total_by_2025"].actual == 5


def test_rankings_by_district() -> None:
    records = [
        record(1, 2024, 4, "Pudong", robots=20),
        record(2, 2024, 2, "Pudong", prod=(10.0, 0.0, 20.0), robots=0),
        record(3, 2024, 2, "Jiading"),
    ]
    pudong, jiading = rankings(records, lambda r: r.district)
    assert pudong.group == "Pudong"  # mean total 3.3 > 2.3
    assert (pudong.factories, pudong.mean_level, pudong.share_level_3_plus) == (2, 3.0, 0.5)
    assert pudong.median_productivity_pct == 30.0  # median of 50 and 10
    assert pudong.density.per_10k == 500.0  # 20 robots / 400 employees
    assert jiading.mean_total == 2.3


def test_shortlist_rules_and_reasons() -> None:
    records = [
        record(1, 2024, 4, robots=8),  # 400 per 10k: the density reason is added
        record(2, 2024, 2),  # level too low
        record(3, 2024, 3, prod=(10.0, -5.0, 30.0)),  # productivity interval reaches below 0
        record(4, 2024, 3, energy=(-5.0, -12.0, 1.0)),  # energy interval reaches above 0
        record(5, 2026, 5),  # certified after the award year
        record(6, 2023, 3, robots=2),  # 100 per 10k: no density reason
    ]
    nominees = shortlist(records, 2025, load_programme().award)
    assert [n.record.factory_id for n in nominees] == ["f1", "f6"]
    assert nominees[0].reasons[0] == "level 4 (total 4.30) >= 3"
    assert nominees[0].reasons[1] == "productivity +50.0 % [+20.0, +80.0]"
    assert nominees[0].reasons[-1] == "robot density 400 >= 383 (Shanghai key industries)"
    assert len(nominees[1].reasons) == 3
