"""Serving under traffic: the engine step cost and the steady-state (analytic) model of continuous
batching with chunked prefill, as pure functions of SI floats or numpy arrays (one code path for
``solve()`` and sweeps).

The scheduler modelled (vLLM v1 / SGLang, Agrawal et al. "Sarathi-Serve", OSDI 2024): every engine
step runs one decode token for each of the B_d running sequences and, with the rest of a budget of
M = ``max_num_batched_tokens`` tokens, prefill chunks of waiting prompts (FCFS). A request is
admitted while fewer than ``max_num_seqs`` sequences run and its prompt + output tokens fit in the
free KV cache (admission reserves them, so nothing is preempted).

Notation per request (means over the length distribution): S prompt tokens, O output tokens,
h prefix-cache hit fraction; D1 = E[O-1] decode steps, D2 = E[sum of decode contexts]
= E[O-1]*E[S] + E[O(O-1)]/2, P1 = (1-h)*E[S] prefill tokens, P2 = (1-h^2)*E[S^2]/2 the sum of
the prefill tokens' positions (their causal attention work).

Speculative decoding (``spec``, :class:`.speculative.Speculation`): a decode step runs w = k + 1 tokens
per sequence (the target's verify pass, counted against the token budget as vLLM schedules them) plus
the k draft steps, and yields E accepted tokens per sequence: D1 and D2 count steps, (O-1)/E of them,
and a token gap is T/E.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import kernels as K
from . import multi_step as MS
from . import separate_steps as SEP
from .excess import Excess
from .ops import ARRAY, SCALAR, Ops, pick
from .request_path import phase_kept

#: Standard normal quantiles of the percentiles reported (p50, p90, p99).
Z = {50: 0.0, 90: 1.2815515655446004, 99: 2.3263478740408408}
#: What :func:`analytic` reads of each percentile p: its normal score, its tail 1 - p/100 and its result fields (TTFT,
#: ITL, e2e).
_PERCENTILE = {p: (z, 1.0 - p / 100.0, f"ttft_p{p}", f"itl_p{p}", f"e2e_p{p}") for p, z in Z.items()}


class StepCost:
    """Time of one engine step from its composition (the kernels of :mod:`.kernels`, summed per token).

    t = max(compute, bytes/(W*eta_m)) + comm + overhead with, per GPU of n,
    compute = (2*P_matmul*tokens/F + (a_d*attn + a_p*fresh)/F_attn)/(n*eta_c) (attention matmuls at their own
    peak F_attn, :func:`.precisions.attention_peak`; a_d, a_p the decode and prefill attention FLOPs of one
    token against one, :func:`.setup.attention_flops`), bytes = weights read(tokens)*b/n + kv*b_kv*share*kv_tokens,
    comm = c*(ring latency + launch) + c*2(n-1)/n*tokens*d*b_act/(beta*eta_net) (0 when n = 1), c = 2L all-reduces
    (2L - L_moe when the MoE layers exchange tokens all-to-all instead, :func:`.kernels.tp_allreduce`);
    ``tokens`` = decode + prefill tokens of the step, ``attn`` = sum of decode contexts, ``fresh`` = sum
    of prefill token positions (causal), ``kv_tokens`` = KV read by decode (context + 1 each) + KV written
    by prefill. A lone prompt of S tokens gives exactly :func:`.kernels.prefill`'s time.

    Beyond tensor parallelism (the setup's ``layout``, :mod:`.parallel`): attention ranks take 1/dp of the tokens,
    routed experts spread over w GPUs with the busiest at ``imbalance`` x the mean, all-to-all
    dispatch/combine per token (:func:`.kernels.all_to_all`, affine in the tokens; a lone prefill
    node-limited and forwarded where the model states a node limit, as the static prefill); with pp
    stages a step is m = min(pp, tokens) micro-batches each passing every layer, plus the stage hops
    (:func:`.kernels.pipeline`, :func:`.kernels.stage_hops`). Two-batch overlap runs each step as two
    half batches, each streaming the weights and all-reducing, one's all-to-all behind the other's work.
    """

    __slots__ = (
        "flop_token",
        "flop_attn",
        "flop_fresh",
        "dense_bytes",
        "expert_bytes",
        "untouched",
        "kv_bytes",
        "comm0",
        "comm_token",
        "overhead",
        "pp",
        "depth",
        "full",
        "hop0",
        "hop_token",
        "a2a",
        "prefill_a2a",
        "overlap",
        "plain",
        "affine",
    )

    def __init__(self, setup, launch):
        """The step cost of the checked layout ``setup`` (:class:`.setup.Setup`: its model shape, precisions,
        efficiencies, tensor-parallel link and :class:`.parallel.Layout`) with ``launch`` seconds per collective."""
        shape, layout, eta_c, eta_net = setup.shape, setup.layout, setup.eta_c, setup.eta_n
        n, b, b_act, hidden = float(setup.tp_size), setup.b, setup.b_act, shape.hidden
        expert_params, expert_share = shape.experts_params, shape.expert_share
        f = setup.peak * eta_c
        w = setup.hardware.si.bandwidth * setup.eta_m
        dp, wide, lam, copies, a2a = layout.d, layout.w, layout.imbalance, layout.copies, layout.a2a
        a2a_layers, overlap, staged = layout.moe_layers, a2a and layout.overlap, layout.p > 1
        self.overlap = overlap
        halves = 2.0 if overlap else 1.0  # two-batch overlap: each half streams the weights, all-reduces
        expert_matmul = expert_params * expert_share
        ranks, attn_f = n * dp, setup.attn_peak * eta_c
        self.flop_token = (2.0 * (shape.matmul - expert_matmul) / ranks + 2.0 * lam * expert_matmul / wide) / f
        self.flop_attn = shape.decode_attn / ranks / attn_f
        self.flop_fresh = shape.prefill_attn / ranks / attn_f
        self.dense_bytes = halves * shape.dense_read * b / n / w
        expert_bytes = self.expert_bytes = halves * expert_params * copies * b / wide / w
        # share of the busiest GPU's experts a token leaves untouched, per token of the step (each half
        # batch reads the experts its half touches: imbalance * tokens/halves picks of k of E + r copies)
        self.untouched = (1.0 - expert_share / copies) ** (lam / halves)
        self.kv_bytes = shape.kv * setup.b_kv * setup.kv_share / dp / w
        calls = 2.0 * shape.layers - a2a_layers  # all-reduces per pass (:func:`.kernels.tp_allreduce`)
        if n > 1:
            self.comm0 = halves * calls * (2.0 * (n - 1.0) * setup.link_latency + launch)
            self.comm_token = calls * 2.0 * (n - 1.0) / n * hidden * b_act / dp / (setup.link_bandwidth * eta_net)
        else:
            self.comm0 = self.comm_token = 0.0
        self.overhead = setup.overhead
        self.a2a = self.prefill_a2a = None
        # no experts read per token, no all-to-all: :meth:`line` may answer (else None at every step, and
        # :meth:`.Load.line_at` with it: the kernels ask :meth:`pieces` without that call)
        self.affine = expert_bytes == 0.0 and not a2a
        self.plain = not (a2a or staged)  # no all-to-all, no stages
        if not staged:
            self.pp, self.depth, self.hop0, self.hop_token = 1.0, 1.0, 0.0, 0.0
            self.full = (1.0, 1.0)
        if a2a:
            # (seconds at 0 tokens, seconds per token) of the all-to-all of a decode and a prefill dispatch: the same
            # where a prefill dispatch sends the decode's copies (no node limit)
            up, out, (up_p, out_p) = layout.a2a_up_copies, layout.a2a_out_copies, layout.prefill_copies
            up_bw, up_lat, out_bw, out_lat = layout.up_bw, layout.up_lat, layout.out_bw, layout.out_lat
            self.a2a = K.all_to_all_line(
                up, out, hidden, b_act, float(wide), lam, a2a_layers, up_bw, up_lat, out_bw, out_lat, eta_net, launch
            )
            if up_p == up and out_p == out:
                self.prefill_a2a = self.a2a
            else:  # (the same links; written out: a closure over them made every StepCost ~4 k instructions dearer)
                self.prefill_a2a = K.all_to_all_line(
                    up_p,
                    out_p,
                    hidden,
                    b_act,
                    float(wide),
                    lam,
                    a2a_layers,
                    up_bw,
                    up_lat,
                    out_bw,
                    out_lat,
                    eta_net,
                    launch,
                )
        if staged:
            hops = K.stage_hops_line(
                hidden,
                b_act,
                float(dp),
                layout.hops_up,
                layout.up_bw,
                layout.up_lat,
                layout.hops_out,
                layout.out_bw,
                layout.out_lat,
                eta_net,
            )
            pp, depth = float(layout.p), layout.depth
            self.pp, self.depth, (self.hop0, self.hop_token) = pp, depth, hops
            # the factors of a step of at least pp tokens (m = pp micro-batches: most steps), (decode, prefill)
            self.full = (K.pipeline(pp, pp, False, depth)[1], K.pipeline(pp, pp, True, depth)[1])

    def parts(self, tokens, attn, kv_tokens):
        """(compute, memory) seconds of the roofline of one decode pass over ``tokens`` tokens, before the
        max (:meth:`time` with ``roofline``)."""
        return self.time(tokens, attn, kv_tokens, roofline=True)

    def time(self, tokens, attn, kv_tokens, prefill=False, roofline=False, fresh=0.0):
        """Seconds of one step (floats or arrays): the roofline of each micro-batch pass, max(FLOPs
        seconds, seconds to stream the weights it reads (MoE: the experts its tokens touch; each half
        batch its own with two-batch overlap) + its KV bytes), + its all-reduces and all-to-all (behind
        the work with two-batch overlap), scaled by the pipeline's factor, + the step overhead + the stage
        hops. ``prefill``: a lone prefill, filling and draining the pipeline (decode rounds and mixed
        steps run micro-batches round robin) and dispatching as the static prefill does (node-limited
        routing where the model states it). ``roofline``: the (compute, memory) terms of the step taken
        as one pass instead, before the max. ``attn``: decode attention work (sum of the decoding tokens'
        contexts); ``fresh``: prefill attention work (sum of the prefill tokens' causal positions)."""
        staged = self.pp > 1.0 and not roofline
        if staged:
            m, factor = self.micro_batches(tokens, prefill)
            tokens = tokens / m
            attn = attn / m
            kv_tokens = kv_tokens / m
            fresh = fresh / m
        t_c = self.flop_token * tokens + self.flop_attn * attn + self.flop_fresh * fresh
        t_m = self.kv_bytes * kv_tokens + self.dense_bytes
        if self.expert_bytes != 0.0:
            t_m = t_m + self.expert_bytes * (1.0 - self.untouched**tokens)
        if roofline:
            return t_c, t_m
        # the max inline on Python floats (the simulator's inner loop), numpy's for arrays
        t = (t_c if t_c >= t_m or t_c != t_c else t_m) if t_c.__class__ is float else np.maximum(t_c, t_m)
        t += self.comm0 + self.comm_token * tokens
        if not self.plain:
            a2a = self.prefill_a2a if prefill else self.a2a
            if a2a is not None:
                if self.overlap:  # the all-to-all behind the work: the longer of the two
                    u = a2a[0] + a2a[1] * tokens
                    t = (t if t >= u or t != t else u) if t.__class__ is float else np.maximum(t, u)
                else:
                    t = t + a2a[0] + a2a[1] * tokens
            if staged:
                return factor * t + self.overhead + self.hop0 + self.hop_token * tokens
        return t + self.overhead

    def line(self, tokens, attn, kv_tokens, pos):
        """:meth:`time` of a step with q more prefill tokens of mean causal position ``pos`` as affine pieces of q,
        t(q) = max(c0 + c1*q, m0 + m1*q) + r0 + r1*q (the roofline's compute and memory sides, the all-reduces and
        the overhead): (c0, c1, m0, m1, r0, r1) at ``tokens``, ``attn``, ``kv_tokens``; None where the step is not
        of that form (all-to-all, MoE weights read per token, fewer tokens than pipeline stages: :meth:`pieces`). On
        pp stages a step of at least pp tokens runs m = pp micro-batches whatever q: the pieces of one micro-batch's
        pass (tokens/m), times the factor set up once, with the overhead and the stage hops of tokens/m."""
        if self.a2a is not None or self.expert_bytes != 0.0:
            return None
        m = self.pp
        if m != 1.0:
            if (tokens < m) if tokens.__class__ is float else np.any(tokens < m):
                return None  # fewer micro-batches than stages: kernels.pipeline's factor moves with q
            tokens, attn, kv_tokens = tokens / m, attn / m, kv_tokens / m
        c0 = self.flop_token * tokens + self.flop_attn * attn
        r0 = self.comm0 + self.comm_token * tokens
        m0 = self.kv_bytes * kv_tokens + self.dense_bytes
        c1 = self.flop_token + self.flop_fresh * pos
        if m == 1.0:
            return c0, c1, m0, self.kv_bytes, r0 + self.overhead, self.comm_token
        f = self.full[0]  # a decode round's factor (:func:`.kernels.pipeline`)
        hops = self.overhead + self.hop0 + self.hop_token * tokens
        return (
            f * c0,
            f * c1 / m,
            f * m0,
            f * self.kv_bytes / m,
            f * r0 + hops,
            (f * self.comm_token + self.hop_token) / m,
        )

    def pieces(self, pos):
        """:meth:`time` of a step of q prefill tokens of mean causal position ``pos`` and nothing else (no decode token:
        :meth:`.Load.pieces_at` adds B sequences' :meth:`growth`) where :meth:`line` has no affine pieces (MoE experts
        read per token, an all-to-all, fewer tokens than pipeline stages), on floats: t(q) = max(c0 + c1*q, m0 + m1*q
        - g*u^q) + r0 + r1*q for q >= ``low``, c0 = 0. The memory side reads the experts the step's tokens touch,
        E*(1 - u^q) = E - g*u^q with g = E (u = ``untouched`` per token); the all-to-all, affine in the tokens and added
        after the roofline without two-batch overlap, sits in r0 + r1*q with the all-reduces and the overhead. On pp
        stages a step of at least pp tokens (q >= low = pp) runs m = pp micro-batches: one pass over q/m tokens (u^(1/m)
        per prefill token), times the decode round's factor, plus the overhead and the stage hops, as :meth:`line`
        folds them. Returns (c0, c1, m0, m1, r0, r1, g, u, low, fc), fc the compute side's slope per unit of ``pos``
        (c1 = c1(0) + fc*pos); None with two-batch overlap (the all-to-all behind the work: the max of the roofline and
        the all-to-all, a third piece)."""
        if self.overlap:
            return None
        f, m = self.full[0], self.pp  # (1, 1 without stages)
        a0, a1 = (0.0, 0.0) if self.a2a is None else self.a2a
        fc = f * self.flop_fresh / m
        E = f * self.expert_bytes
        return (
            0.0,
            f * self.flop_token / m + fc * pos,
            f * self.dense_bytes + E,
            f * self.kv_bytes / m,
            f * (self.comm0 + a0) + self.overhead + self.hop0,
            (f * (self.comm_token + a1) + self.hop_token) / m,
            E,
            self.untouched ** (1.0 / m) if m != 1.0 else self.untouched,
            m,
            fc,
        )

    def growth(self, tokens, attn, kv_tokens):
        """What c0, m0 and r0 of :meth:`line` (without pipeline stages) and of :meth:`pieces` gain per unit of a step's
        ``tokens``, ``attn`` and ``kv_tokens`` (each is linear in them): f/m*(flop_token*tokens + flop_attn*attn),
        f/m*kv_bytes*kv_tokens and (f*(comm_token + a1) + hop_token)/m*tokens, m = pp micro-batches of the decode
        round's factor f, a1 the all-to-all's seconds per token (f = m = 1, a1 = hop_token = 0 for :meth:`line`)."""
        f, m = self.full[0], self.pp
        comm = self.comm_token if self.a2a is None else self.comm_token + self.a2a[1]
        return (
            f * (self.flop_token * tokens + self.flop_attn * attn) / m,
            f * (self.kv_bytes * kv_tokens) / m,
            (f * comm + self.hop_token) / m * tokens,
        )

    def micro_batches(self, tokens, prefill):
        """(m, factor) of :func:`.kernels.pipeline` for a step of ``tokens`` on pp > 1 stages (``prefill``: a lone
        prefill's): a step of at least pp tokens (a float) runs m = pp micro-batches at the factor set up once
        (:attr:`full`)."""
        if tokens.__class__ is float and tokens >= self.pp:
            return self.pp, self.full[prefill]
        return K.pipeline(tokens, self.pp, prefill, self.depth)

    def drain(self, t_step, tokens):
        """Seconds after a step's period until its last micro-batch leaves the last stage: a prompt
        chunk spread over the step's m micro-batches gets its first token m - 1 stage slots after the
        period, a slot = the pass / depth (:func:`.kernels.pipeline`); 0 without pipeline stages."""
        if self.pp == 1.0:
            return 0.0
        m, factor = self.micro_batches(tokens, False)
        return (m - 1.0) / self.depth * (t_step - self.overhead - self.hop0 - self.hop_token * tokens / m) / factor

    def prefill(self, tokens, start=0.0):
        """One step prefilling ``tokens`` prompt tokens after ``start`` cached ones, nothing else (causal
        attention work tokens*start + tokens^2/2, as :func:`.kernels.prefill`)."""
        # (arguments by position, as :func:`decode_step` passes them: keywords cost the call more)
        return self.time(tokens, 0.0, tokens, True, False, tokens * start + tokens * tokens / 2.0)


def length_quantile(mean, cv, dist, z):
    """Quantile of a length distribution with ``mean`` and coefficient of variation ``cv`` at the
    standard-normal score z: lognormal exp(mu + sigma*z), sigma^2 = ln(1+cv^2); gamma by
    Wilson & Hilferty (1931): mean*(1 - 1/(9k) + z/sqrt(9k))^3, k = 1/cv^2."""
    xp = pick(mean, cv, z)
    s2 = xp.log1p(cv * cv)
    if dist == "lognormal":
        return mean * xp.exp(-s2 / 2.0 + xp.sqrt(s2) * z)
    k9 = 9.0 / xp.max(cv * cv, 1e-300)
    return mean * xp.max(1.0 - 1.0 / k9 + z / xp.sqrt(k9), 0.0) ** 3


#: Standard normal scores tabulating a named length distribution (P(z > 6) ~ 1e-9: the excess beyond is left out).
_SCORES = np.linspace(-6.0, 6.0, 241)


@functools.lru_cache(maxsize=64)
def _named_excess(dist, cv):
    """:class:`.excess.Excess` of a named length distribution (mean 1, ``cv``) from its quantiles
    (:func:`length_quantile`) at :data:`_SCORES` and the normal tail P(z > s) = erfc(s/sqrt(2))/2 there."""
    survival = np.array([math.erfc(z / math.sqrt(2.0)) / 2.0 for z in _SCORES])
    return Excess.from_survival(length_quantile(1.0, cv, dist, _SCORES), survival)


def combine(xp: Ops, d1, d2):
    """Deviation from the mean of a sum of two independent parts from theirs: root-sum-square when
    both are above their means (tails), plain sum otherwise."""
    if xp is SCALAR:  # one rate: the branch taken alone, without the operations' calls (~4x fewer instructions)
        return math.sqrt(d1 * d1 + d2 * d2) if d1 > 0.0 and d2 > 0.0 else d1 + d2
    up = (d1 > 0.0) & (d2 > 0.0)
    return xp.where(up, xp.sqrt(d1 * d1 + d2 * d2), d1 + d2)


def median_shift(xp: Ops, d1, v1, d2, v2):
    """Median less mean of a sum of two independent parts from theirs (d1, d2) and their variances (v1, v2):
    by the first-order Cornish-Fisher expansion a part's quantile is mean + s*z + (z^2 - 1)*k3/(6*v) (s^2 = v, k3
    its third cumulant), and variances and third cumulants add (Cornish & Fisher 1937; Kendall & Stuart, "The
    Advanced Theory of Statistics" Vol. 1, 1977, Sec. 6.25), so at z = 0 the sum's shift is the
    variance-weighted mean (v1*d1 + v2*d2)/(v1 + v2) of the parts', not their sum; a part of no variance (an
    atom at its median) adds its shift."""
    v = v1 + v2
    if xp is SCALAR:  # one rate: the branch taken alone (:func:`combine`)
        return (v1 * d1 + v2 * d2) / (v if v > 1e-300 else 1e-300) if v1 > 0.0 and v2 > 0.0 else d1 + d2
    return xp.where((v1 > 0.0) & (v2 > 0.0), (v1 * d1 + v2 * d2) / xp.max(v, 1e-300), d1 + d2)


class SampledLengths:
    """An empirical length mix: (prompt, output) token pairs, each column divided by its mean (the
    shape of the distribution, prompt and output lengths kept paired); :class:`Load` scales it to
    the requested means. Moments E[p^2], E[o^2], E[p*o] and the p50/p90/p99 of each column."""

    def __init__(self, pairs: np.ndarray):
        self.n = len(pairs)
        self.mean_p, self.mean_o = float(pairs[:, 0].mean()), float(pairs[:, 1].mean())
        self.p = pairs[:, 0] / self.mean_p
        self.o = pairs[:, 1] / self.mean_o
        self.p2, self.o2, self.po = (
            float(np.mean(self.p**2)),
            float(np.mean(self.o**2)),
            float(np.mean(self.p * self.o)),
        )
        self.cv_p, self.cv_o = math.sqrt(max(self.p2 - 1.0, 0.0)), math.sqrt(max(self.o2 - 1.0, 0.0))
        self.q_p = {pct: float(np.percentile(self.p, pct)) for pct in Z}
        self.q_o = {pct: float(np.percentile(self.o, pct)) for pct in Z}
        self.excess = Excess.from_samples(self.p)


class Load:
    """Per-request work of one traffic mix (means over the length distributions, arrays or floats).
    Lengths: a named distribution ``dist`` with coefficient of variation ``cv`` for prompt and output
    alike (independent), or a :class:`SampledLengths` mix scaled to means S and O (paired). With
    ``spec`` each decode step runs w = k + 1 tokens per sequence and advances gap = 1/E steps per token.
    ``prefill_steps`` "mixed": prompts are prefilled in the decode steps (chunked prefill); "separate": in steps
    of their own that decode nothing (:func:`cycle_step`)."""

    def __init__(self, S, O, cv, h, dist="lognormal", spec=None, prefill_steps="mixed"):
        self.S, self.O, self.h, self.dist, self.spec = S, O, h, dist, spec
        self.separate = prefill_steps == "separate"  #: prefills run as steps of their own
        xp = self.xp = pick(S, O, cv, h)  #: the operations on these lengths (floats or arrays)
        # pct -> length quantile over the mean of the prompts / the outputs at every percentile of Z
        # (:meth:`quantiles`): a sample's own, a named distribution's at one cv shared by its loads
        # (:func:`_named_quantiles`; prompts and outputs have the same cv), a cv array's its own
        if isinstance(dist, SampledLengths):
            s2, o2 = S * S * dist.p2, O * O * dist.o2
            self.cv_p, self.cv_o = dist.cv_p, dist.cv_o
            D2 = S * O * dist.po - S + (o2 - O) / 2.0
            self._prompt_q, self._output_q = dist.q_p, dist.q_o
            self._excess = dist.excess
        else:
            var_ratio = 1.0 + cv * cv  # E[x^2]/E[x]^2 of prompts and outputs alike
            s2, o2 = S * S * var_ratio, O * O * var_ratio
            self.cv_p = self.cv_o = cv
            D2 = (O - 1.0) * S + (o2 - O) / 2.0
            named = _named_quantiles if cv.__class__ is float else _unit_quantiles
            self._prompt_q = self._output_q = named(dist, cv)
            self._excess = None  # (the named distribution's on first use: :meth:`excess_level`)
        D1 = O - 1.0
        if spec is None:
            self.w = self.gap = 1.0  # engine tokens per sequence per decode step, decode steps per output token
        else:
            self.w, gap = spec.k + 1.0, 1.0 / spec.tokens
            self.gap = gap
            D2, D1 = D2 * gap, D1 * gap
        self.D2, self.D1 = D2, D1
        P1 = self.P1 = (1.0 - h) * S
        P2 = self.P2 = (1.0 - h * h) * s2 / 2.0
        self.reserve = S + O  # KV tokens reserved per admitted request
        if xp is SCALAR:  # (floats: the max and the where below inline)
            P1_nz = P1 if P1 >= 1e-300 or P1 != P1 else 1e-300
            self.ctx = D2 / (D1 if D1 >= 1e-300 else 1e-300) if D1 > 0.0 else S
        else:
            P1_nz = xp.max(P1, 1e-300)
            self.ctx = xp.where(D1 > 0.0, D2 / xp.max(D1, 1e-300), S)  # mean decode context
        self.P1_nz = P1_nz  # P1 as a divisor (no prefill: 1e-300)
        self.pos = P2 / P1_nz  # mean causal attention work per prefill token
        self._lines: tuple = (None,)  # :meth:`_unit` of the step cost last asked
        self._pieces: tuple = (None,)  # :meth:`_unit_pieces` of the step cost last asked
        self._idle: tuple = (None, None, None)  # :meth:`idle_step`'s (cost, B, step) last asked

    def unit_lines(self, cost):
        """:func:`cycle_line` of one step of this load's requests at decode batch 0 and at 1 under the step cost
        ``cost`` (None, None where it has no affine pieces): they do not depend on the arrival rate, so they are kept
        for the last cost asked (:func:`_model_root` asks every solve)."""
        return self._unit(cost)[1]

    def line_at(self, cost, B):
        """:func:`cycle_line` of one step of this load's requests at decode batch B under the step cost ``cost``
        (None where it has no affine pieces) from :meth:`unit_lines`: a step's pieces are affine in B (its tokens
        B*w, attention B*w*ctx and KV B*(ctx + w) are), c0, m0, r0 at 0 plus B times their growth per sequence
        (:meth:`StepCost.growth`), c1, m1, r1 the same at any B; one multiply-add a piece instead of the step's terms
        (equal to rounding: a few ulp)."""
        entry = self._lines
        _, lines, growth = entry if entry[0] is cost else self._unit(cost)
        if growth is None or growth is False:
            return None if growth is False else cycle_line(cost, self, B, self.ctx, self.pos)
        c0, c1, m0, m1, r0, r1 = lines[0]
        dc, dm, dr = growth
        return c0 + B * dc, c1, m0 + B * dm, m1, r0 + B * dr, r1

    def idle_step(self, cost, B):
        """:func:`decode_step` of B decoding sequences and no prefill tokens (a float B), kept for the last cost and B
        asked: below a pipeline's stages (B*w < pp) :meth:`pieces_at` does not hold at q = 0, and a pool whose
        requests decode nothing (D1 = 0: B = 1 whatever the rate) asks the same step at every evaluation of its mean
        step and its start (:func:`_mix`, :func:`_mean_value_root`, :func:`_spread`)."""
        entry = self._idle
        if entry[0] is cost and entry[1] == B:
            return entry[2]
        t = decode_step(cost, self, B, self.ctx)
        self._idle = (cost, B, t)
        return t

    def pieces_at(self, cost, B):
        """:func:`cycle_step` of one step of this load's requests at decode batch B (a float) under ``cost`` where it
        has no affine pieces (:meth:`line_at`): :meth:`StepCost.pieces` in its prefill tokens q, with a draft model's
        first step over them (:meth:`.speculative.Speculation.draft_time`: the draft's :meth:`StepCost.line`, a roofline
        of its own in q) as a second max, t(q) = max(c0 + c1*q, m0 + m1*q - g*u^q) + r0 + r1*q
        + max(d0 + d1*q, n0 + n1*q) for q >= low, the draft's all-reduces and overhead and its k - 1 decode steps (k - 1
        times its step at q = 0) in r0 and r1; heads/MTP/n-gram drafts add their time, which does not depend on q, to
        r0. Returns (c0, c1, m0, m1, r0, r1, g, u, low, fc, draft), draft = (d0, d1, n0, n1, fd) (fd: d1's slope per
        unit of the prefill tokens' mean causal position, fc c1's) or None without a draft model (:func:`on_pieces`);
        None where the step has no such form (separate prefill steps, two-batch overlap, a draft model without affine
        pieces). The pieces at B are those at B = 0 plus B times their growth per sequence (c0, m0, r0 and the draft's
        d0, n0 and the rest of its step are affine in the step's tokens B*w, attention B*w*ctx and KV B*(ctx + w)),
        g = g(0)*untouched^(B*w/pp), low = pp - B*w: the two found once per cost (:meth:`_unit_pieces`), a few
        multiply-adds a batch instead of the step's terms."""
        entry = self._pieces
        _, zero, grow, draft, spec = entry if entry[0] is cost else self._unit_pieces(cost)
        if zero is None:
            return None
        c0, c1, m0, m1, r0, r1, g, u, low, fc = zero
        dc, dm, dr, untouched, share, w = grow
        low = low - B * w
        r0 = r0 + B * dr
        if spec is not None:  # heads/MTP/n-gram: their time beside the step (:meth:`.speculative.Speculation.decoding`)
            r0 = r0 + spec.draft_time(cost, B, self.ctx)
        elif draft is not None:
            (d0, d1, n0, n1, s0, fd), (dd, dn, ds, k1) = draft
            d0, n0, s0 = d0 + B * dd, n0 + B * dn, s0 + B * ds
            r0 = r0 + s0 + k1 * ((d0 if d0 >= n0 or d0 != d0 else n0) + s0)  # its first step's rest, k - 1 steps
            draft = (d0, d1, n0, n1, fd)
        return (
            c0 + B * dc,
            c1,
            m0 + B * dm,
            m1,
            r0,
            r1,
            g * untouched ** (B * share) if g != 0.0 else 0.0,
            u,
            low if low >= 0.0 else 0.0,
            fc,
            draft,
        )

    def piece_growth(self, cost):
        """What :meth:`pieces_at`'s c0, m0 and r0 gain per decode sequence and g's relative growth ln(untouched)*w/pp
        (g = g(0)*untouched^(B*w/pp); 0 where untouched is 0: g = 0 at every B > 0): (dc, dm, dr, (dg/dB)/g), the
        pieces' derivatives in B (:func:`_model_with_slope`); None where they have none or do not hold at q = 0 from
        B = 1 on (low = pp - B*w > 0 at B = 1) or a draft runs beside the step (its own roofline in B)."""
        entry = self._pieces
        _, zero, grow, draft, heads = entry if entry[0] is cost else self._unit_pieces(cost)
        if zero is None or draft is not None or heads is not None:
            return None
        dc, dm, dr, untouched, share, w = grow
        if zero[8] > w:
            return None
        return dc, dm, dr, math.log(untouched) * share if untouched > 0.0 else 0.0

    def bound_lines(self, cost):
        """:meth:`unit_lines` of the step with every expert's weights read whatever the tokens (E*(1 - u^tokens) at its
        bound E: an upper bound of the step) and the all-to-all among the all-reduces (exact without two-batch overlap:
        both affine in the tokens): :meth:`pieces_at` at B = 0 and 1 without their g*u^q, affine pieces (c0, c1, m0,
        m1, r0, r1) of a bracket of the MoE step for a start (:func:`_mean_value_root`); (None, None) where the step
        has no pieces (two-batch overlap: the all-to-all behind the work). One pipeline stage (a step of fewer tokens
        than stages moves the pipeline's factor with q)."""
        entry = self._pieces
        _, zero, grow, _, _ = entry if entry[0] is cost else self._unit_pieces(cost)
        if zero is None:
            return None, None
        c0, c1, m0, m1, r0, r1 = zero[:6]
        dc, dm, dr = grow[:3]
        return (c0, c1, m0, m1, r0, r1), (c0 + dc, c1, m0 + dm, m1, r0 + dr, r1)

    def _unit_pieces(self, cost):
        """(cost, :meth:`StepCost.pieces` at B = 0 (r1 with the draft model's) or None, the growth per decode sequence
        of c0, m0, r0 (:meth:`StepCost.growth`), the untouched share per token, w/pp and w (g's and low's), a draft
        model's ((d0, d1, n0, n1, s0, fd) of its :meth:`StepCost.line` at B = 0, (the growth of d0, n0, s0 per
        sequence, k - 1)) or None, a heads/MTP/n-gram draft's Speculation or None), kept for the last cost asked
        (:meth:`pieces_at`)."""
        w, ctx, pos, spec = self.w, self.ctx, self.pos, self.spec
        zero = None if self.separate else cost.pieces(pos)
        grow = draft = heads = None
        if zero is not None:
            grow = (*cost.growth(w, w * ctx, ctx + w), cost.untouched, w / cost.pp, w)
            if spec is not None and spec.draft is None:
                heads = spec
            elif spec is not None:
                d = spec.draft
                line = d.line(0.0, 0.0, 0.0, pos) if d.pp == 1.0 else None  # (a draft's line at B = 0: one stage)
                if line is None:
                    zero = None
                else:
                    d0, d1, n0, n1, s0, s1 = line
                    zero = zero[:5] + (zero[5] + s1,) + zero[6:]
                    draft = (d0, d1, n0, n1, s0, d.flop_fresh), (*d.growth(1.0, ctx, ctx + 1.0), spec.k - 1.0)
        self._pieces = (cost, zero, grow, draft, heads)
        return self._pieces

    def _unit(self, cost):
        """(cost, :meth:`unit_lines`, the growth of c0, m0, r0 per decode sequence or None) for ``cost``, kept for
        the last cost asked (the entry keeps the cost alive: the same object is the same cost). No growth where the
        lines at B are not those at 0 plus B times a growth: speculation (a draft's time is a roofline of its own in
        B) or no unit lines (a pipeline's step of fewer tokens than stages at B = 0 may still have lines at B); False
        where the step has none at any B (none at B = pp either, whose tokens fill the stages: :meth:`StepCost.line`
        and :func:`cycle_line` answer None for the rest whatever B)."""
        if self._lines[0] is not cost:
            zero, one = cycle_line(cost, self, 0.0, self.ctx, self.pos), cycle_line(cost, self, 1.0, self.ctx, self.pos)
            if zero is None:
                never = cycle_line(cost, self, cost.pp, self.ctx, self.pos) is None
                self._lines = (cost, (None, None), False if never else None)
            else:
                w = self.w
                growth = None if self.spec is not None else cost.growth(w, w * self.ctx, self.ctx + w)
                self._lines = (cost, (zero, one), growth)
        return self._lines

    def quantiles(self):
        """(prompt, output) pct -> the length at percentile ``pct`` over its mean for every percentile of :data:`Z`
        (dicts read by the caller, made with the load: a named distribution's at one cv shared by its loads, a sample's
        own, a cv array's its own)."""
        return self._prompt_q, self._output_q

    def excess_level(self, u):
        """Prompt length over its mean, y, whose expected excess E[(g - y)+] over the prompts is u (0..1;
        :class:`.excess.Excess`, tabulated once per distribution)."""
        if self._excess is None and not isinstance(self.cv_p, np.ndarray):
            self._excess = _named_excess(self.dist, float(self.cv_p))
        if self._excess is not None:
            return self._excess.level(u)
        cv, u = np.broadcast_arrays(self.cv_p, u)  # a sweep over length_cv: one table per value
        y = np.empty(cv.shape)
        for c in np.unique(cv):
            at = cv == c
            y[at] = _named_excess(self.dist, float(c)).level(u[at])
        return y


def _unit_quantiles(dist, cv):
    """pct -> :func:`length_quantile` of the named distribution ``dist`` at mean 1 and ``cv`` (a float or an array)
    for every percentile of :data:`Z`."""
    return {pct: length_quantile(1.0, cv, dist, z) for pct, z in Z.items()}


#: :func:`_unit_quantiles` at a float cv, memoized (a :class:`Load`'s prompt and output quantiles: a new load's reads
#: are dict lookups; they do not depend on the arrival rate)
_named_quantiles = functools.lru_cache(maxsize=256)(_unit_quantiles)


def ops_for(load, *values) -> Ops:
    """The operations (:mod:`.ops`) of a kernel call on ``load`` and ``values``: numpy's if any is an array."""
    return ARRAY if load.xp is ARRAY else pick(*values)


def _mix(xp, cost, load, B, m, M, grad=None, near=None, b1=0.0, growth=None, rtol=None, curve=False, second=True):
    """Mean step at decode batch B when m prompts (mean) arrive per step.

    Prompts shorter than the free budget room = M - B*w: a step prefills q = min(N*P1, room) tokens,
    N ~ Poisson(m') the prompts waiting (those that came during the previous step and those carried
    over from a full one); m' >= m conserves the work, E[q] = m*P1 (:func:`_carried`: every prompt
    token is prefilled once below saturation; the lumped Poisson keeps its busy share exact,
    1 - e^-m' = m, for a one-prompt budget). Longer prompts: full chunks of room tokens in a share
    f = min(1, m*P1/room) of the steps. E[t^2] of short prompts adds the spread of their lengths, n prompts
    of variance cv_p^2*P1^2 each through the step's slope dt/dq (the delta method). Returns (E[t],
    f = P(step carries prefill), t_dec, E[t | prefill], E[t^2]). Separate prefill steps (``load.separate``):
    a "step" is the time between two decode steps, the decode step plus the prefill step run before the next
    (:func:`cycle_step`), and the budget room = M is the prefill step's alone.

    ``grad`` (a number k, prompts shorter than the room): returns (the five, their derivatives in m at this B times k,
    the mean's second derivative) as :func:`_newton` takes an evaluation; the derivatives: d/dmp E[g(N)] =
    E[g(N + 1) - g(N)] for N ~ Poisson(mp) (the Poisson mean's derivative of an expectation, as :func:`_prefilled`'s),
    here sum over n = 1..K of P(N = n-1)*(g_n - g_n-1) for the lumped
    g_n = t_n and t_n^2 + spread_n (0 beyond K), df/dmp = e^-mp, t_dec fixed, t_mix's from its quotient, each times
    dmp/dm (:func:`_carried`'s): what :func:`steady`'s Newton steps take where B does not move with T; and the mean's
    second derivative in m, times k^2: k^2*(dmp/dm^2*E'' + d2mp/dm2*E'), E'' = d/dmp of the first sum,
    sum over n = 1..K of (P(N = n-2) - P(N = n-1))*(t_n - t_n-1) (dP(N = j)/dmp = P(N = j-1) - P(N = j)), which bounds
    the error of a Newton step (:func:`_newton`), where ``curve`` (else None; NaN where ``rtol``, the carried count's
    tolerance instead of CARRIED_RTOL, left m' rough: :data:`ROUGH_CARRIED_RTOL`). ``growth`` (one rate, MoE pieces,
    :meth:`Load.piece_growth`) with ``b1`` = dB/dT: the derivatives in T, b1*d/dB + grad*d/dm, B moving the pieces
    (and the carried count through the room). ``near``: a list [m, m'] of an earlier call's (or [None, None]),
    where the carried count starts, m plus that call's carried prompts m' - m (:func:`_carried`'s ``start``), updated
    to this call's: a fixed-point iteration's next evaluation near the last one takes one sum of :func:`_prefilled`
    instead of two. ``second`` False: E[t], f and t_dec alone, t_mix and E[t^2] None (:func:`capacity`'s mean step).
    The step of each count: on its affine pieces (:meth:`Load.line_at`), else on one rate on its
    :meth:`Load.pieces_at` where they hold for every count, else :func:`cycle_step`."""
    room = budget(xp, load, B, M)
    P1, ctx, pos = load.P1_nz, load.ctx, load.pos
    one_rate = xp is SCALAR  # a float: the max, min and where inline (ops.SCALAR's, without their calls)
    line = load.line_at(cost, B) if cost.affine else None
    pieces = None  # :func:`cycle_pieces` where the step has no affine pieces (MoE experts, all-to-all, a draft model)
    if line is None:
        pieces = load.pieces_at(cost, B) if one_rate else None
        if pieces is not None:
            c0, c1, m0, m1, r0, r1, g, u, low, _, draft = pieces
            cr0, cr1, mr0, mr1 = c0 + r0, c1 + r1, m0 + r0, m1 + r1  # each side with the rest of the step, r0 + r1*q
            if (P1 if P1 <= room or P1 != P1 else room) < low:  # (the counts' least q: min(P1, room))
                pieces = None
            elif draft is not None:
                d0, d1, n0, n1, _ = draft
        if pieces is None or low > 0.0:
            t_dec = load.idle_step(cost, B) if one_rate else decode_step(cost, load, B, ctx, 0.0, pos)
        else:
            t_dec = on_pieces(pieces, 0.0)
    else:  # the step affine in its prefill tokens q on each side of the roofline (:meth:`StepCost.line`)
        c0, c1, m0, m1, r0, r1 = line
        t_dec = ((c0 if c0 >= m0 or c0 != c0 else m0) if one_rate else xp.max(c0, m0)) + r0
    short = room >= P1
    fill = room / P1  # prompts that fill the budget, rounded up (math's ceil where it takes the float)
    fill = float(math.ceil(fill)) if one_rate and 0.0 <= fill < math.inf else xp.ceil(fill)
    whole = fill if one_rate else -xp.top(-fill)  # below this count every element's n prompts fit the budget whole
    start = None if near is None or near[0] is None else m + (near[1] - near[0])
    if grad is None:
        mp, K = _carried(xp, m, P1, room, fill, whole, False, start)
    else:
        mp, K, rate, bow = _carried(xp, m, P1, room, fill, whole, True, start, rtol)
        rough = not (bow == bow if one_rate else xp.all(bow == bow))  # m' to ROUGH_CARRIED_RTOL only (NaN)
        curve = curve and not rough  # (F'' NaN there: not summed)
        # g_n-1, P(N = n - 2) and the derivatives' sums
        p0, t_last, v_last, p2, d_mean, d_bend, d_sq = None, t_dec, t_dec * t_dec, 0.0, 0.0, 0.0, 0.0
    if near is not None:
        near[0], near[1] = m, mp
    cv2 = load.cv_p * load.cv_p  # squared coefficient of variation of one prompt's prefill tokens
    # N ~ Poisson(mp) prompts waiting, its tail lumped at K (:func:`_lumped`)
    pmf = below = math.exp(-mp) if one_rate and mp >= 0.0 else xp.exp(-mp)  # P(N = n), P(N <= n)
    mean, sq = pmf * t_dec, pmf * t_dec * t_dec  # E[t], E[t^2] summed over n = 0..K prompts in a step
    first = 1  # the first count the loop below sums (K where :func:`_one_side_sums` summed the counts before it)
    if grad is None and line is not None and ONE_SIDE_K <= K <= whole:  # (counts below K fit the budget whole)
        sums = _one_side_sums(xp, line, P1, K, t_dec, mp, pmf, mean, sq, cv2)
        if sums is not None:
            pmf, below, mean, sq = sums
            first = K
    elif not second and pieces is not None and draft is None and ONE_SIDE_K <= K <= whole:  # (one rate)
        far = (K - 1.0) * P1  # (the last of those counts compute-bound without its experts' g*u^q: not all memory)
        if c0 + c1 * far < m0 + m1 * far:
            sums = _memory_side_means(c0, c1, m0, m1, r0, r1, g, u, P1, K, mp, pmf, mean)
            if sums is not None:
                pmf, below, mean = sums
                first = K
    if grad is not None:
        p0 = pmf
    if growth is not None:  # d/dB on the pieces (one rate): each side's growth, dg/dB = g*ln(untouched)*w/pp
        dc, dm, dr, log_g = growth
        dcr, dmr, g_B = dc + dr, dm + dr, g * log_g
        g_BB = g_B * log_g
        t_m = m0 - g
        # the step at q = 0 (on_pieces' test) and the sums' terms in B: E[t], E[t^2], d/dmp E[t], d2/dB2 E[t]
        t_B, t_BB = (dcr, 0.0) if c0 >= t_m or c0 != c0 else (dmr - g_B, -g_BB)
        tB_dec, tB_last, B_mean, B_sq, B_m, B_bend = t_B, t_B, pmf * t_B, pmf * 2.0 * t_dec * t_B, 0.0, pmf * t_BB
    uq = 0.0  # u^q on the pieces' memory side (0 where g = 0)
    lump = float(K)  # (the counts as floats: a float with an int takes CPython's slower mixed-type operations)
    for n in map(float, range(first, K + 1)):
        last = pmf  # P(N = n - 1)
        pmf = pmf * (mp / n)
        w = 1.0 - below if n == lump else pmf
        below = below + pmf
        q = n * P1
        if n >= whole:
            q = (q if q <= room or q != q else room) if one_rate else xp.min(q, room)
        if line is not None:  # :func:`on_line` inline: its call costs more than its arithmetic
            t_c, t_m = c0 + c1 * q, m0 + m1 * q
            tn = (
                ((t_c if t_c >= t_m or t_c != t_c else t_m) if t_c.__class__ is float else xp.max(t_c, t_m))
                + r0
                + r1 * q
            )
        elif pieces is not None:  # :func:`on_pieces` inline (one rate), r0 + r1*q on both sides
            t_c, t_m = cr0 + cr1 * q, mr0 + mr1 * q
            if g != 0.0:
                uq = u**q
                t_m = t_m - g * uq
            tn = t_c if t_c >= t_m or t_c != t_c else t_m
            if draft is not None:
                t_c, t_m = d0 + d1 * q, n0 + n1 * q
                tn = tn + (t_c if t_c >= t_m or t_c != t_c else t_m)
        else:
            tn = cycle_step(cost, load, B, ctx, q, pos)
        mean = mean + w * tn
        if not second:
            continue
        # the n prompts' lengths spread the step below the budget: Var[t | n] = (dt/dq)^2 * n * cv_p^2*P1^2, the slope
        # dt/dq = d/(n*P1) of d = t_n - t_dec over the n*P1 tokens: d^2*cv_p^2/n
        d = tn - t_dec
        spread = d * d * cv2 / n
        if n >= whole:
            if not one_rate:
                spread = xp.where(n * P1 < room, spread, 0.0)
            elif not n * P1 < room:
                spread = 0.0
        v = tn * tn + spread
        sq = sq + w * v
        if grad is not None:
            if curve:
                d_bend, p2 = d_bend + (p2 - last) * (tn - t_last), last
            d_mean, d_sq, t_last, v_last = d_mean + last * (tn - t_last), d_sq + last * (v - v_last), tn, v
            if growth is not None:  # (draft None: the pieces' sides are t_c and t_m)
                side = t_c >= t_m or t_c != t_c  # compute-bound
                t_B = dcr if side else dmr - g_B * uq
                if q == room and n * P1 > room:  # the count that fills the budget: q = M - B*w falls by w a sequence
                    t_B = t_B - load.w * ((c1 if side else m1 - g * uq * math.log(u)) + r1)
                d_spread = 2.0 * d * (t_B - tB_dec) * cv2 / n if spread != 0.0 else 0.0  # (0 at the budget)
                B_mean, B_sq = B_mean + w * t_B, B_sq + w * (2.0 * tn * t_B + d_spread)
                if curve:
                    B_m, tB_last = B_m + last * (t_B - tB_last), t_B
                    if not side:
                        B_bend = B_bend - w * g_BB * uq
    f = -(math.expm1(-mp) if one_rate and mp >= 0.0 else xp.expm1(-mp))
    if not (short if one_rate else xp.all(short)):  # full chunks where the prompts exceed the free budget
        f_l = xp.min(m * load.P1 / room, 1.0)
        t_full = cycle_step(cost, load, B, ctx, room, pos)
        mean = xp.where(short, mean, (1 - f_l) * t_dec + f_l * t_full)
        sq = xp.where(short, sq, (1 - f_l) * t_dec * t_dec + f_l * t_full * t_full) if second else None
        f = xp.where(short, f, f_l)
    if not second:
        return mean, f, t_dec, None, None
    t_mix = (mean - (1.0 - f) * t_dec) / ((f if f >= 1e-300 or f != f else 1e-300) if one_rate else xp.max(f, 1e-300))
    if not (f > 0.0 if one_rate else xp.all(f > 0.0)):  # a lone prompt's step where none arrive (f = 0)
        t_mix = xp.where(f > 0.0, t_mix, cycle_step(cost, load, B, ctx, xp.min(P1, room), pos))
    if grad is None:
        return mean, f, t_dec, t_mix, sq
    k = grad * rate  # d/dmp to d/dm, times the caller's k
    # the mean's second derivative (chain rule), where asked
    bend = grad * grad * (rate * rate * d_bend + bow * d_mean) if curve else (math.nan if rough else None)
    if growth is not None and K >= fill:  # (one rate) prompts carried: m' moves with the room M - B*w too, dm'/dB =
        # w*P(N >= fill)/h'(m') (dh/droom = P(N >= fill): the count that fills the budget takes its last tokens), h' =
        # P1/rate; P(N >= fill) = the lumped tail's weight (K = fill)
        k = k + b1 * load.w * w * rate / P1
    d_f = p0 * k
    d_mean, d_sq = d_mean * k, d_sq * k
    if growth is None:
        d_dec = 0.0 * d_f
        d_mix = d_mean - (t_mix - t_dec) * d_f
    else:  # plus b1 times d/dB (the second derivative's cross and B terms)
        d_mean, d_sq, d_dec = d_mean + b1 * B_mean, d_sq + b1 * B_sq, b1 * tB_dec
        d_mix = d_mean - (1.0 - f) * d_dec - (t_mix - t_dec) * d_f
        # F'' exact where nothing is carried (K < fill: no count meets the budget, m' = m); else m''(B) is left out
        if curve:
            bend = bend + b1 * (b1 * B_bend + 2.0 * grad * B_m) if K < fill else bend + math.inf
    d_mix = d_mix / ((f if f >= 1e-300 or f != f else 1e-300) if one_rate else xp.max(f, 1e-300))
    if not (f > 0.0 if one_rate else xp.all(f > 0.0)):
        d_mix = xp.where(f > 0.0, d_mix, 0.0)
    return (mean, f, t_dec, t_mix, sq), (d_mean, d_f, d_dec, d_mix, d_sq), bend


#: The least count K at which :func:`_mix` sums the counts below it in closed form (:func:`_one_side_sums`) where they
#: lie on one side of the roofline: below it the closed form's set-up costs more than the loop it replaces.
ONE_SIDE_K = 4


def _one_side_sums(xp, line, P1, K, t_dec, mp, p0, mean, sq, spread):
    """:func:`_mix`'s Poisson sums over n = 1..J = K-1 prompts (their P1 tokens each fit the budget whole) where every
    such step lies on one side of the roofline of the affine pieces ``line`` (:meth:`StepCost.line`), added to
    ``mean`` and ``sq`` (their n = 0 terms); None where they do not (or a value is NaN). The sides' difference
    (c0 - m0) + (c1 - m1)*q is affine in q, so its signs at q = P1 and q = J*P1 decide every count; on the side
    x (c or m) t_n = a + b*n, a = x0 + r0, b = (x1 + r1)*P1. With p_n = P(N = n), N ~ Poisson(mp) (``p0`` = p_0),
    P_j = P(N <= j) (P_-1 = 0) and the Poisson moments sum n*p_n = mp*P_J-1 and sum n^2*p_n = mp*(mp*P_J-2 + P_J-1)
    over n <= J (from n*p_n = mp*p_n-1), sum p_n*t_n = a*S0 + b*S1 and sum p_n*t_n^2 = a^2*S0 + 2ab*S1 + b^2*S2
    (S_k = sum n^k*p_n over n = 1..J), and the prompts' spread sum p_n*(t_n - t_dec)^2*cv_p^2/n (``spread`` =
    cv_p^2, :func:`_mix`'s delta method) with t_n - t_dec = d + b*n, d = a - t_dec (0 where the decode step is on the
    same side): cv_p^2*(d^2*sum p_n/n + 2db*S0 + b^2*S1). A loop of two additions a count instead of the step's
    terms. Returns (p_J, P_J, mean, sq): :func:`_mix` sums n = K itself (the lumped tail, the budget)."""
    c0, c1, m0, m1, r0, r1 = line
    gap, tilt = c0 - m0, c1 - m1
    low, high = gap + tilt * P1, gap + tilt * ((K - 1.0) * P1)
    if xp is SCALAR:  # one rate: plain tests (the branch taken alone)
        if low >= 0.0 and high >= 0.0:
            a, b = c0 + r0, (c1 + r1) * P1
        elif low <= 0.0 and high <= 0.0:
            a, b = m0 + r0, (m1 + r1) * P1
        else:
            return None
        d = a - t_dec
        jump = d != 0.0  # sum p_n/n only where d is not 0
    else:
        if xp.all(low >= 0.0) and xp.all(high >= 0.0):
            a, b = c0 + r0, (c1 + r1) * P1
        elif xp.all(low <= 0.0) and xp.all(high <= 0.0):
            a, b = m0 + r0, (m1 + r1) * P1
        else:
            return None
        d = a - t_dec
        jump = not xp.all(d == 0.0)
    pmf, s0, lag1, lag2, inv = p0, 0.0, -p0, -p0, 0.0  # p_n, S0 to n, S0 to n - 1 and n - 2 (P_j = p0 + S0 to j)
    for n in range(1, K):
        pmf = pmf * (mp / n)
        lag2, lag1, s0 = lag1, s0, s0 + pmf
        if jump:
            inv = inv + pmf / n
    s1 = mp * (p0 + lag1)
    s2 = mp * (mp * (p0 + lag2) + (p0 + lag1))
    mean = mean + (a * s0 + b * s1)
    sq = sq + (a * a * s0 + 2.0 * a * b * s1 + b * b * s2 + spread * (d * d * inv + 2.0 * d * b * s0 + b * b * s1))
    return pmf, p0 + s0, mean, sq


def _memory_side_means(c0, c1, m0, m1, r0, r1, g, u, P1, K, mp, p0, mean):
    """:func:`_mix`'s Poisson sum of the mean step over n = 1..J = K-1 prompts (one rate, no draft, their n*P1 tokens
    fitting the budget whole) where every such step lies on the memory side of :meth:`StepCost.pieces`' roofline,
    added to ``mean`` (its n = 0 term); None where they may not (or a value is NaN). The sides' difference
    (c0 - m0) + (c1 - m1)*q + g*u^q is convex in q (g >= 0, 0 <= u <= 1), so below 0 at q = P1 and at q = J*P1 it is
    below 0 at every count between: there t_n = a + b*n - g*v^n, a = m0 + r0, b = (m1 + r1)*P1, v = u^P1, and
    sum p_n*t_n = a*S0 + b*S1 - g*V with S0 = P_J - p_0, S1 = sum n*p_n = mp*P_J-1 (n*p_n = mp*p_n-1; P_J-1 =
    P_J - p_J) and V = sum p_n*v^n: a loop of one division, three products and two sums a count (p_n = p_n-1*mp/n,
    v^n, p_n*v^n), not the step's terms (:func:`capacity`'s mean step at B_max: a decode pool's ~1-token prompts
    beside a memory-bound batch). Returns (p_J, P_J, mean)."""
    gap, tilt = c0 - m0, c1 - m1
    v = u**P1 if g != 0.0 else 0.0
    if not (gap + tilt * P1 + g * v < 0.0 and gap + tilt * ((K - 1.0) * P1) + g * v ** (K - 1.0) < 0.0):
        return None
    pmf, vn, s0, V = p0, 1.0, 0.0, 0.0  # p_n, v^n, S0 to n (P_n = p0 + S0 to n), V to n
    for n in range(1, K):
        pmf *= mp / n
        vn *= v
        s0 += pmf
        V += pmf * vn
    return pmf, p0 + s0, mean + ((m0 + r0) * s0 + (m1 + r1) * P1 * mp * (p0 + s0 - pmf) - g * V)


def _reach(xp, mp):
    """A count far in the tail of Poisson(mp): mp + 6*sqrt(mp) + 4, rounded up."""
    if xp is SCALAR and 0.0 <= mp < math.inf:  # one rate in math's domain: its sqrt and ceil without ops' wrappers
        return float(math.ceil(mp + 6.0 * math.sqrt(mp) + 4.0))
    return xp.ceil(mp + 6.0 * xp.sqrt(mp) + 4.0)


#: Relative tolerance of the carried prompt count (:func:`_carried`): an error of 1e-13 of m' moves the mean step by
#: less (its prefill share times that), four orders below the 1e-9 the results are held to (bench/traffic_fields.py).
CARRIED_RTOL = 1e-13


#: Relative tolerance of the carried count in the first mean step of :func:`steady`'s Newton from its own start: an
#: error d of m' moves that mean step by ~d and the next T by ~d/|g'|, below the ~1e-7 of Newton's own first step from
#: a start ~1e-4 off (the dense disaggregated bench's prefill pool: 2.6e-4) and gone after the next step (its error
#: ~C*(that)^2); one second-order step of :func:`_carried` reaches it there (~3e-10), not two. Where that step
#: reaches CARRIED_RTOL too (little carried: a start that is close, as the MoE bench's prefill pool's) the evaluation
#: is exact and may answer; else it only places the next step (:func:`_mix`: a NaN second derivative).
ROUGH_CARRIED_RTOL = 1e-8


def _carried(xp, m, P1, room, fill, whole, grad=False, start=None, rtol=None):
    """Mean m' of the prompts waiting at a step such that the tokens it prefills, E[min(N*P1, room)]
    with N ~ Poisson(m'), equal the m*P1 that arrive per step (work conservation), on the increasing, concave
    E[min(N*P1, room)] = h(m') from m' = m: each step s the root of the second-order Taylor polynomial
    h'*s + h''/2*s^2 = the tokens missing (Newton's step where it has none), which leaves an error of
    |h'''|/(6h')*s^3 (|h''|/(2h')*s^2 after a Newton step); it stops once that is within CARRIED_RTOL of m'.
    m' = m where the budget holds more prompts than the Poisson's range (m + 6*sqrt(m) + 4): nothing is
    carried; never below m (an overloaded step, its budget full at m: m itself). ``fill`` = ceil(room/P1), the
    prompts that fill the budget, ``whole`` its least element. Returns (m', K), K the count at which
    :func:`_mix` lumps the tail of Poisson(m') (:func:`_lumped`); ``grad``: (m', K, dm'/dm, d2m'/dm2), dm'/dm =
    P1/h'(m') where m' solves h(m') = m*P1 (the implicit function theorem; h'(m') from the last step's h' + h''*s) and
    d2m'/dm2 = -h''*(dm'/dm)^2/h' (its derivative; h''(m') from the last step's h'' + h'''*s), 1 and 0 where
    nothing is carried or m' = m (an overloaded step), 0 and 0 where the tokens wanted are capped at the budget.
    ``start``: where the steps start instead of m (at least m), a guess near m' (:func:`_mix`'s ``near``): the same
    stopping rule. ``rtol``: the tolerance instead of CARRIED_RTOL (ROUGH_CARRIED_RTOL), d2m'/dm2 then NaN where m' is
    not within CARRIED_RTOL."""
    if xp is SCALAR and 0.0 <= m < math.inf:  # one rate: :func:`_reach` and :func:`_lumped` inline
        reach = float(math.ceil(m + 6.0 * math.sqrt(m) + 4.0))
        if fill > reach:  # (the lump at reach: fill is not NaN)
            K = int(reach if reach <= 4096.0 else 4096.0)
            return (m, K, 1.0, 0.0) if grad else (m, K)
        # where fill <= reach(m) <= reach(m') (m' >= m), the lump is at fill whatever m'
        K = int(fill if fill <= 4096.0 else 4096.0) if fill <= reach else None
    else:
        reach = _reach(xp, m)
        if xp.all(fill > reach):
            K = _lumped(xp, fill, reach)
            return (m, K, 1.0 + 0.0 * m, 0.0 * m) if grad else (m, K)
        K = int(min(xp.top(fill), 4096)) if xp.all(fill <= reach) else None
    wanted, cap = m * P1, room * (1.0 - 1e-6)
    want = (wanted if wanted <= cap or wanted != wanted else cap) if xp is SCALAR else xp.min(wanted, cap)
    one_rate = xp is SCALAR  # a float: each where's branch taken alone, max inline (ops.SCALAR's, without calls)
    tol = CARRIED_RTOL if rtol is None else rtol
    if start is None:
        mp = m
    else:
        mp = (start if start >= m or start != start else m) if one_rate else xp.max(start, m)
    for _ in range(30):
        got, slope, bend, third = _prefilled(xp, mp, P1, room, fill, whole, K)
        if one_rate:
            low = 1e-12 * P1
            slope = slope if slope >= low or slope != slope else low
            gap = want - got
            disc = slope * slope + 2.0 * bend * gap
            root = disc > 0.0
            step = 2.0 * gap / (slope + math.sqrt(disc)) if root else gap / slope  # (disc > 0 where taken)
            up = mp + step
            step = (up if up >= m or up != up else m) - mp
            mp = mp + step
            error = (abs(third * step) / 6.0 if root else -bend / 2.0) * step * step
            if error <= tol * mp * slope:
                break
            continue
        slope = xp.max(slope, 1e-12 * P1)
        gap = want - got  # (< 0 past the root: a second-order step may overshoot it by its error)
        disc = slope * slope + 2.0 * bend * gap  # the quadratic's discriminant (bend <= 0)
        root = disc > 0.0
        step = xp.where(root, 2.0 * gap / (slope + xp.sqrt(xp.max(disc, 0.0))), gap / slope)
        step = xp.max(mp + step, m) - mp  # m' >= m: a budget already full at m (want < h(m)) carries m itself
        mp = mp + step
        error = xp.where(root, abs(third * step) / 6.0, -bend / 2.0) * step * step
        if xp.all(error <= tol * mp * slope):
            break
    K = K if K is not None else _lumped(xp, fill, _reach(xp, mp))
    if not grad:
        return mp, K
    h, low = slope + bend * step, 1e-12 * P1  # h'(m') from the last evaluation's h' and h''
    bend = bend + third * step  # h''(m') from its h'' and h''' (F'' takes d2m'/dm2 beside a near opposite term)
    if one_rate:
        h = h if h >= low or h != h else low
        if mp == m or wanted > cap:
            return (mp, K, 1.0, 0.0) if mp == m else (mp, K, 0.0, 0.0)
        rate = P1 / h
        rough = rtol is not None and error > CARRIED_RTOL * mp * slope
        return mp, K, rate, math.nan if rough else -bend * rate * rate / h
    h = xp.max(h, low)
    rate = P1 / h
    kept = (mp != m) & (wanted <= cap)
    bow = xp.where(kept, -bend * rate * rate / h, 0.0)
    if rtol is not None and not xp.all(error <= CARRIED_RTOL * mp * slope):
        bow = bow + math.nan
    return mp, K, xp.where(mp == m, 1.0, xp.where(kept, rate, 0.0)), bow


def _lumped(xp, fill, reach):
    """K, the count at which :func:`_mix` and :func:`_prefilled` lump the tail of Poisson(m'): the first count that
    fills the budget (``fill``: min(N*P1, room) = room beyond it) or ``reach``, far in the Poisson's tail
    (:func:`_reach`), whichever comes first, the largest over an array's elements, at most 4096 (1 where fill is
    NaN)."""
    return int(min(xp.top(xp.where(fill == fill, xp.min(fill, reach), 1.0)), 4096))


def _prefilled(xp, mp, P1, room, fill, whole, K=None):
    """E[q] and its first three derivatives in mp for q = min(N*P1, room), N ~ Poisson(mp) lumped at K as in
    :func:`_mix` (``fill`` = ceil(room/P1), ``whole`` its least element: below this count every element's n
    prompts fit the budget whole; K None: :func:`_lumped` at mp):
    E[q] = sum over n = 1..K of P(N >= n)*dq_n, its derivative sum of P(N = n-1)*dq_n (the Poisson
    mean's derivative of an expectation, E[h(N+1) - h(N)]), the second sum of (P(N = n-2) - P(N = n-1))*dq_n and
    the third of (P(N = n-3) - 2P(N = n-2) + P(N = n-1))*dq_n (each the derivative of the one before:
    dP(N = k)/dmp = P(N = k-1) - P(N = k)), dq_n = min(N*P1, room) - min((N-1)*P1, room) at N = n: P1 below the
    budget, what is left of it at the count that fills it, 0 beyond (an array's elements whose budget fills
    before K)."""
    if K is None:
        K = _lumped(xp, fill, _reach(xp, mp))
    one_rate = xp is SCALAR  # a float: the max and min inline, math's exp (ops.SCALAR's, without their calls)
    pmf = math.exp(-mp) if one_rate and mp >= 0.0 else xp.exp(-mp)  # P(N = n - 1)
    # P(N = n - 3), P(N = n - 2), P(N <= n - 1), E[q] and its three derivatives
    last2 = last = below = got = slope = bend = third = 0.0
    for n in map(float, range(1, K + 1)):  # (floats: :func:`_mix`'s counts)
        if n < whole:
            dq = P1
        elif one_rate:
            left = room - (n - 1.0) * P1
            left = P1 if P1 <= left or P1 != P1 else left
            dq = left if left >= 0.0 or left != left else 0.0
        else:
            dq = xp.max(xp.min(P1, room - (n - 1.0) * P1), 0.0)
        slope = slope + pmf * dq
        bend = bend + (last - pmf) * dq
        third = third + (last2 - 2.0 * last + pmf) * dq
        below = below + pmf
        got = got + (1.0 - below) * dq
        last2, last, pmf = last, pmf, pmf * (mp / n)
    return got, slope, bend, third


def decode_step(cost, load, B, ctx, q=0.0, pos=0.0):
    """One step of B sequences at context ``ctx``, each running w tokens (1, or k + 1 verified), and q
    prefill tokens of causal attention work pos*q (``pos`` = E[P^2/2]/E[P], the mean position of a prefill
    token: n whole prompts do n*E[P^2]/2, chunks of long prompts their share of P^2/2; Vaswani et al. 2017,
    causal masking): tokens B*w + q, attention B*w*ctx + pos*q, KV
    B*(ctx + w) + q (each sequence reads its cache once and writes w entries); with speculation the
    draft's k steps are added (:meth:`.speculative.Speculation.draft_time`)."""
    v = B * load.w
    t = cost.time(v + q, v * ctx, B * (ctx + load.w) + q, False, False, pos * q)  # positional: a cheaper call
    return t if load.spec is None else t + load.spec.draft_time(cost, B, ctx, q, pos)


def budget(xp, load, B, M):
    """Prefill tokens a step of budget M holds beside B decoding sequences: M - B*w when they share it
    (chunked prefill), M in a prefill step of its own (``load.separate``); at least 1."""
    room = M if load.separate else M - B * load.w
    # the max inline on a float (ops.SCALAR's, without its call), the operations' otherwise
    return (room if room >= 1.0 or room != room else 1.0) if room.__class__ is float else xp.max(room, 1.0)


def cycle_step(cost, load, B, ctx, q, pos):
    """Time from one decode step of B sequences to the next when q prefill tokens (causal work pos*q) run
    between them: one step holding both (chunked prefill), or, ``load.separate``, the decode step and a prefill
    step of its own that decodes nothing, t(B, 0) + t(0, q): vLLM v0.5.4/v0.6.0 without chunked prefill
    (``vllm/core/scheduler.py`` ``Scheduler._schedule_default``: "Don't schedule decodes if prefills are
    scheduled"), SGLang v0.3.0 (``sglang/srt/managers/tp_worker.py`` ``ModelTpServer.forward_step``: a new prefill
    batch runs instead of the decode batch; ``enable_mixed_chunk`` False by default)."""
    if not load.separate:
        return decode_step(cost, load, B, ctx, q, pos)
    return decode_step(cost, load, B, ctx, 0.0, pos) + decode_step(cost, load, 0.0, ctx, q, pos)


def cycle_line(cost, load, B, ctx, pos):
    """:func:`cycle_step` of B decoding sequences as affine pieces of its prefill tokens q (:meth:`StepCost.line`,
    :func:`on_line`), or None where it is not of that form (a draft model's first step over the prefill tokens,
    separate prefill steps, or a step cost that is not: :meth:`Load.pieces_at`); heads/MTP/n-gram drafts add what does
    not depend on q."""
    spec = load.spec
    if load.separate or (spec is not None and spec.draft is not None):
        return None
    v = B * load.w
    line = cost.line(v, v * ctx, B * (ctx + load.w), pos)
    if line is None or spec is None:
        return line
    c0, c1, m0, m1, r0, r1 = line
    return c0, c1, m0, m1, r0 + spec.draft_time(cost, B, ctx), r1


def on_pieces(pieces, q, shift=0.0):
    """The step of :meth:`Load.pieces_at`'s ``pieces`` at q >= low prefill tokens (a float); ``shift``: their mean
    causal position that much past the one the pieces were found at (the compute sides' slopes c1 + fc*shift and
    d1 + fd*shift: :func:`own_step`'s prompts)."""
    c0, c1, m0, m1, r0, r1, g, u, _, fc, draft = pieces
    t_c, t_m = c0 + ((c1 + fc * shift) if shift != 0.0 else c1) * q, m0 + m1 * q
    if g != 0.0:
        t_m = t_m - g * u**q
    t = (t_c if t_c >= t_m or t_c != t_c else t_m) + r0 + r1 * q
    if draft is None:
        return t
    d0, d1, n0, n1, fd = draft
    t_c, t_m = d0 + (d1 + fd * shift) * q, n0 + n1 * q
    return t + (t_c if t_c >= t_m or t_c != t_c else t_m)


def idle_and_on_pieces(pieces, q):
    """(t(0), t(q)): :func:`on_pieces` at no prefill token (pieces that hold there, low = 0: max(c0, m0 - g) + r0, plus
    the draft's max(d0, n0)) and at q, on one unpacking of the pieces."""
    c0, c1, m0, m1, r0, r1, g, u, _, _, draft = pieces
    t_c, t_m, idle = c0 + c1 * q, m0 + m1 * q, m0
    if g != 0.0:
        t_m, idle = t_m - g * u**q, m0 - g
    t = (t_c if t_c >= t_m or t_c != t_c else t_m) + r0 + r1 * q
    idle = (c0 if c0 >= idle or c0 != c0 else idle) + r0
    if draft is None:
        return idle, t
    d0, d1, n0, n1, _ = draft
    t_c, t_m = d0 + d1 * q, n0 + n1 * q
    return idle + (d0 if d0 >= n0 or d0 != d0 else n0), t + (t_c if t_c >= t_m or t_c != t_c else t_m)


def on_line(xp, line, q):
    """The step of affine pieces ``line`` (:meth:`StepCost.line`) at q prefill tokens: max(c0 + c1*q, m0 + m1*q)
    + r0 + r1*q."""
    c0, c1, m0, m1, r0, r1 = line
    t_c, t_m = c0 + c1 * q, m0 + m1 * q
    # the max inline on a float (ops.SCALAR's, without its call), the operations' otherwise
    return ((t_c if t_c >= t_m or t_c != t_c else t_m) if t_c.__class__ is float else xp.max(t_c, t_m)) + r0 + r1 * q


def own_step(xp, cost, load, B, room, tokens, attn, line=None, pieces=None):
    """One step with B decoding sequences prefilling a request's prompt beside the others that arrived
    before it: min(tokens, room) prefill tokens carrying the share of the causal attention work ``attn``
    of all ``tokens`` (sum of the positions of each prompt's tokens, S^2/2 for a whole prompt of S;
    Vaswani et al. 2017, causal masking). ``load.separate``: the prompts' prefill step alone (B = 0), which
    ends at their first token. ``line``: the step's affine pieces at B (:meth:`Load.line_at`, one pipeline stage),
    whose compute side per prefill token at this work's mean position ``share`` is flop_token + flop_fresh*share
    (:meth:`StepCost.line`): the step on them (:func:`on_line`) instead of :meth:`StepCost.time`'s terms. ``pieces``
    (one rate, no ``line``): the step's :meth:`Load.pieces_at` at B, on them (:func:`on_pieces`) where they hold
    (q >= low), at this work's mean position ``share``: shifted share - the position the pieces were found at."""
    if xp is SCALAR:  # one rate: the min and max inline (ops.SCALAR's, without their calls)
        q, share = (
            (tokens if tokens <= room or tokens != tokens else room),
            attn / (tokens if tokens >= 1e-300 or tokens != tokens else 1e-300),
        )
        if line is None:
            if pieces is None or q < pieces[8]:
                return decode_step(cost, load, 0.0 if load.separate else B, load.ctx, q, share)
            return on_pieces(pieces, q, share - load.pos)
        c0, _, m0, m1, r0, r1 = line
        t_c, t_m = c0 + (cost.flop_token + cost.flop_fresh * share) * q, m0 + m1 * q
        return (t_c if t_c >= t_m or t_c != t_c else t_m) + r0 + r1 * q
    q, share = xp.min(tokens, room), attn / xp.max(tokens, 1e-300)
    if line is None:
        return decode_step(cost, load, 0.0 if load.separate else B, load.ctx, q, share)
    c0, _, m0, m1, r0, r1 = line
    return xp.max(c0 + (cost.flop_token + cost.flop_fresh * share) * q, m0 + m1 * q) + r0 + r1 * q


def full_step(xp, cost, load, B, M):
    """One step with B decoding sequences and a full prefill chunk of M - B*w tokens; ``load.separate``:
    a prefill step of M tokens alone (waiting prompts' prefill steps run back to back, :func:`cycle_step`)."""
    if load.separate:
        return decode_step(cost, load, 0.0, load.ctx, M, load.pos)
    return decode_step(cost, load, B, load.ctx, budget(xp, load, B, M), load.pos)


def poisson_quantile(xp, m, percentiles, top):
    """Quantiles of Poisson(m) at each percentile of ``percentiles`` (a list in their order), each interpolated
    linearly inside the step of the CDF that crosses it (a continuous stand-in for the discrete count), at most
    ``top`` (arrays); P(N = 0) = e^-m found once for them all."""
    zero = math.exp(-m) if xp is SCALAR and m >= 0.0 else xp.exp(-m)  # (math's where it takes the float)
    one_rate = xp is SCALAR  # a float: the step that crosses p found by plain tests (ops.SCALAR's, without calls)
    none = 0.0 * zero  # 0 where the CDF at 0 reaches p, shaped as m
    at_zero = (none if none <= top or none != none else top) if one_rate else None  # the count 0 at most top
    last = top if one_rate else xp.top(top)  # the counts k = 1, 2, ... <= top taken (a float k: no range to set up)
    out = []
    for pct in percentiles:
        p = pct / 100.0
        if one_rate and zero >= p:  # the CDF at 0 reaches p (a rare count: most of a solve's percentiles)
            out.append(at_zero)
            continue
        pmf = cdf = zero
        n = none
        k = 1.0
        while k <= last:
            pmf = pmf * m / k
            if not one_rate:
                below = cdf < p  # (where it is, p - cdf > 0: the share of the step is at least 0)
                n = xp.where(below, k - 1 + xp.min((p - cdf) / xp.max(pmf, 1e-300), 1.0), n)
            elif cdf < p:
                share = (p - cdf) / (pmf if pmf >= 1e-300 or pmf != pmf else 1e-300)
                n = k - 1.0 + (share if share <= 1.0 or share != share else 1.0)
            cdf = cdf + pmf
            if (cdf >= p) if one_rate else xp.all(cdf >= p):
                break
            k += 1.0
        out.append((n if n <= top or n != n else top) if one_rate else xp.min(n, top))
    return out


def capacity(cost, load, M, B_max):
    """Saturation rate (requests/s) and its binding limit, closed form.

    Sequence/KV limit: B_max sequences decode; lambda = B_max/(D1*T) and m = lambda*T = B_max/D1
    prompts join per step, so T = the mean step of :func:`_mix` at (B_max, m). Token budget: every
    step full, M*D1/(P1+D1) decode and M*P1/(P1+D1) prefill tokens; lambda = M/((P1+D1)*t).
    Returns (lambda_max, limit) with limit 1 = token budget (prefill) where the steps fill before B_max
    sequences decode (M*D1/(P1+D1) < B_max: both rates then describe full steps and coincide, so comparing
    them would leave the label to rounding), else 0 = sequences/KV. Separate prefill steps
    (``load.separate``): B_max sequences decode in steps of their own; the token budget binds where every
    decode step is followed by a full prefill step of M tokens, lambda = M/(P1*(t(B_max, 0) + t(0, M))).
    ``M`` and ``B_max``: one engine's numbers (floats or ints); the load's lengths floats or arrays (its operations,
    :attr:`Load.xp`)."""
    xp = load.xp
    D1 = load.D1
    work = load.P1 + load.w * D1  # engine tokens per request: prefill + w per decode step
    Bt = None if load.separate else M * D1 / work  # sequences decoding where every step is full (:func:`_full_steps`)
    if xp is SCALAR:  # one rate: the min, max, where and label inline (ops.SCALAR's, :func:`_label`'s, without calls)
        B = B_max if Bt is None or B_max <= Bt or B_max != B_max else Bt
        if not D1 > 0.0:  # no token gaps (a prefill-only engine): no sequence limit, no mean step
            lam_seq = np.inf
        else:
            T = _mix(xp, cost, load, B, B / (D1 if D1 >= 1e-300 else 1e-300), M, second=False)[0]
            DT = D1 * T
            lam_seq = B / (DT if DT >= 1e-300 or DT != DT else 1e-300)
    else:
        B = B_max if Bt is None else xp.min(B_max, Bt)
        T = _mix(xp, cost, load, B, B / xp.max(D1, 1e-300), M, second=False)[0]
        lam_seq = xp.where(D1 > 0, B / xp.max(D1 * T, 1e-300), np.inf)
    if load.separate:
        cycle = decode_step(cost, load, B_max, load.ctx) + full_step(xp, cost, load, B_max, M)
        lam_tok = M / (load.P1_nz * cycle)
        return xp.min(lam_seq, lam_tok), _label(xp, lam_tok < lam_seq)
    lam_tok = _full_steps(xp, cost, load, M, work, Bt)
    if xp is SCALAR:
        return (lam_seq if lam_seq <= lam_tok or lam_seq != lam_seq else lam_tok), (1 if Bt < B_max else 0)
    return xp.min(lam_seq, lam_tok), _label(xp, Bt < B_max)


def _full_steps(xp, cost, load, M, work, Bt):
    """The rate where every step is full (the token budget binds): Bt = M*D1/work sequences decode beside
    M*P1/work prefill tokens, lambda = M/(work*t(Bt, full)), ``work`` = P1 + w*D1 tokens per request."""
    return M / (work * full_step(xp, cost, load, Bt, M))


def capacity_bound(cost, load, M, B_max):
    """An upper bound of :func:`capacity`'s rate for one configuration (floats, prompts prefilled in the decode
    steps), without its mean step T (:func:`_mix` at B sequences and m = B/D1 prompts per step).
    Where the step is affine pieces of its prefill tokens q (:func:`cycle_line`: a max of two lines plus a line,
    convex and rising in q), T = E[t(B, q)] >= l(E[q]) for any line l below t wherever q falls, and
    E[q] = min(m*P1, room) (work conservation, :func:`_carried`, to within its tolerance and the Poisson tail beyond
    6 sigma it lumps: the bound takes E[q] 1e-6 lower). q is 0 (no prompt) or at least q1 = min(P1, room) (one
    prompt or more), and a convex t lies above its chord through (0, t(0)) and (q1, t(q1)) outside (0, q1), so that
    chord is such a line (a step with one prompt or none at most: the bound is exact); the tangent at E[q] is another
    (Jensen's inequality, T >= t(B, E[q])): the larger of the two. Otherwise T >= t(B, 0), every step holding the B
    decoding sequences. Then lambda_seq = B/(D1*T) <= B/(D1*t_low); the token budget's rate is :func:`capacity`'s
    own. None where prefills run as steps of their own or a request has no token gaps (D1 = 0)."""
    if load.separate or not load.D1 > 0.0:
        return None
    work = load.P1 + load.w * load.D1
    B = min(B_max, M * load.D1 / work)
    line = cycle_line(cost, load, B, load.ctx, load.pos)
    if line is None:
        t_low = decode_step(cost, load, B, load.ctx)
    else:
        room = budget(SCALAR, load, B, M)
        q = min(B / load.D1 * load.P1, room) * (1.0 - 1e-6)
        q1 = min(load.P1, room)
        t0, t1 = on_line(SCALAR, line, 0.0), on_line(SCALAR, line, q1)
        t_low = max(on_line(SCALAR, line, q), t0 + (t1 - t0) * (q / q1) if q1 > 0.0 else t0)
    lam_seq = B / max(load.D1 * t_low, 1e-300)
    return min(lam_seq, _full_steps(SCALAR, cost, load, M, work, M * load.D1 / work))


def _label(xp, budget):
    """:func:`capacity`'s binding limit where the token ``budget`` binds: 1, else 0 (an int for one configuration,
    an array for arrays)."""
    return (1 if budget else 0) if xp is SCALAR else np.where(budget, 1, 0)


#: Relative tolerance of the steady mean step (:func:`steady`) and of the start its secant takes (:func:`_start`): the
#: mean-value model's fixed point lies ~1e-3 from the steady step's (0.2 % in bench_serving_traffic.py's case), so a
#: start finer than that buys the secant nothing (over bench/traffic_fields.py's solves 1e-3 takes 15 % fewer model
#: evaluations than 1e-6 and 1 % fewer of :func:`_mix`).
STEADY_RTOL, START_RTOL = 1e-12, 1e-3
#: Secant iterations before :func:`_secant` stops (it converges superlinearly: 2-7 evaluations below saturation).
SECANT_ITERATIONS = 20


def steady(xp, cost, load, lam, M, start=None):
    """Mean step T a decoding request sees at arrival rate ``lam`` (below capacity): fixed point of
    T = F(T) = E[t(1 + B, prompts per step)] (:func:`_mix`), B = lam*D1*T (Little's law on the decode
    batch; a request sees itself plus the others, a size-biased Poisson count), m = lam*T prompts
    per step; :func:`_secant` from the fixed point of the mean-value model and its slope (:func:`_start`),
    to STEADY_RTOL (~3 evaluations of F where a start at T = 0 took ~7), or from ``start`` = (T, dg/dT) where the
    caller has a closer one (the fixed points of nearby rates: :func:`.under_load.trial`). Returns (T, B, f, t_dec,
    t_mix, E[t^2], dg/dT of the secant's last step) at the answer T (:func:`_secant` carries the last evaluation to it
    along its chord).

    Each evaluation is one :func:`_mix` at B = 1 + lam*D1*T and m = lam*T. Where requests decode nothing (D1 = 0: a
    disaggregated prefill pool) B = 1 whatever T, and where the prompts fit the room beside it F is a function of
    m = lam*T alone whose first and second derivatives :func:`_mix` sums exactly: :func:`_newton` from the same start
    instead (one evaluation of F where the start is close enough that the error its step leaves, |F''|*s^2/(2|g'|),
    is within STEADY_RTOL; two where the secant takes three; the returned slope is then g'(T) of the last
    evaluation). Likewise where the step has MoE pieces without a draft (:meth:`Load.piece_growth`: a MoE decode
    pool, EP): :func:`_mix` sums the derivatives in T through B too (b1 = lam*D1 times d/dB), one evaluation from a
    start ~1e-7 off where the secant takes two. Each evaluation's carried prompt count starts from the last one's
    (``near``: one sum of :func:`_prefilled` instead of two where prompts are carried to the next step)."""
    one_rate = xp is SCALAR
    near = [None, None]  # the last evaluation's (m, m'), where the next one's carried count starts (:func:`_mix`)
    decodes = not (load.D1 == 0.0 if one_rate else xp.all(load.D1 == 0.0))  # (B = 1 + lam*D1*T moves with T)
    growth = load.piece_growth(cost) if decodes and one_rate and not cost.affine else None
    # Newton where _mix sums F's derivatives exactly: no decode steps (B = 1), or MoE pieces without a draft (B too)
    if (not decodes or growth is not None) and xp.all(budget(xp, load, 1.0, M) >= load.P1_nz):
        b1 = 0.0 if growth is None else lam * load.D1

        def F_slope(T):  # the first evaluation with F'' (from steady's own start: m' to ROUGH_CARRIED_RTOL)
            first = near[0] is None
            rough = ROUGH_CARRIED_RTOL if first and start is None else None
            B = 1.0 if growth is None else 1.0 + b1 * T
            return _mix(xp, cost, load, B, lam * T, M, lam, near, b1, growth, rough, first)

        T, out, grad, w, slope = _newton(
            xp, F_slope, _start(xp, cost, load, lam, M)[0] if start is None else start[0], STEADY_RTOL
        )
        _, f, t_dec, t_mix, sq = out  # the last evaluation's, carried to T in the return (x + x'*w)
        _, d_f, d_dec, d_mix, d_sq = grad
        return T, lam * load.D1 * T, f + d_f * w, t_dec + d_dec * w, t_mix + d_mix * w, sq + d_sq * w, slope

    def F(T):
        return _mix(xp, cost, load, 1.0 + lam * load.D1 * T, lam * T, M, None, near)

    T0, slope0 = _start(xp, cost, load, lam, M) if start is None else start  # (no star call: CALL_FUNCTION_EX)
    T, out, slope = _secant(xp, F, T0, slope0, STEADY_RTOL)
    _, f, t_dec, t_mix, sq = out
    return T, lam * load.D1 * T, f, t_dec, t_mix, sq, slope


def _start(xp, cost, load, lam, M):
    """(T, dg/dT) where :func:`steady`'s secant starts: the mean-value model's fixed point and slope
    (:func:`_mean_value_root`) moved by one Newton step on that model with the Poisson spread of the prompts per
    step (:func:`_spread`), from the steps' second difference the root's last evaluation found where it has one."""
    T, slope, d2 = _mean_value_root(xp, cost, load, lam, M)
    return _spread(xp, cost, load, lam, M, T, slope, d2)  # (no star call: a CALL_FUNCTION_EX costs ~1 k more)


def _spread(xp, cost, load, lam, M, T, slope, d2=None):
    """(T, dg/dT) after one Newton step from the mean-value model's root ``T`` (its g'(T) ``slope``) on the model
    with N ~ Poisson(m) prompts per step, m = lam*T, instead of m spread evenly: the first prompt turns a decode
    step into a mixed one, t1 - t0, each further one adds t2 - t1 (t_n the step of min(n*P1, room) prefill tokens,
    :func:`cycle_step`; the tokens the budget leaves out are carried, prefilled at that rate), so
    E[t] = t0 + P(N >= 1)*(t1 - t0) + E[(N - 1)+]*(t2 - t1) = t0 + m*(t1 - t0) + E[(N - 1)+]*(t2 - 2*t1 + t0),
    E[(N - 1)+] = m - 1 + e^-m = m^2/2 + O(m^3): the model plus c(T) = E[(N - 1)+]*(t2 - 2*t1 + t0), with
    dc/dT ~ lam*P(N >= 1)*(t2 - 2*t1 + t0) (the second difference held). :func:`_mix` has that spread (and the
    carried prompts' own Poisson), so the step lands within ~1e-4 of its fixed point where the model's root is
    ~1e-3 off (~1e-2 at a band's slow corner), and the secant takes one evaluation of :func:`_mix` fewer there.
    Prompts longer than the room (a deterministic chunk share, as in :func:`_mix`) or a step that leaves T <= 0
    or the slope >= 0 (near saturation): the model's root as it is. ``d2``: t2 - 2*t1 + t0 where the caller has it
    (:func:`_mean_value_root`'s last evaluation of the model, at T's B or, on MoE pieces, at the Newton
    step before T: B ~1e-3 off moves the spread's ~1e-6 of T by ~1e-9 of it), else found at T's B (:func:`_steps`:
    t1 and t2 at q = max(P1, 1) and min(2q, room); NaN where the room is below P1)."""
    one_rate = xp is SCALAR  # a float: plain comparisons and math (the branch taken alone)
    if d2 is None:
        d2 = _steps(xp, cost, load, 1.0 + lam * load.D1 * T, M, True)[3]
    if one_rate and d2 != d2:  # the room below P1
        return T, slope
    m = lam * T
    e = math.expm1(-m) if one_rate else xp.expm1(-m)  # -P(N >= 1)
    spread_slope = slope - lam * e * d2
    if one_rate:
        if spread_slope >= 0.0 or spread_slope != spread_slope:
            return T, slope
        T_new = T - (m + e) * d2 / spread_slope
        return (T_new, spread_slope) if 0.0 < T_new < math.inf else (T, slope)
    T_new = T - (m + e) * d2 / xp.where(spread_slope < 0.0, spread_slope, -1.0)
    keep = (d2 == d2) & (spread_slope < 0.0) & (T_new > 0.0) & (T_new < math.inf)  # (NaN d2: the room below P1)
    return xp.where(keep, T_new, T), xp.where(keep, spread_slope, slope)


def _steps(xp, cost, load, B, M, second=False):
    """(t0, tq, q, d2): the steps at decode batch B with no prefill token and with a chunk of q = min(P1, room) tokens
    (at least 1; :func:`decode_step`, on the step's affine pieces or its MoE pieces where they hold); ``second``: also
    the second difference d2 = t2 - 2*tq + t0, t2 at q2 = min(2q, room) tokens (NaN where the room is below P1),
    else None: :func:`_mean_value_root`'s model and :func:`_spread`'s Poisson spread."""
    P1, one_rate = load.P1, xp is SCALAR
    room = budget(xp, load, B, M)
    if one_rate:  # the min and max inline (ops.SCALAR's, without their calls)
        q = P1 if P1 <= room or P1 != P1 else room
        q = q if q >= 1.0 or q != q else 1.0
    else:
        q = xp.max(xp.min(P1, room), 1.0)
    line = load.line_at(cost, B) if cost.affine else None
    pieces = None
    if line is not None:
        t0, tq = on_line(xp, line, 0.0), on_line(xp, line, q)
    else:
        pieces = load.pieces_at(cost, B) if one_rate else None
        if pieces is not None and pieces[8] <= 0.0:
            t0, tq = idle_and_on_pieces(pieces, q)
        else:  # (pieces where they hold at q: a pipeline's step of fewer tokens than stages at q = 0)
            t0 = load.idle_step(cost, B) if one_rate else decode_step(cost, load, B, load.ctx)
            if pieces is not None and q >= pieces[8]:
                tq = on_pieces(pieces, q)
            else:
                pieces, tq = None, cycle_step(cost, load, B, load.ctx, q, load.pos)
    if not second:
        return t0, tq, q, None
    if one_rate:
        if not room >= P1:
            return t0, tq, q, math.nan
        q2 = 2.0 * q
        q2 = q2 if q2 <= room or q2 != q2 else room
    else:
        q2 = xp.min(2.0 * q, room)
    if line is not None:
        t2 = on_line(xp, line, q2)
    else:
        t2 = cycle_step(cost, load, B, load.ctx, q2, load.pos) if pieces is None else on_pieces(pieces, q2)
    d2 = t2 - 2.0 * tq + t0
    return t0, tq, q, d2 if one_rate else xp.where(room >= P1, d2, math.nan)


def _mean_value_root(xp, cost, load, lam, M):
    """(T, dg/dT, d2): the fixed point of the mean-value model
    T = t(B, 0) + (lam*T*P1/q)*(t(B, q) - t(B, 0)) (every step decodes B = 1 + lam*D1*T sequences and prefills
    the lam*T*P1 prompt tokens that arrive per step in chunks of q = min(P1, M - B*w): no Poisson spread,
    nothing carried to the next step; :func:`decode_step`) and the slope of g(T) = model(T) - T there: in closed
    form where the step has affine pieces (:func:`_model_root`), else to START_RTOL from T = 0 or, on MoE experts, from
    the closed form of the step with every expert read (:meth:`Load.bound_lines`: 1-3 evaluations of the model where
    T = 0 took ~6): by :func:`_newton` on the model's exact slope where the step has pieces at q = 0 without a draft
    (:func:`_model_with_slope`; 2 evaluations where the secant takes 3: a MoE decode pool), with g'(T) of its last
    evaluation, else by :func:`_secant`, with the slope of its last step. Where requests decode nothing (D1 = 0) the
    model is affine in T, its root t0/(1 - lam*P1/q*(tq - t0)) found first, on any step. d2: the steps' second
    difference t2 - 2*t1 + t0 (t_n with min(n*P1, room) prefill tokens) at the last evaluation's B where the path
    found it (D1 = 0, whose B is T's, and the Newton on MoE pieces; NaN where the room is below P1), else None
    (:func:`_spread` finds it at T's B)."""
    P1 = load.P1
    one_rate = xp is SCALAR

    if load.D1 == 0.0 if one_rate else xp.all(load.D1 == 0.0):  # B = 1 whatever T: the model affine in T, its root
        t0, tq, q, d2 = _steps(xp, cost, load, 1.0, M, True)
        slope = lam * P1 / q * (tq - t0) - 1.0  # g'(T), g(T) = t0 + (slope + 1)*T - T
        if slope < 0.0 if one_rate else xp.all(slope < 0.0):
            return t0 / -slope, slope, d2
    root = _model_root(xp, cost, load, lam, M) if cost.affine else None  # (no unit lines on MoE pieces)
    if root is not None:
        return (*root, None)
    bound = load.bound_lines(cost) if cost.expert_bytes != 0.0 and cost.pp == 1.0 else None
    start = None if bound is None else _model_root(xp, cost, load, lam, M, bound)
    start = (0.0 * lam * load.S, -1.0) if start is None else start  # from T = 0, shaped as lam
    growth = load.piece_growth(cost) if one_rate and not cost.affine else None
    if growth is not None:  # the model's exact derivative: Newton (2 evaluations where the secant takes 3)
        model_grad = functools.partial(_model_with_slope, cost, load, lam, M, growth)
        T, out, _, _, slope = _newton(xp, model_grad, start[0], START_RTOL)
        return T, slope, out[1]  # (d2 at the last evaluation's B: not carried)

    def model(T):
        t0, tq, q, _ = _steps(xp, cost, load, 1.0 + lam * load.D1 * T, M)
        return (t0 + lam * T * P1 / q * (tq - t0),)

    T, _, slope = _secant(xp, model, *start, START_RTOL)
    return T, slope, None


def _model_with_slope(cost, load, lam, M, growth, T):
    """((model(T), d2), (model'(T), 0), None) of :func:`_mean_value_root`'s mean-value model t0 + m*P1/q*(tq - t0),
    m = lam*T, at decode batch B = 1 + lam*D1*T, on :meth:`Load.pieces_at`'s pieces (a float rate, no draft, pieces
    that hold at q = 0), for :func:`_newton`. By the chain rule model' = lam*D1*d/dB + lam*d/dm, d/dm = P1/q*(tq - t0);
    in B each step t = max(c0 + c1*q, m0 + m1*q - g*u^q) + r0 + r1*q gains its pieces' growth per sequence
    (:meth:`Load.piece_growth`, ``growth``): dc on the compute side, dm - g*ln(untouched)*w/pp*u^q on the memory side
    (g = g(0)*untouched^(B*w/pp), u^0 = 1), dr beside; where the prompts fill the room (q = M - B*w < P1) q falls by
    w a sequence, moving tq by its slope in q (c1, or m1 - g*u^q*ln(u), plus r1) and P1/q by P1*w/q^2. d2 = t2 - 2*tq
    + t0 at this B (t2 with q2 = min(2*q, room) tokens: :func:`_spread`'s, held in the Newton step; NaN where the room
    is below P1)."""
    b1 = lam * load.D1
    B, m = 1.0 + b1 * T, lam * T
    pieces = load.pieces_at(cost, B)
    c0, c1, m0, m1, r0, r1, g, u, _, _, _ = pieces
    dc, dm, dr, log_g = growth
    P1 = load.P1
    room = budget(SCALAR, load, B, M)
    q = P1 if P1 <= room or P1 != P1 else room
    dq = -load.w if q < P1 and q > 1.0 else 0.0  # dq/dB where the room binds (above its floor of 1)
    q = q if q >= 1.0 or q != q else 1.0
    g_B = g * log_g  # dg/dB
    t_m = m0 - g
    side = c0 >= t_m or c0 != c0  # the step at q = 0 compute-bound (on_pieces' test)
    t0, t0_B = (c0 if side else t_m) + r0, (dc if side else dm - g_B) + dr
    t_c, t_m = c0 + c1 * q, m0 + m1 * q
    uq = u**q if g != 0.0 else 0.0
    if g != 0.0:
        t_m = t_m - g * uq
    side = t_c >= t_m or t_c != t_c
    tq, tq_B = (t_c if side else t_m) + r0 + r1 * q, (dc if side else dm - g_B * uq) + dr
    if dq != 0.0:
        tq_B = tq_B + ((c1 if side or uq == 0.0 else m1 - g * uq * math.log(u)) + r1) * dq
    k = P1 / q
    d = tq - t0
    model_B = t0_B + m * k * (tq_B - t0_B) - m * k * d * dq / q
    d2 = on_pieces(pieces, 2.0 * q if 2.0 * q <= room else room) - 2.0 * tq + t0 if room >= P1 else math.nan
    return (t0 + m * k * d, d2), (b1 * model_B + lam * k * d, 0.0), None  # (None: no g'' for _newton's test)


def _model_root(xp, cost, load, lam, M, lines=None):
    """(T, dg/dT) of :func:`_mean_value_root`'s mean-value model in closed form, or None where this has none for some
    element (no affine step pieces at B = 0, speculation, whose drafts' time is a roofline of its own in B,
    prompts longer than the budget left beside the batch, no root).

    With affine pieces (:meth:`StepCost.line`) each side of a step's roofline, and the rest of its time, is affine in
    its decode batch B = 1 + lam*D1*T, hence in T, and q = max(P1, 1) wherever P1 fits the budget; so where the
    decode step and the step with q prefill tokens each keep one side, the model t0 + k*T*(tq - t0), k = lam*P1/q,
    is a quadratic a + b*T + c*T^2 (linear where both steps are on the same side: c = 0) and its fixed points the
    roots of c*T^2 - (1 - b)*T + a = 0, 2a/((1 - b) + s) and ((1 - b) + s)/(2c), s = sqrt((1 - b)^2 - 4ac). A root
    where both steps take the sides assumed is a fixed point of the model; the answer is the smallest positive one,
    with g'(T) = 2c*T + b - 1 there. The prefill step is the more compute-bound of the two (by (c1 - m1)*q), so a
    compute-bound decode step beside a memory-bound prefill step is tried only where c1 < m1. ``lines``: the unit
    lines of another step instead of ``cost``'s (:meth:`Load.bound_lines`)."""
    P1 = load.P1
    if load.spec is not None or not xp.all(budget(xp, load, 1.0, M) >= P1):  # (the budget shrinks with B)
        return None
    zero, one = load.unit_lines(cost) if lines is None else lines
    if zero is None:
        return None
    _, c1, _, m1, _, r1 = zero
    one_rate = (
        xp is SCALAR
    )  # a float: the max inline (ops.SCALAR's), the root kept by a plain test instead of two where calls
    q = (P1 if P1 >= 1.0 or P1 != P1 else 1.0) if one_rate else xp.max(P1, 1.0)
    k, b1 = lam * P1 / q, lam * load.D1  # prefill chunks per step per unit T; decoding sequences per unit T
    # (value at T = 0, slope in T) of the decode step's compute and memory sides and of the rest of its time
    compute, memory = (one[0], (one[0] - zero[0]) * b1), (one[2], (one[2] - zero[2]) * b1)
    r0, r_T = one[4], (one[4] - zero[4]) * b1
    g0, g1 = compute[0] - memory[0], compute[1] - memory[1]  # the decode step's compute less memory side: g0 + g1*T
    dq = (c1 - m1) * q  # the prefill step's less the decode step's
    best = grad = math.inf + 0.0 * k * load.S  # shaped as the inputs
    # one rate: the pairs of sides in the order T meets them, to the first that holds a root (:func:`_side_pairs`)
    ordered = one_rate and g0 == g0 and g1 == g1 and dq == dq
    for x_c, y_c in _side_pairs(g0, g1, dq) if ordered else _PAIRS:  # compute-bound decode, prefill?
        if x_c and not y_c and xp.all(c1 >= m1):
            continue
        x0, x1 = compute if x_c else memory
        y0, y1 = (compute[0] + c1 * q, compute[1]) if y_c else (memory[0] + m1 * q, memory[1])
        a, b = x0 + r0, x1 + r_T + k * (y0 + r1 * q - x0)
        e = 1.0 - b
        if x_c == y_c:
            c, valid = 0.0, True
            roots = ((a / e if e != 0.0 else math.inf),) if one_rate else (xp.ratio(a, e, math.inf),)
        elif one_rate:  # no real root (NaN included): nothing to keep; else the ratios inline (ops.SCALAR's)
            c = k * (y1 - x1)
            disc = e * e - 4.0 * a * c
            if not disc >= 0.0:
                continue
            s = math.sqrt(disc)
            valid, roots = (
                True,
                ((2.0 * a / (e + s) if e + s != 0.0 else math.inf), ((e + s) / (2.0 * c) if c != 0.0 else math.inf)),
            )
        else:
            c = k * (y1 - x1)
            disc = e * e - 4.0 * a * c
            s = xp.sqrt(xp.max(disc, 0.0))
            valid, roots = disc >= 0.0, (xp.ratio(2.0 * a, e + s, math.inf), xp.ratio(e + s, 2.0 * c, math.inf))
        for T in roots:
            gap = g0 + g1 * T
            gap_q = gap + dq
            sides = ((gap >= 0.0) if x_c else (gap <= 0.0)) & ((gap_q >= 0.0) if y_c else (gap_q <= 0.0))
            ok = valid & (T > 0.0) & (T < best) & sides
            if not one_rate:
                best = xp.where(ok, T, best)
                grad = xp.where(ok, 2.0 * c * T + b - 1.0, grad)
            elif ok:
                best, grad = T, 2.0 * c * T + b - 1.0
        if ordered and best < math.inf:
            break
    if not xp.all((best < math.inf) & (budget(xp, load, 1.0 + b1 * best, M) >= P1)):
        return None
    return best, grad


#: :func:`_model_root`'s pairs of sides (compute-bound decode step?, compute-bound prefill step?)
_PAIRS = ((False, False), (True, True), (False, True), (True, False))


def _side_pairs(g0, g1, dq):
    """:func:`_model_root`'s pairs of sides in the order T meets them from 0 on, where the decode step's compute less
    memory side is v = g0 + g1*T and the prefill step's v + dq: the decode step is compute-bound where v >= 0, the
    prefill step where v >= -dq, so along v the pairs are (memory, memory), then (memory, compute) where dq >= 0 (the
    prefill step the more compute-bound, (compute, memory) else), then (compute, compute); T moves v from g0 up (g1 >
    0), down (g1 < 0) or not at all. A root whose sides hold lies in its pair's stretch of T, so the first pair in
    this order with such a root holds the smallest (:func:`_model_root` stops there)."""
    mid, (low, high) = ((False, True), (-dq, 0.0)) if dq >= 0.0 else ((True, False), (0.0, -dq))
    pairs = ((False, False), mid, (True, True))
    i = 0 if g0 < low else (1 if g0 < high else 2)  # the pair at T = 0
    if g1 > 0.0:
        return pairs[i:]
    return pairs[i::-1] if g1 < 0.0 else pairs[i : i + 1]


def _newton(xp, F, T, rtol):
    """Fixed point T = F(T)[0][0] by Newton's method on g(T) = F(T)[0][0] - T from ``T``, F(T) = (the values, their
    derivatives in T, |g''(T)| or None): T - g/g' (a fixed-point step, F(T), where g' >= 0 or a step leaves T > 0).
    Its error after a step s_k is ~C*s_k^2 (quadratic convergence, C = |g''/(2g')|: Taylor's remainder of g about the
    last evaluation, g(T + s) = g''(xi)*s^2/2 after the step), so it stops when s_k <= rtol*T, when
    |g''|*s_k^2/(2|g'|) <= rtol*T where F gives g'' and s_k^2 <= rtol*T^2 (a Newton step within ~1e-6 of T, where
    g'' at T stands for g'' at xi: a longer one may cross a kink of F, a budget that fills; at any step: the first from
    a close start), or
    after the first step when s_k < s_k-1, s_k^2 <= rtol*T^2 and s_k^3 <= rtol*T*s_k-1^2 (C ~ s_k/s_k-1^2 from the last
    two steps); or after SECANT_ITERATIONS. Returns (T, the last evaluation's values and their derivatives, w, g' of
    the last evaluation): the caller carries the values it reads to the answer along their derivatives, x + x'*w, w the
    last step (an error of ~x''*w^2/2: no evaluation there; w = 0 after SECANT_ITERATIONS, T the last evaluation's
    next step; written out, the carry costs fewer instructions than a comprehension over every value). An array's
    elements stop one by one, each where one rate alone would; those stopped before the last step are evaluated
    at their T (w = 0 there). A NaN |g''| marks a rough evaluation (:data:`ROUGH_CARRIED_RTOL`): it places the next
    step, never answers."""
    step0 = None
    done = False
    one_rate = xp is SCALAR  # a float: the tests inline (ops.SCALAR's, without their calls)
    for _ in range(SECANT_ITERATIONS):
        out, grad, bend = F(T)
        g, slope = out[0] - T, grad[0] - 1.0
        if one_rate:
            rough = bend is not None and bend != bend
            T_new = T - g / (slope if slope < 0.0 else -1.0)
            newton = T_new > 0.0 and T_new < math.inf
            if not newton:
                T_new = out[0]
            step, tol = abs(T_new - T), rtol * abs(T)
            if not rough and (
                step <= tol
                or (
                    bend is not None
                    and step * step <= tol * abs(T)
                    and newton
                    and slope < 0.0
                    and abs(bend) * step * step <= -2.0 * slope * tol
                )
                or (
                    step0 is not None
                    and step < step0
                    and step * step <= tol * abs(T)
                    and step * step * step <= tol * step0 * step0
                )
            ):
                return T_new, out, grad, T_new - T, slope
            step0, T = step, T_new
            continue
        rough = bend is not None and not xp.all(bend == bend)
        T_new = T - g / xp.where(slope < 0.0, slope, -1.0)
        newton = (slope < 0.0) & (T_new > 0.0) & (T_new < math.inf)
        T_new = xp.where(newton, T_new, out[0])  # (NaN compares False)
        step, tol = abs(T_new - T), rtol * abs(T)
        if rough:  # (no stop after a rough evaluation)
            step0, T = step, T_new
            continue
        now = step <= tol
        if bend is not None:
            near = newton & (step * step <= tol * abs(T))
            now = now | (near & (abs(bend) * step * step <= -2.0 * slope * tol))
        if step0 is not None:
            now = now | ((step < step0) & (step * step <= tol * abs(T)) & (step * step * step <= tol * step0 * step0))
        stopped = done is not False  # (only an array's elements wait for the others)
        if xp.all(done | now):
            fresh = now & ~done if stopped else now  # the elements stopping now: carried to T_new
            return xp.where(fresh, T_new, T), out, grad, xp.where(fresh, T_new - T, 0.0), slope
        step0, T = step, xp.where(done, T, T_new) if stopped else T_new
        done = done | now
    return T, out, grad, 0.0, slope


def _secant(xp, F, T, slope, rtol):
    """Fixed point T = F(T)[0] by the secant method on g(T) = F(T)[0] - T from ``T``, its first step
    T - g/``slope`` (-1: the fixed-point step F(T)), each next one along the chord through the last two
    points (exact on a linear piece; a fixed-point step where the chord does not fall (dg/dT < 0 below
    saturation) or a step leaves T > 0). It stops when the next T is within ``rtol`` of the fixed point, by the
    steps s_k = |T_k+1 - T_k|: s_k <= rtol*T, or, after the first step, q*s_k/(1 - q) <= rtol*T with q = s_k/s_k-1
    (the a-posteriori error bound of a contraction of ratio q, Banach's fixed-point theorem; the secant's ratio
    falls from step to step) and s_k*s_k-1 <= rtol*T^2, which bounds the error of the chord through the last two
    evaluations, |F''|*s_k*(s_k + s_k-1)/2 relative to |F''|*T^2: the chord carries F to the next T instead of an
    evaluation there (one evaluation of F fewer); or after SECANT_ITERATIONS. Returns (T, F(T), the slope of
    the last step): after the first step the next T and F along the chord,
    F(T_k) + (F(T_k) - F(T_k-1))*(T - T_k)/(T_k - T_k-1); at the first, the T evaluated. An array's elements stop
    one by one, each where one rate alone would; those stopped before the last step are evaluated at their T."""
    T0 = g0 = out0 = step0 = None
    done = False
    kept = slope
    one_rate = xp is SCALAR  # a float: the tests and the chord's ratio inline (ops.SCALAR's, without their calls)
    for _ in range(SECANT_ITERATIONS):
        out = F(T)
        g = out[0] - T
        if one_rate:
            if T0 is not None:
                dT = T - T0
                slope = kept = (g - g0) / dT if dT != 0.0 else -1.0
            T_new = T - g / (slope if slope < 0.0 else -1.0)
            if not (T_new > 0.0 and T_new < math.inf):
                T_new = out[0]
            step, tol = abs(T_new - T), rtol * abs(T)
            if step0 is None:
                if step <= tol:
                    return T, out, kept
            elif step <= tol or (step * step <= tol * (step0 - step) and step * step0 <= tol * abs(T)):
                w = (T_new - T) / dT if dT != 0.0 else 0.0
                return T_new, tuple(x + (x - x0) * w for x, x0 in zip(out, out0)), kept
            T0, g0, out0, step0, T = T, g, out, step, T_new
            continue
        if T0 is not None:
            dT = T - T0
            slope = xp.ratio(g - g0, dT, -1.0)
        stopped = done is not False  # (one rate stops at once: only an array's elements wait for the others)
        kept = xp.where(done, kept, slope) if stopped else slope
        T_new = T - g / xp.where(slope < 0.0, slope, -1.0)
        T_new = xp.where((T_new > 0.0) & (T_new < math.inf), T_new, out[0])  # (NaN compares False)
        step, tol = abs(T_new - T), rtol * abs(T)
        now = step <= tol
        if step0 is None:  # the first step: no chord yet, so T (within rtol) is the answer
            if xp.all(now):
                return T, out, kept
        else:
            now = now | ((step * step <= tol * (step0 - step)) & (step * step0 <= tol * abs(T)))
            if xp.all(done | now):
                fresh = now & ~done if stopped else now  # the elements stopping now: F(T_new) along the chord
                w = xp.where(fresh, xp.ratio(T_new - T, dT, 0.0), 0.0)
                return xp.where(fresh, T_new, T), tuple(x + (x - x0) * w for x, x0 in zip(out, out0)), kept
        T0, g0, out0, step0, T = T, g, out, step, xp.where(done, T, T_new) if stopped else T_new
        done = done | now
    return T, out, kept


def analytic(
    cost,
    load,
    lam,
    M,
    B_max,
    arrival_cv,
    lam_max,
    clients=None,
    lead=0.0,
    lag=0.0,
    percentiles=tuple(Z),
    steps=1,
    gaps=True,
    start=None,
):
    """Latency and throughput of continuous batching at arrival rate ``lam`` < ``lam_max``; ``clients``: a
    closed loop of that many clients whose requests spend ``lead`` seconds outside the engine, whose
    arrivals come at step boundaries (:func:`closed_loop_wait` replaces the residual of the step in progress);
    ``lag`` 1: an overlap scheduler, whose next step is scheduled before the running one's results are
    processed, so a request that finds the engine busy waits one more whole step, P(busy)*T (SGLang
    ``Scheduler.event_loop_overlap``, TensorRT-LLM ``PyExecutor._executor_loop_overlap``, vLLM
    ``--async-scheduling``). ``steps`` n > 1: multi-step scheduling (vLLM v0.6.0 ``--num-scheduler-steps``),
    new requests taken only when the block of n decode steps (or one prefill step) in progress ends: the
    residual of that block replaces the step's, and the prompts that came during it share the request's
    prefill step (:mod:`.multi_step`).

    Waits (Allen & Cunneen 1990 G/G/c with Sakasegawa's 1977 P(wait) approximation):
      slots:   W_s = (ca^2+cs^2)/2 * T_res * rho_s^(sqrt(2(c+1))-1) / (c(1-rho_s)), c = B_max,
               rho_s = lam*T_res/c, T_res = time a request holds a slot;
      prefill: W_p = (ca^2+cs^2)/2 * rho_p/(1-rho_p) * X, the prompt-token server of M - B tokens
               per full step (rho_p = lam*P1*t_full/(M-B), X = P1*t_full/(M-B));
      plus the residual of the step running at arrival, P(busy)*E[t^2]/(2E[t]).
    TTFT = wait + ceil-free P1/q steps, the last one shared with the n = lam*P(busy)*E[t^2]/E[t] prompts
    (mean) that arrived during the length-biased step before it (Kleinrock, "Queueing Systems" Vol. 1, 1975,
    Sec. 5.2, the residual-life paradox), each prompt carrying its causal attention work (:func:`own_step`);
    ITL (per-request mean token gap, TPOT) = T with a binomial spread of the mixed steps among its D1 gaps;
    e2e = TTFT + D1*T. Percentiles: the wait is 0 with probability 1 - P(wait), else exponential; length
    quantiles from the load's distribution; the step in progress at arrival heavy-tailed as the prompts are
    (:func:`residual_quantile`); independent parts combined by :func:`combine`, at the median the continuous
    ones by :func:`median_shift`. Returns a dict of arrays
    with the percentile fields of ``percentiles`` only (a subset of :data:`Z`; none: no ITL spread either),
    for a caller that reads no others (a rate search); ``gaps`` False: no ITL spread, hence no itl_pXX and
    e2e_pXX (a caller that reads only TTFT: a disaggregated prefill pool, a search without an ITL SLO). ``start``:
    where :func:`steady`'s secant starts (None: its own start); the secant's last slope dg/dT is returned as
    ``slope`` (a start for a nearby rate).
    """
    xp = ops_for(load, lam, M, B_max, arrival_cv, lam_max, lead, lag)
    P1, P2 = load.P1, load.P2  # a request's prefill tokens and their causal attention work (means)
    T, B, f, t_dec, t_mix, t2, slope = steady(xp, cost, load, lam, M, start)
    room = budget(xp, load, B, M)
    one_rate = xp is SCALAR  # a float: max, min and where inline (ops.SCALAR's, without their calls)
    if one_rate:
        q = P1 if P1 <= room or P1 != P1 else room
        q = q if q >= 1.0 or q != q else 1.0
    else:
        q = xp.max(xp.min(P1, room), 1.0)
    cv2_p, cv2_o = load.cv_p * load.cv_p, load.cv_o * load.cv_o  # service variability: prompt / output lengths
    ca2 = arrival_cv * arrival_cv
    # --- own prefill: P1/q chunks (>= 1 step), the last one mixed with the decode batch
    chunks = P1 / q
    chunks = (chunks if chunks >= 1.0 or chunks != chunks else 1.0) if one_rate else xp.max(chunks, 1.0)
    # pipeline stages: the prompt's last micro-batch leaves after the period (none on one stage: without the call)
    drain = 0.0 if cost.pp == 1.0 else cost.drain(t_mix, B * load.w + q)
    # --- prefill-token server
    # the steps' affine pieces at B where they have them on one pipeline stage (:func:`own_step`'s ``line``)
    line = load.line_at(cost, B) if cost.affine and cost.pp == 1.0 and not load.separate else None
    pieces = load.pieces_at(cost, B) if line is None and one_rate else None  # (any stages: q >= low)
    if line is not None:
        t_full = on_line(xp, line, room)
    elif pieces is not None and room >= pieces[8]:
        t_full = on_pieces(pieces, room)
    else:
        t_full = full_step(xp, cost, load, B, M)
    X = P1 * t_full / room
    rho_p = lam * X
    rho_p = (rho_p if rho_p <= 0.999999 or rho_p != rho_p else 0.999999) if one_rate else xp.min(rho_p, 0.999999)
    W_p = (ca2 + cv2_p) / 2.0 * rho_p / (1.0 - rho_p) * X
    # --- own step: short prompts share it with those that came during the step in progress (length-biased,
    # E[t^2]/T); longer ones (two do not fit the budget) with the chunks of the mean mixed step
    short = room >= 2.0 * P1
    # short prompts share a step: a wait needs a full one
    W_p = (W_p * rho_p if short else W_p) if one_rate else xp.where(short, W_p * rho_p, W_p)
    busy = -lam * (chunks * t_mix + drain + load.D1 * T + W_p)  # P(the engine is busy at an arrival): 1 - e^this
    busy = -(math.expm1(busy) if one_rate and busy <= 0.0 else xp.expm1(busy))
    single = load.separate and steps == 1  # prefill steps of their own: the single step in progress, not the cycle
    # E[L^2]/E[L] of the block in progress (t2/T: one step, :func:`.multi_step.span`'s at n = 1, without its call)
    block = SEP.span(T, t2, t_dec) if single else (t2 / T if steps == 1 else MS.span(T, t2, f, t_dec, steps))
    n = lam * busy * block
    chunk = t_full if load.separate else t_mix  # a long prompt's chunk: back-to-back prefill steps, or mixed ones
    sharing = 1.0 + n  # the prompt and the n others in its step
    X_one = own_step(xp, cost, load, B, room, P1 * sharing, P2 * sharing, line, pieces)
    X_own = chunks * ((X_one if short else chunk) if one_rate else xp.where(short, X_one, chunk)) + drain
    # --- sequence slots (max_num_seqs / KV)
    T_res = X_own + load.D1 * T
    rho_s = lam * T_res / B_max
    rho_s = (rho_s if rho_s <= 0.999999 or rho_s != rho_s else 0.999999) if one_rate else xp.min(rho_s, 0.999999)
    p_slot = rho_s ** ((math.sqrt(2.0 * (B_max + 1.0)) if one_rate else xp.sqrt(2.0 * (B_max + 1.0))) - 1.0)
    W_s = (ca2 + cv2_o) / 2.0 * T_res * p_slot / (B_max * (1.0 - rho_s))
    # --- residual of the step in progress
    busy = -lam * (T_res + W_p + W_s)
    busy = -(math.expm1(busy) if one_rate and busy <= 0.0 else xp.expm1(busy))
    R = busy * block / 2.0
    if clients is not None and single:  # the whole single step after a decode step; lost phase: a random one's
        T1 = SEP.next_step(T, f, t_dec)
        busy, R = closed_loop_wait(xp, T1, block * T1, T_res + W_p + W_s, clients, lead)
    elif clients is not None:
        busy, R = closed_loop_wait(xp, T, t2, T_res + W_p + W_s, clients, lead)
        if steps > 1:
            R = R + busy * MS.closed_extra(xp, T, t2, t_dec, block, phase_kept(xp, T, lead)[0], steps)
    R = R + lag * busy * T
    Wq = W_p + W_s
    wait = R + Wq
    ttft = wait + X_own
    sd_itl = (
        token_gap_spread(
            xp, load, T, itl_spread(xp, load, lam, T, B, t_dec, lam_max, batch_slope(xp, cost, load, B, lam * T, f, M))
        )
        if percentiles and gaps
        else None
    )
    gap = T * load.gap  # mean token gap: one step per token, or T/E with speculation
    e2e = ttft + load.D1 * T
    if one_rate:
        p_wait = rho_p if rho_p >= p_slot or rho_p != rho_p else p_slot
        p_wait = p_wait if p_wait >= 1e-12 or p_wait != p_wait else 1e-12
    else:
        p_wait = xp.max(xp.max(rho_p, p_slot), 1e-12)
    out = {
        "T": T,
        "slope": slope,
        "B": B,
        "f": f,
        "t_dec": t_dec,
        "t_mix": t_mix,
        "queue_wait_mean": wait,
        "ttft_mean": ttft,
        "itl_mean": gap,
        "e2e_mean": e2e,
        "rho_p": rho_p,
        "rho_s": rho_s,
        "itl_sd": sd_itl,
    }
    # own step: shared with the Poisson(lam*P(busy)*block) prompts that came during the same step in progress, at
    # most as many as fit beside it (short prompts)
    others_mean = lam * busy * block
    if not one_rate:
        others_top = xp.where(short, xp.max(xp.floor(room / load.P1_nz) - 1.0, 0.0), 0.0)
    elif short:  # (a finite float's floor by floor division, as a float: ops.SCALAR's, without its calls)
        fit = room / load.P1_nz
        others_top = (fit // 1.0 if 0.0 <= fit < math.inf else xp.floor(fit)) - 1.0
        others_top = others_top if others_top >= 0.0 or others_top != others_top else 0.0
    else:
        others_top = 0.0
    positions = (1.0 + load.h) / (2.0 * (1.0 - load.h))  # a prompt's positions h*S..S: (1 - h^2)*S^2/2 = S^2 * this
    counts = poisson_quantile(xp, others_mean, percentiles, others_top)
    plain = clients is None and not steps > 1 and not single  # an open loop's residual of one step in progress
    L_last = n_last = None  # the prompt and the count of the last own step found (one rate)
    prompt_q, output_q = load.quantiles() if percentiles else (None, None)  # lengths over their means, by percentile
    for p, others in zip(percentiles, counts):
        z, tail, ttft_key, itl_key, e2e_key = _PERCENTILE[p]
        if not one_rate:
            Wp = xp.where(tail < p_wait, Wq / p_wait * xp.log(p_wait / tail), 0.0)
        else:  # (p_wait/tail > 1 where taken)
            Wp = Wq / p_wait * math.log(p_wait / tail) if tail < p_wait else 0.0
        Lp = P1 * prompt_q[p]  # the prompt at this percentile
        own = Lp * Lp * positions
        if not one_rate:
            tokens, attn = Lp + others * P1, own + others * P2
            Xp = xp.where(short, own_step(xp, cost, load, B, room, tokens, attn, line, pieces), chunk) * xp.max(
                Lp / room, 1.0
            )
            Xp = Xp + drain
        elif Lp != L_last or others != n_last:  # (else the last percentile's: fixed lengths, the count 0 at both)
            tokens, attn = Lp + others * P1, own + others * P2
            Xp, over = own_step(xp, cost, load, B, room, tokens, attn, line, pieces) if short else chunk, Lp / room
            Xp = Xp * (over if over >= 1.0 or over != over else 1.0) + drain
            L_last, n_last = Lp, others
        if plain:
            Rp = residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail)
        elif clients is None and steps > 1:
            Rp = MS.residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail, steps)
        elif clients is None:  # (single)
            Rp = SEP.residual_quantile(xp, load, T, f, t_dec, t_mix, decode_step(cost, load, 0.0, 0.0), busy, tail)
        elif single:
            t_fixed = decode_step(cost, load, 0.0, 0.0)
            Rp = SEP.closed_wait_quantile(xp, load, T, f, t_dec, t_mix, t_fixed, busy, tail, lead)
        else:
            Rp = closed_wait_quantile(xp, load, T, f, t_dec, t_mix, busy, tail, lead, steps)
        if lag != 0.0:  # an overlap scheduler's extra step when the engine is busy (lag 0 or 1)
            Rp = Rp + xp.where(tail < busy, lag * T, 0.0)
        if z == 0.0:
            # the median: parts whose median is an atom (the wait, 0 with probability 1 - P(wait); the count of
            # prompts sharing the step, Poisson; a closed loop's wait for the next step; the residual while
            # P(busy) <= 1/2) add their shifts; the two continuous ones, the prompt's length (others at their mean
            # n) and the open loop's residual, combine by median_shift with variances u^2*cv_p^2,
            # u = (X_own - drain)/(1 + n) the step's time per prompt, and R^2*(4/(3*P(busy)) - 1): uniform over
            # a step of 2R/P(busy) when busy, E[R^2 | busy] = 4/3*(R/P(busy))^2; fixed prompt lengths (cv_p 0, one
            # rate): the median prompt is the mean one, its step with the n others X_own's
            if one_rate and cv2_p == 0.0:
                X_len = X_one
            else:
                X_len = own_step(xp, cost, load, B, room, Lp + n * P1, own + n * P2, line, pieces)
            spread = clients is None and busy > 0.5
            if not one_rate:
                X_len = xp.where(short, X_len, chunk) * xp.max(Lp / room, 1.0) + drain
                u = (X_own - drain) / xp.where(short, sharing, 1.0)
                v_res = xp.where(spread, R * R * (4.0 / (3.0 * xp.max(busy, 1e-12)) - 1.0), 0.0)
            else:  # (busy > 0.5 where the residual spreads)
                X_len = (X_len if short else chunk) * (over if over >= 1.0 or over != over else 1.0) + drain
                u = (X_own - drain) / (sharing if short else 1.0)
                v_res = R * R * (4.0 / (3.0 * busy) - 1.0) if spread else 0.0
            d_ttft = Wp - Wq + (Xp - X_len) + median_shift(xp, X_len - X_own, u * u * cv2_p, Rp - R, v_res)
        else:
            d_ttft = combine(xp, Wp - Wq, Xp - X_own) + (Rp - R)
        out[ttft_key] = ttft + d_ttft
        if sd_itl is None:
            continue
        out[itl_key] = gap + z * sd_itl
        # the e2e's parts beside the TTFT: the D1 token gaps' (none at the median, z = 0) and the output length's
        d2 = (load.O * output_q[p] - load.O) * gap
        d2 = d2 if z == 0.0 else combine(xp, (load.O - 1.0) * z * sd_itl, d2)
        out[e2e_key] = e2e + combine(xp, d_ttft, d2)
    return out


def closed_loop_wait(xp, T, t2, in_engine, clients, lead):
    """(P(busy), mean wait) of a closed loop's arrival for the step in progress. A client sends its next
    request when the previous one's last token reaches it, i.e. just after the step that produced it; the
    engine's loop has then already scheduled the next step (vLLM v1 ``EngineCoreProc.run_busy_loop``: poll
    the input queue, run one step, repeat; TensorRT-LLM's executor fetches new requests at the start of an
    iteration), so a request whose path outside the engine, ``lead`` (mean), ends within that step waits the
    rest of it, T - l, not the residual of a random arrival; one whose path outlasts the step loses the phase:
    the length-biased residual E[t^2]/(2E[t]) (Kleinrock 1975, Sec. 5.2). With p and l of
    :func:`.request_path.phase_kept`: p*(T - l) + (1 - p)*E[t^2]/(2E[t]) = T - p*lead + (1 - p)*E[t^2]/(2E[t]),
    T - lead for a path much shorter than a step, continuous in lead. The engine is busy when one of the
    other N - 1 clients has a request in it: each spends in_engine/(in_engine + lead) of its cycle there,
    P(busy) = 1 - (lead/(in_engine + lead))^(N-1) (0 for one client, 1 for N >= 2 when lead = 0)."""
    busy = 1.0 - (lead / (in_engine + lead)) ** (clients - 1.0)
    if lead == 0.0:
        return busy, busy * T
    p = phase_kept(xp, T, lead)[0]
    return busy, busy * (T - p * lead + (1.0 - p) * t2 / (2.0 * T))


def closed_wait_quantile(xp, load, T, f, t_dec, t_mix, busy, tail, lead, steps=1):
    """Wait that a closed loop's arrival exceeds with probability ``tail`` (:func:`closed_loop_wait`): with the
    phase kept (probability p, :func:`.request_path.phase_kept`), the next step is a decode step t_dec (share
    1 - f of the steps) or carries a prefill, t_mix on average (the prompt's own spread not carried), less the
    path's mean l given p; 0 with probability 1 - P(busy); ``steps`` n > 1: the further decode steps of the
    block (:func:`.multi_step.closed_extra_quantile`). Lost (1 - p): :func:`residual_quantile` (of the block,
    :func:`.multi_step.residual_quantile`). The two quantiles weighed by p and 1 - p: exact at either end and
    continuous in lead between."""
    p, ell = phase_kept(xp, T, lead)
    u = tail / xp.max(busy, 1e-300)
    step = xp.where(u >= 1.0, ell, xp.where(u >= f, t_dec, t_mix))
    locked = xp.max(step - ell, 0.0)
    if steps > 1:
        locked = locked + MS.closed_extra_quantile(xp, t_dec, busy, tail, steps)
    if lead == 0.0:
        return locked
    if steps > 1:
        lost = MS.residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail, steps)
    else:
        lost = residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail)
    return p * locked + (1.0 - p) * lost


def residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail):
    """Time x to the end of the step in progress that an arrival exceeds with probability ``tail``:
    P(R > x) = P(busy)*E[(t - x)+]/E[t] (the arrival lands in a step with probability proportional to its
    length, uniformly inside it; Kleinrock, "Queueing Systems" Vol. 1, 1975, Sec. 5.2) over decode steps
    (share 1 - f, t_dec) and prefill steps t_dec + d*g, d = t_mix - t_dec, affine in their prompt's length over
    its mean g. Every step outlasts x <= t_dec: E[(t - x)+] = t_dec + f*d - x; beyond, only prefill steps do:
    f*d*E[(g - y)+] at y = (x - t_dec)/d, inverted by :meth:`Load.excess_level`."""
    fd = f * (t_mix - t_dec)
    if xp is SCALAR:  # one rate: the side taken alone, its max and min inline (ops.SCALAR's, without their calls)
        c = tail * T / (busy if busy >= 1e-300 or busy != busy else 1e-300)  # E[(t - x)+] at the quantile
        if c < fd:
            u = c / (fd if fd >= 1e-300 or fd != fd else 1e-300)
            return t_dec + (t_mix - t_dec) * load.excess_level(u if u <= 1.0 or u != u else 1.0)
        x = t_dec + fd - c
        return x if x >= 0.0 or x != x else 0.0
    c = tail * T / xp.max(busy, 1e-300)
    above = t_dec + (t_mix - t_dec) * load.excess_level(xp.min(c / xp.max(fd, 1e-300), 1.0))
    return xp.where(c < fd, above, xp.max(t_dec + fd - c, 0.0))


