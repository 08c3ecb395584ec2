"""The largest rate within a service objective, by a bracketing root finder on plain floats.

Brent's method (Brent, "Algorithms for Minimization without Derivatives", 1973, ch. 4): inverse
quadratic or secant steps inside a sign-changing bracket, a bisection whenever a step would not shrink
it fast enough, so it converges superlinearly on smooth functions and never slower than bisection. The
loop follows SciPy's ``brentq`` (scipy/optimize/Zeros/brentq.c, BSD), written here on Python floats:
importing ``scipy.optimize`` costs ~0.4 s, more than a whole solve's first answer.
"""

from __future__ import annotations

from collections.abc import Callable

#: Relative width of the final bracket: the rates reported are within 1e-9 of the crossing.
RTOL = 1e-9
#: Iterations before giving up on the bracket (bisection alone halves it 100 times).
MAX_ITER = 100


def largest_meeting(excess: Callable[[float], float], top: float, guess: float | None = None) -> float:
    """Largest rate x in (0, top) with excess(x) <= 0, for excess increasing in x (a latency over its
    objective, minus 1): 0 if even 1e-9 * top misses, just under ``top`` if every rate meets. The answer
    is the meeting end of a bracket [x, x + RTOL * x] around the crossing; a ``guess`` near the crossing
    splits the first bracket there (one solve, fewer after it)."""
    lo, hi = top * 1e-9, top * (1.0 - 1e-9)
    f_lo = excess(lo)
    if not f_lo <= 0.0:  # NaN (no answer) counts as missing
        return 0.0
    if guess is not None and lo < guess < hi:
        f_guess = excess(guess)
        if f_guess > 0.0:
            return _brent(excess, lo, guess, f_lo, f_guess)
        lo, f_lo = guess, f_guess
    f_hi = excess(hi)
    if f_hi <= 0.0:
        return hi
    return _brent(excess, lo, hi, f_lo, f_hi)


def _brent(f: Callable[[float], float], a: float, b: float, fa: float, fb: float) -> float:
    """The end with f <= 0 of a bracket of relative width RTOL around f's crossing in [a, b]
    (fa <= 0 < fb, f finite on [a, b])."""
    x_pre, x_cur, f_pre, f_cur = a, b, fa, fb
    x_blk = f_blk = s_pre = s_cur = 0.0
    for _ in range(MAX_ITER):
        if (f_pre <= 0.0) != (f_cur <= 0.0):  # [x_cur, x_blk] keeps the sign change
            x_blk, f_blk = x_pre, f_pre
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):  # x_cur: the end with the smaller |f|
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = RTOL * abs(x_cur) / 2.0
        s_bis = (x_blk - x_cur) / 2.0
        if f_cur == 0.0 or abs(s_bis) < delta:
            break
        if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
            if x_pre == x_blk:  # secant
                s_try = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)
            else:  # inverse quadratic interpolation
                d_pre = (f_pre - f_cur) / (x_pre - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = -f_cur * (f_blk * d_blk - f_pre * d_pre) / (d_blk * d_pre * (f_blk - f_pre))
            if 2.0 * abs(s_try) < min(abs(s_pre), 3.0 * abs(s_bis) - delta):
                s_pre, s_cur = s_cur, s_try
            else:
                s_pre = s_cur = s_bis
        else:
            s_pre = s_cur = s_bis
        x_pre, f_pre = x_cur, f_cur
        x_cur += s_cur if abs(s_cur) > delta else (delta if s_bis > 0.0 else -delta)
        f_cur = f(x_cur)
    else:  # out of iterations: the last bracket was [x_pre, x_blk]
        return x_cur if f_cur <= 0.0 else x_pre if f_pre <= 0.0 else x_blk
    return x_cur if f_cur <= 0.0 else x_blk
