"""The traffic kernel's step pieces where a step has no affine pieces (:meth:`mlsysim_serving.traffic.Load.pieces_at`,
:meth:`StepCost.pieces`): MoE experts read per token (E*(1 - u^tokens)), an all-to-all, pipeline stages and a draft
model's first step over the prefill tokens (a second roofline) answer the step :func:`traffic.cycle_step` times through
:meth:`StepCost.time` (and the draft's), to 1e-12, at any decode batch and prefill tokens where they hold (q >= low);
none with two-batch overlap or prefill steps of their own; and the kernels on them answer as on the step times."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving import traffic as TR
from mlsysim_serving import under_load as UL
from mlsysim_serving.ops import SCALAR
from mlsysim_serving.setup import prepare
from mlsysim_serving.speculative import Speculation

import mlsysim

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA70, MIXTRAL, Timed, steady_matches_timed  # noqa: E402

M = 8192.0
IB = mlsysim.Systems.Fabrics.InfiniBand_NDR


def _cost(model, tp, pp=1, ep=1, overlap=False):
    """A replica's step cost: tp x pp, with ep > 1 a tp x dp 2 x ep layout over InfiniBand (the all-to-all)."""
    dp = 2 if ep > 1 else 1
    setup = prepare(
        model, H100, "bf16", tp, None, 0.6, 0.87, 2 if ep > 1 else None, False, 0.9, pp_size=pp, ep_size=ep,
        dp_attention=dp, fabric=IB if (ep > 1 or pp > 1) else None, ep_overlap=overlap,
    )  # fmt: skip
    return UL.costs(setup)


@functools.cache
def _costs():
    """name -> (target step cost, Speculation or None, prefix hit)."""
    draft = UL.costs(prepare(mlsysim.Models.Language.Llama3_1B, H100, None, 4, None, None, None, None, False, None))
    return {
        "moe": (_cost(MIXTRAL, 2), None, 0.0),
        "moe a2a": (_cost(MIXTRAL, 2, ep=4), None, 0.3),
        "moe pp2": (_cost(MIXTRAL, 2, pp=2), None, 0.0),
        "moe pp4 a2a": (_cost(MIXTRAL, 2, pp=4, ep=4), None, 0.5),
        "dense draft": (_cost(LLAMA70, 4), Speculation(4, 0.7, draft, None), 0.0),
        "dense pp2 draft": (_cost(LLAMA70, 4, pp=2), Speculation(3, 0.6, draft, None), 0.2),
        "moe draft": (_cost(MIXTRAL, 2, ep=4), Speculation(2, 0.5, draft, None), 0.0),
        "moe heads": (_cost(MIXTRAL, 2), Speculation(4, 0.7, None, 0.1), 0.0),
    }


NAMES = ("moe", "moe a2a", "moe pp2", "moe pp4 a2a", "dense draft", "dense pp2 draft", "moe draft", "moe heads")


def _load(name, S=2048.0, O=500.0):
    cost, spec, h = _costs()[name]
    return cost, TR.Load(S, O, 0.5, h, "lognormal", spec)


@settings(deadline=None, max_examples=150)
@given(
    st.sampled_from(NAMES),
    st.one_of(st.floats(0.0, 16.0), st.floats(0.0, 512.0)),  # (a few sequences: experts left untouched)
    st.one_of(st.floats(0.0, 64.0), st.floats(0.0, 8192.0)),
    st.floats(64.0, 8000.0),
)
def test_the_pieces_are_the_step_time(name, B, q, S):
    # on_pieces(pieces_at(B), q) = cycle_step(B, q): StepCost.time of the target's step (+ the draft's k steps) to 1e-12
    cost, load = _load(name, S)
    pieces = load.pieces_at(cost, B)
    assert pieces is not None and load.line_at(cost, B) is None
    low = pieces[8]
    assert low == pytest.approx(max(cost.pp - B * load.w, 0.0), abs=1e-12)
    if q < low:  # fewer tokens than stages: the pipeline's factor moves with q (StepCost.time)
        return
    step = TR.cycle_step(cost, load, B, load.ctx, q, load.pos)
    assert TR.on_pieces(pieces, q) == pytest.approx(step, rel=1e-12)
    # a prompt's own step: the compute sides' slopes at another mean causal position (own_step)
    share = 0.3 * load.pos + 17.0
    mine = TR.decode_step(cost, load, B, load.ctx, q, share)
    assert TR.on_pieces(pieces, q, share - load.pos) == pytest.approx(mine, rel=1e-12)
    room = q + 1.0
    assert TR.own_step(SCALAR, cost, load, B, room, q, q * share, None, pieces) == pytest.approx(mine, rel=1e-12)


