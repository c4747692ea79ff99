"""The orders CSV: one order a row (order, product, quantity, release, due[, weight, lot_size]),
every bad row reported at once with its file and line."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from factoryos.schedule.errors import InstanceFormatError, OrderFileError

__all__ = ["REQUIRED", "Order", "read_orders"]

REQUIRED = ("order", "product", "quantity", "release", "due")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Order:
    """A customer or stock order: ``quantity`` of ``product`` between ``release`` and ``due``."""

    order_id: str
    product: str
    quantity: int
    release: dt.datetime
    due: dt.datetime | None = None
    weight: int = 1
    lot_size: int | None = None
    """Units per lot for this order; None: ``--lot-size``, else the product's (model.lots)."""


def _instant(text: str, column: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{column}: not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise ValueError(f"{column}: {text!r} has no time zone (write e.g. 2026-03-02T08:00+08:00)")
    return value.astimezone(dt.UTC)


def _integer(row: dict[str, str], column: str, default: int, least: int) -> int:
    text = (row.get(column) or "").strip()
    if not text:
        if default < least:
            raise ValueError(f"{column}: missing")
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise ValueError(f"{column}: not an integer: {text!r}") from exc
    if value < least:
        raise ValueError(f"{column}: must be >= {least}, got {value}")
    return value


def _order_of(
    row: dict[str, str], products: Collection[str] | None, problems: list[str]
) -> Order | None:
    """The order of one CSV row, or None with every problem of the row added to ``problems``."""

    def field(parse: Callable[[], _T]) -> _T | None:
        try:
            return parse()
        except ValueError as exc:
            problems.append(str(exc))
            return None

    order_id = (row.get("order") or "").strip()
    product = (row.get("product") or "").strip()
    if not order_id:
        problems.append("order: missing")
    if not product:
        problems.append("product: missing")
    elif products is not None and product not in products:
        problems.append(
            f"product: unknown product {product!r} (the plant makes {', '.join(sorted(products))})"
        )
    quantity = field(lambda: _integer(row, "quantity", 0, 1))
    weight = field(lambda: _integer(row, "weight", 1, 0))
    lot_text = (row.get("lot_size") or "").strip()
    lot_size = field(lambda: _integer(row, "lot_size", 0, 1)) if lot_text else None
    release_text = (row.get("release") or "").strip()
    release = field(lambda: _instant(release_text, "release")) if release_text else None
    if not release_text:
        problems.append("release: missing")
    due_text = (row.get("due") or "").strip()
    due = field(lambda: _instant(due_text, "due")) if due_text else None
    if release is not None and due is not None and due < release:
        problems.append(f"due: {due_text} is before the release {release_text}")
    if None in row:
        problems.append(f"extra field(s) beyond the header: {row[None]}")  # type: ignore[index]
    if problems or quantity is None or weight is None or release is None:
        return None
    return Order(order_id, product, quantity, release, due, weight, lot_size)


def read_orders(path: Path | str, *, products: Collection[str] | None = None) -> list[Order]:
    """Read an orders CSV with columns order, product, quantity, release, due[, weight, lot_size].

    ``lot_size`` (optional, per order) overrides the product's lot size for that order. Every
    problem of the file is reported at once, each as ``file:line: column: message``; with
    ``products`` (the plant's product ids) an unknown product is one of them.
    """
    p = Path(path)
    orders: list[Order] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
            if missing:
                raise InstanceFormatError(
                    f"missing column(s) {missing}; expected "
                    f"{', '.join(REQUIRED)}[, weight, lot_size]",
                    path=p,
                    line=1,
                )
            for row in reader:
                line = reader.line_num  # the row's last physical line (quoted fields may wrap)
                found: list[str] = []
                order = _order_of(row, products, found)
                problems.extend((line, message) for message in found)
                if order is None:
                    continue
                if order.order_id in first_line:
                    problems.append(
                        (
                            line,
                            f"order: duplicate order id {order.order_id!r}, first on line "
                            f"{first_line[order.order_id]}",
                        )
                    )
                first_line.setdefault(order.order_id, line)
                orders.append(order)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InstanceFormatError(f"cannot read the orders: {exc}", path=p) from exc
    if problems:
        raise OrderFileError(p, problems)
    return orders
