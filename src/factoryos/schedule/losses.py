"""Expected losses in the plan: scrap, rework and services by usage, as the twin incurs them.

The twin draws each unit's quality at the end of a step (``simulate.twin``): with the step's
``scrap_rate`` s the unit is scrapped and a replacement of the product (with its components)
starts the routing again; with its ``rework_rate`` r it is reworked, repaired at ``rework_at``
when the step names a station, and repeats the step (drawn again); else it passes. So a unit
that enters step k passes it good with probability ``g_k = (1 - s_k - r_k) / (1 - r_k)``, runs it
``1 / (1 - r_k)`` times on average, and to deliver ``q`` good units a routing starts
``q / (g_0 ... g_last)`` units; step k sees ``q / (g_k ... g_last)`` of them. The plan gives each
step these expected quantities, rounded up, and plans its time for the expected runs
(:class:`StepLoad`), so that the expected good output covers the order.

A service due after every ``hours`` of operating time or ``counts`` units of a unit
(``UsageWindow``) stops the unit in the twin when it is due, wherever its work stands; a plan
cannot know the sequence before it is made, so each operation on such a unit carries its
expected share of service time (``model.capacity.service_load_s``), as the capacity check
counts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from factoryos.model.plant import Plant, Product
from factoryos.schedule.errors import SchedulingError

__all__ = ["StepLoad", "describe", "round_up", "step_loads"]

REL = 1e-9
"""Below this share of itself an expected quantity's fraction is float noise, not a unit."""


@dataclass(frozen=True, slots=True)
class StepLoad:
    """What one step of a routing runs for an order's lot."""

    started: int
    """Units that enter the step (scrap replacements included), expected, rounded up: the
    quantity the plan gives the step."""
    runs: float
    """Expected runs of the step, reworked units' repeats and scrap replacements included:
    what its time is planned for. Not rounded up per lot: the twin starts a replacement when a
    unit is scrapped, so a lot of 6 with 0.1 % scrap costs 6.006 runs on average, not 7."""
    repairs: float
    """Expected units repaired at the step's ``rework_at`` station (0 without one)."""
    entering: float
    """Units expected to enter the step: ``started`` before rounding, what components are
    made for (a lot of 6 arms takes 6.01 units' components on average, not 7)."""
    own_runs: float
    """The runs of the lot's own units and their repeats, scrap replacements left out: these
    come to the step together; a replacement comes alone, when a unit is scrapped."""

    def cycles(self, capacity: int) -> float:
        """Expected cycles on batch equipment of ``capacity`` units: the lot's own runs in whole
        cycles (its reworked units come back within it), the replacements' share of a cycle
        each (they join other loads)."""
        return round_up(self.own_runs / capacity) + (self.runs - self.own_runs) / capacity


def round_up(x: float) -> int:
    """The whole number at or above an expected quantity, float noise ignored."""
    return math.ceil(x - REL * max(1.0, abs(x)))


def step_loads(product: Product, good: float) -> list[StepLoad]:
    """Per step of ``product``'s routing: what it runs so that ``good`` units are expected out."""
    through = []
    for step in product.routing:
        if step.scrap_rate + step.rework_rate >= 1:
            raise SchedulingError(
                f"{product.id}/{step.id}: scrap_rate {step.scrap_rate:g} + rework_rate "
                f"{step.rework_rate:g} >= 1: no unit ever passes the step"
            )
        through.append((1 - step.scrap_rate - step.rework_rate) / (1 - step.rework_rate))
    out = []
    for k, step in enumerate(product.routing):
        entering = good / math.prod(through[k:])
        runs = entering / (1 - step.rework_rate)
        repairs = entering * step.rework_rate / (1 - step.rework_rate) if step.rework_at else 0
        own = good / (1 - step.rework_rate)
        out.append(StepLoad(round_up(entering), runs, repairs, entering, min(own, runs)))
    return out


def describe(plant: Plant, products: set[str], equipment: set[str]) -> tuple[str, ...]:
    """One sentence per kind of expected loss the plan allows for (for the user)."""
    steps = [
        (product, step)
        for product in plant.products
        if product.id in products
        for step in product.routing
    ]
    out = []
    scrapping = [(p, s) for p, s in steps if s.scrap_rate > 0]
    if scrapping:
        worst = max(
            (p for p, _ in scrapping),
            key=lambda p: (
                1
                / math.prod(
                    (1 - s.scrap_rate - s.rework_rate) / (1 - s.rework_rate) for s in p.routing
                )
            ),
        )
        factor = step_loads(worst, 1000)[0].runs / 1000
        out.append(
            f"scrap at {len(scrapping)} steps: each routing starts enough units for the order's "
            f"good output (the order divided by its steps' yields, rounded up; up to "
            f"{factor:.3f} x for {worst.id}), a scrapped unit's replacement with its components"
        )
    reworking = [(p, s) for p, s in steps if s.rework_rate > 0]
    if reworking:
        at = sorted({s.rework_at for _, s in reworking if s.rework_at})
        where = f"; repairs at {', '.join(at)} planned there (share x rework_time)" if at else ""
        out.append(
            f"rework at {len(reworking)} steps: each runs its expected repeats (units / (1 - "
            f"rework_rate)){where}"
        )
    for window in plant.maintenance:
        usage = window.usage
        if usage is None or not equipment & set(window.equipment):
            continue
        shares = []
        if usage.hours_s:
            shares.append(f"{usage.duration_s / usage.hours_s:.2%} of its operating time")
        if usage.counts:
            shares.append(f"{usage.duration_s / usage.counts:.2f} s per unit")
        out.append(
            f"maintenance of {', '.join(window.equipment)} by usage: each operation there "
            f"reserves its expected service time ({' or '.join(shares)}, the larger); the twin "
            "services a unit when it is due"
        )
    return tuple(out)
