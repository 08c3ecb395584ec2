"""The steady mean step of an engine whose requests decode nothing (D1 = 0: a disaggregated prefill pool) by Newton's
method on the exact derivative of the mean step (:func:`mlsysim_serving.traffic._newton`, ``_mix``'s ``grad``): the
secant's fixed point, in fewer evaluations, the derivatives those of the Poisson sums, on floats as on arrays."""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mlsysim_serving import traffic as TR
from mlsysim_serving import under_load as UL
from mlsysim_serving.ops import SCALAR
from mlsysim_serving.setup import prepare

import mlsysim

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LIBM_ARRAY, LLAMA8, LLAMA70, MIXTRAL, Timed, counted  # noqa: E402

M = 8192.0


@functools.cache
def _cost(tp):
    """The step cost of Llama3-8B on one H100 (tp 1) or Llama3-70B over four (tp 4)."""
    setup = prepare(LLAMA8 if tp == 1 else LLAMA70, H100, "bf16", tp, None, 0.6, 0.87, None, False, 0.9)
    c = UL.check_mix(
        None, 1.0, 0.5, "lognormal", None, int(M), None, 0.0, None, None, 99, None, 0, 10_000, False, 1, "mixed"
    )
    return UL.replica(setup, 4000, 1, c)[0]


def _secant_steady(cost, load, lam):
    """steady's answer by its secant from its start (the path every load with decode steps takes): (T, f, t_dec,
    t_mix, E[t^2]) and the evaluations of _mix it took."""
    seen = []

    def F(T):
        seen.append(T)
        return TR._mix(SCALAR, cost, load, 1.0 + lam * load.D1 * T, lam * T, M)

    T, out, _ = TR._secant(SCALAR, F, *TR._start(SCALAR, cost, load, lam, M), TR.STEADY_RTOL)
    return (T, *out[1:]), len(seen)


def _prefill_load(S, cv, h):
    """A prefill pool's requests: S-token prompts (cv, prefix hit h), one output token: no decode steps."""
    load = TR.Load(S, 1.0, cv, h)
    assert load.D1 == 0.0
    return load


@settings(deadline=None)
@given(
    st.sampled_from([1, 4]),
    st.floats(50.0, 8000.0),
    st.floats(0.0, 1.5),
    st.sampled_from([0.0, 0.5]),
    st.floats(0.001, 0.97),
)
def test_newton_finds_the_secant_s_fixed_point_without_decode_steps(tp, S, cv, h, share):
    cost = _cost(tp)
    load = _prefill_load(S, cv, h)
    lam = share * TR.capacity(cost, load, M, 256.0)[0]
    T, B, f, t_dec, t_mix, sq, slope = TR.steady(SCALAR, cost, load, lam, M)
    (T_s, f_s, t_dec_s, t_mix_s, sq_s), _ = _secant_steady(cost, load, lam)
    assert B == 0.0 and t_dec == t_dec_s
    assert T == pytest.approx(T_s, rel=1e-12)
    assert (f, sq) == pytest.approx((f_s, sq_s), rel=1e-11)
    # f*t_mix = E[t] - (1 - f)*t_dec: the mean's absolute error, ~1e-12*T where the two fixed points agree to 1e-12
    # (STEADY_RTOL; 1e-14*T failed at tp 1, S 3,486, cv 1.28, h 0.5, share 0.001: 9.7e-17 off at T ~ 8e-3 s)
    assert f * t_mix == pytest.approx(f_s * t_mix_s, rel=1e-11, abs=TR.STEADY_RTOL * T)
    mean = TR._mix(SCALAR, cost, load, 1.0, lam * T, M)[0]  # F(T) = T: a fixed point
    assert mean == pytest.approx(T, rel=3e-12)
    # g'(T) = lam * dF/dm - 1, by a central difference of F where the lump's count K (m + 6*sqrt(m) + 4, in steps:
    # F jumps by its tail there) stays the same over the difference
    m, dm = lam * T, 1e-5 * lam * T
    if TR._reach(SCALAR, m - dm) == TR._reach(SCALAR, m + dm):
        F = [TR._mix(SCALAR, cost, load, 1.0, m + s, M)[0] for s in (-dm, dm)]
        assert slope == pytest.approx(lam * (F[1] - F[0]) / (2.0 * dm) - 1.0, rel=1e-6, abs=1e-9)


