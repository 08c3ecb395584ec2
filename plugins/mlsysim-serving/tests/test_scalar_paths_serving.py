"""The traffic kernels' one-rate branches (``xp is SCALAR``: a float's branch taken alone, without the operations'
calls) answer what the same function answers on numpy arrays, element by element, for any floats the kernels
may pass them (signed, zero, subnormal, huge, infinite, NaN)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_serving import traffic as TR
from mlsysim_serving.ops import ARRAY, SCALAR

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import LIBM_ARRAY  # noqa: E402

#: any float, and the edges a kernel meets: zero, a subnormal, the 1e-300 guard, NaN and the infinities
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-310, 1e-300, 1.0, -1.0, math.inf, -math.inf, math.nan]),
)


def _same(scalar: float, array: np.ndarray) -> bool:
    """The float and the 0-d array hold the same value (NaN matching NaN)."""
    a = float(array)
    return (math.isnan(scalar) and math.isnan(a)) or scalar == a


def _on_arrays(fn, *values: float) -> np.ndarray:
    with np.errstate(all="ignore"):  # numpy's warnings on inf - inf, 0 * inf: the values are what is compared
        return fn(LIBM_ARRAY, *(np.array(v) for v in values))


@given(FLOATS, FLOATS)
def test_combine_on_a_float_is_the_array_answer(d1: float, d2: float) -> None:
    assert _same(TR.combine(SCALAR, d1, d2), _on_arrays(TR.combine, d1, d2))


@given(FLOATS, FLOATS, FLOATS, FLOATS)
def test_median_shift_on_a_float_is_the_array_answer(d1: float, v1: float, d2: float, v2: float) -> None:
    assert _same(TR.median_shift(SCALAR, d1, v1, d2, v2), _on_arrays(TR.median_shift, d1, v1, d2, v2))


def test_median_shift_of_subnormal_variances_divides_by_the_guard() -> None:
    # v1 + v2 = 2e-310 < 1e-300: the shift is (v1*d1 + v2*d2)/1e-300, as numpy's where computes it
    assert TR.median_shift(SCALAR, 1.0, 1e-310, 3.0, 1e-310) == (1e-310 * 1.0 + 1e-310 * 3.0) / 1e-300


@given(FLOATS, FLOATS, FLOATS, FLOATS)
def test_ttft_cdf_on_floats_is_the_array_answer(q50: float, q90: float, q99: float, x: float) -> None:
    out = {"ttft_p50": q50, "ttft_p90": q90, "ttft_p99": q99}
    with np.errstate(all="ignore"):
        array = TR.ttft_cdf({k: np.array(v) for k, v in out.items()}, np.array(x))
    assert _same(TR.ttft_cdf(out, x), array)


@given(FLOATS, FLOATS, FLOATS)
def test_itl_cdf_on_floats_is_the_array_answer(sd: float, mean: float, x: float) -> None:
    with np.errstate(all="ignore"):
        array = TR.itl_cdf({"itl_sd": np.array(sd), "itl_mean": np.array(mean)}, np.array(x))
    assert _same(TR.itl_cdf({"itl_sd": sd, "itl_mean": mean}, x), array)


@given(FLOATS, FLOATS, st.sampled_from([1.0, 5.0]), st.booleans())
def test_budget_on_a_float_is_the_array_answer(B: float, M: float, w: float, separate: bool) -> None:
    load = SimpleNamespace(w=w, separate=separate)
    assert _same(TR.budget(SCALAR, load, B, M), _on_arrays(lambda xp, b: TR.budget(xp, load, b, M), B))


@given(st.tuples(FLOATS, FLOATS, FLOATS, FLOATS, FLOATS, FLOATS), FLOATS)
def test_on_line_on_a_float_is_the_array_answer(line: tuple, q: float) -> None:
    assert _same(TR.on_line(SCALAR, line, q), _on_arrays(lambda xp, *v: TR.on_line(xp, v[:6], v[6]), *line, q))


@given(FLOATS, FLOATS, FLOATS, FLOATS, FLOATS, st.floats(0.0, 1.0))
def test_residual_quantile_on_floats_is_the_array_answer(
    T: float, f: float, t_dec: float, t_mix: float, busy: float, tail: float
) -> None:
    load = TR.Load(4000.0, 500.0, 0.5, 0.0)  # a lognormal prompt length, cv 0.5: its excess table

    def residual(xp, *v):
        return TR.residual_quantile(xp, load, *v)

    scalar = TR.residual_quantile(SCALAR, load, T, f, t_dec, t_mix, busy, tail)
    assert _same(scalar, _on_arrays(residual, T, f, t_dec, t_mix, busy, tail))


@given(
    st.floats(0.0, 50.0),
    st.sampled_from([[50], [90], [99], [50, 90, 99], [99, 50]]),
    st.sampled_from([0.0, 1.0, 3.0, 40.0]),
)
def test_poisson_quantile_on_a_float_is_the_array_answer(m: float, pcts: list, top: float) -> None:
    # each percentile's count as on arrays, in the order asked
    def quantile(pct):
        return lambda xp, mean, cap: TR.poisson_quantile(xp, mean, [pct], cap)[0]

    scalar = TR.poisson_quantile(SCALAR, m, pcts, top)
    assert len(scalar) == len(pcts)
    assert all(_same(q, _on_arrays(quantile(pct), m, top)) for q, pct in zip(scalar, pcts))


@given(st.floats(0.0, 60.0), st.floats(1.0, 1e5), st.floats(1.0, 1e5))
def test_carried_on_a_float_is_the_array_answer(m: float, P1: float, room: float) -> None:
    # the carried count's second-order steps and the Poisson sums under them (_carried, _prefilled)
    fill = float(math.ceil(room / P1))
    mp, K = TR._carried(SCALAR, m, P1, room, fill, fill)
    with np.errstate(all="ignore"):
        mp_array, K_array = TR._carried(LIBM_ARRAY, np.array(m), P1, room, np.array(fill), fill)
    assert _same(mp, mp_array) and K == K_array
    sums = TR._prefilled(SCALAR, mp, P1, room, fill, fill)
    with np.errstate(all="ignore"):
        on_arrays = TR._prefilled(LIBM_ARRAY, np.array(mp), P1, room, np.array(fill), fill)
    assert all(_same(s, a) for s, a in zip(sums, on_arrays))


@given(FLOATS, FLOATS, FLOATS, st.sampled_from([0.0, 1e-3, 1.0]), st.sampled_from([-1.0, -0.5, 0.5]))
def test_secant_on_a_float_is_the_array_answer(a: float, b: float, c: float, T0: float, slope: float) -> None:
    # F(T) = (a + b*T + c*T^2, T^2): its chord, its stops and the fixed-point step where the chord does not fall
    def F(T):
        return a + b * T + c * T * T, T * T

    T, out, kept = TR._secant(SCALAR, F, T0, slope, 1e-12)
    with np.errstate(all="ignore"):
        T_array, out_array, kept_array = TR._secant(LIBM_ARRAY, F, np.array(T0), slope, 1e-12)
    assert _same(T, T_array) and _same(kept, kept_array)
    assert all(_same(s, x) for s, x in zip(out, out_array))


@given(FLOATS)
def test_reach_on_a_float_is_the_array_answer(m: float) -> None:
    with np.errstate(all="ignore"):  # (ops.SCALAR hands sqrt(-1) to numpy, which warns)
        assert _same(TR._reach(SCALAR, m), _on_arrays(TR._reach, m))


@given(FLOATS, FLOATS, FLOATS, FLOATS, FLOATS.filter(lambda x: x != 0.0), FLOATS, FLOATS, FLOATS)
def test_itl_spread_on_floats_is_the_array_answer(
    lam: float, T: float, B: float, t_dec: float, lam_max: float, dT: float, D1: float, cv_p: float
) -> None:
    load = SimpleNamespace(D1=D1, cv_p=cv_p)

    def spread(xp, *v):
        return TR.itl_spread(xp, load, *v)

    scalar = TR.itl_spread(SCALAR, load, lam, T, B, t_dec, lam_max, dT)
    assert _same(scalar, _on_arrays(spread, lam, T, B, t_dec, lam_max, dT))


@pytest.mark.parametrize("m, pct", [(0.0, 99), (0.01, 99), (0.1, 90), (0.69, 50)])
def test_poisson_quantile_where_no_count_reaches_p_is_zero(m: float, pct: int) -> None:
    # P(N = 0) = e^-m >= p: the quantile is the count 0 (a solve's percentiles at its few prompts per step), on a float
    # (without the loop over counts) as on arrays; a top below 0 caps it
    assert math.exp(-m) >= pct / 100.0
    assert TR.poisson_quantile(SCALAR, m, [pct], 40.0) == [0.0]
    assert TR.poisson_quantile(ARRAY, np.array([m]), [pct], 40.0)[0][0] == 0.0
    assert TR.poisson_quantile(SCALAR, m, [pct], -1.0) == [-1.0]
