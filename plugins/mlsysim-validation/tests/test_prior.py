"""The prior of mlsysim calibrate's fit (mlsysim_validation.prior): widths from the documented ranges, the
effective number of parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_validation.prior import Z80, Prior, effective, prior, width


def test_widths_are_the_documented_ranges_as_80_percent_intervals():
    # COMPUTE_WIDE 0.44-0.76, MEMORY_STREAM 0.76-0.90 (in ln), STEP_OVERHEAD_S 0-2 ms (in s): span / (2 x 1.2816)
    assert width("compute") == pytest.approx(math.log(0.76 / 0.44) / 2.5632, rel=1e-4) == pytest.approx(0.2133, 1e-3)
    assert width("memory") == pytest.approx(math.log(0.90 / 0.76) / 2.5632, rel=1e-4) == pytest.approx(0.0660, 1e-3)
    assert width("engine_overhead") == pytest.approx(2e-3 / 2.5632, rel=1e-4)
    assert width("request_overhead") is None  # no documented range: flat
    assert Z80 == pytest.approx(1.2815516, abs=1e-4)


def test_the_80_percent_interval_has_the_ranges_width_about_the_default():
    # centre x exp(+-Z80 sigma): memory 0.87 x exp(+-0.08454) = 0.7995-0.9467 (the range 0.76-0.90), compute 0.60 x
    # exp(+-0.2733) = 0.4565-0.7886 (0.44-0.76): the ends are the range's only for a default at its middle
    p = prior({"compute": [0.60], "memory": [0.87]})
    interval = {k: [p.centre[k] * math.exp(s * Z80 * p.sigma[k]) for s in (-1.0, 1.0)] for k in p.sigma}
    assert interval["memory"] == pytest.approx([0.7995, 0.9467], abs=2e-4)
    assert interval["compute"] == pytest.approx([0.4565, 0.7886], abs=2e-4)
    assert interval["memory"][1] / interval["memory"][0] == pytest.approx(0.90 / 0.76, rel=1e-9)


def test_the_centre_is_the_values_the_rows_use_and_residuals_are_in_sigmas():
    p = prior({"compute": [0.5, 0.6], "engine_overhead": [1e-3, 3e-3], "request_overhead": [0.0]})
    assert p.centre["compute"] == pytest.approx(math.sqrt(0.3)) and p.centre["engine_overhead"] == pytest.approx(2e-3)
    assert set(p.sigma) == {"compute", "engine_overhead"}
    at = {"compute": math.sqrt(0.3) * math.exp(0.2133), "engine_overhead": 2e-3 - 7.8e-4, "request_overhead": 0.2}
    assert p.residuals(at) == pytest.approx([1.0, -1.0], rel=2e-3)  # one sigma out each; the flat one adds nothing
    assert Prior(p.centre, p.sigma, 2.0).residuals(at) == pytest.approx([0.5, -0.5], rel=2e-3)
    assert Prior(p.centre, p.sigma, None).residuals(at) == []  # least squares: no prior


def test_effective_parameters_by_hand():
    # one parameter, two rows of slope 1 and a prior row of slope 1: 2 / (2 + 1) of it is the rows'
    assert effective([[1.0], [1.0], [1.0]], rows=2) == pytest.approx(2 / 3)
    # a flat parameter the rows see counts 1, one they do not see 0
    assert effective([[1.0, 0.0], [2.0, 0.0]], rows=2) == pytest.approx(1.0)


@given(st.lists(st.floats(-10, 10), min_size=6, max_size=6), st.lists(st.floats(0.01, 10), min_size=2, max_size=2))
def test_effective_parameters_lie_between_none_and_all(rows, prior_slopes):
    jac = np.vstack([np.array(rows).reshape(3, 2), np.diag(prior_slopes)])
    assert -1e-9 <= effective(jac, rows=3) <= 2 + 1e-9