def test_newton_takes_fewer_evaluations_than_the_secant_at_a_prefill_pool_s_load():
    # the bench's disaggregated prefill pool in kind: 4,000-token prompts at ~70 % of the pool's rate, where the
    # spread start lies ~3e-4 from the fixed point: the secant evaluates _mix three times, Newton twice
    cost, load = _cost(4), _prefill_load(4000.0, 0.5, 0.0)
    lam = 0.7 * TR.capacity(cost, load, M, 256.0)[0]
    with counted("_mix") as seen:
        TR.steady(SCALAR, cost, load, lam, M)
    assert (len(seen), _secant_steady(cost, load, lam)[1]) == (2, 3)


@pytest.mark.parametrize(("tp", "S", "share"), [(4, 4000.0, 0.1), (1, 2000.0, 0.3), (4, 2000.0, 0.3)])
def test_newton_answers_from_one_evaluation_where_its_start_is_close(tp, S, share):
    # the spread start within ~1e-7 of the fixed point (the bench's disaggregated MoE prefill pool: 3.4e-8): one
    # Newton step leaves ~|g''|*s^2/(2|g'|), far within STEADY_RTOL, so one evaluation of _mix answers where the secant
    # takes two; the same fixed point
    cost, load = _cost(tp), _prefill_load(S, 0.5, 0.0)
    lam = share * TR.capacity(cost, load, M, 256.0)[0]
    with counted("_mix") as seen:
        T, B, f, t_dec, t_mix, sq, _ = TR.steady(SCALAR, cost, load, lam, M)
    (T_s, f_s, t_dec_s, t_mix_s, sq_s), evaluations = _secant_steady(cost, load, lam)
    assert (len(seen), evaluations) == (1, 2)
    assert (T, f, t_mix, sq) == pytest.approx((T_s, f_s, t_mix_s, sq_s), rel=1e-12) and t_dec == t_dec_s


@settings(deadline=None)
@given(st.floats(50.0, 8000.0), st.floats(0.0, 1.5), st.floats(1e-4, 6.0), st.sampled_from([2048.0, 8192.0]))
def test_mix_derivatives_are_those_of_its_values(S, cv, m, budget):
    # _mix's grad (times k = 2) against central differences of its five values in m at B = 1
    cost, load = _cost(1), _prefill_load(S, cv, 0.0)
    if budget - 1.0 < load.P1:
        return  # prompts longer than the room: no grad (steady's secant there)
    values, derivatives, curve = TR._mix(SCALAR, cost, load, 1.0, m, budget, 2.0, curve=True)
    dm = 1e-4 * m
    assume(TR._reach(SCALAR, m - dm) == TR._reach(SCALAR, m + dm))  # the lump's count K moves with m in steps
    # near the budget (m*P1 -> room) the carried count m'(m) turns steep (dm'/dm ~ 1,500 at 99.98 % of it): the
    # difference's truncation error, ~dm^2 * F''' / 6, then exceeds its tolerance (up to 1.5 % at 99.98 %; below 80 %
    # of the room, 3e-7 at worst over 20,000 random draws), not the derivative's error (it converges as dm -> 0)
    assume(m * load.P1_nz < 0.8 * (budget - 1.0))
    up, down = (TR._mix(SCALAR, cost, load, 1.0, m + s, budget) for s in (dm, -dm))
    # a difference's rounding: ~10 ulp of each value over dm (times k), t_mix's the mean's over f (its quotient)
    noise = [1e-14 * abs(v) / dm for v in values]
    noise[3] = 1e-14 * values[0] / (values[1] * dm)
    for i, d in enumerate(derivatives):
        difference = 2.0 * (up[i] - down[i]) / (2.0 * dm)
        assert d == pytest.approx(difference, rel=1e-5, abs=noise[i] + 1e-300), i
    # the mean's second derivative (times k^2 = 4): its second difference, whose rounding is ~1e-14 of E[t] and of the
    # step at the budget (the lumped tail's weight 1 - P(N < K) is rounded to an ulp of 1) over dm^2; where much is
    # carried F'' = k^2*(m'^2*E'' + m''*E') is the difference of two near terms (~400 x F'' apart at S = 7269, m = 0.81
    # in 8,191): d2m'/dm2 with h''(m') to ~1e-9 (h'' + h'''*s from _carried's last iterate) keeps it within 1e-6
    bend = 4.0 * (up[0] - 2.0 * values[0] + down[0]) / (dm * dm)
    top = TR.cycle_step(cost, load, 1.0, load.ctx, budget - 1.0, load.pos)
    assert curve == pytest.approx(bend, rel=1e-6, abs=4e-14 * (values[0] + top) / dm**2 + 1e-300)