def batch_slope(xp, cost, load, B, m, f, M):
    """dT/dB, the mean step's growth with one more decoding sequence at the steady point (:func:`_mix` at batch
    1 + B, m prompts per step): one more sequence in the decode-only steps (share 1 - f) and in those that carry
    prefill, at their mean prefill q = min(m*P1/f, room) (work conservation, E[q] = m*P1: :func:`_mix`),
    (1 - f)*(t(B + 2, 0) - t(B + 1, 0)) + f*(t(B + 2, q) - t(B + 1, q)) (:func:`cycle_step`); within 1.3 % of the
    difference of two :func:`_mix` evaluations over bench/traffic_fields.py's configurations, for four step
    times instead of a :func:`_mix`."""
    room = budget(xp, load, B + 1.0, M)
    one, two = (load.line_at(cost, B + 1.0), load.line_at(cost, B + 2.0)) if cost.affine else (None, None)
    if xp is SCALAR:  # one rate: the max and min inline (ops.SCALAR's, without their calls)
        q = m * load.P1 / (f if f >= 1e-300 or f != f else 1e-300)
        q = q if q <= room or q != q else room
    else:
        q = xp.min(m * load.P1 / xp.max(f, 1e-300), room)
    if one is None and xp is SCALAR:  # :func:`cycle_pieces` where they hold at q = 0
        one, two = load.pieces_at(cost, B + 1.0), load.pieces_at(cost, B + 2.0)
        if one is not None and two is not None and one[8] <= 0.0 and two[8] <= 0.0:
            (dec1, mix1), (dec2, mix2) = idle_and_on_pieces(one, q), idle_and_on_pieces(two, q)
            return (1.0 - f) * (dec2 - dec1) + f * (mix2 - mix1)
        one = None
    if one is None:
        ctx, pos = load.ctx, load.pos
        dec = decode_step(cost, load, B + 2.0, ctx, 0.0, pos) - decode_step(cost, load, B + 1.0, ctx, 0.0, pos)
        mixed = cycle_step(cost, load, B + 2.0, ctx, q, pos) - cycle_step(cost, load, B + 1.0, ctx, q, pos)
    else:
        dec = on_line(xp, two, 0.0) - on_line(xp, one, 0.0)
        mixed = on_line(xp, two, q) - on_line(xp, one, q)
    return (1.0 - f) * dec + f * mixed


