"""Speculative decoding (Leviathan et al. ICML 2023; Chen et al. 2023): a draft proposes k tokens, the
target verifies them in one forward pass of k + 1 tokens per sequence and keeps the accepted prefix.

With each drafted token accepted independently with probability alpha, a verify step yields
E = (1 - alpha^(k+1)) / (1 - alpha) tokens (Leviathan et al., Eq. 1). A step costs k draft steps plus
one target pass of B*(k+1) tokens, both on ServingModel's engine step cost (:class:`.traffic.StepCost`):
at small batch decode is memory-bound and the k + 1 tokens cost about one step, so the gain is near E;
as the batch grows the verify pass turns compute-bound and costs up to k + 1 steps, so the gain shrinks
and falls below 1 at the break-even batch. The draft is a catalog model run at the target's
tensor-parallel degree (its weights and KV cache held beside the target's), or heads/MTP/n-gram
lookup described by ``spec_draft_cost``: their cost per drafted token as a share of one target
decode step, no weights of their own counted.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.solver import PreparedCache
from mlsysim_core.types import TransformerWorkload

from . import kernels as K
from . import under_load as UL
from .memo import Memo
from .setup import prepared

#: Largest batch the break-even search scans (vLLM's max_num_seqs is 256 by default; 4096 covers any engine).
BREAK_EVEN_SCAN = 4096


def accepted_moments(alpha, k):
    """(E, Var) of the tokens one verify step yields, X = 1 + accepted prefix (P(X > j) = alpha^j, j <= k):
    E = sum_{j=0..k} alpha^j = (1 - alpha^(k+1)) / (1 - alpha) (Leviathan et al. ICML 2023, Eq. 1; the sum form is
    exact at alpha = 0), E[X^2] = sum_{j=0..k} (2j + 1) alpha^j, Var = E[X^2] - E^2. One pass over the powers, each
    alpha^j the last one times alpha (a float power and a generator per term cost a cold speculative solve ~21 k
    instructions more)."""
    e = second = 0.0
    power = 1.0
    for j in range(k + 1):
        e += power
        second += (2 * j + 1) * power
        power *= alpha
    return e, second - e * e


def accepted_tokens(alpha, k):
    """Tokens one verify step yields: E = (1 - alpha^(k+1)) / (1 - alpha) = 1 + alpha + ... + alpha^k
    (:func:`accepted_moments`)."""
    return accepted_moments(alpha, k)[0]


def accepted_variance(alpha, k):
    """Variance of the tokens one verify step yields (:func:`accepted_moments`)."""
    return accepted_moments(alpha, k)[1]


class Speculation:
    """Speculative decode steps under traffic (:class:`.traffic.Load` ``spec``): k drafted tokens per
    sequence, E accepted per step with variance ``var``; the draft is a model's engine step cost
    (:class:`.traffic.StepCost`) or ``share`` of one plain target decode step per drafted token."""

    __slots__ = ("k", "tokens", "var", "draft", "share", "_last", "_pieces")

    def __init__(self, k: int, alpha: float, draft: Any, share: float | None):
        self.k, (self.tokens, self.var) = k, accepted_moments(alpha, k)
        self.draft, self.share = draft, share
        #: :meth:`decoding` of the last (target, B, ctx): one tuple, replaced whole (threads read a whole one)
        self._last: tuple = (None, None, None, 0.0, None)
        #: (a :meth:`decoding` tuple, the draft step's affine pieces in the prefill tokens at its B and ctx or None)
        self._pieces: tuple = (None, None)

    def draft_time(self, target, B, ctx, q=0.0, pos=0.0):
        """Seconds of the k draft steps beside a step of B sequences at context ``ctx`` and q prefill tokens:
        a draft model runs its first step over the prefill chunk too (it keeps its own KV cache), then
        k - 1 decode steps: draft(B + q) + (k - 1) * draft(B); heads/MTP/n-gram: k * share * target(B).
        What does not depend on q is kept for the last (B, ctx) (:meth:`decoding`); without prefill tokens
        the first step is the kept draft(B). With q > 0 tokens of mean causal position ``pos`` (one rate) the first
        step is read off its affine pieces in q at that (B, ctx) (:meth:`.traffic.StepCost.line`, found once:
        max(c0 + (c1 + flop_fresh*pos)*q, m0 + m1*q) + r0 + r1*q, the draft's roofline sides, all-reduces and
        overhead, as :meth:`.traffic.StepCost.time` sums them) where the draft's step has that form."""
        last = self._last
        if last[1] is not B or last[2] is not ctx or last[0] is not target:
            last = self.decoding(target, B, ctx)
        draft = self.draft
        if draft is None:
            return last[3]
        if q.__class__ is float and pos.__class__ is float:
            if q == 0.0:
                return last[4] + last[3]
            pieces = self._pieces
            if pieces[0] is not last:
                line = draft.line(B, B * ctx, B * (ctx + 1.0), 0.0) if B.__class__ is float else None
                pieces = self._pieces = (last, line)
            if pieces[1] is not None:
                c0, c1, m0, m1, r0, r1 = pieces[1]
                t_c, t_m = c0 + (c1 + draft.flop_fresh * pos) * q, m0 + m1 * q
                return (t_c if t_c >= t_m or t_c != t_c else t_m) + r0 + r1 * q + last[3]
        return draft.time(B + q, B * ctx, B * (ctx + 1.0) + q, False, False, pos * q) + last[3]

    def decoding(self, target, B, ctx):
        """(target, B, ctx, the part of :meth:`draft_time` that does not depend on the prefill tokens, one draft
        decode step draft(B) or None): (k - 1) * draft(B), or k * share * target(B) (heads/MTP/n-gram). The steps
        a traffic kernel evaluates at one decode batch (each count of prompts prefilled beside it:
        :func:`.traffic._mix`) pass the same B and ctx objects, so it is kept for the last ones (by identity: the
        entry holds them, so their ids are not reused)."""
        if self.draft is None:
            step = None
            # a free draft (n-gram lookup, share 0) costs 0 s whatever the target's step (finite)
            t = self.k * self.share * target.time(B, B * ctx, B * (ctx + 1.0)) if self.share != 0.0 else 0.0
        else:
            step = self.draft.time(B, B * ctx, B * (ctx + 1.0))
            t = (self.k - 1) * step
        last = self._last = (target, B, ctx, t, step)
        return last


