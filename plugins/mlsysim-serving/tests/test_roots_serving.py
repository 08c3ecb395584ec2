"""The bracketing root finder behind every max-rate search (:mod:`mlsysim_serving.roots`)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving.roots import FITS, KMAX, NEIGHBOURS, STEP, largest_meeting, nearest_known


def _counted(f):
    calls = []

    def g(x):
        calls.append(x)
        return f(x)

    return g, calls


def _excess(shape: str, r: float, top: float):
    """An increasing excess crossing 0 at r below the saturation ``top``: a line, a queue's 1/(1 - rho)
    blow-up, or a jump."""
    return {
        "line": lambda x: x / r - 1.0,
        "queue": lambda x: (1.0 - r / top) / (1.0 - x / top) - 1.0,
        "step": lambda x: -1.0 if x <= r else 1.0,
    }[shape]


@settings(max_examples=200, deadline=None)
@given(top=st.floats(1e-3, 1e3), share=st.floats(1e-6, 0.999), shape=st.sampled_from(["line", "queue", "step"]))
def test_largest_meeting_finds_the_crossing_and_meets(top, share, shape):
    """Increasing excesses crossing 0 at r: a line, a queue's 1/(1 - rho) blow-up, a jump; the answer
    meets (excess <= 0) and lies within STEP of r (the queue: within its own rounding, 1e-16 / share)."""
    r = share * top
    f = _excess(shape, r, top)
    g, calls = _counted(f)
    x = largest_meeting(g, top)
    assert f(x) <= 0.0
    assert x == pytest.approx(r, rel=STEP + 1e-15 / share)
    assert len(calls) <= 2 + 3 * 32  # never much slower than bisection (~32 halvings to STEP)


def test_largest_meeting_ends():
    assert largest_meeting(lambda x: 1.0, 5.0) == 0.0  # no rate meets
    assert largest_meeting(lambda x: -1.0, 5.0) == 5.0 * math.exp(-STEP)  # every rate meets: the top grid rate


@pytest.mark.parametrize("nan_above", [0.0, 2.0, 4.9])
def test_a_nan_below_saturation_is_a_defect_not_a_miss(nan_above):
    """Every rate below ``top`` has a latency: a NaN excess raises, wherever the search meets it."""
    with pytest.raises(FloatingPointError, match=r"NaN excess\) at rate .* below saturation 5.0"):
        largest_meeting(lambda x: float("nan") if x > nan_above else x - 3.0, 5.0)


def test_smooth_crossing_takes_few_evaluations():
    g, calls = _counted(lambda x: 0.2 + 0.01 / (1.0 - x / 7.0) - 0.5)
    x = largest_meeting(g, 7.0)
    assert x == pytest.approx(7.0 * (1.0 - 0.01 / 0.3), rel=STEP)
    assert len(calls) <= 15


@pytest.mark.parametrize("guess", [0.5, 5.0, 6.3, 6.5, 8.0, None])
def test_a_guess_changes_the_work_not_the_answer(guess):
    """A guess on either side of the crossing (or outside the bracket: ignored) gives the same rate."""
    x = largest_meeting(lambda x: 1.0 - 0.3 / (0.2 + 0.01 / (1.0 - x / 7.0)), 7.0, guess)
    assert x == pytest.approx(7.0 * (1.0 - 0.01 / 0.1), rel=STEP)


def _grid_answer(f, top):
    """The largest grid rate x_k = top * exp(-k * STEP) with f <= 0, by bisection on k (a fine search:
    every grid rate it returns is solved, and its upper neighbour too)."""
    lo, hi = 1, KMAX  # f(x_hi) <= 0 < f(x_(lo-1)) is kept; x_0 = top is never tried
    rate = lambda k: top * math.exp(-k * STEP)  # noqa: E731
    if f(rate(KMAX)) > 0.0:
        return 0.0
    if f(rate(1)) <= 0.0:
        return rate(1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(rate(mid)) <= 0.0:
            hi = mid
        else:
            lo = mid
    return rate(hi)


@settings(max_examples=200, deadline=None)
@given(
    top=st.floats(1e-3, 1e3),
    share=st.floats(1e-6, 0.999),
    shape=st.sampled_from(["line", "queue", "step"]),
    known=st.lists(st.floats(1e-9, 1.0, exclude_max=True), max_size=8),
    guess=st.none() | st.floats(0.0, 2.0),
)
def test_the_answer_is_the_grid_rate_whatever_is_known(top, share, shape, known, guess):
    """The answer is the largest grid rate that meets (a bisection over the grid finds the same float), within STEP
    below the crossing r of the continuous excess; rates known beforehand (any, on the grid or not) and a guess
    change the solves, not the answer."""
    r = share * top
    f = _excess(shape, r, top)
    cold = largest_meeting(f, top)
    assert cold == _grid_answer(f, top)
    assert f(cold) <= 0.0 and (cold == top * math.exp(-STEP) or f(cold * math.exp(STEP)) > 0.0)
    assert r * math.exp(-STEP) * (1 - 1e-12) <= cold <= r * (1 + 1e-12) or cold == top * math.exp(-STEP)
    pairs = [(s * top, f(s * top)) for s in known]
    g, calls = _counted(f)
    assert largest_meeting(g, top, None if guess is None else guess * top, pairs) == cold
    assert not set(calls) & {x for x, _ in pairs}  # a known rate is not solved again


def test_a_bracket_known_to_the_grid_step_needs_no_solve():
    """Known rates on both neighbours of the crossing: the answer without one solve."""
    f = lambda x: x / 2.5 - 1.0  # noqa: E731
    x = _grid_answer(f, 4.0)
    g, calls = _counted(f)
    assert largest_meeting(g, 4.0, known=[(x, f(x)), (x * math.exp(STEP), f(x * math.exp(STEP)))]) == x
    assert calls == []


@pytest.mark.parametrize(
    "extra",
    [
        dict(slo_ttft=1.0, slo_itl=0.05),
        dict(slo_ttft=0.5),
        dict(slo_itl=0.03, slo_percentile=90),
        dict(slo_ttft=2.0, slo_itl=0.05, disagg="prefill=H100x2:tp2,decode=H100x2:tp1", fabric="IB_NDR"),
    ],
)
def test_a_served_max_rate_meets_and_one_grid_step_above_misses(extra):
    """max_arrival_rate holds to the search's tolerance on the solve's own latencies: at it the p``slo_percentile``
    TTFT and ITL meet the SLOs, at one grid step (STEP, relative) above it one of them misses."""
    import mlsysim
    from mlsysim import ServingModel

    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    a = dict(model=L.Llama3_8B, hardware=H.H100, seq_len=4000, output_len=500, arrival_rate=1.0, **extra)
    s = ServingModel()
    top = s.solve(**a).max_arrival_rate
    q = extra.get("slo_percentile", 99)

    def meets(rate):
        r = s.solve(**dict(a, arrival_rate=rate))
        ttft, itl = getattr(r, f"ttft_p{q}").to("s").magnitude, getattr(r, f"itl_p{q}").to("s").magnitude
        return ttft <= extra.get("slo_ttft", math.inf) and itl <= extra.get("slo_itl", math.inf)

    assert 0.0 < top and meets(top) and not meets(top * math.exp(STEP))


@pytest.mark.parametrize("tiny", [5e-324, 1e-310])
def test_a_guess_or_known_rate_far_below_the_grid_is_taken(tiny):
    """A rate whose ratio to ``top`` overflows (a subnormal guess or known rate) lies below the lowest grid rate."""
    f = lambda x: x / 2.5 - 1.0  # noqa: E731
    cold = largest_meeting(f, 4.0)
    assert largest_meeting(f, 4.0, tiny) == cold
    assert largest_meeting(f, 4.0, known=[(tiny, f(tiny))]) == cold


@settings(max_examples=200, deadline=None)
@given(rates=st.lists(st.floats(-1.0, 12.0), max_size=80), crossing=st.floats(0.0, 12.0), top=st.floats(1e-3, 10.0))
def test_nearest_known_is_the_scan_of_every_rate(rates, crossing, top):
    """The bisection finds what a scan of every rate below ``top`` finds (the largest meeting, the smallest
    missing, each with its excess; where both exist, not grid neighbours, the next of each), reading at most
    ~log2(n) + 3 excesses."""
    read = []

    def excess(x):
        read.append(x)
        return x - crossing

    below = sorted(x for x in rates if 0.0 < x < top)
    met = [(x, x - crossing) for x in reversed(below) if x <= crossing]
    missed = [(x, x - crossing) for x in below if x > crossing]
    apart = met and missed and missed[0][0] >= met[0][0] * NEIGHBOURS  # not neighbouring grid rates
    expected = met[:1] + missed[:1] + (met[1:2] + missed[1:2] if apart else [])
    assert nearest_known(excess, rates, top) == expected
    assert len(read) <= math.ceil(math.log2(len(below) + 1)) + 3


def test_nearest_known_stops_at_a_nan():
    """A NaN excess ends the bisection: what was found before it stands, the NaN rate is left to the search."""
    excess = lambda x: float("nan") if x == 3.0 else x - 2.5  # noqa: E731
    assert nearest_known(excess, [1.0, 2.0, 3.0, 4.0, 5.0], 10.0) == []  # the middle rate, read first
    assert nearest_known(excess, [1.0, 2.0, 3.0], 10.0) == [(2.0, -0.5)]  # 2.0 read first, then the NaN
    assert nearest_known(excess, [1.0, 2.0, 4.0], 10.0) == [(2.0, -0.5), (4.0, 1.5), (1.0, -1.5)]


def test_nearest_known_of_grid_neighbours_reads_no_more():
    """Neighbouring grid rates close the bracket: no further rate is read."""
    read = []
    excess = lambda x: read.append(x) or x - 2.0  # noqa: E731
    pair = [2.0, 2.0 * math.exp(STEP)]
    assert nearest_known(excess, [1.0, *pair, 3.0], 10.0) == [(2.0, 0.0), (pair[1], pair[1] - 2.0)]
    assert sorted(read) == pair


@pytest.mark.parametrize("shape", ["line", "queue"])
def test_rates_known_near_the_crossing_end_a_search_in_two_solves(shape):
    """Two solved rates on each side within 3 % of the crossing (a sweep over SLOs): the fit through them lies within
    a grid step of it, so the search solves that grid rate and its neighbour across the crossing, and answers as a
    cold search does."""
    f = _excess(shape, 3.0, 7.0)
    g, calls = _counted(f)
    known = [(x, f(x)) for x in (2.91, 2.97, 3.04, 3.09)]
    assert largest_meeting(g, 7.0, known=known) == largest_meeting(f, 7.0)
    assert len(calls) == 2


def test_a_known_miss_at_the_lowest_grid_rate_still_answers_0():
    """Only a missing rate known at x_KMAX (no meeting one): the lowest grid rate is solved, and 0 answered."""
    low = 5.0 * math.exp(-KMAX * STEP)
    assert largest_meeting(lambda x: 1.0, 5.0, known=[(low, 1.0)]) == 0.0


def _wiggly(r: float, top: float, depth: float, waves: float):
    """An excess with one sign change at r but not monotone: (x - r) / top times 1 + depth * sin(waves * x / top)
    (> 0 for depth < 1): the fits through its points miss the crossing, the bracket still closes on r."""
    return lambda x: (x - r) / top * (1.0 + depth * math.sin(waves * x / top))


@settings(max_examples=200, deadline=None)
@given(
    top=st.floats(1e-3, 1e3),
    share=st.floats(1e-4, 0.99),
    shape=st.sampled_from(["line", "queue", "step", "wiggly"]),
    depth=st.floats(0.0, 0.99),
    waves=st.floats(1.0, 300.0),
    near=st.lists(st.floats(-0.2, 0.2).filter(lambda d: d != 0.0), min_size=1, max_size=6),
)
def test_fits_from_rates_near_the_crossing_answer_the_grid_bisection(top, share, shape, depth, waves, near):
    """Known rates within 20 % of the crossing (the fits' case: a sweep over SLOs), for monotone excesses and for one
    with a single sign change that is not monotone: the answer is the float a plain bisection over the grid returns,
    every rate solved lies strictly inside the bracket (none solved twice, none known solved again), and the work
    stays within the fits' 2 * FITS solves plus the cold bound."""
    r = share * top
    f = _wiggly(r, top, depth, waves) if shape == "wiggly" else _excess(shape, r, top)
    known = [(x, f(x)) for x in {r * (1.0 + d) for d in near} if 0.0 < x < top]
    g, calls = _counted(f)
    assert largest_meeting(g, top, known=known) == _grid_answer(f, top)
    assert len(calls) == len(set(calls)) and not set(calls) & {x for x, _ in known}
    assert len(calls) <= 2 * FITS + 2 + 3 * 32


@settings(max_examples=100, deadline=None)
@given(top=st.floats(1e-2, 1e2), crossings=st.lists(st.floats(0.01, 0.99), min_size=2, max_size=5, unique=True))
def test_several_crossings_end_at_one_of_them(top, crossings):
    """An excess that changes sign several times is outside the contract (increasing), but the search still ends, at a
    grid rate that meets whose upper grid neighbour misses, each of them solved (with or without the fits)."""
    rs = sorted(c * top for c in crossings)
    f = lambda x: math.prod(x - r for r in rs)  # noqa: E731  (> 0 above the largest)
    g, calls = _counted(f)
    x = largest_meeting(g, top)
    if x == 0.0:  # the lowest grid rate solved, and missing
        assert top * math.exp(-KMAX * STEP) in calls and f(top * math.exp(-KMAX * STEP)) > 0.0
    else:
        k = round(math.log(top / x) / STEP)
        above = top * math.exp(-(k - 1) * STEP)  # its upper grid neighbour
        assert x == top * math.exp(-k * STEP) and x in calls and f(x) <= 0.0
        assert k == 1 or (above in calls and f(above) > 0.0)


@pytest.mark.parametrize("side", [-0.3, 0.3])
def test_a_fit_within_a_grid_step_solves_its_neighbour_across_the_crossing(side):
    """A line through known rates (its fit exact): the crossing r a third of a grid step above (the nearest grid rate
    meets: its upper neighbour is solved next) or below (it misses: the lower one); two solves either way."""
    top, k = 7.0, 500_000
    r = top * math.exp(-k * STEP) * (1.0 + side * STEP)
    f = _excess("line", r, top)
    g, calls = _counted(f)
    known = [(x, f(x)) for x in (0.97 * r, 0.99 * r, 1.01 * r, 1.02 * r)]
    assert largest_meeting(g, top, known=known) == _grid_answer(f, top)
    assert len(calls) == 2
    assert calls[0] == top * math.exp(-k * STEP)
    assert calls[1] == top * math.exp(-(k + (1 if side < 0 else -1)) * STEP)