def itl_spread(xp, load, lam, T, B, t_dec, lam_max, dT):
    """Standard deviation of a request's mean token gap: the prompts prefilled during its D1 steps
    are Poisson (mean m*D1, m = lam*T), each adding (T - t_dec)/m to its steps in proportion to its
    length, so their sum has the compound Poisson variance m*D1*E[X^2] = m*D1*((T - t_dec)/m)^2*(1 + cv_p^2)
    (Ross, "Introduction to Probability Models", compound Poisson random variables); the decode batch
    around it is Poisson-like (variance B), each sequence adding dT/dB (``dT``, :func:`batch_slope`); feedback
    (longer steps keep requests longer, which lengthens the steps) amplifies both by 1/sqrt(1 - lam/lam_max): the
    root of the two variances' sum over 1 - lam/lam_max."""
    d = T - t_dec
    if xp is SCALAR:  # one rate: the max inline and math.sqrt (the root taken here is of a float >= 0 or NaN)
        m, D1, lag = lam * T, load.D1, 1.0 - lam / lam_max
        m, D1 = (m if m >= 1e-300 or m != m else 1e-300), (D1 if D1 >= 1.0 or D1 != D1 else 1.0)
        var = d * d * (1.0 + load.cv_p * load.cv_p) / (m * D1) + dT * dT * (B if B >= 0.0 or B != B else 0.0)
        return math.sqrt(var / (lag if lag >= 1e-3 or lag != lag else 1e-3))
    var = d * d * (1.0 + load.cv_p * load.cv_p) / (xp.max(lam * T, 1e-300) * xp.max(load.D1, 1.0))
    var = var + dT * dT * xp.max(B, 0.0)
    return xp.sqrt(var / xp.max(1.0 - lam / lam_max, 1e-3))