def under_traffic(setup, checked: tuple) -> tuple:
    """(Speculation, draft weights per GPU, draft KV bytes per token per GPU) of :func:`check`'s output."""
    draft_setup, share, k, alpha = checked
    if draft_setup is None:
        return Speculation(k, alpha, None, share), 0.0, 0.0
    return Speculation(k, alpha, UL.costs(draft_setup), None), *draft_bytes(setup, draft_setup)


def draft_bytes(setup, draft_setup) -> tuple[float, float]:
    """(weights, KV bytes per token) of a draft model per GPU: params * b / tp and kv * b_kv * kv_share
    (run at the target's tensor-parallel degree)."""
    d = draft_setup.shape
    return d.params * draft_setup.b / float(setup.tp_size), d.kv * draft_setup.b_kv * draft_setup.kv_share


def _work(batch, context, tokens_per_seq):
    """(tokens, attention work, KV tokens) of one target pass where each of ``batch`` sequences at
    ``context`` runs ``tokens_per_seq`` tokens (reads its KV once, writes one entry per token)."""
    tokens = batch * tokens_per_seq
    return tokens, tokens * context, batch * (context + 1.0) + tokens - batch


def spec_times(target, draft, draft_share, batch, context, k):
    """(t_step, t_plain) at ``batch``: k draft steps (a draft model's own step, or ``draft_share`` * one
    target decode step) + one target verify pass of k + 1 tokens per sequence; ``t_plain`` = one target
    decode step without speculation."""
    plain = target.time(*_work(batch, context, 1.0))
    verify = target.time(*_work(batch, context, k + 1.0))
    d = draft_share * plain if draft is None else draft.time(*_work(batch, context, 1.0))
    return verify + k * d, plain


def spec_step(target, draft, draft_share, batch, context, k):
    """(t_step, t_compute, t_memory, t_plain) at ``batch``: :func:`spec_times` and the compute and memory
    roofline terms of the same passes (target verify + k draft steps)."""
    t, plain = spec_times(target, draft, draft_share, batch, context, k)
    pc, pm = target.parts(*_work(batch, context, 1.0))
    vc, vm = target.parts(*_work(batch, context, k + 1.0))
    dc, dm = (draft_share * pc, draft_share * pm) if draft is None else draft.parts(*_work(batch, context, 1.0))
    return t, vc + k * dc, vm + k * dm, plain


_SCAN = np.arange(1.0, BREAK_EVEN_SCAN + 1.0)


@functools.lru_cache(maxsize=1024)
def break_even(target, draft, draft_share, context, k, e_tokens) -> int | None:
    """The smallest batch in 1..BREAK_EVEN_SCAN where speculation stops paying, E * t_plain <= t_step
    (:func:`spec_times`), or None; every batch is tried (the gain need not fall monotonically with the
    batch: MoE and pipelined layouts). Memoized: step costs by identity (:data:`.under_load.costs`),
    the rest by value, so a sweep over batches at one context scans once."""
    ts, ps = spec_times(target, draft, draft_share, _SCAN, context, k)
    losing = ps * e_tokens <= ts
    return int(_SCAN[np.argmax(losing)]) if losing.any() else None


