"""Lots: how an order's quantity is cut into the units that carry one setup each.

Every engine (the capacity check, the twin's demand, the twin, the scheduler) asks the same two
questions through this module, so they all count setups the same way:

* which lot size applies: the order's own ``lot_size`` (orders CSV column), else the command
  line's ``--lot-size``, else the product's ``lot_size`` -- the most specific wins;
* how ``quantity`` units split into lots: full lots of that size and a last lot with the rest.
"""

from __future__ import annotations

from factoryos.model.errors import FactoryosError
from factoryos.model.plant import Product

__all__ = ["LotSizeError", "effective_lot_size", "split_lots", "transfer_size"]


class LotSizeError(FactoryosError, ValueError):
    """A lot size or quantity below one."""


def effective_lot_size(
    product: Product, order_lot_size: int | None = None, override: int | None = None
) -> int:
    """The lot size of ``product`` for one order: order column > ``--lot-size`` > product."""
    for size in (order_lot_size, override):
        if size is not None:
            if size < 1:
                raise LotSizeError(f"lot size must be >= 1, got {size}")
            return size
    return product.lot_size


def split_lots(quantity: int, lot_size: int) -> list[int]:
    """``quantity`` units in lots of ``lot_size``, the last with the rest (25, 10: 10 10 5)."""
    if quantity < 1 or lot_size < 1:
        raise LotSizeError(f"quantity and lot size must be >= 1, got {quantity} and {lot_size}")
    full, rest = divmod(quantity, lot_size)
    return [lot_size] * full + ([rest] if rest else [])


def transfer_size(product: Product, lot: int) -> int:
    """Units of a lot of ``lot`` passed on together: the transfer batch, at most the lot."""
    return lot if product.transfer_batch is None else min(product.transfer_batch, lot)
