"""The prior of mlsysim calibrate's fit (mlsysim_validation.prior): widths from the documented ranges, the
effective number of parameters."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_validation.prior import Z80, Prior, effective, prior, two_piece, width


def _cdf(x: float, mode: float, below: float, above: float) -> float:
    # the two-piece normal's CDF (Wallis 2014, eq. 1 integrated): 2 s1/(s1+s2) Phi((x-m)/s1) under the mode,
    # 1 - 2 s2/(s1+s2) (1 - Phi((x-m)/s2)) over it
    phi = NormalDist().cdf
    if x < mode:
        return 2 * below / (below + above) * phi((x - mode) / below)
    return 1 - 2 * above / (below + above) * (1 - phi((x - mode) / above))


def test_widths_put_the_ranges_ends_at_the_10th_and_90th_percentiles():
    # COMPUTE_WIDE 0.60 in 0.44-0.76, MEMORY_STREAM 0.87 in 0.76-0.93 (in ln), STEP_OVERHEAD_S 1 ms in 0-2 ms (in s)
    for name, (default, low, high), log in [
        ("compute", (0.60, 0.44, 0.76), True),
        ("memory", (0.87, 0.76, 0.93), True),
        ("engine_overhead", (1e-3, 0.0, 2e-3), False),
    ]:
        below, above = width(name)
        ends = [math.log(x / default) if log else x - default for x in (low, high)]
        assert [_cdf(x, 0.0, below, above) for x in ends] == pytest.approx([0.1, 0.9], abs=1e-9), name
    # memory's range is 2x wider below its default than above (ln 0.87/0.76 = 0.1352, ln 0.93/0.87 = 0.0667): the
    # lower sigma 1.6x the upper, the mass under the mode 0.619 (session 17, top 0.90: 0.09154 and 0.03639, 0.716)
    assert width("memory") == pytest.approx((0.09657, 0.05950), rel=1e-3)
    assert width("compute") == pytest.approx((0.2329, 0.1930), rel=1e-3)
    assert width("engine_overhead") == pytest.approx((1e-3 / 1.28155, 1e-3 / 1.28155), rel=1e-4)  # symmetric
    assert width("request_overhead") is None  # no documented range: flat
    assert Z80 == pytest.approx(1.2815516, abs=1e-4)


def test_two_piece_is_the_normal_when_symmetric_and_refuses_a_missing_side():
    z = NormalDist().inv_cdf(0.9)  # 1.28155
    assert two_piece(0.3, 0.3) == pytest.approx((0.3 / z, 0.3 / z), rel=1e-10)
    assert two_piece(0.1, 0.3, tail=0.25) == pytest.approx(two_piece(0.3, 0.1, tail=0.25)[::-1], rel=1e-10)
    for bad in [(0.0, 1.0), (1.0, -1.0), (1.0, 1.0, 0.5)]:
        with pytest.raises(ValueError, match="two_piece"):
            two_piece(*bad)


def test_the_80_percent_interval_is_the_range_scaled_to_the_value_used():
    # a solve at the default: its 10th-90th percentiles are the range itself; one that uses 0.5 (another precision)
    # the range as factors 0.44/0.60 .. 0.76/0.60 of it (Range.corners)
    for used, want in [(0.60, (0.44, 0.76)), (0.50, (0.50 * 0.44 / 0.60, 0.50 * 0.76 / 0.60))]:
        p = prior({"compute": [used]})
        below, above = p.sigma["compute"]
        assert [_cdf(math.log(e / used), 0.0, below, above) for e in want] == pytest.approx([0.1, 0.9], abs=1e-9)


def test_the_centre_is_the_values_the_rows_use_and_residuals_are_in_sigmas_of_their_side():
    p = prior({"compute": [0.5, 0.6], "engine_overhead": [1e-3, 3e-3], "request_overhead": [0.0]})
    assert p.centre["compute"] == pytest.approx(math.sqrt(0.3)) and p.centre["engine_overhead"] == pytest.approx(2e-3)
    assert set(p.sigma) == {"compute", "engine_overhead"}
    lo, hi = width("compute")
    c = math.sqrt(0.3)
    at = {"compute": c * math.exp(hi), "engine_overhead": 2e-3 - 7.803e-4, "request_overhead": 0.2}
    assert p.residuals(at) == pytest.approx([1.0, -1.0], rel=2e-4)  # one sigma out each; the flat one adds nothing
    assert p.residuals({"compute": c * math.exp(-lo)}) == pytest.approx([-1.0])  # below: the lower sigma
    assert p.residuals({"compute": c * math.exp(-hi)}) == pytest.approx([-hi / lo])
    assert Prior(p.centre, p.sigma, 2.0).residuals(at) == pytest.approx([0.5, -0.5], rel=2e-4)
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
