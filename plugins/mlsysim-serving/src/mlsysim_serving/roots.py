"""The largest rate within a service objective, by a bracketing root finder on plain floats.

Brent's method (Brent, "Algorithms for Minimization without Derivatives", 1973, ch. 4) as SciPy's
``scipy.optimize.brentq``: inverse quadratic or secant steps inside a sign-changing bracket, a bisection
whenever a step would not shrink it fast enough, so it converges superlinearly on smooth functions and
never slower than bisection. SciPy is imported on the first search (a solve with SLOs), not by a plain
solve.
"""

from __future__ import annotations

from collections.abc import Callable

#: Relative tolerance on the crossing: the rates reported are within 1e-6 of it (printed to 4 significant
#: digits; 1e-9 cost ~1 more solve per search).
RTOL = 1e-6
#: Iterations before giving up on the bracket (bisection alone halves it 100 times).
MAX_ITER = 100
#: First trial rate, as a share of ``top``: SLO crossings mostly lie above it, so a rate there usually meets,
#: which brackets the crossing from below without the trial at 1e-9 * top and starts the interpolation
#: closer to it (over 19 searches of the serving tests' configurations: 113 solves instead of 120).
SEED = 0.5


def largest_meeting(excess: Callable[[float], float], top: float, guess: float | None = None) -> float:
    """Largest rate x in (0, top) with excess(x) <= 0, for excess increasing in x (how far a latency is
    over its objective, :func:`.under_load.slo_excess`): 0 if even 1e-9 * top misses, just under ``top``
    if every rate meets. The answer meets and lies within RTOL of the crossing. The bracket is split first
    at SEED * top, then at ``guess`` (a rate near the crossing) where it lies inside; the ends 1e-9 * top
    and top * (1 - 1e-9) are tried only where no split met or missed. The answer depends on ``top`` and
    ``guess`` only within RTOL. Every rate below ``top`` (the saturation rate) has a latency: a NaN excess
    there is a defect and raises FloatingPointError."""
    seen: dict[float, float] = {}

    def f(x: float) -> float:  # each rate solved once (brentq asks again for its bracket's ends)
        if x not in seen:
            v = seen[x] = excess(x)
            if v != v:
                raise FloatingPointError(f"no latency (NaN excess) at rate {x!r} below saturation {top!r}")
        return seen[x]

    lo, hi = top * 1e-9, top * (1.0 - 1e-9)
    met = missed = False
    for x in (SEED * top, guess):
        if x is not None and lo < x < hi:
            if f(x) > 0.0:
                hi, missed = x, True
            else:
                lo, met = x, True
    if not met and f(lo) > 0.0:
        return 0.0
    if not missed and f(hi) <= 0.0:
        return hi
    from scipy.optimize import brentq

    xtol, rtol = top * 1e-15, RTOL / 2.0
    x = float(brentq(f, lo, hi, xtol=xtol, rtol=rtol, maxiter=MAX_ITER))
    # brentq's root lies within xtol + rtol * x of the crossing: that far below it meets if x does not
    return x if f(x) <= 0.0 else max(lo, x - (xtol + rtol * x))