def checked_values(spec_k: Any, spec_accept: Any) -> tuple[int, float]:
    """(k, alpha) checked (errors name the argument): the values whose range does not depend on the target (the
    planner checks its setups with it before a search, whose points would each fail alike)."""
    if spec_k.__class__ is int and 1 <= spec_k <= 64 and spec_accept.__class__ is float and 0.0 <= spec_accept < 1.0:
        return spec_k, spec_accept  # plain values in range (V.integer's and V.number's abc checks cost ~14 k)
    return V.integer("spec_k", spec_k, 1, 64), V.number("spec_accept", spec_accept, 0.0, 1.0, high_open=True)


def checked_cost(spec_draft_cost: Any) -> float:
    """The draft heads' cost share of a decode step, in [0, 1) (errors name the argument)."""
    if spec_draft_cost.__class__ is float and 0.0 <= spec_draft_cost < 1.0:
        return spec_draft_cost
    return V.number("spec_draft_cost", spec_draft_cost, 0.0, 1.0, high_open=True)


def _check(target_setup, spec_draft, spec_draft_cost, spec_k, spec_accept) -> tuple:
    """(draft Setup or None, draft cost share or None, k, alpha), each checked (errors name the argument)."""
    k, alpha = checked_values(spec_k, spec_accept)
    if (spec_draft is None) == (spec_draft_cost is None):
        raise InvalidInputError(
            "spec_draft", spec_draft, "a draft model, or spec_draft_cost for draft heads/MTP/n-gram (one of the two)"
        )
    if spec_draft_cost is not None:
        return None, checked_cost(spec_draft_cost), k, alpha
    if not isinstance(spec_draft, TransformerWorkload):
        raise InvalidInputError("spec_draft", spec_draft, "a TransformerWorkload (a catalog language model)")
    target = target_setup.shape
    if spec_draft.parameters >= target.params:
        raise InvalidInputError(
            "spec_draft",
            spec_draft.name,
            f"a model smaller than the target {target.name} ({target.params / 1e9:.4g}B parameters; "
            f"the draft has {spec_draft.parameters / 1e9:.4g}B)",
        )
    s = target_setup
    try:
        draft = prepared(
            spec_draft,
            s.hardware,
            s.precision,
            s.tp_size,
            s.kv_precision,
            s.eta_c,
            s.eta_m,
            None,
            False,
            s.memory_fraction,
            None,
            s.activation_precision,
        )
    except InvalidInputError as exc:
        raise InvalidInputError(
            "spec_draft", spec_draft.name, f"a draft that runs at tp_size={s.tp_size}: {exc}"
        ) from None
    return draft, None, k, alpha


#: :func:`_check` memoized by the identity of its arguments (the target's memoized Setup, a catalog model,
#: numbers), as :data:`.under_load.costs` is: a solve that speculates as the last one did checks nothing again
check = PreparedCache(_check)

_fields = Memo()


def fields(setup, checked: tuple, batch, context, output_len) -> dict:
    """:func:`spec_fields`, memoized by the identity of the Setups (target and draft: memoized
    :data:`.setup.prepared` values; the entry keeps them alive, so an id is not reused) and the other
    values: a loaded solve's spec_* fields do not depend on the arrival rate. Read-only (copy to change)."""
    draft_setup, share, k, alpha = checked
    key = (id(setup), id(draft_setup), share, k, alpha, batch, context, output_len)
    hit = _fields.get(key)
    if hit is None:
        hit = _fields.put(key, (setup, draft_setup, spec_fields(setup, checked, batch, context, output_len)))
    return hit[2]


def spec_fields(setup, checked: tuple, batch, context, output_len) -> dict:
    """The speculative result fields at ``batch`` sequences of mean context ``context``."""
    draft_setup, share, k, alpha = checked
    target = UL.costs(setup)
    draft = None if draft_setup is None else UL.costs(draft_setup)
    n = float(setup.tp_size)
    e_tokens = accepted_tokens(alpha, k)
    t, t_c, t_m, plain = spec_step(target, draft, share, batch, context, k)
    itl = t / e_tokens
    out: dict[str, Any] = {
        "spec_tokens_per_step": e_tokens,
        "spec_step_time": t,
        "spec_itl": itl,
        "spec_speedup": plain / itl,
        "spec_tokens_per_second": batch * e_tokens / t,
        "spec_drafted": k,
        "spec_acceptance": alpha,
        "spec_draft_name": "heads/MTP/n-gram" if draft_setup is None else draft_setup.shape.name,
    }
    hw = setup.hardware.si
    if hw.tdp is not None:
        _, e_step = K.power_energy(hw.tdp, t_c, t_m, t, setup.power_idle, setup.power_compute, setup.power_memory)
        out["spec_energy_per_token"] = e_step * n / (batch * e_tokens)
    out["spec_break_even_batch"] = break_even(target, draft, share, context, k, e_tokens)
    if draft_setup is None:
        out["spec_draft_memory_per_gpu"] = 0.0
    else:
        ctx = context if output_len is None else context + output_len
        weights, per_token = draft_bytes(setup, draft_setup)
        out["spec_draft_memory_per_gpu"] = weights + batch * ctx * per_token
    return out
