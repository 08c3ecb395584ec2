"""Speculative decoding in ServingModel (spec_*): accepted tokens per step by hand, the verify pass on
the engine's step cost, the gain shrinking with batch, invariants and the error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving.speculative import accepted_moments, accepted_tokens

import mlsysim
from mlsysim import ServingModel
from mlsysim_core.errors import InvalidInputError

M, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud


def _solve(**kw):
    args = dict(model=M.Llama3_70B, hardware=H.H100, seq_len=2048, tp_size=4, spec_k=4, spec_accept=0.7)
    args.update(kw)
    if "spec_draft" not in args and "spec_draft_cost" not in args:
        args["spec_draft"] = M.Llama3_1B
    return ServingModel().solve(**args)


def test_accepted_tokens_by_hand():
    # (1 - 0.7^5) / (1 - 0.7) = (1 - 0.16807) / 0.3 = 2.7731 = 1 + 0.7 + 0.49 + 0.343 + 0.2401
    assert accepted_tokens(0.7, 4) == pytest.approx(2.7731)
    assert accepted_tokens(0.7, 4) == pytest.approx((1 - 0.7**5) / (1 - 0.7))
    assert accepted_tokens(0.0, 7) == 1.0  # nothing accepted: the target's own token only
    assert accepted_tokens(0.999999, 3) == pytest.approx(4.0, rel=1e-5)  # all accepted: k + 1
    assert _solve().spec_tokens_per_step == pytest.approx(2.7731)


def test_accepted_variance_by_hand():
    """Var X = sum (2j + 1) alpha^j - E^2: at alpha = 0.7, k = 4, E[X^2] = 1 + 3(0.7) + 5(0.49) + 7(0.343) + 9(0.2401)
    = 10.1119 and E = 2.7731; nothing accepted: X = 1 always."""
    assert accepted_moments(0.7, 4) == pytest.approx((2.7731, 10.1119 - 2.7731**2), rel=1e-12)
    assert accepted_moments(0.0, 7) == (1.0, 0.0)


def test_step_is_verify_plus_drafts_on_the_step_cost():
    """n-gram lookup costs nothing: the step is one target pass of k + 1 tokens per sequence; at batch 1
    decode is memory-bound, so that pass costs about one plain step and the gain is about E."""
    r = _solve(spec_draft=None, spec_draft_cost=0.0, batch_size=1)
    plain = r.si("itl")
    assert r.si("spec_step_time") == pytest.approx(plain, rel=0.02)  # 4 more tokens of compute on a weight read
    assert r.si("spec_itl") == pytest.approx(r.si("spec_step_time") / 2.7731)
    assert r.spec_speedup == pytest.approx(plain / r.si("spec_itl"))
    assert 0.97 * 2.7731 < r.spec_speedup <= 2.7731
    # heads costing 10% of a decode step per drafted token: 4 x 0.1 steps more
    heads = _solve(spec_draft=None, spec_draft_cost=0.1, batch_size=1)
    assert heads.si("spec_step_time") == pytest.approx(r.si("spec_step_time") + 0.4 * plain, rel=1e-9)
    assert heads.spec_tokens_per_second.to("token/s").magnitude == pytest.approx(2.7731 / heads.si("spec_step_time"))


def test_gain_shrinks_with_batch_and_break_even():
    small, large = _solve(batch_size=1), _solve(batch_size=512, output_len=None, seq_len=512)
    assert small.spec_speedup > 1.0 > _solve(batch_size=512).spec_speedup
    even = small.spec_break_even_batch
    assert even is not None and 1 < even < 512
    assert _solve(batch_size=even).spec_speedup <= 1.0 < _solve(batch_size=even - 1).spec_speedup
    assert large.spec_draft_memory_per_gpu.to("GB").magnitude > 0
    assert "break-even at batch" in " ".join(small.why())


def test_draft_memory_counts_in_the_wall():
    with_draft = _solve(batch_size=8, output_len=256)
    plain = ServingModel().solve(M.Llama3_70B, H.H100, 2048, batch_size=8, tp_size=4, output_len=256)
    d = M.Llama3_1B
    # draft weights / tp + its KV for 8 x (2048 + 256) tokens, its 8 KV heads split over tp4
    draft = d.parameters * 2 / 4 + 8 * 2304 * d.si.kv_elements_per_token * 2 / 4
    assert with_draft.si("spec_draft_memory_per_gpu") == pytest.approx(draft)
    assert with_draft.si("total_memory_required") == pytest.approx(plain.si("total_memory_required") + draft)


def test_energy_with_and_without():
    r = _solve(batch_size=1)
    assert r.si("spec_energy_per_token") < r.si("energy_per_token")  # fewer steps per token at batch 1
    none = _solve(batch_size=1, spec_accept=0.0)
    assert none.si("spec_energy_per_token") > none.si("energy_per_token")  # draft + verify for one token


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 512), k=st.integers(1, 8), cost=st.floats(0.0, 0.5))
def test_no_gain_without_acceptance(batch, k, cost):
    """alpha -> 0: one token per step that costs a verify pass plus drafts, never less than a plain step."""
    r = _solve(batch_size=batch, spec_k=k, spec_accept=0.0, spec_draft=None, spec_draft_cost=cost)
    assert r.spec_speedup <= 1.0 + 1e-12


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 512), a1=st.floats(0.0, 0.98), a2=st.floats(0.0, 0.98))
def test_gain_grows_with_acceptance(batch, a1, a2):
    lo, hi = sorted((a1, a2))
    assert (
        _solve(batch_size=batch, spec_accept=lo).spec_speedup <= _solve(batch_size=batch, spec_accept=hi).spec_speedup
    )


@pytest.mark.parametrize(
    "kw, argument, words",
    [
        (dict(model=M.Llama3_8B, spec_draft=M.Llama3_70B), "spec_draft", "smaller than the target"),
        (dict(spec_accept=1.0), "spec_accept", "[0.0, 1.0)"),
        (dict(spec_accept=-0.1), "spec_accept", "[0.0, 1.0)"),
        (dict(spec_k=0), "spec_k", "[1, 64]"),
        (dict(spec_k=65), "spec_k", "[1, 64]"),
        (dict(spec_k=True), "spec_k", "[1, 64]"),
        (dict(spec_k=4.0), "spec_k", "[1, 64]"),
        (dict(spec_accept=float("nan")), "spec_accept", "[0.0, 1.0)"),
        (dict(spec_accept=True), "spec_accept", "[0.0, 1.0)"),
        (dict(spec_draft=None, spec_draft_cost=1.0), "spec_draft_cost", "[0.0, 1.0)"),
        (dict(spec_draft=None, spec_draft_cost=-0.0 - 1e-300), "spec_draft_cost", "[0.0, 1.0)"),
        (dict(spec_draft=M.Llama3_1B, spec_draft_cost=0.1), "spec_draft", "one of the two"),
        (dict(spec_draft=H.H100), "spec_draft", "TransformerWorkload"),
        (dict(spec_accept=None), "spec_accept", "acceptance rate"),
        (dict(arrival_rate=2.0, output_len=100, method="simulate"), "method", "analytic with speculative"),
    ],
)
def test_bad_input(kw, argument, words):
    with pytest.raises(InvalidInputError) as exc:
        _solve(**kw)
    assert exc.value.argument == argument and words in str(exc.value)


def test_cli_spec_json():
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    args = "serve Llama3_70B H100 --tp 4 --seq-len 2048 --spec-draft Llama3_1B --spec-k 4 --spec-accept 0.7 --json"
    out = CliRunner().invoke(main, args.split())
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)["result"]
    assert res["spec_tokens_per_step"] == pytest.approx(2.7731)
    bad = CliRunner().invoke(main, [*args.split()[:-2], "1.5"])
    assert bad.exit_code == 1 and "spec-accept" in bad.output and len(bad.output.strip().splitlines()) == 1


# ---- under an arrival rate: the decode step runs k + 1 tokens per sequence plus the drafts, E tokens per step


def _loaded(rate=0.01, **kw):
    args = dict(output_len=256, arrival_rate=rate)
    args.update(kw)
    return _solve(**args)


def _plain(rate=0.01, **kw):
    args = dict(model=M.Llama3_70B, hardware=H.H100, seq_len=2048, tp_size=4, output_len=256, arrival_rate=rate)
    args.update(kw)
    return ServingModel().solve(**args)


def test_loaded_token_gap_at_light_load_by_hand():
    """Nearly empty engine: the decode batch is about one sequence, memory-bound, so the verify pass of
    5 tokens costs about one plain step (n-gram drafts cost nothing) and the gap is that step / E."""
    spec, plain = _loaded(spec_draft=None, spec_draft_cost=0.0), _plain()
    assert spec.si("itl_mean") == pytest.approx(plain.si("itl_mean") / 2.7731, rel=0.03)
    assert spec.si("itl_mean") < spec.si("itl_p99")
    # heads at 10% of a decode step per drafted token: 4 x 0.1 more per step, still /E per token
    heads = _loaded(spec_draft=None, spec_draft_cost=0.1)
    assert heads.si("itl_mean") == pytest.approx(plain.si("itl_mean") * 1.4 / 2.7731, rel=0.03)
    # a draft model: its own steps, and its first step runs over the prompt beside the target's prefill
    draft = _loaded()
    assert spec.si("itl_mean") < draft.si("itl_mean") < plain.si("itl_mean")
    assert draft.si("ttft_mean") > spec.si("ttft_mean")


def test_verify_tokens_count_against_the_token_budget():
    """At saturation the steps are full: every request costs P1 + (k + 1)(O - 1)/E engine tokens instead of
    P1 + (O - 1), so a compute-bound engine saturates earlier with speculation than without."""
    kw = dict(tp_size=8, max_num_seqs=100, max_num_batched_tokens=1024)
    spec, plain = _loaded(spec_draft=None, spec_draft_cost=0.0, **kw), _plain(**kw)
    # full steps hold the decode of 1024*255/(2048 + 255) = 113 plain sequences, more than the 100 allowed: the
    # sequence cap binds; with 5 verified tokens per decode step only 37.5 fit: the budget binds, not the cap
    assert plain.binding_limit == "max_num_seqs" and spec.binding_limit == "prefill compute (token budget)"
    assert spec.si("saturation_rate") < plain.si("saturation_rate")


def test_draft_model_takes_kv_room():
    from mlsysim_serving.setup import prepare
    from mlsysim_serving.under_load import kv_capacity_tokens

    setup = prepare(M.Llama3_70B, H.H100, None, 4, None, None, None, None, False, None)
    plain = kv_capacity_tokens(setup, 8192, 256)
    d = M.Llama3_1B
    weights, per_token = d.parameters * 2 / 4, d.si.kv_elements_per_token * 2 / 4  # bf16, 8 KV heads over tp4
    target = M.Llama3_70B.si.kv_elements_per_token * 2 / 4
    assert kv_capacity_tokens(setup, 8192, 256, weights, per_token) == pytest.approx(
        (plain * target - weights) / (target + per_token)
    )


def test_kv_room_with_the_weights_given_is_the_same():
    # a caller that has the weight bytes per GPU (a disaggregated pool's replica) hands them in: the same KV room,
    # and each GB more of them leaves 1 GB / (kv x b_kv x kv_share) fewer tokens (Llama-3.1-70B bf16 over tp4:
    # 163,840 elements x 2 B / 4 = 81,920 B per token per GPU)
    from mlsysim_serving.kernels import weights_per_gpu
    from mlsysim_serving.setup import prepare
    from mlsysim_serving.under_load import kv_capacity_tokens

    setup = prepare(M.Llama3_70B, H.H100, None, 4, None, None, None, None, False, None)
    w = weights_per_gpu(M.Llama3_70B.parameters, 2.0, 4.0)
    assert kv_capacity_tokens(setup, 8192, 256, weights=w) == pytest.approx(kv_capacity_tokens(setup, 8192, 256))
    fewer = kv_capacity_tokens(setup, 8192, 256) - kv_capacity_tokens(setup, 8192, 256, weights=w + 1e9)
    assert fewer == pytest.approx(1e9 / 81_920)


def test_loaded_sweep_and_cli():
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    rates = [0.5, 2.0]
    swept = ServingModel.sweep(
        model=M.Llama3_70B,
        hardware=H.H100,
        seq_len=2048,
        tp_size=4,
        output_len=256,
        spec_draft_cost=0.05,
        spec_accept=0.7,
        arrival_rate=rates,
    )
    for i, rate in enumerate(rates):
        one = _loaded(rate, spec_draft=None, spec_draft_cost=0.05)
        assert swept["itl_p99"][i].to("s").magnitude == pytest.approx(one.si("itl_p99"))
    args = (
        "serve Llama3_70B H100 --tp 4 --seq-len 2048 --output-len 256 --qps 2 --slo-itl 20ms "
        "--spec-draft-cost 0.05 --spec-accept 0.7 --json"
    )
    out = CliRunner().invoke(main, args.split())
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)["result"]
    assert res["max_arrival_rate"]["value"] > 0 and res["itl_p99"]["value"] < 20
    why = " ".join(_loaded(2.0, spec_draft=None, spec_draft_cost=0.05).why())
    assert "each decode step verifies 5 tokens per sequence against the token budget and keeps 2.77" in why


@settings(max_examples=25, deadline=None)
@given(share=st.floats(0.1, 0.95), k=st.integers(1, 8), cost=st.floats(0.0, 0.5), slo=st.floats(1.2, 3.0))
def test_no_gain_under_load_without_acceptance(share, k, cost, slo):
    """alpha = 0: each step yields the target's own token at the price of a verify pass of k + 1 tokens plus
    the drafts, so at any rate the token gap, the saturation rate and the most rate within an ITL SLO
    are no better than without speculation."""
    plain = _plain()
    rate = share * plain.si("saturation_rate")
    floor = plain.si("itl")
    kw = dict(slo_itl=slo * floor * (k + 1) * (1 + k * cost))
    p = _plain(rate, **kw)
    s = _loaded(rate, spec_draft=None, spec_draft_cost=cost, spec_k=k, spec_accept=0.0, **kw)
    assert s.si("saturation_rate") <= p.si("saturation_rate") * (1 + 1e-9)
    assert s.si("max_arrival_rate") <= p.si("max_arrival_rate") * (1 + 1e-6)
    if s.itl_mean is not None:
        assert s.si("itl_mean") >= p.si("itl_mean") * (1 - 1e-9)


@settings(max_examples=25, deadline=None)
@given(share=st.floats(0.05, 0.6), a1=st.floats(0.0, 0.95), a2=st.floats(0.0, 0.95))
def test_loaded_gap_shrinks_with_acceptance(share, a1, a2):
    rate = share * _plain().si("saturation_rate")
    lo, hi = sorted((a1, a2))
    gap_lo = _loaded(rate, spec_draft=None, spec_draft_cost=0.05, spec_accept=lo).si("itl_mean")
    assert _loaded(rate, spec_draft=None, spec_draft_cost=0.05, spec_accept=hi).si("itl_mean") <= gap_lo * (1 + 1e-9)


def test_loaded_sweep_with_a_draft_model_equals_solve():
    """The arrival-rate sweep runs speculation in one vectorized pass: every field as solve() gives it."""
    rates = [0.25, 1.0, 4.0]
    kw = dict(model=M.Llama3_70B, hardware=H.H100, seq_len=1024, tp_size=4, output_len=256, spec_draft=M.Llama3_2_1B)
    swept = ServingModel.sweep(**kw, spec_k=4, spec_accept=0.8, arrival_rate=rates)
    for i, rate in enumerate(rates):
        one = ServingModel().solve(**kw, spec_k=4, spec_accept=0.8, arrival_rate=rate)
        for name in ("itl_p90", "ttft_p90", "total_memory_required", "saturation_rate", "spec_draft_memory_per_gpu"):
            assert swept.si(name)[i] == pytest.approx(one.si(name), rel=1e-12), name
        assert swept.si("spec_break_even_batch")[i] == one.spec_break_even_batch
        assert bool(swept.si("feasible")[i]) == one.feasible


def test_draft_by_catalog_name_is_the_catalog_entry():
    # as model and hardware: solve("Llama3_8B", "H100", ...) (issue 21's defect 11), and in a sweep
    assert _solve(spec_draft="Llama3_1B") == _solve(spec_draft=M.Llama3_1B)
    swept = ServingModel.sweep(
        model=M.Llama3_70B, hardware=H.H100, seq_len=[2048], tp_size=4, spec_accept=0.7, spec_draft="Llama3_1B"
    )
    assert swept["spec_speedup"][0] == pytest.approx(_solve(spec_draft=M.Llama3_1B).spec_speedup, rel=1e-12)
    with pytest.raises(InvalidInputError, match="spec_draft.*did you mean Llama3_1B"):
        _solve(spec_draft="Llama3_1C")


@settings(max_examples=40, deadline=None)
@given(B=st.floats(1.0, 512.0), ctx=st.floats(16.0, 8192.0), q=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 8192.0))
def test_draft_time_is_k_draft_steps_the_first_over_the_prefill(B, ctx, q):
    """A draft model's k steps beside a step of B sequences and q prefill tokens: draft(B + q) + (k - 1) draft(B),
    each on the draft's step cost; heads/MTP/n-gram k * share * target(B) whatever q. The part without q is kept
    for the last (B, ctx), and at q = 0 the first step is that kept draft(B): asked in any order, the same."""
    from mlsysim_serving import under_load as UL
    from mlsysim_serving.setup import prepare
    from mlsysim_serving.speculative import Speculation

    target, draft = (
        UL.costs(prepare(m, H.H100, None, 4, None, None, None, None, False, None)) for m in (M.Llama3_70B, M.Llama3_1B)
    )
    pos = 700.0

    def step(cost, tokens, fresh=0.0):
        return cost.time(tokens, B * ctx, B * (ctx + 1.0) + tokens - B, False, False, fresh)

    model, heads = Speculation(4, 0.7, draft, None), Speculation(4, 0.7, None, 0.1)
    free = Speculation(4, 0.5, None, 0.0)  # n-gram lookup at no cost
    for q_first in (q, 0.0, q):  # the kept part from the call before, at another q
        expect = step(draft, B + q_first, pos * q_first) + 3 * step(draft, B)
        assert model.draft_time(target, B, ctx, q_first, pos) == pytest.approx(expect, rel=1e-15)
        assert heads.draft_time(target, B, ctx, q_first, pos) == pytest.approx(4 * 0.1 * step(target, B), rel=1e-15)
        assert free.draft_time(target, B, ctx, q_first, pos) == 0.0
    if q > 0.0:  # the first step read off the draft's affine pieces in q at (B, ctx), found once
        assert model._pieces[1] == pytest.approx(draft.line(B, B * ctx, B * (ctx + 1.0), 0.0), rel=0.0)


def test_heads_drafts_keep_the_steps_affine_pieces():
    """Heads/MTP/n-gram drafts add k * share * target(B) whatever the prefill tokens q, so a speculative step keeps
    the affine pieces the traffic kernel sums (traffic.cycle_line) from a memory-bound step to a compute-bound one;
    a draft model's first step runs over the q prefill tokens too (another roofline): none."""
    from mlsysim_serving import traffic as TR
    from mlsysim_serving import under_load as UL
    from mlsysim_serving.setup import prepare
    from mlsysim_serving.speculative import Speculation

    target, draft = (
        UL.costs(prepare(m, H.H100, None, 4, None, None, None, None, False, None)) for m in (M.Llama3_70B, M.Llama3_1B)
    )
    B, ctx, pos = 24.0, 2300.0, 1000.0
    heads = TR.Load(2048.0, 500.0, 0.0, 0.0, "lognormal", Speculation(4, 0.7, None, 0.1))
    c0, c1, m0, m1, r0, r1 = TR.cycle_line(target, heads, B, ctx, pos)
    for q in (0.0, 1.0, 500.0, 8000.0):
        step = TR.cycle_step(target, heads, B, ctx, q, pos)
        assert max(c0 + c1 * q, m0 + m1 * q) + r0 + r1 * q == pytest.approx(step, rel=1e-14)
    assert m0 > c0 and c0 + c1 * 8000.0 > m0 + m1 * 8000.0  # both sides of the roofline
    model = TR.Load(2048.0, 500.0, 0.0, 0.0, "lognormal", Speculation(4, 0.7, draft, None))
    assert TR.cycle_line(target, model, B, ctx, pos) is None
