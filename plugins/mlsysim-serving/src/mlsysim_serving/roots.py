"""The largest rate within a service objective, by a bracketing root finder on a grid of rates.

The answer is defined on a fixed geometric grid below the saturation rate ``top``: x_k = top * exp(-k * STEP),
k = 1 .. KMAX (down to top * LOWEST), and is the largest x_k whose excess is <= 0. For an excess increasing in the
rate that is one grid rate whatever the path to it: it lies within STEP (relative) below the crossing, and every
rate the search knows beforehand (``known``: excesses at rates solved by an earlier search on the same engine,
under other SLOs) narrows the bracket without changing it. Brent's method (Brent, "Algorithms for Minimization
without Derivatives", 1973, ch. 4; the steps of SciPy's ``brentq``): inverse quadratic or secant steps inside a
sign-changing bracket, a bisection whenever a step would not shrink it fast enough, each step rounded to the
nearest grid rate strictly inside the bracket; it stops when the bracket's ends are neighbouring grid rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

#: Relative spacing of the grid: the rate reported is within 1e-6 below the crossing (printed to 4 significant
#: digits; SciPy's brentq at the same tolerance took ~1.5 % more solves on the serving tests' searches).
STEP = 1e-6
#: The lowest grid rate, as a share of ``top``: 0 is reported if even it misses.
LOWEST = 1e-9
#: Index of the lowest grid rate.
KMAX = math.ceil(-math.log(LOWEST) / STEP)
#: First trial rate, as a share of ``top``, where nothing is known: SLO crossings mostly lie above it, so a rate
#: there usually meets, which brackets the crossing from below without the trial at LOWEST * top.
SEED = 0.5
#: Ratio under which two rates are neighbouring grid rates (exp(STEP) apart; the bracket they make is closed)
NEIGHBOURS = math.exp(1.5 * STEP)
#: Fits of the solved rates nearest the crossing a search tries before Brent's method (:func:`largest_meeting`): a
#: sweep over SLOs, whose earlier trials lie near the crossing, needs one or two; a cold search's bracket, ends near
#: saturation included, seldom fits.
FITS = 4
#: :func:`crossing`'s relative tolerance: the closed loop's rate within 1e-6 of its root.
RTOL = 1e-6
#: :func:`crossing`'s iterations before giving up on the bracket (bisection alone halves it 100 times).
MAX_ITER = 100


class _Bracket:
    """The grid indices known to meet (``k_met`` and above) and to miss (``k_missed`` and below) and the solved
    (rate, excess) nearest the crossing on each side."""

    __slots__ = ("top", "k_met", "k_missed", "met", "missed")

    def __init__(self, top: float):
        self.top, self.k_met, self.k_missed = top, KMAX + 1, 0
        self.met: tuple[float, float] | None = None
        self.missed: tuple[float, float] | None = None

    def rate(self, k: int) -> float:
        """x_k = top * exp(-k * STEP)."""
        return self.top * math.exp(-k * STEP)

    def index(self, x: float) -> int:
        """The grid index nearest the rate x (0 < x < top), within 1 .. KMAX."""
        return min(max(round((math.log(self.top) - math.log(x)) / STEP), 1), KMAX)  # (top / x may overflow)

    def add(self, x: float, e: float) -> None:
        """A rate x (0 < x < top, on the grid or not) with excess e: every grid rate at or below a meeting x meets,
        every one at or above a missing x misses (the excess increases with the rate)."""
        k = self.index(x)
        if e <= 0.0:
            k += self.rate(k) > x  # the grid rate at or below x
            if k < self.k_met:
                self.k_met = k
            if self.met is None or x > self.met[0]:
                self.met = (x, e)
        else:
            k -= self.rate(k) < x  # the grid rate at or above x
            if k > self.k_missed:
                self.k_missed = k
            if self.missed is None or x < self.missed[0]:
                self.missed = (x, e)


def largest_meeting(
    excess: Callable[[float], float], top: float, guess: float | None = None, known: Iterable[tuple[float, float]] = ()
) -> float:
    """The largest grid rate x_k (:data:`STEP`) with excess(x_k) <= 0, for excess increasing in x (how far a
    latency is over its objective, :func:`.under_load.slo_excess`): 0 if even x_KMAX = LOWEST * top misses, x_1
    (just under ``top``) if every rate meets. ``known``: (rate, excess) pairs already solved (any rates below
    ``top``; :func:`nearest_known` picks them); ``guess``: a rate near the crossing, tried first where it lies inside
    the bracket and fewer than 3 rates are known. Neither moves the answer, only the work: where nothing is known,
    the bracket is split first at SEED * top; the ends x_KMAX and x_1 are tried only where no rate met or missed.
    Then up to :data:`FITS` fits (:func:`_inverse`) of the two solved rates nearest the crossing on each side, each
    tried at the grid rate nearest it (and that rate's neighbour across the crossing where the fit is within a grid
    step: a sweep over SLOs ends in two solves), then Brent's method. Every rate below ``top`` (the saturation rate)
    has a latency: a NaN excess there is a defect and raises FloatingPointError."""
    b = _Bracket(top)
    seen = []  # the solved rates: those known (a NaN is solved again, and raises), then those tried
    met = missed = None  # the known rates nearest the crossing: all the bracket keeps of them
    for x, e in known:
        if 0.0 < x < top and e == e:
            seen.append((x, e))
            if e > 0.0:
                if missed is None or x < missed[0]:
                    missed = (x, e)
            elif met is None or x > met[0]:
                met = (x, e)
    for nearest in (met, missed):
        if nearest is not None:
            b.add(*nearest)
    if met is not None and missed is not None and b.k_met - b.k_missed == 1:  # known grid neighbours (a search under
        return b.rate(b.k_met)  # SLOs that move no grid rate)

    def at(k: int) -> tuple[float, float]:
        x = b.rate(k)
        e = excess(x)
        if e != e:
            raise FloatingPointError(f"no latency (NaN excess) at rate {x!r} below saturation {top!r}")
        b.add(x, e)
        seen.append((x, e))
        return x, e

    if b.met is None and b.missed is None:
        at(b.index(SEED * top))
    if guess is not None and len(seen) < 3 and 0.0 < guess < top and b.k_missed < b.index(guess) < b.k_met:
        at(b.index(guess))
    if b.k_met > KMAX:  # no grid rate known to meet
        at(KMAX)
        if b.k_met > KMAX:
            return 0.0
    if b.k_missed < 1:  # none known to miss
        at(1)
        if b.k_missed < 1:
            return b.rate(1)
    for _ in range(FITS):
        if b.k_met - b.k_missed <= 1:
            return b.rate(b.k_met)
        fit = _inverse(_nearest(seen))
        if fit is None or not b.rate(b.k_met) < fit[0] < b.rate(b.k_missed):
            break
        k = min(max(b.index(fit[0]), b.k_missed + 1), b.k_met - 1)  # (inside the bracket: not solved yet)
        meets = at(k)[1] <= 0.0
        if fit[1] < STEP * fit[0]:  # the fit is within a grid step: its neighbour across the crossing
            if meets and b.k_missed < k - 1:
                at(k - 1)
            elif not meets and k + 1 < b.k_met:
                at(k + 1)
    return _brent(b, at)


def _nearest(pairs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The two largest meeting (excess <= 0) and the two smallest missing of the (rate, excess) ``pairs``: the
    meeting ones from the nearest the crossing down, then the missing ones up."""
    met = sorted((p for p in pairs if p[1] <= 0.0), reverse=True)[:2]
    return met + sorted(p for p in pairs if p[1] > 0.0)[:2]


