"""The steady mean step of the traffic model (:func:`mlsysim_serving.traffic.steady`): a fixed point of the mean
step to 1e-12 on one rate (floats, ops.SCALAR) and on a sweep's array (ops.ARRAY; its Poisson sums run to the
largest count any element needs, lumping a Poisson tail of ~1e-9 elsewhere than one rate's sums do)."""

from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving import traffic as TR
from mlsysim_serving import under_load as UL
from mlsysim_serving.ops import ARRAY, SCALAR
from mlsysim_serving.setup import prepare
from mlsysim_serving.speculative import Speculation

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LIBM_ARRAY, LLAMA8, LLAMA70, MIXTRAL, Timed, libm_arrays, steady_matches_timed  # noqa: E402

M = 8192.0


def _engine(model, tp, seq_len, output_len, cv):
    setup = prepare(model, H100, "bf16", tp, None, 0.6, 0.87, None, False, 0.9)
    c = UL.check_mix(
        None, 1.0, cv, "lognormal", None, int(M), None, 0.0, None, None, 99, None, 0, 10_000, False, 1, "mixed"
    )
    cost, _, eng = UL.replica(setup, seq_len, output_len, c)
    return cost, eng


@pytest.mark.parametrize(
    "model, tp, seq_len, output_len, cv",
    [(LLAMA8, 1, 2000, 300, 0.0), (LLAMA8, 1, 200, 50, 0.8), (LLAMA70, 4, 16000, 100, 0.3)],
)
def test_steady_is_the_fixed_point_on_floats_and_arrays(model, tp, seq_len, output_len, cv):
    cost, eng = _engine(model, tp, seq_len, output_len, cv)
    load = eng.load
    rates = eng.saturation * np.array([0.01, 0.3, 0.5, 0.7, 0.9, 0.99])
    T_array = TR.steady(ARRAY, cost, load, rates, M)[0]
    mean = TR._mix(ARRAY, cost, load, 1.0 + rates * load.D1 * T_array, rates * T_array, M)[0]  # F(T)
    assert np.all(abs(mean - T_array) <= 3e-12 * T_array)  # the old 1e-10 step rule left up to 2e-11 here
    for lam, T_sweep in zip(rates.tolist(), T_array):
        T = TR.steady(SCALAR, cost, load, lam, M)[0]
        mean = TR._mix(SCALAR, cost, load, 1.0 + lam * load.D1 * T, lam * T, M)[0]
        assert abs(mean - T) <= 3e-12 * T, (lam, T, mean)
        assert T_sweep == pytest.approx(T, rel=1e-8)


def test_sweep_point_equals_solve_where_the_budget_fills_at_other_counts():
    # a sweep's Poisson sums run to the largest count any rate needs; a rate whose budget fills before it gets
    # no prefill from the counts beyond (they were negative: p99 TTFT 5% below solve()'s at 12 req/s here)
    from mlsysim_serving import ServingModel

    args = dict(model=LLAMA8, hardware=H100, seq_len=2000, output_len=300, length_cv=0.5, length_dist="gamma")
    args["max_num_batched_tokens"] = 4096
    rates = np.linspace(0.05, 12.0, 97)
    cols = ServingModel.sweep(**args, arrival_rate=rates).columns
    for i in (0, 48, 96):
        r = ServingModel().solve(**args, arrival_rate=float(rates[i]))
        for k in ("ttft_p99", "e2e_p90", "itl_mean"):
            assert cols[k][i].to_base_units().magnitude == pytest.approx(
                getattr(r, k).to_base_units().magnitude, rel=1e-9
            )


@pytest.mark.parametrize("model, tp", [(LLAMA8, 1), (LLAMA70, 4)])
def test_step_line_is_the_step_time_on_both_sides_of_the_roofline(model, tp):
    # the affine pieces _mix sums its Poisson counts with: t(q) = max(c0 + c1*q, m0 + m1*q) + r0 + r1*q, from a
    # decode-bound step (q = 0) to a compute-bound one (q = 8,000 prefill tokens), all-reduces included at tp 4
    cost, _ = _engine(model, tp, 2000, 300, 0.0)
    B, ctx, pos = 24.0, 2150.0, 1000.0
    c0, c1, m0, m1, r0, r1 = cost.line(B, B * ctx, B * (ctx + 1.0), pos)
    for q in (0.0, 1.0, 300.0, 2000.0, 8000.0):
        t = cost.time(B + q, B * ctx, B * (ctx + 1.0) + q, fresh=pos * q)
        assert max(c0 + c1 * q, m0 + m1 * q) + r0 + r1 * q == pytest.approx(t, rel=1e-14)
    assert m0 > c0 and c0 + c1 * 8000.0 > m0 + m1 * 8000.0  # memory-bound at q = 0, compute-bound at 8,000
    assert cost.affine  # (StepCost.affine: the kernels ask Load.line_at)
    moe = copy.copy(cost)
    moe.expert_bytes = 1e-3  # expert weights read per token: not affine, the general path
    assert moe.line(B, B * ctx, B * (ctx + 1.0), pos) is None


