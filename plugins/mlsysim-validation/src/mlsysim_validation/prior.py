"""The prior of ``mlsysim calibrate``'s fit: what is known of each fitted parameter before the user's rows.

Each parameter is centred on the value the user's solves use without a fit (the default, or the hardware's
current calibration) with the width of that default's documented range (:data:`mlsysim_uncertainty.ranges.RANGES`,
each end sourced), the range's span read as the width of the prior's 80 % interval (10th to 90th percentile: the 80 %
that the bands and the model error's q are held to), so sigma = span / (2 z_0.9). The interval lies about the centre,
so its ends are the range's only where the default is the range's middle: memory's 0.87 in 0.76-0.90 gives 0.80-0.95,
compute's 0.60 in 0.44-0.76 gives 0.46-0.79. Fractions of peak are normal in ln (a range applies as
factors, low/default .. high/default: ``Range.corners``), times normal in seconds. ``request_overhead`` has no
documented range (no engine's request path is shipped: mlsysim_serving.request_path), so its prior is flat within
the fit's bounds: only rows that see it fit it. The fit's objective is then the negative log posterior of normal
errors (MAP): the rows' weighted squared log residuals plus the squared prior residuals (:meth:`Prior.residuals`).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

#: fitted parameter -> the solve() argument whose documented range is its prior's width (ranges.RANGES)
RANGED = {"compute": "efficiency", "memory": "memory_efficiency", "engine_overhead": "engine_overhead"}
#: parameters normal in ln (fractions of peak); the others are times, normal in seconds
LOG = ("compute", "memory")
#: z of the normal's 90th percentile: a range's ends (or a kind's 80 % model-error bound) are Z80 sigmas out
Z80 = 1.2816


def width(name: str) -> float | None:
    """The prior's sigma of parameter ``name``: its documented range's span (ln(high / low) for a fraction, high -
    low in s for a time) over 2 Z80; None (flat) where it has no documented range."""
    from mlsysim_uncertainty.ranges import RANGES

    if name not in RANGED:
        return None
    r = RANGES[RANGED[name]]
    span = math.log(r.high / r.low) if name in LOG else r.high - r.low
    return span / (2.0 * Z80)


@attrs.frozen
class Prior:
    """Each parameter's centre (SI) and sigma (ln for :data:`LOG`, s otherwise), the sigmas times ``scale`` (None:
    no prior, the plain least-squares fit, started at the centres); a parameter with no sigma is flat."""

    centre: dict
    sigma: dict
    scale: float | None = 1.0

    def residuals(self, values: dict) -> list[float]:
        """(value - centre) / (sigma x scale) of each parameter with a sigma, in ln for fractions: half their sum of
        squares is the prior's negative log density up to a constant."""
        if self.scale is None:
            return []
        return [
            (math.log(v / self.centre[k]) if k in LOG else v - self.centre[k]) / (self.sigma[k] * self.scale)
            for k, v in values.items()
            if k in self.sigma
        ]


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