def _inverse(pairs: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(x at e = 0 of the polynomial x(e) through the (x, e) ``pairs``, its distance from the one through all but
    the last pair: an estimate of its error) by Neville's scheme (inverse interpolation; Press et al., Numerical
    Recipes 3rd ed., sec. 3.2), None where two pairs share an e."""
    p = [x for x, _ in pairs]
    es = [e for _, e in pairs]
    lower = p[0]
    for m in range(1, len(p)):
        lower = p[0]
        for i in range(len(p) - m):
            d = es[i + m] - es[i]
            if d == 0.0:
                return None
            p[i] = (es[i + m] * p[i] - es[i] * p[i + 1]) / d
    return p[0], abs(p[0] - lower)


def nearest_known(excess: Callable[[float], float], rates: Iterable[float], top: float) -> list[tuple[float, float]]:
    """Of ``rates`` solved before a search (``excess`` reads what each was solved to), those below ``top`` nearest
    the crossing with their excesses: the largest that meets and the smallest that misses (the bracket
    :func:`largest_meeting` starts from), then, where both are found and are not neighbouring grid rates, the next
    of each that exists (its first fit). Found by bisection over the rates sorted (the excess increases with the
    rate), ~log2(n) + 2 excesses read instead of n; one that is NaN ends it (the search solves that rate again, and
    raises)."""
    xs = sorted([x for x in rates if 0.0 < x < top])  # (a rate given twice: its second fit point, no fit)
    lo, hi = 0, len(xs)  # xs[:lo] meet, xs[hi:] miss
    met = missed = None
    while lo < hi:
        mid = (lo + hi) // 2
        x = xs[mid]
        e = excess(x)
        if e != e:
            break
        if e <= 0.0:
            met, lo = (x, e), mid + 1
        else:
            missed, hi = (x, e), mid
    if met is None or missed is None or missed[0] < met[0] * NEIGHBOURS:
        return [pair for pair in (met, missed) if pair is not None]
    out = [met, missed]
    for i in (lo - 2, hi + 1):  # (lo - 1 and hi are met's and missed's)
        if 0 <= i < len(xs):
            e = excess(xs[i])
            if e == e:
                out.append((xs[i], e))
    return out


def _brent(b: _Bracket, at: Callable[[int], tuple[float, float]]) -> float:
    """Brent's method (SciPy's ``brentq`` steps) from the bracket ``b``, each step rounded to a grid index strictly
    inside it, until its ends are neighbours: the rate of the meeting one."""
    assert b.met is not None and b.missed is not None
    (x_pre, f_pre), (x_cur, f_cur) = b.met, b.missed
    x_blk = f_blk = s_pre = s_cur = 0.0
    while b.k_met - b.k_missed > 1:
        if (f_pre <= 0.0) != (f_cur <= 0.0):  # the last two rates straddle the crossing: the far end is x_pre
            x_blk, f_blk = x_pre, f_pre
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):  # x_cur: the end with the smaller excess
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = 0.5 * STEP * x_cur
        s_bis = 0.5 * (x_blk - x_cur)
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
        x = x_cur + (s_cur if abs(s_cur) > delta else math.copysign(delta, s_bis))
        x_cur, f_cur = at(min(max(b.index(x), b.k_missed + 1), b.k_met - 1))
    return b.rate(b.k_met)


def crossing(excess: Callable[[float], float], top: float) -> float:
    """The closed loop's rate (:func:`.under_load._closed_loop_rate`: a root, not a largest rate within an
    objective, so reported to RTOL off the grid) by SciPy's ``brentq``: the largest x in (0, top) with
    excess(x) <= 0 for excess increasing in x, within RTOL of the crossing; 0 if even 1e-9 * top misses, just
    under ``top`` if every rate meets. The bracket is split first at SEED * top; its ends 1e-9 * top and
    top * (1 - 1e-9) are tried only where that split met or missed. A NaN excess raises FloatingPointError."""
    seen: dict[float, float] = {}

    def f(x: float) -> float:  # each rate solved once (brentq asks again for its bracket's ends)
        if x not in seen:
            v = seen[x] = excess(x)
            if v != v:
                raise FloatingPointError(f"no latency (NaN excess) at rate {x!r} below saturation {top!r}")
        return seen[x]

    lo, hi = top * 1e-9, top * (1.0 - 1e-9)
    if f(SEED * top) > 0.0:
        hi = SEED * top
        if f(lo) > 0.0:
            return 0.0
    else:
        lo = SEED * top
        if f(hi) <= 0.0:
            return hi
    from scipy.optimize import brentq

    xtol, rtol = top * 1e-15, RTOL / 2.0
    x = float(brentq(f, lo, hi, xtol=xtol, rtol=rtol, maxiter=MAX_ITER))
    # brentq's root lies within xtol + rtol * x of the crossing: that far below it meets if x does not
    return x if f(x) <= 0.0 else max(lo, x - (xtol + rtol * x))
