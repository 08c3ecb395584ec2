"""Prefill steps of their own (``prefill_steps="separate"``, :func:`.traffic.cycle_step`): the step in progress at
an arrival, for :func:`.traffic.analytic` (one-step scheduling).

The analytic step mix counts a cycle from one decode step to the next: the decode step t_dec and, in a share f of
the cycles, a prefill step of its own t_p (mean d = t_mix - t_dec). A request arriving during either step waits
only for the end of that step: the scheduler runs before every step and puts waiting prompts into the next one,
a prefill step ahead of any decode (vLLM v0.5.4/v0.6.0 ``Scheduler._schedule_default``, SGLang v0.3.0
``ModelTpServer.forward_step``; :func:`.simulate.simulate`). So the residual is that of the single step in
progress, not of the whole cycle, and the prompts that share the request's prefill step are those that came
during that single step. A prefill step is the weight read, a fixed part a = t(0 tokens), plus a part that grows
with its tokens, d - a on average (:class:`.traffic.StepCost`: the max of its FLOPs and its bytes, with the
weights read once whatever the tokens).
"""

from __future__ import annotations

from . import multi_step as MS
from .request_path import phase_kept


def span(T, t2, t_dec):
    """E[s^2]/E[s] of the single step in progress at a random time, length-biased (Kleinrock, "Queueing Systems"
    Vol. 1, 1975, Sec. 5.2): per cycle one decode step t_dec and f prefill steps t_p, so with the cycle's moments
    T = t_dec + f*E[t_p] and t2 = E[(t_dec + t_p 1{prefill})^2] = t_dec^2 + 2*t_dec*f*E[t_p] + f*E[t_p^2], the
    sum of the steps' squares per cycle is t_dec^2 + f*E[t_p^2] = t2 - 2*t_dec*(T - t_dec) over the cycle's T."""
    return (t2 - 2.0 * t_dec * (T - t_dec)) / T


def residual_quantile(xp, load, T, f, t_dec, t_mix, t_fixed, busy, tail):
    """Time x to the end of the step in progress that an arrival exceeds with probability ``tail``:
    P(R > x) = P(busy)*h(x)/T (Kleinrock 1975, Sec. 5.2, per cycle of mean T), h(x) = (t_dec - x)+ + f*E[(t_p - x)+]
    over one decode step and f prefill steps t_p = a + b*g per cycle: a = ``t_fixed`` (the prefill step's weight
    read and overhead, no tokens), b = t_mix - t_dec - a its token part, g the prompt's length over its mean.
    Solved for h(x) = c = tail*T/P(busy): within the fixed part (x <= a) every prefill step outlasts x,
    h = (t_dec - x)+ + f*(d - x) (d = a + b); above it, x = a + b*y with E[(g - y)+] = u (:meth:`Load.excess_level`)
    and h = (t_dec - x)+ + f*b*u increasing in u, bisected; beyond the longest prefill step only decode steps
    remain, x = t_dec - c."""
    c = tail * T / xp.max(busy, 1e-300)
    d = t_mix - t_dec
    a = xp.min(t_fixed, d)
    b = d - a

    def h(u):
        x = a + b * load.excess_level(u)
        return x, xp.max(t_dec - x, 0.0) + f * b * u

    middle = MS.level(xp, h, c)
    top, h_top = h(0.0 * c)
    within = xp.where(c >= f * (d - t_dec), (T - c) / (1.0 + f), d - c / xp.max(f, 1e-300))
    x = xp.where(c >= xp.max(t_dec - a, 0.0) + f * b, within, xp.where(h_top >= c, t_dec - c, middle))
    return xp.max(x, 0.0)


def next_step(T, f, t_dec):
    """Mean of the step that follows a decode step, which a closed loop's next request waits for whole
    (:func:`.traffic.closed_loop_wait`): the prefill step of the prompts that came meanwhile in a share f of the
    cycles, else the next decode step, f*(t_mix - t_dec) + (1 - f)*t_dec = T - f*t_dec."""
    return T - f * t_dec


def closed_wait_quantile(xp, load, T, f, t_dec, t_mix, t_fixed, busy, tail, lead):
    """Wait that a closed loop's arrival exceeds with probability ``tail`` (:func:`.traffic.closed_wait_quantile`
    with single steps): the step after a decode step is a prefill step of its own t_mix - t_dec (the prompt's own
    spread not carried) in a share f of the cycles, else a decode step t_dec, less ``lead``; 0 with probability
    1 - P(busy). A path that outlasts that step loses the phase: :func:`residual_quantile`; the two weighed by
    the probability p that the phase is kept (:func:`.request_path.phase_kept`; l: the path's mean given it)."""
    p, ell = phase_kept(xp, next_step(T, f, t_dec), lead)
    u = tail / xp.max(busy, 1e-300)
    step = xp.where(u >= 1.0, ell, xp.where(u >= f, t_dec, t_mix - t_dec))
    locked = xp.max(step - ell, 0.0)
    if lead == 0.0:
        return locked
    return p * locked + (1.0 - p) * residual_quantile(xp, load, T, f, t_dec, t_mix, t_fixed, busy, tail)