@pytest.mark.parametrize(
    "model, tp, seq_len, cv", [(LLAMA8, 1, 4000, 0.0), (LLAMA8, 1, 200, 0.8), (LLAMA70, 4, 9000, 0.3)]
)
def test_affine_pieces_answer_as_the_step_cost_does(model, tp, seq_len, cv):
    # _mix's Poisson sum and dT/dB on the line pieces equal them on cycle_step's step times, and so does steady's T
    cost, eng = _engine(model, tp, seq_len, 300, cv)
    load = eng.load
    for lam in (0.1 * eng.saturation, 0.8 * eng.saturation):
        T = steady_matches_timed(cost, load, lam, M, rel=1e-13)
        assert TR.steady(SCALAR, cost, load, lam, M)[0] == pytest.approx(T, rel=1e-12)


def _model_gap(cost, load, lam, T):
    """g(T) = model(T) - T of the mean-value model (traffic._mean_value_root's docstring) on the step cost's times."""
    B = 1.0 + lam * load.D1 * T
    q = max(min(load.P1, M - B), 1.0)
    t0 = TR.decode_step(cost, load, B, load.ctx)
    return t0 + lam * T * load.P1 / q * (TR.cycle_step(cost, load, B, load.ctx, q, load.pos) - t0) - T


@pytest.mark.parametrize(
    "model, tp, seq_len, cv", [(LLAMA8, 1, 4000, 0.0), (LLAMA8, 1, 200, 0.8), (LLAMA70, 4, 2000, 0.3)]
)
def test_model_root_is_the_first_fixed_point_of_the_mean_value_model(model, tp, seq_len, cv):
    cost, eng = _engine(model, tp, seq_len, 300, cv)
    load = eng.load
    rates = eng.saturation * np.array([0.01, 0.3, 0.9])
    T_array, grad_array = TR._model_root(ARRAY, cost, load, rates, M)
    for i, lam in enumerate(rates.tolist()):
        T, grad = TR._model_root(SCALAR, cost, load, lam, M)
        assert abs(_model_gap(cost, load, lam, T)) <= 1e-12 * T  # a fixed point ...
        assert all(_model_gap(cost, load, lam, x) > 0.0 for x in np.linspace(0.0, T, 200)[:-1].tolist())  # the first
        d = 1e-6 * T
        fd = (_model_gap(cost, load, lam, T + d) - _model_gap(cost, load, lam, T - d)) / (2.0 * d)
        assert grad == pytest.approx(fd, rel=1e-5)  # dg/dT there
        assert T_array[i] == pytest.approx(T, rel=1e-14) and grad_array[i] == pytest.approx(grad, rel=1e-12)


def test_start_takes_the_secant_where_prompts_exceed_the_budget():
    # 9,000-token prompts beside the batch in an 8,192-token budget: chunks of M - B*w tokens, q moves with T, the
    # model is not a quadratic: no closed form, the secant's fixed point to START_RTOL
    cost, eng = _engine(LLAMA70, 4, 9000, 300, 0.3)
    lam = 0.5 * eng.saturation
    assert TR._model_root(SCALAR, cost, eng.load, lam, M) is None
    T, slope, d2 = TR._mean_value_root(SCALAR, cost, eng.load, lam, M)
    assert d2 is None  # (the secant's: _spread finds it at T's B)
    assert TR._start(SCALAR, cost, eng.load, lam, M) == (T, slope)  # prompts longer than the room: no spread
    B = 1.0 + lam * eng.load.D1 * T
    q = M - B
    t0 = TR.decode_step(cost, eng.load, B, eng.load.ctx)
    model = t0 + lam * T * eng.load.P1 / q * (TR.cycle_step(cost, eng.load, B, eng.load.ctx, q, eng.load.pos) - t0)
    assert model == pytest.approx(T, rel=1e-3) and slope < 0.0


