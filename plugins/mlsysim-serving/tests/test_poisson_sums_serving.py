"""The Poisson sums of the mean step (:func:`mlsysim_serving.traffic._mix`) in closed form where the counts below its
lump lie on one side of the roofline (:func:`mlsysim_serving.traffic._one_side_sums`): the same sums as the loop over
the counts, on either side, with the decode step on the same side or across the kink, and none where the counts
straddle it; on a MoE step's pieces the mean alone where every count is memory-bound
(:func:`mlsysim_serving.traffic._memory_side_means`)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving import traffic as TR
from mlsysim_serving import under_load as UL
from mlsysim_serving.ops import SCALAR
from mlsysim_serving.setup import prepare

import mlsysim

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LIBM_ARRAY, LLAMA8, MIXTRAL, counted  # noqa: E402

M = 8192.0


def _looped(step, P1, K, mp, t_dec=0.0, cv2=0.0):
    """(p_J, P_J, sum p_n*t_n, sum p_n*(t_n^2 + (t_n - t_dec)^2*cv2/n)) over n = 1..J = K-1 by the loop: t_n =
    step(n*P1), the step of n*P1 prefill tokens; the spread as _mix's delta method."""
    pmf = below = math.exp(-mp)
    mean = sq = 0.0
    for n in range(1, K):
        pmf = pmf * mp / n
        below += pmf
        t = step(n * P1)
        mean += pmf * t
        sq += pmf * (t * t + (t - t_dec) ** 2 * cv2 / n)
    return pmf, below, mean, sq


POSITIVE = st.floats(1e-6, 1.0)
#: a step's affine pieces (c0, c1, m0, m1, r0, r1): each side's seconds at q = 0 and per prefill token, the rest's
LINE = st.tuples(POSITIVE, st.floats(1e-9, 1e-3), POSITIVE, st.floats(1e-12, 1e-3), POSITIVE, st.floats(0.0, 1e-6))


@settings(deadline=None)
@given(LINE, st.floats(0.5, 2000.0), st.integers(2, 40), st.floats(0.0, 30.0), st.floats(0.0, 4.0))
def test_one_side_sums_are_the_loop_on_either_side_and_across_the_kink(line, P1, K, mp, cv2):
    c0, c1, m0, m1, r0, r1 = line
    t_dec = max(c0, m0) + r0
    p0 = math.exp(-mp)
    sums = TR._one_side_sums(SCALAR, line, P1, K, t_dec, mp, p0, p0 * t_dec, p0 * t_dec * t_dec, cv2)
    low, high = ((c0 + c1 * q) - (m0 + m1 * q) for q in (P1, (K - 1) * P1))  # compute side less memory side
    if sums is None:  # the counts straddle the kink (to rounding): no closed form
        tie = 1e-12 * (max(c0, m0) + max(c1, m1) * K * P1)
        assert min(low, high) < tie and max(low, high) > -tie
        return
    pmf, below, mean, sq = _looped(lambda q: TR.on_line(SCALAR, line, q), P1, K, mp, t_dec, cv2)
    assert sums[0] == pytest.approx(pmf, rel=1e-12, abs=1e-300)
    assert sums[1] == pytest.approx(below, rel=1e-12)
    # the n >= 1 part of each sum, to 1e-12 of itself (the n = 0 term added to both alike)
    assert sums[2] - p0 * t_dec == pytest.approx(mean, rel=1e-12, abs=1e-15 * t_dec)
    assert sums[3] - p0 * t_dec * t_dec == pytest.approx(sq, rel=1e-12, abs=1e-15 * t_dec * t_dec)


def test_the_kink_between_the_decode_step_and_the_prompts_counts_their_jump():
    # memory-bound decode step (m0 > c0), compute-bound from the first prompt on: d = a - t_dec != 0, hand sums
    line = (1.0, 0.01, 2.0, 0.0, 0.5, 0.0)  # t(q) = max(1 + 0.01q, 2) + 0.5: q = 100 is the kink
    P1, K, mp, cv2 = 150.0, 4, 0.8, 0.25
    t_dec, p = 2.5, [math.exp(-0.8) * 0.8**n / math.factorial(n) for n in range(4)]
    t = [1.5 + 1.5 * n for n in range(4)]  # t_n = 1 + 0.01*150*n + 0.5 for n >= 1 (compute side)
    mean = p[0] * t_dec + sum(p[n] * t[n] for n in (1, 2, 3))
    sq = p[0] * t_dec**2 + sum(p[n] * (t[n] ** 2 + (t[n] - t_dec) ** 2 * cv2 / n) for n in (1, 2, 3))
    sums = TR._one_side_sums(SCALAR, line, P1, K, t_dec, mp, p[0], p[0] * t_dec, p[0] * t_dec**2, cv2)
    assert sums == pytest.approx((p[3], sum(p), mean, sq), rel=1e-14)