def token_gap_spread(xp, load, T, sd_step):
    """Standard deviation of a request's mean token gap from that of its mean step ``sd_step``: times
    1/E with speculation, combined with the spread of the steps its n = O - 1 tokens take: a renewal
    count of n tokens at E per step with variance var per step takes n/E steps with variance
    n*var/E^3 (Cox, "Renewal Theory", 1962, Sec. 3.3), so sd = T*sqrt(var/(E^3*n))."""
    if load.spec is None:
        return sd_step
    n = xp.max(load.O - 1.0, 1.0)
    accept = T * xp.sqrt(load.spec.var / (load.spec.tokens**3 * n))
    return xp.sqrt((sd_step * load.gap) ** 2 + accept * accept)


def ttft_cdf(out, x):
    """P(TTFT <= x): the normal score interpolated linearly between the analytic p50, p90 and p99
    (extrapolated with the nearest slope, clipped to +-6), then the normal CDF."""
    q50, q90, q99 = out["ttft_p50"], out["ttft_p90"], out["ttft_p99"]
    xp = pick(q50, q90, q99, x)
    if xp is SCALAR:  # one rate: the side of p90 it lies on alone, without the operations' calls
        if x < q90:
            return _phi(xp, (x - q50) * (Z[90] / xp.max(q90 - q50, 1e-300)))
        return _phi(xp, Z[90] + (x - q90) * ((Z[99] - Z[90]) / xp.max(q99 - q90, 1e-300)))
    s1 = Z[90] / xp.max(q90 - q50, 1e-300)
    s2 = (Z[99] - Z[90]) / xp.max(q99 - q90, 1e-300)
    z = xp.where(x < q90, (x - q50) * s1, Z[90] + (x - q90) * s2)
    return _phi(xp, z)


def _phi(xp, z):
    """Standard normal CDF of the score z, clipped to +-6: (1 + erf(z / sqrt 2)) / 2."""
    return 0.5 * (1.0 + xp.erf(xp.min(xp.max(z, -6.0), 6.0) / math.sqrt(2.0)))


def itl_cdf(out, x):
    """P(TPOT <= x): normal with the mean and spread of :func:`token_gap_spread`."""
    sd, mean = out["itl_sd"], out["itl_mean"]
    xp = pick(sd, mean, x)
    if xp is SCALAR:  # one rate: the branch taken alone
        return _phi(xp, (x - mean) / sd if sd > 0 else (6.0 if x >= mean else -6.0))
    z = xp.where(sd > 0, (x - mean) / xp.where(sd > 0, sd, 1.0), xp.where(x >= mean, 6.0, -6.0))
    return _phi(xp, z)
