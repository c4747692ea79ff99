"""Lot sizes, transfer batches, batch equipment and unattended steps in the plant model."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.model import (
    PlantModelError,
    effective_lot_size,
    load_plant_text,
    split_lots,
    transfer_size,
)
from factoryos.schedule.orders import read_orders
from tests.model.plants import MINI, replaced


def test_defaults_keep_lots_of_ten_one_unit_per_cycle_and_attended_steps() -> None:
    plant = load_plant_text(MINI)
    product = plant.products[0]
    assert product.lot_size == 10
    assert product.transfer_batch is None
    assert all(e.batch_capacity == 1 for e in plant.equipment_by_id.values())
    assert not any(op.unattended for p in plant.products for op in p.routing)


def test_the_order_wins_over_the_command_line_which_wins_over_the_product() -> None:
    product = load_plant_text(MINI).products[0]
    assert effective_lot_size(product) == 10
    assert effective_lot_size(product, override=50) == 50
    assert effective_lot_size(product, order_lot_size=7, override=50) == 7
    with pytest.raises(ValueError, match="lot size must be >= 1"):
        effective_lot_size(product, override=0)


@pytest.mark.parametrize(
    ("quantity", "lot", "lots"),
    [(25, 10, [10, 10, 5]), (10, 10, [10]), (3, 10, [3]), (1000, 250, [250] * 4)],
)
def test_split_lots(quantity: int, lot: int, lots: list[int]) -> None:
    assert split_lots(quantity, lot) == lots
    assert sum(split_lots(quantity, lot)) == quantity


def test_transfer_batch_is_at_most_the_lot() -> None:
    text = replaced("family: parts", "family: parts\n    lot_size: 100\n    transfer_batch: 20")
    product = load_plant_text(text).products[0]
    assert (product.lot_size, product.transfer_batch) == (100, 20)
    assert transfer_size(product, 100) == 20
    assert transfer_size(product, 5) == 5


def test_transfer_batch_above_lot_size_is_an_error_naming_both() -> None:
    text = replaced("family: parts", "family: parts\n    lot_size: 10\n    transfer_batch: 20")
    with pytest.raises(PlantModelError, match="transfer_batch 20 is larger than lot_size 10"):
        load_plant_text(text)


def test_orders_csv_takes_an_optional_lot_size_per_order(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order,product,quantity,release,due,lot_size\n"
        "A,p,100,2026-03-02T08:00+08:00,2026-03-09T08:00+08:00,25\n"
        "B,p,100,2026-03-02T08:00+08:00,2026-03-09T08:00+08:00,\n",
        encoding="utf-8",
    )
    assert [o.lot_size for o in read_orders(path)] == [25, None]


def test_a_site_in_another_currency_gives_its_rate_to_cny() -> None:
    site = "site: {id: plant1, timezone: Asia/Shanghai}"
    assert load_plant_text(MINI).to_cny(10.0) == 10.0
    eur = replaced(
        site, "site: {id: plant1, timezone: Europe/Budapest, currency: EUR, cny_per_unit: 7.8}"
    )
    assert load_plant_text(eur).to_cny(10.0) == pytest.approx(78.0)
    with pytest.raises(PlantModelError, match="currency EUR: give cny_per_unit"):
        load_plant_text(replaced(site, "site: {id: plant1, timezone: UTC, currency: EUR}"))


def test_an_open_equipment_kind_needs_a_category() -> None:
    plant = load_plant_text(
        replaced("kind: cnc", "kind: reflow_oven\n            category: thermal")
    )
    assert plant.equipment_by_id["cnc"].kind == "reflow_oven"
    assert plant.equipment_by_id["cnc"].known_kind is None
    assert plant.equipment_by_id["bench"].known_kind == "assembly_station"
    with pytest.raises(PlantModelError, match="kind 'reflow_oven' is not one of"):
        load_plant_text(replaced("kind: cnc", "kind: reflow_oven"))


def test_a_routing_bound_to_a_line_runs_only_there() -> None:
    two_lines = replaced(
        "          - id: bench\n",
        "      - id: line2\n        equipment:\n          - id: bench\n",
    )
    plant = load_plant_text(two_lines)
    assert plant.line_of_equipment["bench"] == "line2"
    shared = replaced("skills: [assembly]", "skills: [assembly, machining]", two_lines)
    part_on_2 = replaced("    family: parts", "    family: parts\n    line: line2", shared)
    plant = load_plant_text(part_on_2)
    part = plant.product_by_id["part"]
    assert [e.id for e in plant.eligible_equipment(part.routing[0])] == ["cnc", "bench"]
    assert [e.id for e in plant.eligible_equipment(part.routing[0], part)] == ["bench"]
    bound = replaced("    family: widgets", "    family: widgets\n    line: line2", two_lines)
    widget = load_plant_text(bound).product_by_id["widget"]
    assert widget.line == "line2"
    wrong = replaced("    family: widgets", "    family: widgets\n    line: line1", two_lines)
    with pytest.raises(PlantModelError, match="step 'assemble' has no eligible equipment in line"):
        load_plant_text(wrong)
    unknown = replaced("    family: widgets", "    family: widgets\n    line: nowhere", two_lines)
    with pytest.raises(PlantModelError, match="unknown line 'nowhere'"):
        load_plant_text(unknown)
