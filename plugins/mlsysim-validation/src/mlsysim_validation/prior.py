"""The prior of ``mlsysim calibrate``'s fit: what is known of each fitted parameter before the user's rows.

Each parameter's prior is the distribution its documented range states (:data:`mlsysim_uncertainty.ranges.RANGES`,
each end sourced): its mode the value the user's solves use without a fit (the default, or the hardware's current
calibration), its 10th and 90th percentiles the range's ends (the 80 % that the bands and the model error's q are
held to), applied as factors about that value as the bands apply them (low/default .. high/default:
``Range.corners``). A range need not be symmetric about its default (memory's 0.87 in 0.76-0.93, compute's 0.60 in
0.44-0.76), so the prior is the two-piece normal (John 1982, "The three-parameter two-piece normal family of
distributions and its fitting", Communications in Statistics A 11(8), 879-885; Wallis 2014, "The two-piece normal,
binormal, or double Gaussian distribution: its origin and rediscoveries", Statistical Science 29(1), 106-112): a
normal of sigma s1 below the mode and one of s2 above it, joined at the mode with one density there, which gives the
lower half mass s1 / (s1 + s2). Its sigmas are those for which both ends are the percentiles (:func:`two_piece`):
memory 0.0966 below and 0.0595 above (in ln), compute 0.2329 and 0.1930; the step overhead's 0-2 ms about its 1 ms is
symmetric, a normal of 0.78 ms. Fractions of peak are two-piece normal in ln, times in seconds.
``request_overhead`` has no documented range (no engine's request path is shipped: mlsysim_serving.request_path), so
its prior is flat within the fit's bounds: only rows that see it fit it. The fit's objective is then the negative
log posterior of normal errors (MAP): the rows' weighted squared log residuals plus the squared prior residuals
(:meth:`Prior.residuals`; the two-piece normal's negative log density is (x - mode)^2 / 2 s^2 with the sigma of
x's side, plus one constant).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import attrs

#: fitted parameter -> the solve() argument whose documented range states its prior (ranges.RANGES)
RANGED = {"compute": "efficiency", "memory": "memory_efficiency", "engine_overhead": "engine_overhead"}
#: parameters whose prior is in ln (fractions of peak); the others are times, in seconds
LOG = ("compute", "memory")
#: z of the normal's 90th percentile: a range's ends (or a kind's 80 % model-error bound) are Z80 sigmas out
Z80 = 1.2816


@functools.cache
def width(name: str) -> tuple[float, float] | None:
    """The prior's sigmas of parameter ``name`` (below, above its mode): the two-piece normal whose 10th and 90th
    percentiles are its documented range's ends (:func:`two_piece` of ln(default / low) and ln(high / default) for a
    fraction, default - low and high - default in s for a time); None (flat) where it has no documented range."""
    from mlsysim_uncertainty.ranges import RANGES

    if name not in RANGED:
        return None
    r = RANGES[RANGED[name]]
    if name in LOG:
        return two_piece(math.log(r.default / r.low), math.log(r.high / r.default))
    return two_piece(r.default - r.low, r.high - r.default)


def two_piece(below: float, above: float, tail: float = 0.1) -> tuple[float, float]:
    """(s1, s2) of the two-piece normal (John 1982; Wallis 2014) whose ``tail`` quantile lies ``below`` under its
    mode and whose 1 - ``tail`` quantile lies ``above`` over it. Its CDF under the mode is 2 w Phi((x - mode) / s1),
    w = s1 / (s1 + s2) the mass under the mode, so the lower end gives s1 = below / z(1 - tail / 2w) and the upper
    s2 = above / z(1 - tail / 2(1 - w)); w = s1 / (s1 + s2) then has one root in [tail, 1 - tail] (s1 / (s1 + s2)
    falls from 1 to 0 there as w rises), found by Brent's method. below == above gives the normal, s = below /
    z(1 - tail)."""
    from statistics import NormalDist

    from scipy.optimize import brentq

    if not (below > 0.0 and above > 0.0 and 0.0 < tail < 0.5):
        raise ValueError(f"two_piece: need below > 0, above > 0, 0 < tail < 0.5 (got {below}, {above}, {tail})")
    z = NormalDist().inv_cdf

    def sigmas(w: float) -> tuple[float, float]:
        return below / z(1.0 - tail / (2.0 * w)), above / z(1.0 - tail / (2.0 * (1.0 - w)))

    def excess(w: float) -> float:  # s1 / (s1 + s2) - w, written to stay finite at both ends (z(0.5) = 0)
        z1, z2 = z(1.0 - tail / (2.0 * w)), z(1.0 - tail / (2.0 * (1.0 - w)))
        return below * z2 / (below * z2 + above * z1) - w

    return sigmas(brentq(excess, tail, 1.0 - tail, xtol=1e-15))


@attrs.frozen
class Prior:
    """Each parameter's centre (SI: the two-piece normal's mode) and sigmas below and above it (ln for :data:`LOG`,
    s otherwise), the sigmas times ``scale`` (None: no prior, the plain least-squares fit, started at the centres); a
    parameter with no sigma is flat."""

    centre: dict
    sigma: dict
    scale: float | None = 1.0

    def residuals(self, values: dict) -> list[float]:
        """(value - centre) / (sigma x scale) of each parameter with sigmas, in ln for fractions, the sigma of the
        value's side of the centre: half their sum of squares is the prior's negative log density up to a constant."""
        if self.scale is None:
            return []
        out = []
        for k, v in values.items():
            if k in self.sigma:
                d = math.log(v / self.centre[k]) if k in LOG else v - self.centre[k]
                out.append(d / (self.sigma[k][0 if d < 0.0 else 1] * self.scale))
        return out


def prior(used: dict[str, list[float]]) -> Prior:
    """The prior of the parameters ``used`` maps to the values the rows' solves use without a fit: centred on
    their geometric mean (fractions; rows at different precisions may use different defaults) or mean (times)."""
    centre = {
        k: math.exp(sum(map(math.log, xs)) / len(xs)) if k in LOG else sum(xs) / len(xs) for k, xs in used.items()
    }
    sigma = {k: s for k in used if (s := width(k)) is not None}
    return Prior(centre, sigma)


def effective(jacobian: Any, rows: int) -> float:
    """The effective number of parameters a MAP fit takes from the rows: tr((Jd'Jd + Jp'Jp)^-1 Jd'Jd), Jd the
    rows' part of the residuals' Jacobian at the fit (its first ``rows`` rows), Jp the prior's (Hastie, Tibshirani
    & Friedman 2009, "The Elements of Statistical Learning", 2nd ed., sec. 7.6: the trace of the fit's hat
    matrix); each parameter counts 1 where the rows alone decide it, 0 where the prior does."""
    import numpy as np

    j = np.asarray(jacobian, dtype=float)
    data = j[:rows].T @ j[:rows]
    return float(np.trace(np.linalg.pinv(data + j[rows:].T @ j[rows:]) @ data))