def _secant_from(cost, load, lam, start):
    """steady's fixed point from ``start`` (T, dg/dT) and the evaluations of _mix its secant takes."""
    seen = []

    def F(T):
        seen.append(T)
        return TR._mix(SCALAR, cost, load, 1.0 + lam * load.D1 * T, lam * T, M)

    return TR._secant(SCALAR, F, *start, TR.STEADY_RTOL)[0], len(seen)


@pytest.mark.parametrize(
    "model, tp, seq_len, output_len, cv, general",
    [
        (LLAMA8, 1, 4000, 500, 0.0, False),
        (LLAMA8, 1, 4000, 500, 0.0, True),
        (LLAMA8, 1, 200, 50, 0.8, False),
        (LLAMA70, 4, 2000, 300, 0.3, False),
    ],
)
def test_the_poisson_spread_of_the_prompts_starts_the_secant_nearer_its_fixed_point(
    model, tp, seq_len, output_len, cv, general
):
    # _start: one Newton step from the mean-value model's root on that model plus E[(N - 1)+]*(t2 - 2*t1 + t0), N ~
    # Poisson(lam*T) prompts per step (the step times by cycle_step here, on the affine pieces or the general path
    # there): nearer the steady step than the root, the secant from it no more evaluations of _mix (fewer at a
    # higher utilization), the same fixed point; a sweep's array answers as each rate alone
    cost, eng = _engine(model, tp, seq_len, output_len, cv)
    cost, load = (Timed(cost) if general else cost), eng.load
    rates = eng.saturation * np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    T_array, slope_array = TR._start(ARRAY, cost, load, rates, M)
    fewer = 0
    for i, lam in enumerate(rates.tolist()):
        T0, g0, d2 = TR._mean_value_root(SCALAR, cost, load, lam, M)
        B, m, room = 1.0 + lam * load.D1 * T0, lam * T0, M - (1.0 + lam * load.D1 * T0)
        t0, t1, t2 = (TR.cycle_step(cost, load, B, load.ctx, min(n * load.P1, room), load.pos) for n in (0, 1, 2))
        # the closed-form root and the secant leave d2 to _spread (at T0's B); the Newton on MoE pieces gives its last
        # evaluation's (test_newton_serving)
        assert d2 is None
        d2 = t2 - 2.0 * t1 + t0
        slope = g0 + lam * (1.0 - np.exp(-m)) * d2
        start = TR._start(SCALAR, cost, load, lam, M)
        assert start[0] == pytest.approx(T0 - (m - 1.0 + np.exp(-m)) * d2 / slope, rel=1e-12)
        assert start[1] == pytest.approx(slope, rel=1e-12)
        assert T_array[i] == pytest.approx(start[0], rel=1e-13) and slope_array[i] == pytest.approx(start[1], rel=1e-13)
        T, n_root = _secant_from(cost, load, lam, (T0, g0))
        T_spread, n_spread = _secant_from(cost, load, lam, start)
        assert T_spread == pytest.approx(T, rel=3e-12)
        assert abs(start[0] - T) <= 0.5 * abs(T0 - T) and n_spread <= n_root, (lam, T0 / T - 1.0, start[0] / T - 1.0)
        fewer += n_spread < n_root
    assert fewer >= 1


def _moe_engine(ep, overlap=False):
    """A MoE replica (MIXTRAL at tp 2, or tp 2 x dp 2 x ep 4 over InfiniBand: the all-to-all) and its engine."""
    import mlsysim

    ib = mlsysim.Systems.Fabrics.InfiniBand_NDR
    dp = 2 if ep > 1 else 1
    setup = prepare(
        MIXTRAL, H100, "bf16", 2, None, 0.6, 0.87, 2, False, 0.9, pp_size=1, ep_size=ep, dp_attention=dp, fabric=ib,
        ep_overlap=overlap,
    )  # fmt: skip
    c = UL.check_mix(
        None, 1.0, 0.3, "lognormal", None, int(M), None, 0.0, None, None, 99, None, 0, 10_000, False, 1, "mixed"
    )
    cost, _, eng = UL.replica(setup, 2000, 300, c)
    return cost, eng


