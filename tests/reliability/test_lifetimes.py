"""Lifetimes from state histories, by hand: operating time, repairs, censoring, renewal."""

from __future__ import annotations

import numpy as np

from factoryos.model.states import MachineState as S
from factoryos.reliability.lifetimes import (
    Lifetimes,
    MaintenancePolicy,
    UnitHistory,
    unit_lifetimes,
)

H = 3600.0


def pairs(data: Lifetimes) -> list[tuple[float, bool]]:
    return [(d / H, bool(o)) for d, o in zip(data.durations_s, data.observed, strict=True)]


# producing 0-10 h, idle 10-12 h (does not age), producing 12-15 h, fault 15-17 h,
# producing 17-20 h, maintenance 20-22 h, producing 22-30 h, window ends at 30 h.
HISTORY = UnitHistory(
    "acme/works/shop/cells/mill/1",
    [0.0, 10 * H, 12 * H, 15 * H, 17 * H, 20 * H, 22 * H],
    [S.PRODUCING, S.IDLE, S.PRODUCING, S.FAULT, S.PRODUCING, S.MAINTENANCE, S.PRODUCING],
)


def test_operating_time_between_failures_and_censoring_at_the_window_end() -> None:
    tbf, ttr = unit_lifetimes(HISTORY, 30 * H, age_known_at_start=True)
    # 10 + 3 h of operation to the failure; then 3 + 8 h, censored (maintenance pauses)
    assert pairs(tbf) == [(13.0, True), (11.0, False)]
    assert pairs(ttr) == [(2.0, True)]


def test_maintenance_that_renews_censors_the_running_time() -> None:
    tbf, _ = unit_lifetimes(
        HISTORY, 30 * H, age_known_at_start=True, policy=MaintenancePolicy.RENEWS
    )
    assert pairs(tbf) == [(13.0, True), (3.0, False), (8.0, False)]


def test_unknown_age_at_the_window_start_leaves_the_first_stretch_out() -> None:
    tbf, ttr = unit_lifetimes(HISTORY, 30 * H, age_known_at_start=False)
    assert pairs(tbf) == [(11.0, False)]
    assert pairs(ttr) == [(2.0, True)]


def test_a_repair_running_at_the_window_end_is_censored_and_one_running_at_its_start_unused() -> (
    None
):
    history = UnitHistory("u", [0.0, 1 * H, 4 * H, 9 * H], [S.FAULT, S.SETUP, S.PRODUCING, S.FAULT])
    tbf, ttr = unit_lifetimes(history, 10 * H, age_known_at_start=False)
    assert pairs(tbf) == [(8.0, True)]
    assert pairs(ttr) == [(1.0, False)]  # the first fault began before the window


def test_without_censored_keeps_only_failures() -> None:
    data = Lifetimes.of([(1.0, True), (2.0, False), (3.0, True)])
    assert (data.n, data.events, data.censored) == (3, 2, 1)
    assert np.array_equal(data.without_censored().durations_s, [1.0, 3.0])
