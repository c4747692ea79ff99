"""What the twin is asked to make: production orders, from a list or a steady demand profile.

The plant model has no order book, so the twin takes one as input. Times are seconds after the
start of the run; the twin turns them into UTC timestamps in the events it emits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from factoryos.model import Plant, effective_lot_size
from factoryos.model.errors import SimulationError

__all__ = ["ProductionOrder", "sold_products", "steady_demand"]

YEAR_S = 365.0 * 86400.0


@dataclass(frozen=True, slots=True)
class ProductionOrder:
    """Make ``quantity`` units of ``product``; released at ``release_s``, due at ``due_s``.

    ``lot_size`` overrides the product's lot size for this order (see ``factoryos.model.lots``).
    """

    order_id: str
    product: str
    quantity: int
    release_s: float
    due_s: float
    lot_size: int | None = None

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise SimulationError(f"order {self.order_id!r}: quantity {self.quantity} < 1")
        if self.lot_size is not None and self.lot_size < 1:
            raise SimulationError(f"order {self.order_id!r}: lot size {self.lot_size} < 1")
        if self.due_s < self.release_s:
            raise SimulationError(f"order {self.order_id!r}: due before its release")


def sold_products(plant: Plant) -> list[str]:
    """Products the plant sells (value added > 0); the rest are sub-assemblies."""
    return [p.id for p in plant.products if p.value_added_cny > 0]


def steady_demand(
    plant: Plant,
    units_per_year: float,
    horizon_s: float,
    *,
    mix: Mapping[str, float] | None = None,
    lot_size: int | None = None,
    due_after_s: float = 14 * 86400.0,
) -> list[ProductionOrder]:
    """Orders of one lot each, released evenly over ``[0, horizon_s)``.

    A lot is ``lot_size`` units (the command line's ``--lot-size``), else the product's own
    ``lot_size``, so the twin counts setups as the capacity check does. ``mix`` gives each
    product's share of ``units_per_year`` (normalised); by default the sold products share it
    equally. Release times of different products are staggered so that lots do not all arrive
    at once.
    """
    shares = dict(mix) if mix is not None else dict.fromkeys(sold_products(plant), 1.0)
    if not shares:
        raise SimulationError("no product to make: the plant sells nothing and no mix was given")
    for product in shares:
        if product not in plant.product_by_id:
            raise SimulationError(f"unknown product {product!r} in the demand mix")
    total = sum(shares.values())
    orders: list[ProductionOrder] = []
    for k, (product, share) in enumerate(sorted(shares.items())):
        rate_per_s = units_per_year * share / total / YEAR_S
        if rate_per_s <= 0:
            continue
        lot = effective_lot_size(plant.product_by_id[product], None, lot_size)
        interval = lot / rate_per_s
        offset = interval * k / len(shares)
        count = math.ceil((horizon_s - offset) / interval)
        for n in range(max(count, 0)):
            release = offset + n * interval
            orders.append(
                ProductionOrder(
                    f"{product}-{n + 1:05d}", product, lot, release, release + due_after_s
                )
            )
    orders.sort(key=lambda o: (o.release_s, o.order_id))
    return orders
