"""The largest rate within a service objective, by a bracketing root finder on plain floats.

Brent's method (Brent, "Algorithms for Minimization without Derivatives", 1973, ch. 4) as SciPy's
``scipy.optimize.brentq``: inverse quadratic or secant steps inside a sign-changing bracket, a bisection
whenever a step would not shrink it fast enough, so it converges superlinearly on smooth functions and
never slower than bisection. SciPy is imported on the first search (a solve with SLOs), not by a plain
solve.
"""

from __future__ import annotations

from collections.abc import Callable

#: Relative tolerance on the crossing: the rates reported are within 1e-9 of it.
RTOL = 1e-9
#: Iterations before giving up on the bracket (bisection alone halves it 100 times).
MAX_ITER = 100


def largest_meeting(excess: Callable[[float], float], top: float, guess: float | None = None) -> float:
    """Largest rate x in (0, top) with excess(x) <= 0, for excess increasing in x (how far a latency is
    over its objective, :func:`.under_load.slo_excess`): 0 if even 1e-9 * top misses, just under ``top``
    if every rate meets. The answer meets and lies within RTOL of the crossing; a ``guess`` near the
    crossing splits the first bracket there (one solve, fewer after it). Every rate below ``top`` (the
    saturation rate) has a latency: a NaN excess there is a defect and raises FloatingPointError."""
    seen: dict[float, float] = {}

    def f(x: float) -> float:  # each rate solved once (brentq asks again for its bracket's ends)
        if x not in seen:
            v = seen[x] = excess(x)
            if v != v:
                raise FloatingPointError(f"no latency (NaN excess) at rate {x!r} below saturation {top!r}")
        return seen[x]

    lo, hi = top * 1e-9, top * (1.0 - 1e-9)
    if f(lo) > 0.0:
        return 0.0
    if guess is not None and lo < guess < hi:
        if f(guess) > 0.0:
            hi = guess
        else:
            lo = guess
    if f(hi) <= 0.0:
        return hi
    from scipy.optimize import brentq

    xtol, rtol = top * 1e-15, RTOL / 2.0
    x = float(brentq(f, lo, hi, xtol=xtol, rtol=rtol, maxiter=MAX_ITER))
    # brentq's root lies within xtol + rtol * x of the crossing: that far below it meets if x does not
    return x if f(x) <= 0.0 else max(lo, x - (xtol + rtol * x))
