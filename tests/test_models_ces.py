"""CES intervals worked out exactly (:func:`arlib.forecast.models.ces`) against
statsforecast's own, which it gets by simulating 5,000 perturbations of the states."""

import time

import numpy as np
import pytest
from statsforecast.models import AutoCES

from arlib.forecast.models import ces

T = np.arange(60)
SEASONAL = (
    200 + 30 * np.sin(2 * np.pi * T / 12) + 0.8 * T + np.random.default_rng(5).normal(0, 6, 60)
)
PLAIN = 100 + np.cumsum(np.random.default_rng(6).normal(0.3, 3.0, 40))


@pytest.mark.parametrize(("y", "m", "h"), [(SEASONAL, 12, 18), (PLAIN, 1, 6)])
def test_ces_intervals_match_statsforecasts_simulation(y, m, h):
    """Same point forecast to the last digit; bounds within the simulation's own error
    (5,000 draws: the 10% and 90% quantiles are good to about 2% of the half-width)."""
    want = AutoCES(season_length=m).forecast(y=y, h=h, level=[80, 95])
    got = ces(y, h, m, (80, 95))
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-12)
    for lv in (80, 95):
        for side in ("lo", "hi"):
            half_want = np.abs(want[f"{side}-{lv}"] - want["mean"])
            half_got = np.abs(got[f"{side}-{lv}"] - got["mean"])
            assert half_got == pytest.approx(half_want, rel=0.06), (side, lv)
            # on average over the horizon the simulation's noise cancels further
            assert half_got.mean() == pytest.approx(half_want.mean(), rel=0.03), (side, lv)


def test_ces_intervals_cost_a_fraction_of_the_simulation():
    t0 = time.perf_counter()
    AutoCES(season_length=12).forecast(y=SEASONAL, h=18, level=[80, 95])
    sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    ces(SEASONAL, 18, 12, (80, 95))
    exact = time.perf_counter() - t0
    assert exact < sim / 3