@settings(deadline=None)
@given(st.sampled_from([1, 4]), st.floats(50.0, 8000.0), st.floats(0.0, 1.5), st.floats(0.001, 0.97))
def test_newton_on_a_float_is_the_array_answer(tp, S, cv, share):
    cost = _cost(tp)
    load = _prefill_load(S, cv, 0.0)
    lam = share * TR.capacity(cost, load, M, 256.0)[0]
    scalar = TR.steady(SCALAR, cost, load, lam, M)
    with np.errstate(all="ignore"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(TR, "ARRAY", LIBM_ARRAY)
        on_arrays = TR.steady(LIBM_ARRAY, cost, load, np.array(lam), M)
    assert scalar == tuple(float(x) for x in on_arrays)


def test_carried_rate_is_the_derivative_of_the_carried_count():
    # dm'/dm = P1/h'(m') where m' solves h(m') = m*P1, and d2m'/dm2 = -h''*(dm'/dm)^2/h': central differences of
    # _carried's m' (the second's rounding: ~1e-13*m' over dm^2, dm = 1e-4*m)
    P1, room = 4000.0, 8191.0
    fill = 3.0
    for m in (0.05, 0.17, 0.9, 1.8):
        mp, K, rate, bow = TR._carried(SCALAR, m, P1, room, fill, fill, True)
        assert (mp, K) == TR._carried(SCALAR, m, P1, room, fill, fill)
        dm = 1e-6 * m
        up, down = (TR._carried(SCALAR, m + s, P1, room, fill, fill)[0] for s in (dm, -dm))
        assert rate == pytest.approx((up - down) / (2.0 * dm), rel=1e-6)
        dm = 1e-4 * m
        up, down = (TR._carried(SCALAR, m + s, P1, room, fill, fill)[0] for s in (dm, -dm))
        assert bow > 0.0 and bow == pytest.approx((up - 2.0 * mp + down) / (dm * dm), rel=1e-3, abs=1e-12 * mp / dm**2)
    assert TR._carried(SCALAR, 0.1, 1.0, 8191.0, 8191.0, 8191.0, True) == (0.1, 6, 1.0, 0.0)  # nothing carried
    assert TR._carried(SCALAR, 3.0, P1, room, fill, fill, True)[2:] == (0.0, 0.0)  # the budget full: 3 want more


def test_carried_count_from_a_start_near_it_is_the_same_in_one_sum():
    # _mix's ``near``: the carried count of a nearby m (a fixed-point iteration's last evaluation) starts the steps at
    # m + (m'_last - m_last): the same m' to CARRIED_RTOL, one sum of _prefilled where m' = m took two
    P1, room, fill = 4000.0, 8191.0, 3.0
    m_last, m = 0.1685, 0.1685 * (1.0 + 2.6e-4)  # the bench's prefill pool: its start ~2.6e-4 off the fixed point
    mp_last = TR._carried(SCALAR, m_last, P1, room, fill, fill)[0]
    with counted("_prefilled") as seen:
        mp, K = TR._carried(SCALAR, m, P1, room, fill, fill)
        cold = len(seen)
        near, K_near = TR._carried(SCALAR, m, P1, room, fill, fill, False, m + (mp_last - m_last))
    assert (cold, len(seen) - cold, K_near) == (2, 1, K)
    assert near == pytest.approx(mp, rel=1e-13)


@pytest.mark.parametrize(
    ("start", "bend", "evaluations"),
    [(1.0 + 1e-7, 0.0, 1), (1.0 + 1e-7, None, 2), (1.0 + 1e-7, 1e3, 2), (1.0 + 1e-3, 0.0, 2), (1.5, 0.0, 2)],
)
def test_newton_stops_after_one_step_where_its_error_bound_allows(start, bend, evaluations):
    # F(T) = 0.5 + 0.5*T (fixed point 1, g' = -0.5): a step from 1 + 1e-7 lands on 1 (to rounding); with |g''| given
    # (0, exact for this F) its error bound |g''|*s^2/(2|g'|) is within rtol*T, so it answers from the one evaluation;
    # without it (None) or with a bound that is not (1e3*1e-14 > 1e-12), and from starts farther than sqrt(rtol)*T
    # (where g'' at T may not hold over the step), it takes a second; each answer the fixed point (floats, arrays)
    seen = []

    def F(T):
        seen.append(T)
        return (0.5 + 0.5 * T,), (0.5,), bend if bend is None else 0.0 * T + bend

    T, out, grad, w, slope = TR._newton(SCALAR, F, start, 1e-12)
    carried = out[0] + grad[0] * w  # F(T) along its derivative from the last evaluation
    assert (T, carried, slope) == pytest.approx((1.0, 1.0, -0.5), rel=1e-15) and len(seen) == evaluations
    seen.clear()
    with np.errstate(all="ignore"):
        T, out, grad, w, slope = TR._newton(TR.ARRAY, F, np.array(start), 1e-12)
    assert (float(T), float(out[0] + grad[0] * w)) == pytest.approx((1.0, 1.0), rel=1e-15) and len(seen) == evaluations


def test_a_caller_s_start_at_the_fixed_point_answers_in_one_evaluation():
    # a nearby rate's fixed point (a search's trial) may already be within STEADY_RTOL: it answers at once
    cost, load = _cost(4), _prefill_load(4000.0, 0.5, 0.0)
    lam = 0.7 * TR.capacity(cost, load, M, 256.0)[0]
    T, *_, slope = TR.steady(SCALAR, cost, load, lam, M)
    with counted("_mix") as seen:
        again = TR.steady(SCALAR, cost, load, lam, M, (T, slope))
    assert len(seen) == 1 and again[0] == pytest.approx(T, rel=1e-12)


@functools.cache
def _moe_cost(pp, ep):
    """Mixtral's step cost over tp 2 x pp (stages: a one-token step fills fewer than pp) or tp 2 x dp 2 x ep 4 over
    InfiniBand (the all-to-all)."""
    dp = 2 if ep > 1 else 1
    setup = prepare(
        MIXTRAL, H100, "bf16", 2, None, 0.6, 0.87, 2 if ep > 1 else None, False, 0.9, pp_size=pp, ep_size=ep,
        dp_attention=dp, fabric=mlsysim.Systems.Fabrics.InfiniBand_NDR,
    )  # fmt: skip
    return UL.costs(setup)


@pytest.mark.parametrize("kind", ["moe pp2", "moe a2a", "timed", "lines"])
@pytest.mark.parametrize("S", [300.0, 2000.0, 12000.0])
def test_mean_value_root_without_decode_steps_is_the_affine_model_s_root(kind, S):
    # D1 = 0: B = 1 whatever T, so the model t0 + lam*T*P1/q*(t_q - t0) is affine in T and its fixed point
    # t0/(1 - lam*P1/q*(t_q - t0)), the slope of g(T) = model(T) - T lam*P1/q*(t_q - t0) - 1: the steps timed here one
    # by one (decode_step, cycle_step), on a pipeline's step below its stages, an all-to-all's pieces or the
    # general path (Timed); a prompt longer than the budget in chunks of q = M - 1
    # or a dense step's affine pieces (taken before _model_root's quadratic, whose root this is too); with the steps'
    # second difference t2 - 2*t_q + t0 at B = 1 (t2 at min(2q, M - 1) tokens; NaN where the prompt exceeds the room)
    cost = {
        "moe pp2": lambda: _moe_cost(2, 1),
        "moe a2a": lambda: _moe_cost(1, 4),
        "timed": lambda: Timed(_cost(1)),
        "lines": lambda: _cost(1),
    }
    cost = cost[kind]()
    load = _prefill_load(S, 0.5, 0.0)
    q = min(load.P1, M - 1.0)
    t0 = TR.decode_step(cost, load, 1.0, load.ctx)
    tq = TR.cycle_step(cost, load, 1.0, load.ctx, q, load.pos)
    lam = 0.5 * min(TR.capacity(cost, load, M, 256.0)[0], q / (load.P1 * (tq - t0)))  # (the model's root: k < 1)
    k = lam * load.P1 / q * (tq - t0)
    T, slope, d2 = TR._mean_value_root(SCALAR, cost, load, lam, M)
    assert T == pytest.approx(t0 / (1.0 - k), rel=1e-13) and slope == pytest.approx(k - 1.0, rel=1e-13)
    assert d2 == pytest.approx(_second_difference(cost, load, 1.0, M), rel=1e-9, abs=1e-13 * t0, nan_ok=True)
    assert t0 + k * T == pytest.approx(T, rel=1e-13)  # a fixed point of the model
    if kind == "lines" and load.P1 <= M - 1.0:  # the quadratic's root on the same pieces
        assert TR._model_root(SCALAR, cost, load, lam, M) == pytest.approx((T, slope), rel=1e-13)


def test_a_load_keeps_its_idle_step_for_the_last_cost_and_batch():
    # Load.idle_step: decode_step at q = 0 (what a prefill pool's pipeline step below its stages asks at each of its
    # evaluations), timed once for the same cost and B, again for another B or cost
    cost, other = _moe_cost(2, 1), _moe_cost(1, 4)
    load = _prefill_load(2000.0, 0.5, 0.0)
    with counted("decode_step") as seen:
        first = [load.idle_step(cost, 1.0) for _ in range(3)]
        assert len(seen) == 1 and first == [TR.decode_step(cost, load, 1.0, load.ctx)] * 3
        seen.clear()
        assert load.idle_step(cost, 3.0) == TR.decode_step(cost, load, 3.0, load.ctx)
        assert load.idle_step(other, 3.0) == TR.decode_step(other, load, 3.0, load.ctx)
        assert load.idle_step(other, 3.0) == TR.decode_step(other, load, 3.0, load.ctx)
        assert len(seen) == 5  # (the three timed here, two by idle_step)


def _second_difference(cost, load, B, budget):
    """t2 - 2*tq + t0 of the steps at B timed one by one (cycle_step), tq with q = max(min(P1, room), 1) and t2 with
    min(2q, room) prompt tokens (room = budget - B*w); NaN where the room is below P1 (traffic._mean_value_root's
    docstring)."""
    room = budget - B * load.w
    if room < load.P1:
        return math.nan
    q = max(min(load.P1, room), 1.0)
    t0, tq, t2 = (TR.cycle_step(cost, load, B, load.ctx, x, load.pos) for x in (0.0, q, min(2.0 * q, room)))
    return t2 - 2.0 * tq + t0


def _model(cost, load, lam, T, budget):
    """The mean-value model t0 + lam*T*P1/q*(tq - t0) at B = 1 + lam*D1*T, its steps timed one by one (decode_step,
    cycle_step) in chunks of q = min(P1, budget - B*w) (traffic._mean_value_root's docstring)."""
    B = 1.0 + lam * load.D1 * T
    q = max(min(load.P1, budget - B * load.w), 1.0)
    t0 = TR.decode_step(cost, load, B, load.ctx)
    tq = TR.cycle_step(cost, load, B, load.ctx, q, load.pos)
    return t0 + lam * T * load.P1 / q * (tq - t0)


@pytest.mark.parametrize("kind", ["moe a2a", "moe tp"])
@pytest.mark.parametrize(("S", "budget"), [(300.0, M), (2000.0, M), (2000.0, 1200.0), (4000.0, 2048.0)])
@pytest.mark.parametrize("T", [0.002, 0.02, 0.2])
def test_the_mean_value_model_s_slope_is_its_derivative(kind, S, budget, T):
    # traffic._model_with_slope on a MoE step's pieces (experts read per token, with an all-to-all over ep 4 or on
    # tp 2 alone: no affine line either way), decoding requests (D1 > 0): its value is the model's steps timed one
    # by one, its slope that model's central difference in T (B = 1 + lam*D1*T moves the steps' pieces, m = lam*T
    # the share of a prompt chunk per step); prompts that fit the room (q = P1) and longer ones in chunks of the
    # room (q = budget - B*w < P1 falls with T), the steps on either side of their rooflines as B grows; the steps'
    # second difference at its B beside the value (held: no slope)
    cost = _moe_cost(1, 4) if kind == "moe a2a" else _moe_cost(1, 1)
    load = TR.Load(S, 300.0, 0.5, 0.0)
    lam = 4.0
    growth = load.piece_growth(cost)
    assert growth is not None and cost.affine is False
    (value, d2), (slope, held), _ = TR._model_with_slope(cost, load, lam, budget, growth, T)
    assert value == pytest.approx(_model(cost, load, lam, T, budget), rel=1e-13)
    B = 1.0 + lam * load.D1 * T
    t0 = TR.decode_step(cost, load, B, load.ctx)
    assert held == 0.0 and d2 == pytest.approx(_second_difference(cost, load, B, budget), abs=1e-13 * t0, nan_ok=True)
    dT = 1e-6 * T
    central = (_model(cost, load, lam, T + dT, budget) - _model(cost, load, lam, T - dT, budget)) / (2.0 * dT)
    assert slope == pytest.approx(central, rel=1e-6)


def test_the_mean_value_root_of_decoding_requests_on_pieces_by_newton():
    # a decode pool in the bench's disaggregated MoE's kind (prompts whose KV is all but cached, 500 outputs) and an
    # aggregated one (2,000-token prompts) on an all-to-all's pieces at 1 % of capacity, where few experts are touched
    # and the every-expert bound's root lies ~50 % above the model's: traffic._mean_value_root by Newton on the
    # model's exact slope from there takes 2 evaluations where the secant on the same model (and start) takes 3, to
    # the model's fixed point (a tight secant's) within START_RTOL, its g'(T) model'(T) - 1 at the last evaluation
    cost = _moe_cost(1, 4)
    for load in (TR.Load(2000.0, 500.0, 0.5, 0.9995), TR.Load(2000.0, 500.0, 0.5, 0.0)):
        lam = 0.01 * TR.capacity(cost, load, M, 256.0)[0]
        with counted("_model_with_slope") as seen:
            T, slope, d2 = TR._mean_value_root(SCALAR, cost, load, lam, M)
        secant = []

        def model(t, secant=secant, load=load, lam=lam):
            secant.append(t)
            return (_model(cost, load, lam, t, M),)

        start = TR._model_root(SCALAR, cost, load, lam, M, load.bound_lines(cost))
        assert start[0] > 1.4 * T
        TR._secant(SCALAR, model, *start, TR.START_RTOL)
        assert (len(seen), len(secant)) == (2, 3)
        assert T == pytest.approx(TR._secant(SCALAR, model, *start, 1e-14)[0], rel=TR.START_RTOL)
        (_, last), (grad, _), _ = TR._model_with_slope(*seen[-1])
        assert slope == grad - 1.0 and d2 == last  # (the second difference of the last evaluation, held)


def _decode_mix(cost, load, lam, M_, T, curve=False):
    """_mix at the steady state's B = 1 + lam*D1*T and m = lam*T, with its derivatives in T (on the MoE pieces)."""
    b1 = lam * load.D1
    return TR._mix(SCALAR, cost, load, 1.0 + b1 * T, lam * T, M_, lam, None, b1, load.piece_growth(cost), None, curve)


@pytest.mark.parametrize("kind", ["moe a2a", "moe tp"])
@pytest.mark.parametrize(("S", "h"), [(2000.0, 1999.0 / 2000.0), (300.0, 0.0), (2000.0, 0.0)])
@pytest.mark.parametrize("T", [0.005, 0.03])
def test_mix_derivatives_in_T_on_moe_pieces_are_those_of_its_values(kind, S, h, T):
    # a decoding MoE load (B = 1 + lam*D1*T moves the pieces, m = lam*T the prompts per step): _mix's derivatives in T
    # (b1 = lam*D1 times d/dB from the pieces' growth, plus lam times d/dm) against central differences of its five
    # values, and its second derivative of the mean against the second difference where nothing is carried (one-token
    # prompts: a disaggregated decode pool; 300-token ones); 2,000-token prompts fill an 8,192 budget: m' moves with B
    # there too (dm'/dB = w*P(N >= fill)/h'), and F'' is +inf (m''(B) left out: no one-step answer)
    cost = _moe_cost(1, 4) if kind == "moe a2a" else _moe_cost(1, 1)
    load = TR.Load(S, 300.0, 0.5, h)
    lam = 4.0
    values, derivatives, curve = _decode_mix(cost, load, lam, M, T, True)
    dT = 1e-5 * T
    up, down = (_decode_mix(cost, load, lam, M, T + s)[0] for s in (dT, -dT))
    carried = S * (1.0 - h) > 1000.0
    for i, d in enumerate(derivatives):
        difference = (up[i] - down[i]) / (2.0 * dT)
        assert d == pytest.approx(difference, rel=1e-5, abs=1e-12 * abs(values[i]) / dT), i
    if carried:
        assert curve == math.inf
    else:
        bend = (up[0] - 2.0 * values[0] + down[0]) / (dT * dT)
        assert curve == pytest.approx(bend, rel=1e-3, abs=1e-13 * values[0] / dT**2)


@pytest.mark.parametrize("kind", ["moe a2a", "moe tp"])
@pytest.mark.parametrize("share", [0.02, 0.2, 0.6])
def test_steady_newton_on_moe_pieces_is_the_secant_s_fixed_point(kind, share):
    # a disaggregated MoE decode pool in kind (one-token prompts, 300 outputs): steady by Newton on _mix's exact
    # derivative in T answers the secant's fixed point (STEADY_RTOL) in no more evaluations of _mix
    cost = _moe_cost(1, 4) if kind == "moe a2a" else _moe_cost(1, 1)
    load = TR.Load(2000.0, 300.0, 0.5, 1999.0 / 2000.0)
    lam = share * TR.capacity(cost, load, M, 256.0)[0]
    with counted("_mix") as seen:
        T, B, f, t_dec, t_mix, sq, slope = TR.steady(SCALAR, cost, load, lam, M)
    (T_s, f_s, t_dec_s, t_mix_s, sq_s), evaluations = _secant_steady(cost, load, lam)
    assert len(seen) <= evaluations
    assert (T, f, t_dec, t_mix, sq) == pytest.approx((T_s, f_s, t_dec_s, t_mix_s, sq_s), rel=TR.STEADY_RTOL)
    assert B == pytest.approx(lam * load.D1 * T, rel=1e-15)


@settings(deadline=None, max_examples=100)
@given(
    st.sampled_from(["moe a2a", "moe tp"]),
    st.floats(50.0, 6000.0),
    st.sampled_from([0.0, 0.5, 0.999]),
    st.floats(20.0, 2000.0),
    st.floats(0.0, 1.5),
    st.floats(0.005, 0.9),
)
def test_steady_by_newton_on_moe_pieces_answers_the_secant_s_fixed_point(kind, S, h, O, cv, share):
    # any decoding load on MoE pieces (prompts that fit the room or fill it, little or much carried, cached or not):
    # Newton's answer, one-step or not, is the secant's fixed point to ~STEADY_RTOL
    cost = _moe_cost(1, 4) if kind == "moe a2a" else _moe_cost(1, 1)
    load = TR.Load(S, O, cv, h)
    assume(load.D1 > 0.0 and load.piece_growth(cost) is not None and M - 1.0 - load.w >= load.P1)
    lam = share * TR.capacity(cost, load, M, 256.0)[0]
    T, B, f, t_dec, t_mix, sq, _ = TR.steady(SCALAR, cost, load, lam, M)
    (T_s, f_s, t_dec_s, t_mix_s, sq_s), _ = _secant_steady(cost, load, lam)
    assert (T, f, t_dec, t_mix, sq) == pytest.approx((T_s, f_s, t_dec_s, t_mix_s, sq_s), rel=TR.STEADY_RTOL)


@pytest.mark.parametrize("kind", ["lines", "moe a2a", "moe pp2"])
@pytest.mark.parametrize(("S", "budget"), [(300.0, M), (2000.0, M), (4000.0, 2048.0)])
def test_mix_mean_alone_is_the_mean_of_the_full_sums(kind, S, budget):
    # capacity's mean step (second=False: no E[t^2], no t_mix) equals the full call's E[t], f and t_dec, on affine
    # pieces, MoE pieces or a pipeline below its stages, with prompts that fit the room and longer ones in chunks
    cost = {"lines": lambda: _cost(1), "moe a2a": lambda: _moe_cost(1, 4), "moe pp2": lambda: _moe_cost(2, 1)}[kind]()
    load = TR.Load(S, 300.0, 0.5, 0.0)
    for B, m in ((1.0, 0.05), (40.0, 0.4), (200.0, 2.0)):
        full = TR._mix(SCALAR, cost, load, B, m, budget)
        assert TR._mix(SCALAR, cost, load, B, m, budget, second=False) == (*full[:3], None, None)
