"""The aggregated comparison of a disaggregated solve without SLOs sets up only the layouts that can win:
traffic.capacity_bound is an upper bound of traffic.capacity's rate (checked against it over layouts, lengths and
budgets), and the best layout it keeps is the one every layout's saturation rate picks."""

from __future__ import annotations

import itertools

import pytest
from mlsysim_serving import disagg as D
from mlsysim_serving import traffic as TR

import mlsysim
from mlsysim import ServingModel

M, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud


def _plan(model, hardware, seq_len, output_len, **kw):
    """The memoized plan of a disaggregated solve (its aggregated comparison's replicas, set up)."""
    args = dict(
        model=model,
        hardware=hardware,
        seq_len=seq_len,
        output_len=output_len,
        arrival_rate=0.01,
        disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
        fabric="IB_NDR",
        **kw,
    )
    ServingModel().solve(**args)
    return next(v.plan for _, v in reversed(D._layouts.values()) if v.plan.agg.hardware is hardware)


CASES = [
    (model, hw, S, O, M_tok)
    for (model, hw), (S, O), M_tok in itertools.product(
        [(M.Llama3_70B, H.H100), (M.Llama3_70B, H.H200), (M.Llama3_8B, H.H100)],
        [(4000, 500), (512, 2000), (8000, 64), (100, 8)],
        [512, 8192],
    )
]


@pytest.mark.parametrize(("model", "hw", "S", "O", "M_tok"), CASES)
def test_capacity_bound_is_above_the_capacity(model, hw, S, O, M_tok):
    plan = _plan(model, hw, S, O, max_num_batched_tokens=M_tok)
    assert plan.agg.held
    for tp, replica in plan.agg.held:
        e = replica.engine()
        bound = TR.capacity_bound(replica.cost, e.load, float(M_tok), e.B_max)
        # the bound holds to 1e-9 (the rounding of the mean step's sums; the comparison leaves 1e-6)
        assert bound >= e.saturation * (1.0 - 1e-9), (tp, bound, e.saturation)
        # and a close one (the chord through no prompt and one prompt per step): within 5 % of the rate here (the
        # mean step's tangent alone, Jensen's inequality, left tp8 of the bench case 7 % above)
        assert bound <= 1.05 * e.saturation, (tp, bound, e.saturation)


def test_capacity_bound_is_the_rate_where_a_step_holds_one_chunk_at_most():
    # 4000-token prompts, a 512-token budget: a step prefills a chunk of the room or nothing, in a share
    # m*P1/room of the steps, so the mean step is the chord between them at E[q] (traffic._mix's long prompts) and
    # the bound is the rate itself but for the 1e-6 it takes off E[q] (tp2: KV capacity binds)
    plan = _plan(M.Llama3_70B, H.H100, 4000, 500, max_num_batched_tokens=512, efficiency=0.6 + 5e-15)
    tp, replica = plan.agg.held[0]
    e = replica.engine()
    assert (tp, e.limit) == (2, "KV capacity")
    bound = TR.capacity_bound(replica.cost, e.load, 512.0, e.B_max)
    assert 0.0 <= bound / e.saturation - 1.0 <= 1e-6


def test_capacity_bound_none_where_it_does_not_hold():
    load = TR.Load(4000.0, 1.0, 0.0, 0.0)  # no token gaps
    assert TR.capacity_bound(None, load, 8192.0, 16.0) is None
    separate = TR.Load(4000.0, 500.0, 0.0, 0.0, prefill_steps="separate")
    assert TR.capacity_bound(None, separate, 8192.0, 16.0) is None


@pytest.mark.parametrize(("model", "hw", "S", "O", "M_tok"), CASES)
def test_the_kept_layouts_pick_the_best_of_all(model, hw, S, O, M_tok):
    plan = _plan(model, hw, S, O, max_num_batched_tokens=M_tok, efficiency=0.6 + 1e-13 * M_tok)
    agg = plan.agg
    kept = agg.best(None, None, O)
    assert agg._order is None  # no SLOs: the full order is not set up
    full = sorted(((tp, r, r.engine().saturation) for tp, r in agg.held), key=lambda item: -item[2] / item[0])
    tp, _, top = full[0]
    assert kept == (top * O / tp, f"{hw.name} tp{tp}", ())


def test_the_bench_case_sets_up_one_of_three_aggregated_engines():
    # Llama3_70B on H100, 4000 + 500 tokens: tp4's saturation per GPU (0.594/s, KV capacity) is above tp2's bound
    # (0.178/s: 7 sequences fit) and tp8's (0.561/s: the chord through 0 and one 4000-token prompt per step, where the
    # tangent at the mean 2,052 tokens gave 0.595/s), so neither engine is set up
    plan = _plan(M.Llama3_70B, H.H100, 4000, 500, efficiency=0.6 + 3e-15)
    agg = plan.agg
    best = agg.best(None, None, 500)
    engines = {tp: replica._engine is not None for tp, replica in agg.held}
    assert engines == {2: False, 4: True, 8: False}
    assert best[1] == f"{H.H100.name} tp4"