def test_the_pieces_cross_the_rooflines_and_read_the_experts():
    # the MoE step is memory-bound at a small batch and compute-bound past a long prefill, its experts' term is E
    # less g*u^q (every expert read at E), and the draft model's step is a roofline of its own: a second max
    cost, load = _load("moe a2a")
    c0, c1, m0, m1, r0, r1, g, u, low, fc, draft = load.pieces_at(cost, 4.0)
    assert draft is None and low == 0.0 and 0.0 < u < 1.0 and g > 0.0
    assert m0 - g > c0 and c0 + c1 * 8000.0 > m0 + m1 * 8000.0 - g * u**8000.0
    _, load = _load("dense draft")
    dense = load.pieces_at(_costs()["dense draft"][0], 4.0)
    assert dense[6] == 0.0 and dense[10] is not None  # no experts; the draft's (d0, d1, n0, n1, fd)


def test_no_pieces_with_two_batch_overlap_or_prefill_steps_of_their_own():
    cost = _cost(MIXTRAL, 2, ep=4, overlap=True)
    load = TR.Load(2048.0, 500.0, 0.5, 0.0)
    assert cost.overlap and cost.pieces(1000.0) is None
    assert load.pieces_at(cost, 8.0) is None
    cost, _ = _load("moe")
    separate = TR.Load(2048.0, 500.0, 0.5, 0.0, prefill_steps="separate")
    assert separate.pieces_at(cost, 8.0) is None


def test_a_step_without_affine_pieces_has_none_at_any_batch():
    # Load.line_at answers None at once where the step has no affine pieces at any batch (experts, all-to-all, a draft
    # model); a pipeline's dense step has them once its tokens fill the stages
    for name in ("moe", "moe a2a", "moe pp2", "dense draft"):
        cost, load = _load(name)
        for B in (0.0, 1.0, 37.5):
            assert load.line_at(cost, B) is None is TR.cycle_line(cost, load, B, load.ctx, load.pos)
    staged = TR.Load(2048.0, 500.0, 0.5, 0.0)
    cost = _cost(LLAMA70, 4, pp=2)
    assert staged.line_at(cost, 0.0) is None and staged.line_at(cost, 4.0) is not None


@pytest.mark.parametrize("name", ["moe a2a", "moe pp2", "dense draft", "moe heads"])
def test_the_kernel_on_pieces_answers_as_on_step_times(name):
    # _mix's Poisson sum, dT/dB, the steady step and every analytic field on the pieces equal them on the step times
    cost, load = _load(name)
    timed = Timed(cost)
    lam_max = TR.capacity(cost, load, M, 256.0)[0]
    assert lam_max == pytest.approx(TR.capacity(timed, load, M, 256.0)[0], rel=1e-12)
    for lam in (0.1 * lam_max, 0.8 * lam_max):
        steady_matches_timed(cost, load, lam, M, rel=1e-12)
        out, ref = (TR.analytic(c, load, lam, M, 256.0, 1.0, lam_max) for c in (cost, timed))
        # (the secant's last slope, a nearby rate's start only: its chord of g over the last step moves with where the
        # secant started, the mean-value model's root by Newton on the pieces and by the secant on step times, ~1e-5)
        for k, v in ref.items():
            assert out[k] == pytest.approx(v, rel=1e-4 if k == "slope" else 1e-10), k
