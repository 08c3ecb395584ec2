"""Expected excess tables (:mod:`mlsysim_serving.excess`) and the residual step quantile built on them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlsysim_serving import traffic as TR
from mlsysim_serving.excess import Excess
from mlsysim_serving.ops import SCALAR


def _lognormal_excess(y, cv):
    """E[(g - y)+] of a lognormal g with mean 1 (closed form: Phi(d1) - y*Phi(d1 - s), d1 = (s^2/2 - ln y)/s)."""
    s = math.sqrt(math.log1p(cv * cv))
    d1 = (s * s / 2.0 - math.log(y)) / s
    phi = lambda z: math.erfc(-z / math.sqrt(2.0)) / 2.0  # noqa: E731
    return phi(d1) - y * phi(d1 - s)


@pytest.mark.parametrize("cv", [0.5, 1.0, 2.0])
def test_lognormal_table_inverts_the_closed_form(cv):
    table = TR._named_excess("lognormal", cv)
    for u in (0.9, 0.5, 0.1, 0.01):
        assert _lognormal_excess(table.level(u), cv) == pytest.approx(u, rel=0.005)
    levels = table.level(np.array([0.5, 0.1, 0.01]))
    assert list(levels) == pytest.approx([table.level(u) for u in (0.5, 0.1, 0.01)], rel=1e-12)


def test_samples_are_exact_and_a_fixed_length_is_linear():
    table = Excess.from_samples(np.array([1.0, 1.0, 4.0]))  # mean 2: levels 0.5, 0.5, 2 over the mean
    assert table.level(0.25) == pytest.approx(1.25)  # only the long sample exceeds: (2 - y)/3 = 0.25
    assert table.level(1.0) == 0.0
    for dist in ("lognormal", "gamma"):
        assert TR._named_excess(dist, 0.0).level(0.3) == pytest.approx(0.7, rel=1e-12)


def test_residual_quantile_meets_its_tail():
    """P(R > x) = P(busy)*E[(t - x)+]/E[t] at the returned x, evaluated on prompt lengths drawn from the load's
    distribution, equals the tail asked for; below the decode step the tail is linear."""
    load = TR.Load(500.0, 400.0, 1.0, 0.0)
    t_dec, t_mix, f, busy = 0.02, 0.05, 0.3, 0.6
    T = t_dec + f * (t_mix - t_dec)
    rng = np.random.default_rng(0)
    g = rng.lognormal(-math.log(2.0) / 2.0, math.sqrt(math.log(2.0)), 1_000_000)
    for tail in (0.1, 0.01):
        x = TR.residual_quantile(SCALAR, load, T, f, t_dec, t_mix, busy, tail)
        excess = (1.0 - f) * max(t_dec - x, 0.0) + f * np.mean(np.maximum(t_dec + (t_mix - t_dec) * g - x, 0.0))
        assert busy * excess / T == pytest.approx(tail, rel=0.02)
    x = TR.residual_quantile(SCALAR, load, T, f, t_dec, t_mix, busy, 0.5)
    assert x == pytest.approx(T - 0.5 * T / busy)  # every step outlasts x < t_dec: E[(t - x)+] = T - x
