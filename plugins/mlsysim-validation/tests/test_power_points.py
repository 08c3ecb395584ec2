"""The accelerator power shares (mlsysim_physics.efficiency.POWER_*) and their ranges round from the least-squares
fit to the calibration set's measured board draws (mlsysim_validation.power_points; tools/power_shares.py)."""

from __future__ import annotations

import numpy as np
import pytest
from mlsysim_validation import harness
from mlsysim_validation import power_points as P

from mlsysim_physics import efficiency as E
from mlsysim_uncertainty.ranges import RANGES

ARGUMENTS = ("power_idle", "power_compute", "power_memory")


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    return P.measured_points(harness.load_measurements() + harness.added_measurements())


def test_the_shipped_shares_and_ranges_round_from_the_fit(measured):
    assert len(measured) == len(P.points()) == 6
    shares, errors = P.fit(measured)
    for argument, x, se in zip(ARGUMENTS, shares, errors):
        r = RANGES[argument]
        assert r.default == getattr(E, r.name) == pytest.approx(x, abs=0.006)
        assert (r.low, r.high) == pytest.approx((max(x - se, 0.0), x + se), abs=0.006)


def test_the_fit_is_least_squares_and_exact_on_a_model_of_its_own_form(measured):
    """Draws made by the model at known shares are fitted back exactly, with zero standard error."""
    truth = (0.2, 0.5, 0.3)
    made = {pid: P.power(pid, *truth) for pid in measured}
    shares, errors = P.fit(made)
    assert shares == pytest.approx(truth, abs=1e-9)
    assert errors == pytest.approx(0.0, abs=1e-6)


def test_idle_points_draw_the_idle_share_and_serving_points_lie_inside_the_band(measured):
    low = [RANGES[a].low for a in ARGUMENTS]
    high = [RANGES[a].high for a in ARGUMENTS]
    for pid, watts in measured.items():
        tdp, u_c, u_m = P.busy(pid)
        assert 0.0 <= u_c <= 1.0 and 0.0 <= u_m <= 1.0
        if u_c == u_m == 0.0:
            assert P.power(pid, 0.2, 0.9, 0.9) == pytest.approx(0.2 * tdp)  # by hand: IDLE x TDP
        assert P.power(pid, *low) <= watts <= P.power(pid, *high), pid


def test_the_shares_fit_draws_every_point_below_the_cap(measured):
    """The fit drops min(1, .): valid only while every fitted draw stays below TDP."""
    shares, _ = P.fit(measured)
    assert all(P.busy(pid)[0] > P.power(pid, *shares) for pid in measured)
    assert np.all(shares > 0)