@pytest.mark.parametrize("ep", [1, 4])
def test_every_expert_read_bounds_the_moe_step_and_starts_its_secant(ep):
    # Load.bound_lines: the step with E*(1 - u^tokens) at E (every expert read) and the all-to-all among the
    # all-reduces, as affine pieces at B = 0 and 1 (grown per sequence as Load.line_at grows lines): above the step at
    # every token count, equal to it once the tokens touch every expert; _model_root on them starts
    # _mean_value_root's secant, which still lands on the model's fixed point
    cost, eng = _moe_engine(ep)
    load = eng.load
    assert cost.line(8.0, 8.0 * 2100.0, 8.0 * 2101.0, 1000.0) is None and (cost.a2a is not None) == (ep > 1)
    assert not cost.affine and load.line_at(cost, 8.0) is None  # (the kernels take the pieces without asking)
    zero, one = load.bound_lines(cost)
    every = copy.copy(cost)
    every.untouched = 0.0  # each token reads every expert: the bound is the step itself
    for B, q in ((1.0, 0.0), (8.0, 0.0), (8.0, 300.0), (64.0, 2000.0)):
        line = tuple(a + B * (b - a) for a, b in zip(zero, one))
        top = TR.on_line(SCALAR, line, q)
        assert top >= TR.cycle_step(cost, load, B, load.ctx, q, load.pos) * (1.0 - 1e-14)
        assert top == pytest.approx(TR.cycle_step(every, load, B, load.ctx, q, load.pos), rel=1e-13)
    lam = 0.6 * eng.saturation
    T, slope, _ = TR._mean_value_root(SCALAR, cost, load, lam, M)
    assert abs(_model_gap(cost, load, lam, T)) <= 1e-3 * T and slope < 0.0
    assert TR.steady(SCALAR, cost, load, lam, M)[0] == pytest.approx(TR.steady(SCALAR, Timed(cost), load, lam, M)[0])


def test_two_batch_overlap_has_no_expert_bound():
    # the all-to-all behind the work (max(t, a2a)) is not affine: no bound, _mean_value_root's secant from T = 0
    cost, eng = _moe_engine(4, overlap=True)
    assert cost.overlap and eng.load.bound_lines(cost) == (None, None)


def test_a_load_keeps_the_unit_lines_of_the_cost_last_asked():
    # Load.unit_lines (what _model_root reads every solve): the lines of one step at decode batch 0 and 1 under the
    # cost asked, kept for it; another cost gets its own (None, None without affine pieces), then the first its own
    cost, eng = _engine(LLAMA8, 1, 4000, 300, 0.0)
    load, general = eng.load, Timed(cost)
    lines = tuple(TR.cycle_line(cost, load, B, load.ctx, load.pos) for B in (0.0, 1.0))
    assert lines[0] != lines[1] and load.unit_lines(cost) == lines
    assert load.unit_lines(general) == (None, None)
    assert load.unit_lines(cost) == lines and load.unit_lines(cost) is load.unit_lines(cost)


@pytest.mark.parametrize("model, tp", [(LLAMA8, 1), (LLAMA70, 4)])
def test_a_load_s_line_at_a_batch_is_the_step_s_line_there(model, tp):
    # Load.line_at: the unit lines plus B times their growth per sequence, the step's line to rounding, on floats and
    # arrays; a cost without affine pieces has none; with speculation, or pipeline stages (no line at B = 0), the
    # step's line itself
    cost, eng = _engine(model, tp, 2000, 300, 0.5)
    load = eng.load
    for B in (1.0, 37.5, 512.0, np.array([1.0, 37.5, 512.0])):
        for a, b in zip(load.line_at(cost, B), TR.cycle_line(cost, load, B, load.ctx, load.pos)):
            assert np.allclose(a, b, rtol=1e-14, atol=0.0)
    assert load.line_at(Timed(cost), 37.5) is None
    heads = TR.Load(2048.0, 500.0, 0.0, 0.0, "lognormal", Speculation(4, 0.7, None, 0.1))
    assert heads.line_at(cost, 37.5) == TR.cycle_line(cost, heads, 37.5, heads.ctx, heads.pos)
    staged = copy.copy(cost)
    staged.pp = 4.0
    assert load.unit_lines(staged) == (None, None)
    assert load.line_at(staged, 37.5) == TR.cycle_line(staged, load, 37.5, load.ctx, load.pos) != None  # noqa: E711


@functools.cache
def _bench_case():
    """The bench's case: Llama3-8B on one H100, 4,000/500-token requests (cv 0.5): its step cost and load."""
    cost, eng = _engine(LLAMA8, 1, 4000, 500, 0.5)
    return cost, eng.load


@settings(deadline=None)
@given(st.floats(1.0, 400.0), st.floats(0.0, 8.0), st.sampled_from([512.0, 2048.0, 8192.0]))
def test_mix_on_a_float_is_the_array_answer(B, m, budget):
    # _mix's one-rate branch (its max, min and where inline) answers what its array operations do, exactly
    cost, load = _bench_case()
    mix = TR._mix(SCALAR, cost, load, B, m, budget)
    with np.errstate(all="ignore"):
        on_arrays = TR._mix(LIBM_ARRAY, cost, load, np.array(B), np.array(m), budget)
    for s, a in zip(mix, on_arrays):
        assert s == float(a), (s, a)


