"""Power and energy per output token at the served rate (under traffic): the busy/idle split of the steady state.

An engine under an arrival rate lam runs steps back to back while any request is in it and idles otherwise:

- busy share b = 1 - exp(-lam * S), S = the time a request spends in the engine (e2e_mean less the request path
  outside it): the probability that an M/G/inf system holds a request, insensitive to the service time's
  distribution (Takacs 1962; Kleinrock, "Queueing Systems" Vol. 1, 1975, Sec. 2.2, Poisson arrivals seen as time
  averages); the traffic model's own P(busy) (:func:`.traffic.analytic`) is this form. Continuous batching serves
  every request in the engine at once, up to its batch limit.
- while busy, steps of the steady mean length T (the loaded token gap over the tokens per step: itl_mean / gap)
  each decode B_b = lam * D1 * T / b sequences and prefill q_b = lam * T * P1 / b prompt tokens (Little's law,
  L = lam * W, on the decode batch and on the prompts, over the busy time: every request's D1 steps and every
  prompt token once per request); its compute and memory seconds are those of one step of that work
  (:meth:`.traffic.StepCost.time`, its roofline's two sides before the max, as the static decode energy takes
  them), so the busy draw is :func:`mlsysim_physics.equations.step_power` of that step;
- idle, each GPU draws the power model's awake-idle share of TDP (``power_idle``:
  ``mlsysim_physics.efficiency.POWER_IDLE_FRACTION``, nvidia-smi readings with a CUDA context held).

Mean power per GPU P = b * P_busy + (1 - b) * TDP * power_idle; energy per output token = GPUs * P / (lam * O).
At low rates the idle draw dominates (a GPU held for few tokens); near saturation b -> 1 and it tends to the busy
step's energy over its tokens. Under speculation the k draft steps beside each verify step add their compute and
memory seconds (:func:`draft_parts`). Left out: the pipeline's repeated weight reads per micro-batch (one pass per
step), MoE experts touched at the mean tokens (the concave read evaluated at the mean: an upper bound), separate
prefill steps taken as one step with the decodes (the weights read once).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlsysim_core.solver import PreparedCache
from mlsysim_physics.equations import step_power


def _part(setup: Any) -> tuple | None:
    """(TDP in W, idle power in W, the power model's three shares, GPUs of the replica) of a layout, None without a
    TDP."""
    tdp = setup.hardware.si.tdp
    if tdp is None:
        return None
    return tdp, tdp * setup.power_idle, setup.power_idle, setup.power_compute, setup.power_memory, setup.layout.gpus


#: :func:`_part` memoized by the Setup's identity
_parts = PreparedCache(_part)


def loaded_power(setup: Any, cost: Any, load: Any, lam: Any, itl_mean: Any, e2e_mean: Any, t_req: float) -> tuple:
    """(busy share, mean power per GPU in W, energy per output token of the replica in J) at the served rate
    ``lam`` (requests/s, below saturation) with the loaded ``itl_mean`` and client ``e2e_mean`` (s) and the request
    path ``t_req`` (s) outside the engine; floats or arrays (NaN where the latencies are masked). None for each
    where the part has no TDP."""
    part = _parts(setup)
    if part is None:
        return None, None, None
    tdp, idle, share_idle, share_c, share_m, gpus = part
    x = lam * (t_req - e2e_mean)
    b = -math.expm1(x) if x.__class__ is float else -np.expm1(x)  # P(the engine holds a request)
    T = itl_mean / load.gap
    per_busy = lam * T / b  # requests arriving per busy step
    B, q = per_busy * load.D1, per_busy * load.P1
    v = B * load.w
    t_c, t_m = cost.time(v + q, v * load.ctx, B * (load.ctx + load.w) + q, False, True, load.pos * q)
    if load.spec is not None:  # the k draft steps beside each verify step: their work too
        d_c, d_m = draft_parts(load.spec, cost, B, load.ctx, q, load.pos)
        t_c, t_m = t_c + d_c, t_m + d_m
    p_busy = step_power(tdp, t_c, t_m, T, share_idle, share_c, share_m)[0]
    power = b * p_busy + (1.0 - b) * idle
    return b, power, gpus * power / (lam * load.O)


def draft_parts(spec: Any, cost: Any, B: Any, ctx: Any, q: Any, pos: Any) -> tuple:
    """(compute, memory) seconds of the k draft steps beside a verify step of B sequences at context ``ctx`` and q
    prefill tokens, the roofline sides of :meth:`.speculative.Speculation.draft_time`'s steps: a draft model's first
    step over the prefill chunk too, then k - 1 decode steps; heads/MTP/n-gram: k x share of a target step of B."""
    if spec.draft is None:
        c, m = cost.time(B, B * ctx, B * (ctx + 1.0), False, True)
        share = spec.k * spec.share
        return share * c, share * m
    c1, m1 = spec.draft.time(B + q, B * ctx, B * (ctx + 1.0) + q, False, True, pos * q)
    c2, m2 = spec.draft.time(B, B * ctx, B * (ctx + 1.0), False, True)
    return c1 + (spec.k - 1) * c2, m1 + (spec.k - 1) * m2
