"""The traffic model's two inner solvers against hand-derived answers: the carried prompt count
(:func:`mlsysim_serving.traffic._carried`, second-order steps to CARRIED_RTOL) conserves the prompt work of an exact
Poisson sum, its derivatives are those of that sum, and the secant (:func:`mlsysim_serving.traffic._secant`, which
stops early and carries its last evaluation along the chord) answers a fixed point and F there within its tolerance,
on floats and, element by element, on arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlsysim_serving import traffic as TR
from mlsysim_serving.ops import ARRAY, SCALAR

#: (m prompts arriving per step, P1 tokens per prompt, room tokens of budget): one prompt per ~16 steps filling half
#: the budget (the bench's case), about one per step, and more than the budget holds (work capped below it)
CASES = [(0.06, 4000.0, 8161.0), (0.9, 512.0, 1500.0), (2.5, 300.0, 480.0)]


def _prefilled_exactly(mp: float, P1: float, room: float) -> float:
    """E[min(N*P1, room)] for N ~ Poisson(mp), summed far into the tail (term by term, no lumping)."""
    pmf, total = math.exp(-mp), 0.0
    for n in range(400):
        total += min(n * P1, room) * pmf
        pmf *= mp / (n + 1)
    return total


@pytest.mark.parametrize("m, P1, room", CASES)
def test_carried_count_conserves_the_prompt_work(m, P1, room):
    fill = float(math.ceil(room / P1))
    mp, K = TR._carried(SCALAR, m, P1, room, fill, fill)
    want = min(m * P1, room * (1.0 - 1e-6))  # the work that arrives, capped just below a full budget
    assert _prefilled_exactly(mp, P1, room) == pytest.approx(want, rel=1e-12)
    assert mp >= m  # prompts are carried, never lost
    assert K == min(fill, math.ceil(mp + 6.0 * math.sqrt(mp) + 4.0))  # the tail lumped where the budget fills


def test_an_overloaded_step_carries_m_itself():
    # 64.7 prompts of 2,000 tokens arrive per step of an 8,191-token budget (a disaggregated DeepSeek-V3 prefill
    # pool's SLO search): the budget is full at m already (h(m) = room > the work target), so m' = m, as Newton's
    # from below gave (fe216ef's second-order step went backward, to m' = -4e6: a NaN and a ValueError)
    m = 64.73896878084032
    assert TR._carried(SCALAR, m, 2000.0, 8191.0, 5.0, 5.0)[0] == m
    mp, _ = TR._carried(ARRAY, np.array([m, 0.3]), 2000.0, 8191.0, 5.0, 5.0)
    assert mp[0] == m and mp[1] == pytest.approx(TR._carried(SCALAR, 0.3, 2000.0, 8191.0, 5.0, 5.0)[0], rel=1e-12)


def test_carried_count_of_an_array_is_each_element_alone():
    m = np.array([c[0] for c in CASES])
    P1, room = 512.0, 1500.0
    fill = float(math.ceil(room / P1))
    mp, _ = TR._carried(ARRAY, m, P1, room, fill, fill)
    for i, mi in enumerate(m.tolist()):
        assert mp[i] == pytest.approx(TR._carried(SCALAR, mi, P1, room, fill, fill)[0], rel=1e-12)


@pytest.mark.parametrize("m, P1, room", CASES)
def test_prefilled_derivatives_are_those_of_the_poisson_sum(m, P1, room):
    fill = float(math.ceil(room / P1))
    got, slope, bend, third = TR._prefilled(SCALAR, m, P1, room, fill, fill)
    h = lambda x: _prefilled_exactly(x, P1, room)  # noqa: E731
    d = 1e-3 * m
    assert got == pytest.approx(h(m), rel=1e-12)
    assert slope == pytest.approx((h(m + d) - h(m - d)) / (2 * d), rel=1e-5)
    assert bend == pytest.approx((h(m + d) - 2 * h(m) + h(m - d)) / d**2, rel=1e-4)
    third_fd = (h(m + 2 * d) - 2 * h(m + d) + 2 * h(m - d) - h(m - 2 * d)) / (2 * d**3)
    assert third == pytest.approx(third_fd, rel=1e-3)


def _quadratic(a, b, c):
    """F(T) = (a + b*T + c*T^2, T^2): fixed point the smaller root of c*T^2 + (b - 1)*T + a = 0, and T^2 beside it."""
    return lambda T: (a + b * T + c * T * T, T * T)


@pytest.mark.parametrize("a, b, c", [(0.01, 0.5, 2.0), (1.0, 0.2, 0.0), (0.002, 0.9, 1.0)])
def test_secant_answers_the_fixed_point_and_F_there(a, b, c):
    exact = a / (1.0 - b) if c == 0.0 else ((1.0 - b) - math.sqrt((1.0 - b) ** 2 - 4.0 * a * c)) / (2.0 * c)
    T, out, _ = TR._secant(SCALAR, _quadratic(a, b, c), 0.0, -1.0, 1e-12)
    assert T == pytest.approx(exact, rel=1e-12)
    assert out[0] == pytest.approx(exact, rel=1e-12)  # F at the answer (carried along the chord)
    assert out[1] == pytest.approx(exact * exact, rel=1e-12)


def test_secant_on_an_array_answers_each_element_as_alone():
    a, b, c = np.array([0.01, 1.0, 0.002]), np.array([0.5, 0.2, 0.9]), np.array([2.0, 0.0, 1.0])
    T, out, _ = TR._secant(ARRAY, _quadratic(a, b, c), np.zeros(3), -1.0, 1e-12)
    for i in range(3):
        Ti, outi, _ = TR._secant(SCALAR, _quadratic(a[i], b[i], c[i]), 0.0, -1.0, 1e-12)
        assert T[i] == pytest.approx(Ti, rel=1e-12)
        assert out[1][i] == pytest.approx(outi[1], rel=1e-12)
