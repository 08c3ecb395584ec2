"""Multi-step scheduling (vLLM v0.6.0 ``--num-scheduler-steps n``): the wait of a new request for the block of
steps in progress, for :func:`.traffic.analytic` (``steps`` = n; n = 1 is the one-step engine).

What vLLM v0.6.0 does (commit 32e7db2, the v0.6.0 release): ``LLMEngine.step`` / ``AsyncLLMEngine.step_async``
call ``Scheduler.schedule()`` only when the block last scheduled has no remaining steps
(``_has_remaining_steps``), so requests added meanwhile wait in the queue until the block ends. A block that
prefills is one step: ``Scheduler._schedule_prefills`` sets ``init_multi_step(_get_num_lookahead_slots(
is_prefill=True) + 1)`` = 1, and ``_schedule_default`` (chunked prefill is refused with multi-step,
``EngineArgs.create_engine_config``) schedules no decode beside a prefill. A block that only decodes is n steps
(``_append_slots``: ``init_multi_step(num_lookahead_slots + 1)``, ``num_lookahead_slots = n - 1``). Outputs:
``_process_model_outputs`` creates a request's output at the block's last step, or at once for a request
that finished (``finished_now``); a prefill block's last step is its only one, so the first token is sent
when the prefill step ends, and a finished request's last token when its step ends: the token gaps between are
grouped n at a time, their mean (TPOT) unchanged.

So a request arriving at a random time waits for the rest of the block in progress: a decode block of n decode
steps, or a prefill step. Of every step of the mix (:func:`.traffic.steady`: a share f prefill, t_mix, the rest
decode steps t_dec), a decode block begins at rate (1 - f)/n per step, n*t_dec long, and a prefill block at f
per step. The step mix is the one-step engine's (the prefill work per second is the same, grouped into fewer
prefill steps); the simulator (:func:`.simulate.simulate` with ``steps``) checks the approximation.
"""

from __future__ import annotations

#: Bisection halvings of :func:`level` (the level is found to 2^-40 of the prompt's excess).
HALVINGS = 40


def level(xp, h, c):
    """x of ``h(u) = (x, y)`` where y = c, y increasing in u over [0, 1] with y(0) <= c <= y(1) (the middle piece of
    a residual quantile: :func:`residual_quantile`, :func:`.separate_steps.residual_quantile`), bisected HALVINGS
    times."""
    lo, hi = 0.0 * c, 1.0 + 0.0 * c
    for _ in range(HALVINGS):
        mid = (lo + hi) / 2.0
        below = h(mid)[1] < c
        lo, hi = xp.where(below, mid, lo), xp.where(below, hi, mid)
    return h((lo + hi) / 2.0)[0]


def span(T, t2, f, t_dec, steps):
    """E[L^2]/E[L] of the block in progress at a random time, a length-biased block (Kleinrock, "Queueing
    Systems" Vol. 1, 1975, Sec. 5.2): blocks per step (1 - f)/n of n*t_dec and f prefill steps (E[t_p^2]),
    sum of rate*L^2 = (1 - f)*n*t_dec^2 + f*E[t_p^2] = t2 + (n - 1)*(1 - f)*t_dec^2 over sum of rate*L = T
    (t2 = E[t^2] of the step mix): t2/T for n = 1. A random arrival waits half of it; the arrivals that share
    its prefill step came during it."""
    return (t2 + (steps - 1.0) * (1.0 - f) * t_dec * t_dec) / T


def closed_extra(xp, T, t2, t_dec, block, kept, steps):
    """Mean wait of a closed loop's arrival beyond :func:`.traffic.closed_loop_wait`'s (given busy): a client
    sends when its last token's step ends, uniformly placed in a decode block of n, so (n - 1)/2 more decode
    steps t_dec while the phase is kept (probability ``kept``, :func:`.request_path.phase_kept`); a path that
    outlasts the step loses it: half the block in progress (``block`` = :func:`span`) instead of half a step,
    t2/(2T). kept*(n - 1)*t_dec/2 + (1 - kept)*(block - t2/T)/2."""
    return kept * (steps - 1.0) * t_dec / 2.0 + (1.0 - kept) * (block - t2 / T) / 2.0


def closed_extra_quantile(xp, t_dec, busy, tail, steps):
    """The further decode steps of :func:`closed_extra` at the conditional tail u = tail/P(busy): (n - 1)*t_dec
    *(1 - u), added to the step in progress at the same tail (an upper bound of the sum's quantile: the two
    counted as if they moved together)."""
    u = tail / xp.max(busy, 1e-300)
    return (steps - 1.0) * t_dec * xp.max(1.0 - u, 0.0)


def residual_quantile(xp, load, T, f, t_dec, t_mix, busy, tail, steps):
    """Time x to the end of the block in progress that an arrival exceeds with probability ``tail``:
    P(R > x) = P(busy)*h(x)/T, h(x) = (1 - f)/n*(n*t_dec - x)+ + f*E[(t_p - x)+] (blocks per step times the
    part of each beyond x; :func:`span`), prefill steps t_p = t_dec + d*g affine in their prompt's length over
    its mean g, d = t_mix - t_dec (:func:`.traffic.residual_quantile`, n = 1). Solved for h(x) = c = tail*T/P(busy):
    below t_dec every block outlasts x, h = T - x*((1 - f)/n + f); above it, x = t_dec + d*y with
    E[(g - y)+] = u (:meth:`Load.excess_level`) and h = (1 - f)*(t_dec - x/n)+ + f*d*u increasing in u,
    bisected; beyond the longest prefill step only decode blocks remain, x = n*(t_dec - c/(1 - f))."""
    c = tail * T / xp.max(busy, 1e-300)
    d = t_mix - t_dec
    decode = 1.0 - f

    def h(u):
        x = t_dec + d * load.excess_level(u)
        return x, decode * xp.max(t_dec - x / steps, 0.0) + f * d * u

    middle = level(xp, h, c)
    top, h_top = h(0.0 * c)
    beyond = steps * (t_dec - c / xp.max(decode, 1e-300))
    low = xp.max((T - c) / (decode / steps + f), 0.0)
    return xp.where(c >= decode * t_dec * (1.0 - 1.0 / steps) + f * d, low, xp.where(h_top >= c, beyond, middle))