@settings(deadline=None)
@given(st.floats(0.0, 600.0), st.floats(1.0, 9000.0), st.floats(0.0, 9000.0), st.floats(0.0, 1e8))
def test_own_step_on_a_float_is_the_array_answer(B, room, tokens, attn):
    cost, load = _bench_case()
    on_arrays = TR.own_step(LIBM_ARRAY, cost, load, np.array(B), np.array(room), np.array(tokens), np.array(attn))
    assert TR.own_step(SCALAR, cost, load, B, room, tokens, attn) == float(on_arrays)


@settings(deadline=None)
@given(
    st.sampled_from([(LLAMA8, 1), (LLAMA70, 4)]),
    st.floats(0.0, 600.0),
    st.floats(1.0, 9000.0),
    st.floats(0.0, 9000.0),
    st.floats(0.0, 1e8),
)
def test_own_step_on_the_step_s_pieces_is_its_time(shape, B, room, tokens, attn):
    # analytic's own steps on the affine pieces at B (its line) answer as the step cost's time does, to rounding,
    # and one rate's branch as the array's, exactly
    cost, eng = _engine(*shape, 2000, 300, 0.5)
    load = eng.load
    line = load.line_at(cost, B)
    on_line = TR.own_step(SCALAR, cost, load, B, room, tokens, attn, line)
    assert on_line == pytest.approx(TR.own_step(SCALAR, cost, load, B, room, tokens, attn), rel=1e-13)
    args = (np.array(B), np.array(room), np.array(tokens), np.array(attn))
    assert on_line == float(TR.own_step(LIBM_ARRAY, cost, load, *args, load.line_at(cost, np.array(B))))


@settings(deadline=None)
@given(st.floats(0.0, 20.0), st.sampled_from([512.0, 2048.0, 8192.0]))
def test_model_root_on_a_float_is_the_array_answer(lam, budget):
    # the closed-form start of the secant: the same root (or none) on one rate as on an array's element
    cost, load = _bench_case()
    root = TR._model_root(SCALAR, cost, load, lam, budget)
    with np.errstate(all="ignore"):
        on_arrays = TR._model_root(LIBM_ARRAY, cost, load, np.array(lam), budget)
    assert (root is None) == (on_arrays is None)
    if root is not None:
        assert root == tuple(float(x) for x in on_arrays)


@settings(deadline=None)
@given(
    st.sampled_from([(LLAMA8, 1), (LLAMA70, 4)]),
    st.floats(20.0, 8000.0),
    st.floats(1.0, 3000.0),
    st.floats(0.0, 1.2),
    st.sampled_from([512.0, 2048.0, 8192.0]),
)
def test_model_root_in_the_order_of_its_sides_is_the_whole_search(shape, seq_len, output_len, share, budget):
    # one rate tries the pairs of roofline sides in the order T meets them and stops at the first with a root
    # (traffic._side_pairs); an array tries every pair: the same smallest root, over both kinds of decode step
    cost, eng = _engine(*shape, seq_len, output_len, 0.5)
    lam = share * eng.saturation
    root = TR._model_root(SCALAR, cost, eng.load, lam, budget)
    with np.errstate(all="ignore"):
        on_arrays = TR._model_root(LIBM_ARRAY, cost, eng.load, np.array(lam), budget)
    assert (root is None) == (on_arrays is None)
    if root is not None:
        assert root == tuple(float(x) for x in on_arrays)


@settings(deadline=None)
@given(st.floats(0.0, 0.98), st.sampled_from([0.0, 1.0]), st.sampled_from([0.5, 1.0, 2.0]))
def test_analytic_on_a_float_is_the_array_answer(load_share, lag, arrival_cv):
    # the open loop's one-rate branches (the waits, the own step, the percentiles' where and max inline) answer
    # every field as the array operations do, exactly
    cost, eng = _engine(LLAMA8, 1, 4000, 500, 0.5)
    lam = load_share * eng.saturation
    args = (M, eng.B_max, arrival_cv, eng.saturation, None, 0.0, lag)
    out = TR.analytic(cost, eng.load, lam, *args)
    with np.errstate(all="ignore"), libm_arrays():
        on_arrays = TR.analytic(cost, eng.load, np.array(lam), *args)
    assert out.keys() == on_arrays.keys()
    for k, v in out.items():
        assert v == float(on_arrays[k]), k
