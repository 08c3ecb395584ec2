"""Expected excess of a length distribution over a level, G(y) = E[(g - y)+] = integral from y to infinity of
P(g > v) dv (the tail integral of a non-negative variable; the stop-loss transform of actuarial science), for a
length g over its mean (so G(0) = 1), tabulated once per distribution and inverted by linear interpolation.
:func:`.traffic.residual_quantile` inverts it for the tail of the step in progress at an arrival."""

from __future__ import annotations

from bisect import bisect_left

import numpy as np


class Excess:
    """G at ascending levels y from 0, piecewise linear between them (exact for samples); :meth:`level`
    inverts it."""

    __slots__ = ("u", "y", "_u", "_y")

    def __init__(self, y: np.ndarray, excess: np.ndarray):
        self.u, self.y = excess[::-1].copy(), y[::-1].copy()  # G ascending (y descending), for np.interp
        self._u, self._y = self.u.tolist(), self.y.tolist()  # the same as lists, for bisect on one float

    @classmethod
    def from_survival(cls, y: np.ndarray, survival: np.ndarray) -> Excess:
        """From P(g > y) at ascending levels y reaching far into the tail (the excess beyond the last one is
        left out, and 1 - P(g > y[0])): trapezoidal tail integral, the levels rescaled so that the mean is 1."""
        seg = np.diff(y) * (survival[1:] + survival[:-1]) / 2.0
        g = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
        mean = float(g[0] + y[0])  # below y[0] the survival is taken as 1 (exact for a fixed length)
        return cls(np.concatenate([[0.0], y / mean]), np.concatenate([[1.0], g / mean]))

    @classmethod
    def from_samples(cls, x: np.ndarray) -> Excess:
        """Exact for the empirical distribution of the samples x scaled to mean 1: at the k-th smallest s_k of
        n, G(s_k) = (sum of the s_j >= s_k - (n - k)*s_k)/n (k from 0), linear in between."""
        s = np.sort(x / np.mean(x))
        n = len(s)
        above = np.cumsum(s[::-1])[::-1]
        g = (above - (n - np.arange(n)) * s) / n
        return cls(np.concatenate([[0.0], s]), np.concatenate([[1.0], g]))

    def level(self, u):
        """The level y with G(y) = u, for 0 <= u <= 1 (float or array; the top level below the table)."""
        if isinstance(u, float):
            us, ys = self._u, self._y
            i = bisect_left(us, u)
            if i == 0:
                return ys[0]
            if i == len(us):
                return ys[-1]
            u0, u1 = us[i - 1], us[i]
            return ys[i - 1] + (ys[i] - ys[i - 1]) * (u - u0) / (u1 - u0)
        return np.interp(u, self.u, self.y)
