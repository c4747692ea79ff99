"""Validation against queueing theory: the analytic value lies inside the twin's own 95 % CI.

Independent replications (own random streams each, warm-up deleted), seeded, sized to run in a
few seconds. Two cases with exact answers:

* M/M/1: utilization rho = lambda/mu, mean number in system L = rho/(1-rho), mean time in system
  W = 1/(mu-lambda), and Little's law L = lambda W on every replication.
* Two exponential stations, a saturated first one, a buffer of B parts between them, blocking after
  service: a birth-death continuous-time Markov chain over n = parts downstream of station 1
  (0: station 2 starved, B+2: station 1 blocked), solved exactly with numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from factoryos.simulate.core import Environment
from factoryos.simulate.line import LineStats, SerialLine
from factoryos.simulate.stats import mean_interval
from factoryos.simulate.streams import RandomStreams

SEED = 20261121
REPLICATIONS = 30


def replicate(
    mean_process_s: list[float],
    capacities: list[int | None],
    arrival_mean_s: float | None,
    warmup_s: float,
    horizon_s: float,
) -> list[LineStats]:
    results = []
    for r in range(REPLICATIONS):
        env = Environment()
        line = SerialLine(
            env, RandomStreams(SEED, replication=r), mean_process_s, capacities, arrival_mean_s
        )
        env.run(until_s=warmup_s)
        line.reset_stats()
        env.run(until_s=warmup_s + horizon_s)
        results.append(line.stats())
    return results


# -- M/M/1 ---------------------------------------------------------------------------------------
ARRIVAL_RATE, SERVICE_RATE = 1.0, 1.0 / 0.6


@pytest.fixture(scope="module")
def mm1() -> list[LineStats]:
    return replicate([1 / SERVICE_RATE], [], 1 / ARRIVAL_RATE, warmup_s=300.0, horizon_s=3000.0)


def test_mm1_utilization(mm1: list[LineStats]) -> None:
    rho = ARRIVAL_RATE / SERVICE_RATE
    busy = mean_interval([s.stations[0].busy_share for s in mm1])
    assert rho in busy, f"rho={rho} outside {busy}"


def test_mm1_mean_number_in_system(mm1: list[LineStats]) -> None:
    rho = ARRIVAL_RATE / SERVICE_RATE
    wip = mean_interval([s.mean_wip for s in mm1])
    assert rho / (1 - rho) in wip, f"L={rho / (1 - rho)} outside {wip}"
    assert wip.half_width < 0.15  # the test has teeth: the interval is tight around 1.5


def test_mm1_mean_time_in_system(mm1: list[LineStats]) -> None:
    sojourn = mean_interval([s.mean_sojourn_s for s in mm1])
    assert 1 / (SERVICE_RATE - ARRIVAL_RATE) in sojourn


def test_mm1_littles_law_on_every_replication(mm1: list[LineStats]) -> None:
    for s in mm1:
        # L = lambda W holds on each sample path up to the parts present at the window edges.
        assert s.mean_wip == pytest.approx(s.throughput_per_s * s.mean_sojourn_s, rel=0.03)


# -- two stations, finite buffer -----------------------------------------------------------------
MU1, MU2, BUFFER = 1.0, 1.25, 2


def two_station_ctmc(mu1: float, mu2: float, buffer: int) -> np.ndarray:
    """Stationary distribution over n = 0 .. buffer + 2 from the generator matrix."""
    size = buffer + 3
    q = np.zeros((size, size))
    for n in range(size):
        if n < size - 1:
            q[n, n + 1] = mu1  # station 1 finishes: part enters buffer/station 2, or blocks
        if n > 0:
            q[n, n - 1] = mu2  # station 2 finishes (and unblocks station 1 when n = B + 2)
        q[n, n] = -q[n].sum()
    # pi Q = 0 with sum(pi) = 1: replace one balance equation by the normalisation.
    a = np.vstack([q.T[:-1], np.ones(size)])
    b = np.zeros(size)
    b[-1] = 1.0
    return np.linalg.solve(a, b)


def test_ctmc_matches_the_birth_death_closed_form() -> None:
    pi = two_station_ctmc(MU1, MU2, BUFFER)
    r = MU1 / MU2
    closed = np.array([r**n for n in range(BUFFER + 3)])
    np.testing.assert_allclose(pi, closed / closed.sum(), rtol=1e-12)


@pytest.fixture(scope="module")
def two_station() -> list[LineStats]:
    return replicate([1 / MU1, 1 / MU2], [BUFFER], None, warmup_s=200.0, horizon_s=4000.0)


def test_two_station_throughput(two_station: list[LineStats]) -> None:
    pi = two_station_ctmc(MU1, MU2, BUFFER)
    throughput = MU2 * (1 - pi[0])
    observed = mean_interval([s.throughput_per_s for s in two_station])
    assert throughput in observed, f"{throughput} outside {observed}"
    # Blocking matters here: the bound without it would be min(mu1, mu2) = 1.0.
    assert observed.high < MU1


def test_two_station_blocked_and_starved_shares(two_station: list[LineStats]) -> None:
    pi = two_station_ctmc(MU1, MU2, BUFFER)
    blocked = mean_interval([s.stations[0].blocked_share for s in two_station])
    starved = mean_interval([s.stations[1].starved_share for s in two_station])
    assert pi[-1] in blocked, f"{pi[-1]} outside {blocked}"
    assert pi[0] in starved, f"{pi[0]} outside {starved}"