def _short_prompts():
    """Llama3-8B on one H100 with 16-token prompts (a decode pool's ~1-token prompts in kind): a count far in the
    Poisson's tail, K = m + 6*sqrt(m) + 4, lumps the prompts per step, all of them memory-bound beside the batch."""
    setup = prepare(LLAMA8, H100, "bf16", 1, None, 0.6, 0.87, None, False, 0.9)
    c = UL.check_mix(
        None, 1.0, 0.5, "lognormal", None, int(M), None, 0.0, None, None, 99, None, 0, 10_000, False, 1, "mixed"
    )
    cost, _, eng = UL.replica(setup, 16, 500, c)
    return cost, eng.load


@settings(deadline=None)
@given(st.floats(1.0, 400.0), st.floats(0.0, 12.0))
def test_mix_with_the_closed_sums_is_the_loop_and_the_array_answer(B, m):
    cost, load = _short_prompts()
    mix = TR._mix(SCALAR, cost, load, B, m, M)
    with np.errstate(all="ignore"):
        on_arrays = TR._mix(LIBM_ARRAY, cost, load, np.array(B), np.array(m), M)
    assert all(s == float(a) for s, a in zip(mix, on_arrays))  # one rate's branch = the array's, exactly
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TR, "ONE_SIDE_K", 10**9)  # the loop over every count
        looped = TR._mix(SCALAR, cost, load, B, m, M)
    mean, f, t_dec, t_mix, sq = mix
    assert (f, t_dec) == looped[1:3]
    assert mean == pytest.approx(looped[0], rel=1e-14) and sq == pytest.approx(looped[4], rel=1e-14)
    # t_mix = (mean - (1 - f)*t_dec)/f: the mean's rounding over f
    assert f * t_mix == pytest.approx(f * looped[3], rel=1e-12, abs=1e-14 * mean)


@settings(deadline=None)
@given(LINE, st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.5, 2000.0), st.integers(2, 40), st.floats(0.0, 30.0))
def test_memory_side_means_are_the_loop_where_every_count_reads_memory(line, share, u, P1, K, mp):
    # traffic._memory_side_means: the mean step's sum over the counts below the lump on a MoE step's pieces,
    # t(q) = max(c0 + c1*q, m0 + m1*q - g*u^q) + r0 + r1*q (g = share*m0: the experts the step's tokens leave unread),
    # where each count is memory-bound (the sides' difference convex in q: its two ends decide); none where one may not
    c0, c1, m0, m1, r0, r1 = line
    g = share * m0
    pieces = (c0, c1, m0, m1, r0, r1, g, u, 0.0, 0.0, None)
    t_dec = TR.on_pieces(pieces, 0.0)
    p0 = math.exp(-mp)
    sums = TR._memory_side_means(c0, c1, m0, m1, r0, r1, g, u, P1, K, mp, p0, p0 * t_dec)
    pmf, below, mean, _ = _looped(lambda q: TR.on_pieces(pieces, q), P1, K, mp)
    memory = all(c0 + c1 * n * P1 < m0 + m1 * n * P1 - g * u ** (n * P1) for n in range(1, K))  # strictly, each count
    tie = 1e-12 * (m0 + max(c1, m1) * K * P1)
    if sums is None:  # some count compute-bound (to rounding at the ends)
        ends = [(c0 - m0) + (c1 - m1) * q + g * u**q for q in (P1, (K - 1) * P1)]
        assert not memory or max(ends) > -tie
        return
    assert memory
    assert sums[0] == pytest.approx(pmf, rel=1e-12, abs=1e-300)
    assert sums[1] == pytest.approx(below, rel=1e-12)
    assert sums[2] - p0 * t_dec == pytest.approx(mean, rel=1e-12, abs=1e-15 * t_dec)


def test_capacity_of_a_decode_pool_on_moe_pieces_is_the_loop():
    # a decode pool's ~1-token prompts (their KV all but cached) beside a memory-bound batch of MoE experts (Mixtral
    # tp 2 x dp 2 x ep 4: an all-to-all, no affine line): capacity's mean step at B_max by the closed sums, as the
    # loop over every count (ONE_SIDE_K out of reach) to rounding
    setup = prepare(
        MIXTRAL, H100, "bf16", 2, None, 0.6, 0.87, 2, False, 0.9, pp_size=1, ep_size=4, dp_attention=2,
        fabric=mlsysim.Systems.Fabrics.InfiniBand_NDR,
    )  # fmt: skip
    cost = UL.costs(setup)
    load = TR.Load(2000.0, 500.0, 0.5, 0.9995)
    assert not cost.affine and load.pieces_at(cost, 256.0) is not None
    with counted("_memory_side_means", answered=True) as seen:
        closed = TR.capacity(cost, load, M, 256.0)
    assert seen  # (the closed sums answered)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TR, "ONE_SIDE_K", 10**9)
        looped = TR.capacity(cost, load, M, 256.0)
    assert closed[1] == looped[1] and closed[0] == pytest.approx(looped[0], rel=1e-14)
