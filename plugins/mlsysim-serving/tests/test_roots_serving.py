"""The bracketing root finder behind every max-rate search (:mod:`mlsysim_serving.roots`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving.roots import RTOL, largest_meeting


def _counted(f):
    calls = []

    def g(x):
        calls.append(x)
        return f(x)

    return g, calls


@settings(max_examples=200, deadline=None)
@given(top=st.floats(1e-3, 1e3), share=st.floats(1e-6, 0.999), shape=st.sampled_from(["line", "queue", "step"]))
def test_largest_meeting_finds_the_crossing_and_meets(top, share, shape):
    """Increasing excesses crossing 0 at r: a line, a queue's 1/(1 - rho) blow-up, a jump; the answer
    meets (excess <= 0) and lies within RTOL of r (the queue: within its own rounding, 1e-16 / share)."""
    r = share * top
    f = {
        "line": lambda x: x / r - 1.0,
        "queue": lambda x: (1.0 - r / top) / (1.0 - x / top) - 1.0,
        "step": lambda x: -1.0 if x <= r else 1.0,
    }[shape]
    g, calls = _counted(f)
    x = largest_meeting(g, top)
    assert f(x) <= 0.0
    assert x == pytest.approx(r, rel=RTOL + 1e-15 / share)
    assert len(calls) <= 2 + 3 * 32  # never much slower than bisection (~32 halvings to RTOL)


def test_largest_meeting_ends():
    assert largest_meeting(lambda x: 1.0, 5.0) == 0.0  # no rate meets
    assert largest_meeting(lambda x: -1.0, 5.0) == pytest.approx(5.0 * (1 - 1e-9))  # every rate meets


@pytest.mark.parametrize("nan_above", [0.0, 2.0, 4.9])
def test_a_nan_below_saturation_is_a_defect_not_a_miss(nan_above):
    """Every rate below ``top`` has a latency: a NaN excess raises, wherever the search meets it."""
    with pytest.raises(FloatingPointError, match=r"NaN excess\) at rate .* below saturation 5.0"):
        largest_meeting(lambda x: float("nan") if x > nan_above else x - 3.0, 5.0)


def test_smooth_crossing_takes_few_evaluations():
    g, calls = _counted(lambda x: 0.2 + 0.01 / (1.0 - x / 7.0) - 0.5)
    x = largest_meeting(g, 7.0)
    assert x == pytest.approx(7.0 * (1.0 - 0.01 / 0.3), rel=RTOL)
    assert len(calls) <= 15


@pytest.mark.parametrize("guess", [0.5, 5.0, 6.3, 6.5, 8.0, None])
def test_a_guess_changes_the_work_not_the_answer(guess):
    """A guess on either side of the crossing (or outside the bracket: ignored) gives the same rate."""
    x = largest_meeting(lambda x: 1.0 - 0.3 / (0.2 + 0.01 / (1.0 - x / 7.0)), 7.0, guess)
    assert x == pytest.approx(7.0 * (1.0 - 0.01 / 0.1), rel=RTOL)
