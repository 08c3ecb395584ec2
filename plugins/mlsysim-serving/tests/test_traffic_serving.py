"""ServingModel under traffic: hand checks, invariants, bad input, and the analytic model against
the discrete-event simulator (the oracle).

Where the analytic model departs from the simulator (measured on the grid of
test_analytic_against_simulation, 4 cases x loads 0.1-0.95 of the analytic saturation rate; DEPARTS lists
each departure beyond 10 % on means and 20 % on p90/p99 with its measured error and cause):
- means (TTFT, ITL, e2e) within 10 % up to 85 % load (worst: TTFT +8.3 %, the 70B case at 70 %);
- TTFT p50 within 20 % up to 85 % load except fixed lengths at 85 % (-22.9 %); 14-32 % low with dispersed
  lengths before the median was composed by variances (:func:`mlsysim_serving.traffic.median_shift`);
- at 95 % the TTFT is below the simulated one everywhere: with fixed lengths the simulator's saturation
  rate is below the analytic one (requests admitted together finish together and keep their
  prompts in groups), with dispersed lengths its sequence slots are all held 14-20 % of the time
  (long prompts slow every sequence at once) where the model's slot queue says 0.4-1.2 %; ITL and e2e
  means stay within 8 %;
- tails (Poisson coalescing of prompts, exponential waits, a heavy-tailed residual of the step in progress,
  a normal spread of TPOT amplified by 1/sqrt(1-utilization)): within 20 % up to 85 % load except ITL p99
  with variable lengths at the bound (-20 to -21 %) and the TTFT p99 entries listed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from mlsysim_serving import ServingModel

from mlsysim_core.errors import InfeasibleError, InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import A100, H100, LLAMA8, LLAMA70, MIXTRAL  # noqa: E402

serving = ServingModel()
BASE = dict(model=LLAMA8, hardware=H100, seq_len=2000, output_len=300)


def si(q):
    return q.to_base_units().magnitude


def test_low_load_ttft_is_one_prefill_and_itl_one_decode_step():
    static = serving.solve(**BASE)
    r = serving.solve(**BASE, arrival_rate=0.001)
    assert si(r.ttft_mean) == pytest.approx(si(static.prefill_time_per_request), rel=0.01)
    assert si(r.one_prefill_time) == pytest.approx(si(static.prefill_time_per_request), rel=1e-9)
    assert si(r.itl_mean) == pytest.approx(si(static.itl_mean), rel=0.01)  # batch 1 at the mean context
    assert r.utilization < 0.001 and not r.overloaded


def test_saturation_overloaded_says_so_and_gives_max_rate():
    sat = si(serving.solve(**BASE, arrival_rate=1.0).saturation_rate)
    r = serving.solve(**BASE, arrival_rate=1.2 * sat)
    assert r.overloaded and r.utilization == pytest.approx(1.2)
    assert r.ttft_mean is None and r.ttft_p99 is None and r.e2e_mean is None and r.queue_wait_mean is None
    assert si(r.requests_per_second) == pytest.approx(sat)
    assert si(r.max_arrival_rate) == pytest.approx(sat)
    assert any("OVERLOADED" in line and "req/s" in line for line in r.constraint_trace)


def test_saturation_rate_matches_the_simulator():
    r = serving.solve(**BASE, arrival_rate=1.0)
    sat = si(r.saturation_rate)
    sim = serving.solve(**BASE, arrival_rate=0.9 * sat, method="simulate", num_requests=4000)
    assert si(sim.requests_per_second) == pytest.approx(0.9 * sat, rel=0.05)
    assert r.binding_limit in ("max_num_seqs", "KV capacity", "prefill compute (token budget)")


def test_littles_law_and_throughput():
    r = serving.solve(**BASE, arrival_rate=4.0)
    assert r.concurrency_mean == pytest.approx(4.0 * si(r.e2e_mean))
    assert si(r.output_tokens_per_second) == pytest.approx(4.0 * 300)
    assert si(r.tokens_per_second_per_gpu) == pytest.approx(4.0 * 300)
    assert si(r.e2e_mean) == pytest.approx(si(r.ttft_mean) + 299 * si(r.itl_mean))
    assert 0 < r.kv_cache_utilization < 1
    assert si(r.ttft_p50) <= si(r.ttft_p90) <= si(r.ttft_p99)
    assert si(r.itl_p50) <= si(r.itl_p90) <= si(r.itl_p99)


def test_latency_grows_with_load():
    lo, hi = (serving.solve(**BASE, arrival_rate=x) for x in (1.0, 8.0))
    assert si(hi.ttft_mean) > si(lo.ttft_mean) and si(hi.itl_mean) > si(lo.itl_mean)


def test_prefix_cache_removes_prefill_work():
    r0 = serving.solve(**BASE, arrival_rate=2.0)
    r5 = serving.solve(**BASE, arrival_rate=2.0, prefix_cache_hit=0.5)
    # compute-bound prefill: half the tokens, the attention of the later half -> about 0.4-0.5x
    assert 0.3 < si(r5.one_prefill_time) / si(r0.one_prefill_time) < 0.6
    assert si(r5.ttft_mean) < si(r0.ttft_mean)
    assert r5.prompt_cache_hit_ratio == 0.5
    assert si(r5.saturation_rate) >= si(r0.saturation_rate)


def test_closed_loop_concurrency():
    r = serving.solve(**BASE, concurrency=16)
    assert si(r.arrival_rate) * si(r.e2e_mean) == pytest.approx(16, rel=1e-6)
    sim = serving.solve(**BASE, concurrency=16, method="simulate", num_requests=3000)
    assert si(sim.requests_per_second) == pytest.approx(si(r.arrival_rate), rel=0.1)


def test_slo_max_rate_meets_the_slo_at_its_edge():
    r = serving.solve(**BASE, arrival_rate=2.0, slo_ttft=0.2, slo_itl=0.03)
    rate = si(r.max_arrival_rate)
    assert 0 < rate < si(r.saturation_rate)
    edge = serving.solve(**BASE, arrival_rate=rate, slo_ttft=0.2, slo_itl=0.03)
    assert si(edge.ttft_p99) <= 0.2 * (1 + 1e-6) and si(edge.itl_p99) <= 0.03 * (1 + 1e-6)
    over = serving.solve(**BASE, arrival_rate=rate * 1.01, slo_ttft=0.2, slo_itl=0.03)
    assert si(over.ttft_p99) > 0.2 or si(over.itl_p99) > 0.03
    assert 0.0 <= r.slo_attainment <= 1.0 and r.slo_attainment > 0.99


def test_median_of_a_sum_weights_the_parts_shifts_by_variance():
    from mlsysim_serving.ops import pick
    from mlsysim_serving.traffic import median_shift

    # two independent Exp(1): each median - mean = ln 2 - 1 (variance 1); their sum is Gamma(2, 1), whose median
    # solves (1 + x) e^-x = 1/2: x = 1.6783, so 0.3217 below the mean 2; the plain sum of shifts says 0.6137
    d = math.log(2.0) - 1.0
    xp = pick(d)
    assert median_shift(xp, d, 1.0, d, 1.0) == pytest.approx(1.67835 - 2.0, rel=0.06)
    assert median_shift(xp, d, 0.0, -0.5, 4.0) == pytest.approx(d - 0.5)  # an atom adds its shift


def test_simulate_is_seeded_and_deterministic():
    a = serving.solve(**BASE, arrival_rate=3.0, method="simulate", num_requests=2000, seed=7)
    b = serving.solve(**BASE, arrival_rate=3.0, method="simulate", num_requests=2000, seed=7)
    c = serving.solve(**BASE, arrival_rate=3.0, method="simulate", num_requests=2000, seed=8)
    assert a.ttft_p99 == b.ttft_p99 and a.itl_mean == b.itl_mean
    assert a.ttft_p99 != c.ttft_p99


def test_sweep_equals_solve():
    rates = [0.5, 3.0, 9.0, 40.0]
    cols = ServingModel.sweep(**BASE, arrival_rate=rates).columns
    for i, x in enumerate(rates):
        r = serving.solve(**BASE, arrival_rate=x)
        if r.overloaded:
            assert math.isnan(cols["ttft_mean"][i].magnitude)
        else:
            assert cols["ttft_p99"][i].to("s").magnitude == pytest.approx(si(r.ttft_p99), rel=1e-6)
            assert cols["itl_mean"][i].to("s").magnitude == pytest.approx(si(r.itl_mean), rel=1e-6)


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, "3"])
def test_rate_must_be_positive(bad):
    with pytest.raises(InvalidInputError, match="arrival_rate"):
        serving.solve(**BASE, arrival_rate=bad)


def test_sweep_marks_a_bad_rate():
    cols = ServingModel.sweep(**BASE, arrival_rate=[1.0, -2.0]).columns
    assert list(cols["valid"]) == [True, False] and "arrival_rate" in cols["error"][1]


def test_slo_below_one_prefill():
    with pytest.raises(
        InvalidInputError,
        match=r"TTFT SLO 10 ms is below one unloaded 2,000-token prefill on this "
        r"layout, \d+\.?\d* ms",
    ):
        serving.solve(**BASE, arrival_rate=1.0, slo_ttft=0.01)
    with pytest.raises(InvalidInputError, match="ITL SLO"):
        serving.solve(**BASE, arrival_rate=1.0, slo_itl=1e-4)


def test_lengths_beyond_context_and_missing_output():
    with pytest.raises(InvalidInputError, match="output_len"):
        serving.solve(LLAMA8, H100, seq_len=131000, output_len=500, arrival_rate=1.0)
    with pytest.raises(InvalidInputError, match="output_len"):
        serving.solve(LLAMA8, H100, seq_len=1000, arrival_rate=1.0)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(arrival_rate=1.0, concurrency=4), "concurrency"),
        (dict(arrival_rate=1.0, method="guess"), "method"),
        (dict(arrival_rate=1.0, length_cv=-1), "length_cv"),
        (dict(arrival_rate=1.0, prefix_cache_hit=1.0), "prefix"),
        (dict(arrival_rate=1.0, max_num_seqs=9000), "max_num_seqs"),
        (dict(method="simulate"), "arrival_rate"),
        (dict(arrival_rate=1.0, slo_percentile=95), "slo_percentile"),
    ],
)
def test_bad_traffic_arguments(kw, name):
    with pytest.raises(InvalidInputError, match=name):
        serving.solve(**BASE, **kw)


def test_kv_cache_too_small_for_one_request():
    with pytest.raises(InfeasibleError, match="KV cache"):
        serving.solve(LLAMA70, H100, seq_len=4000, output_len=500, tp_size=2, arrival_rate=0.1, raise_errors=True)
    r = serving.solve(LLAMA70, H100, seq_len=4000, output_len=500, tp_size=2, arrival_rate=0.1, slo_ttft="1s")
    assert not r.feasible and r.ttft_mean is None and r.itl_p99 is None and r.e2e_mean is None
    assert si(r.saturation_rate) == 0.0 and si(r.max_arrival_rate) == 0.0 and r.slo_attainment == 0.0
    assert si(r.requests_per_second) == 0.0 and r.overloaded and r.binding_limit == "KV capacity"
    assert any("KV cache" in note for note in r.notes)
    r.explain()  # the explanation of an infeasible loaded answer renders


def test_sweep_masks_a_group_whose_kv_holds_no_request():
    """Rates at a length pair that does not fit: NaN latencies and feasible False, not an error; the
    other length pair of the same sweep is served (per point), as solve() answers it."""
    kw = dict(model=LLAMA70, hardware=H100, output_len=500, tp_size=2)
    cols = ServingModel.sweep(**kw, seq_len=4000, arrival_rate=[0.1, 0.2]).columns
    assert list(cols["valid"]) == [True, True] and not cols["feasible"].any()
    assert np.isnan(cols["ttft_mean"]).all() and np.isnan(cols["itl_p99"]).all()
    cols = ServingModel.sweep(**kw, seq_len=[4000, 100], arrival_rate=0.01).columns
    assert list(cols["feasible"]) == [False, True]
    assert np.isnan(cols["ttft_mean"][0]) and cols["ttft_mean"][1] > 0


CASES = [
    dict(model=LLAMA8, hardware=H100, seq_len=2000, output_len=300),
    dict(model=LLAMA8, hardware=H100, seq_len=1000, output_len=200, length_cv=0.5, max_num_batched_tokens=2048),
    dict(model=LLAMA70, hardware=H100, seq_len=4000, output_len=500, tp_size=4),
    dict(model=LLAMA8, hardware=A100, seq_len=500, output_len=400, length_cv=1.0),
]
MEANS = ("ttft_mean", "itl_mean", "e2e_mean")
TAILS = ("ttft_p50", "ttft_p90", "ttft_p99", "itl_p90", "itl_p99", "e2e_p90", "e2e_p99")
LOW = "below"  # a departure with a known sign: the analytic value is below the simulated one
TTFT_LOW = dict.fromkeys(("ttft_mean", "ttft_p50", "ttft_p90", "ttft_p99"), LOW)
#: Where the analytic model departs from the simulator beyond 10 % (means) / 20 % (p90, p99), with the
#: measured error (analytic / simulated - 1) and why; everything not listed is held to those bounds.
DEPARTS = {
    # Variable lengths (cases 1, 3): ITL p99 -17 to -20 % (-20 to -25 % before the prompts' compound Poisson
    # spread, -18 to -21 % before the decode batch's term took dT/dB, traffic.batch_slope). A request's mean
    # token gap is taken as normal with the spread of a mean-length request and no memory of the load; the
    # simulated gaps are right-skewed and vary slowly with the queue (their spread falls only from 6.2 to
    # 2.5 ms between outputs of 2-50 and 1,000+ tokens in case 3 at 70 %).
    (1, 0.7): {"itl_p99": 0.24},  # -20.2 %
    # TTFT p99 with dispersed prompts. A 2,048-token budget at 85 % (-21.9 %): the wait behind other prompts'
    # chunks, taken as exponential past P(wait), has a shorter tail than simulated. Lognormal prompts with cv 1
    # at 10 and 40 % load (+23.2 %, +26.8 %), where the wait is small: the p99 prompt's own step (4.9 x the mean
    # prompt, with the p99 count of prompts sharing it) and the p99 of the step in progress at arrival (a
    # length-biased prefill step, heavy-tailed as the prompts are) are added, each at its own p99, though they
    # are independent; root-sum-square instead moves TTFT p99 23-24 % low at 70 % load in all four cases.
    (1, 0.85): {"ttft_p99": 0.25},
    (3, 0.1): {"ttft_p99": 0.28},
    (3, 0.4): {"ttft_p99": 0.30},
    # Fixed lengths with the KV cache binding (case 2, 70B on TP4): the simulator's capacity is 1.4 % below the
    # analytic one (requests admitted together finish together, so prompts reach the steps in groups; a step
    # with n prompts hides the decode's memory time once instead of n times), so at 85 % its slot queue is
    # already forming: TTFT p99 -44.7 % (the mean within 1 %).
    (2, 0.85): {"ttft_p99": 0.46},
    # TTFT p50 with fixed lengths at 85 % (-22.9 %, mean of two seeds): the wait's median is taken as its atom at
    # 0 (P(wait) < 1/2), so its whole mean is subtracted, where the simulated waits are more often positive.
    (0, 0.85): {"ttft_p50": 0.26},
    # 95 % of the analytic saturation rate. Fixed lengths (cases 0, 2): the simulator's capacity is below the
    # analytic one (the grouped admissions above), so the simulated queue is at or past saturation and its TTFT
    # grows with the run's length: analytic TTFT -60 to -81 %. Dispersed lengths
    # (cases 1, 3; the simulator's capacity 1-2 % above the analytic one): all 256 sequence slots are held with
    # requests waiting 14-20 % of the time in the simulator, against a P(wait) of 0.4-1.2 % from the model's
    # M/G/c slot queue at its mean occupancy (long prompts slow every sequence at once, so the occupancy swings
    # far wider than a Poisson count): TTFT -36 to -68 %. ITL and e2e means stay within 8 %.
    (0, 0.95): {**TTFT_LOW, "itl_p99": 0.25},  # ITL p99 +21 %: the 1/sqrt(1 - rho) spread, as case 2's
    (1, 0.95): TTFT_LOW,
    (2, 0.95): {**TTFT_LOW, "itl_p90": 0.25, "itl_p99": 0.51},  # ITL +20 %, +47 %: the 1/sqrt(1 - rho) spread
    (3, 0.95): TTFT_LOW,
}


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("load", [0.1, 0.4, 0.7, 0.85, 0.95])
def test_analytic_against_simulation(case, load):
    kw = CASES[case]
    sat = si(serving.solve(**kw, arrival_rate=1.0).saturation_rate)
    a = serving.solve(**kw, arrival_rate=load * sat)
    s = serving.solve(**kw, arrival_rate=load * sat, method="simulate", num_requests=6000)
    departs = DEPARTS.get((case, load), {})
    for k in MEANS + TAILS:
        x, y = si(getattr(a, k)), si(getattr(s, k))
        tol = departs.get(k, 0.10 if k in MEANS else 0.20)
        if tol == LOW:
            assert -0.85 < x / y - 1 < 0, (k, x / y - 1)  # low, within the measured -28..-81 %
        else:
            assert x == pytest.approx(y, rel=tol), k


def _cli(*args):
    from click.testing import CliRunner

    from mlsysim_cli import main

    return CliRunner().invoke(main, list(args))


def test_cli_serve_under_load_and_its_errors():
    out = _cli(
        "serve",
        "Llama3_8B",
        "H100",
        "--seq-len",
        "4000",
        "--output-len",
        "500",
        "--qps",
        "3",
        "--slo-ttft",
        "1s",
        "--slo-itl",
        "50ms",
    )
    assert out.exit_code == 0, out.output
    assert "ttft_p99" in out.output and "max_arrival_rate" in out.output and "Traffic: 3 req/s" in out.output
    bad = _cli(
        "serve", "Llama3_8B", "H100", "--seq-len", "4000", "--output-len", "500", "--qps", "3", "--slo-ttft", "100ms"
    )
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "TTFT SLO 100 ms is below one unloaded 4,000-token prefill on this layout" in bad.output


def _rows(output):
    """The field names of a CLI answer's table (the lines between its header rule and the first blank line)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----"))
    return [line.split()[0] for line in lines[start + 1 : lines.index("", start)]]


def test_cli_table_under_traffic_shows_the_loaded_fields_not_the_static_batch():
    # the static batch-1 ttft, itl, tokens/s, e2e and energy are not the answer at 10 req/s: the default table leaves
    # them out under traffic (issue 15: they stay for static questions), --all keeps them; without traffic they show
    static = ("ttft", "itl", "tokens_per_second", "e2e_latency", "energy_per_token")
    args = ("serve", "Llama3_8B", "H100", "--seq-len", "1024", "--output-len", "256")
    loaded = _rows(_cli(*args, "--qps", "10").output)
    assert not set(static) & set(loaded)
    assert {"ttft_mean", "ttft_p99", "itl_mean", "e2e_p99", "utilization", "requests_per_second"} <= set(loaded)
    every = _rows(_cli(*args, "--qps", "10", "--all").output)
    assert set(static) <= set(every)
    plain = _rows(_cli(*args).output)
    assert set(static) <= set(plain) and "ttft_mean" not in plain


def test_cli_sweep_under_traffic_shows_and_ranks_the_loaded_fields():
    # a sweep over arrival rates showed the static batch-1 ttft/itl/tokens_per_second, the same on every row
    # (29.38 ms, 8.222 ms, 121.6 token/s at 2 and 10 req/s), and ranked its Pareto front by them
    args = ("sweep", "serve", "--model", "Llama3_8B", "--hardware", "H100", "--seq-len", "1024", "--output-len", "256")
    out = _cli(*args, "--qps", "2,10")
    assert out.exit_code == 0, out.output
    head = out.output.splitlines()[0].split()
    assert head[:4] == ["arrival_rate", "feasible", "ttft_mean", "ttft_p50"] and "itl_mean" in head
    assert not {"ttft", "itl", "tokens_per_second"} & set(head)
    assert "(itl_mean min, output_tokens_per_second max)" in out.output
    two, ten = (
        ServingModel().solve("Llama3_8B", "H100", seq_len=1024, output_len=256, arrival_rate=r) for r in (2, 10)
    )
    rows = {line.split()[0]: line.split() for line in out.output.splitlines()[2:4]}
    assert (
        rows["2"][2] == f"{two.ttft_mean.to('ms').magnitude:.4g}"
        and rows["10"][2] == f"{ten.ttft_mean.to('ms').magnitude:.4g}"
    )
    static = _cli(*args, "--batch-size", "1,4")
    assert "(itl min, tokens_per_second max)" in static.output and static.output.splitlines()[0].split()[2] == "ttft"


def test_cli_sweep_over_rates():
    out = _cli(
        "sweep",
        "serve",
        "--model",
        "Llama3_8B",
        "--hardware",
        "H100",
        "--seq-len",
        "4000",
        "--output-len",
        "500",
        "--qps",
        "0.5..2:+0.5",
        "--json",
        "-",
    )
    assert out.exit_code == 0, out.output
    import json

    pts = json.loads(out.stdout)["points"]
    assert [p["inputs"]["arrival_rate"] for p in pts] == [0.5, 1.0, 1.5, 2.0]
    assert all(p["result"]["ttft_p99"] for p in pts)


#: (prompt, output) pairs, anti-correlated: long prompts get short answers (E[p*o] = 0.52, not 1)
PAIRS = [(200, 400), (1800, 100)]
SAMPLED = dict(model=LLAMA8, hardware=H100, seq_len=1000, output_len=250)


def test_length_samples_of_one_length_are_fixed_lengths():
    fixed = serving.solve(**BASE, arrival_rate=3.0)
    same = serving.solve(**BASE, arrival_rate=3.0, length_samples=[(2000, 300)] * 4)
    for k in ("ttft_mean", "ttft_p99", "itl_p99", "e2e_p99", "saturation_rate"):
        assert si(getattr(same, k)) == pytest.approx(si(getattr(fixed, k)), rel=1e-12), k
    assert "length_samples: 4 (prompt, output) pairs with means 2,000.0/300.0 tokens" in same.notes[-1]


def test_length_samples_are_a_shape_scaled_to_the_means():
    a = serving.solve(**SAMPLED, arrival_rate=4.0, length_samples=PAIRS)
    b = serving.solve(**SAMPLED, arrival_rate=4.0, length_samples=[(2 * p, 3 * o) for p, o in PAIRS])
    assert si(b.ttft_p99) == pytest.approx(si(a.ttft_p99), rel=1e-12)
    assert si(b.e2e_mean) == pytest.approx(si(a.e2e_mean), rel=1e-12)


def test_length_samples_match_the_named_distribution_with_their_moments():
    import numpy as np

    rng = np.random.default_rng(1)
    s2 = np.log1p(0.25)
    pairs = np.stack(
        [np.rint(rng.lognormal(np.log(m) - s2 / 2, np.sqrt(s2), 50_000)).clip(1) for m in (1000, 250)], axis=1
    )
    named = serving.solve(**SAMPLED, arrival_rate=6.0, length_cv=0.5)
    sampled = serving.solve(**SAMPLED, arrival_rate=6.0, length_samples=pairs)
    for k in MEANS + TAILS:
        assert si(getattr(sampled, k)) == pytest.approx(si(getattr(named, k)), rel=0.05), k


@pytest.mark.parametrize("load", [0.1, 0.4, 0.7])
def test_paired_length_samples_against_simulation(load):
    """Means within 10 % of the simulator drawing the same pairs (the pairing sets the decode
    contexts: E[(O-1)S] = S*O*E[p*o] - S). Tails are not compared for this two-point mix."""
    sat = si(serving.solve(**SAMPLED, arrival_rate=1.0, length_samples=PAIRS).saturation_rate)
    a = serving.solve(**SAMPLED, arrival_rate=load * sat, length_samples=PAIRS)
    s = serving.solve(**SAMPLED, arrival_rate=load * sat, length_samples=PAIRS, method="simulate", num_requests=6000)
    for k in MEANS:
        assert si(getattr(a, k)) == pytest.approx(si(getattr(s, k)), rel=0.10), k


def test_length_samples_in_a_sweep_equal_solve():
    cols = ServingModel.sweep(**SAMPLED, arrival_rate=[1.0, 5.0], length_samples=[PAIRS]).columns
    r = serving.solve(**SAMPLED, arrival_rate=5.0, length_samples=PAIRS)
    assert cols["ttft_p99"][1].to("s").magnitude == pytest.approx(si(r.ttft_p99), rel=1e-9)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(length_samples=[(1000, 250)]), "length_samples"),
        (dict(length_samples=[(0, 5), (3, 4)]), "length_samples"),
        (dict(length_samples=[(1.5, 2), (3, 4)]), "length_samples"),
        (dict(length_samples="1000,250"), "length_samples"),
        (dict(length_samples=[(1, 2, 3), (4, 5, 6)]), "length_samples"),
        (dict(length_samples=PAIRS, length_cv=0.3), "length_cv"),
    ],
)
def test_bad_length_samples(kw, name):
    with pytest.raises(InvalidInputError, match=name):
        serving.solve(**SAMPLED, arrival_rate=1.0, **kw)


def test_cli_length_samples_from_a_file(tmp_path):
    """--length-samples reads (prompt, output) pairs from CSV (header line allowed) or JSON and answers
    as solve(length_samples=pairs); an unreadable or non-numeric file is one line naming the option."""
    csv_file, json_file, bad = tmp_path / "pairs.csv", tmp_path / "pairs.json", tmp_path / "bad.json"
    csv_file.write_text("prompt,output\n" + "".join(f"{p},{o}\n" for p, o in PAIRS))
    json_file.write_text(str([list(p) for p in PAIRS]))
    bad.write_text('[[200, "many"]]')
    want = serving.solve(**SAMPLED, arrival_rate=2.0, length_samples=PAIRS)
    args = ("serve", "Llama3_8B", "H100", "--seq-len", "1000", "--output-len", "250", "--qps", "2", "--json")
    for path in (csv_file, json_file):
        out = _cli(*args, "--length-samples", str(path))
        assert out.exit_code == 0, out.output
        got = json.loads(out.stdout)["result"]["ttft_p99"]
        assert got["value"] == pytest.approx(want.ttft_p99.to(got["unit"]).magnitude, rel=1e-12)
    for path, says in ((bad, "expected rows of numbers"), (tmp_path / "none.csv", "cannot read")):
        out = _cli(*args, "--length-samples", str(path))
        assert out.exit_code == 1, out.output
        assert f"--length-samples: {path}" in out.output or f"--length-samples: {says} {path}" in out.output
        assert says in out.output and "Traceback" not in out.output


@pytest.mark.parametrize(
    "kw",
    [
        dict(length_cv=0.8, arrival_cv=1.5, prefix_cache_hit=0.3),
        dict(length_cv=0.5, length_dist="gamma", max_num_batched_tokens=4096),
        dict(model=LLAMA70, tp_size=4, output_len=100),
        dict(model=MIXTRAL, tp_size=8, ep_size=8),
        dict(model=LLAMA70, tp_size=4, pp_size=2, output_len=100),
        dict(spec_draft_cost=0.05, spec_accept=0.6, length_cv=0.3),
    ],
)
def test_solve_under_traffic_equals_its_sweep_point(kw):
    # one kernel serves both: the scalar fast paths of a solve give the numbers of the array path
    args = {**BASE, **kw}
    rates = [0.3, 2.0, 6.0]
    cols = ServingModel.sweep(**args, arrival_rate=rates).columns
    for i, x in enumerate(rates):
        r = serving.solve(**args, arrival_rate=x)
        assert not r.overloaded
        for k in ("ttft_mean", "ttft_p99", "itl_p90", "e2e_p99", "queue_wait_mean"):
            assert si(cols[k][i]) == pytest.approx(si(getattr(r, k)), rel=1e-9), (k, x)
        assert cols["kv_cache_utilization"][i] == pytest.approx(r.kv_cache_utilization, rel=1e-9)


@pytest.mark.parametrize(
    "kw",
    [
        dict(arrival_rate=3.0),
        dict(arrival_rate=3.0, slo_ttft=1.0, slo_itl=0.05),
        dict(concurrency=16),
        dict(arrival_rate=3.0, spec_draft_cost=0.05, spec_k=3, spec_accept=0.7),
    ],
)
def test_band_corners_under_traffic_hold_what_their_whole_results_do(kw):
    """Under traffic a band's corners compute only the latency percentiles the band reads
    (``ServingModel.solve_corners``); each band still spans the nominal and the two corner results built
    whole on first use (every percentile, the SLO attainment), and no band field is lost (the ranges' band,
    ``bands.ranges``, without the model error)."""
    from mlsysim_uncertainty import banded

    r = banded(ServingModel(), **BASE, **kw)
    fast, slow = r.bands.corners
    ranges = r.bands.ranges
    wanted = {"ttft_mean", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99", "e2e_p99", "itl_mean", "max_arrival_rate"}
    assert wanted | ({"spec_itl"} if "spec_k" in kw else set()) <= set(ranges)
    for name, (low, high) in ranges.items():
        values = [si(getattr(x, name)) for x in (r, fast, slow)]
        assert (si(low), si(high)) == pytest.approx((min(values), max(values)), rel=1e-15)
    for corner in (fast, slow):
        assert corner.ttft_p50 < corner.ttft_p90 < corner.ttft_p99 and corner.e2e_p90 < corner.e2e_p99
        assert (corner.slo_attainment is not None) == ("slo_ttft" in kw)


@pytest.mark.parametrize(
    "kw", [dict(arrival_rate=3.0), dict(arrival_rate=3.0, length_samples=[(1500, 200), (2500, 400)])]
)
def test_repeated_bands_under_traffic_reuse_their_corners_rate_free_part(monkeypatch, kw):
    """A corner's static fields and the engine of its layout under the nominal's plan are found once
    (``solver._corner_plan``, by the identity of the corner's layout and the plan): a repeated banded call readies
    no engine and gives the same band; with ``length_samples`` (a list that can change in place) nothing is kept."""
    from mlsysim_serving import solver as S
    from mlsysim_serving import under_load as UL
    from mlsysim_serving.memo import Memo

    from mlsysim_uncertainty import banded

    monkeypatch.setattr(S, "_corner_plans", Memo())
    readied = []
    ready = UL.ready
    monkeypatch.setattr(UL, "ready", lambda setup, *a: readied.append(setup) or ready(setup, *a))
    first = banded(ServingModel(), **BASE, **kw)
    corners = readied[-2:]  # the fast and the slow corner's layouts (the nominal's plan may be kept from before)
    assert corners[0] is not corners[1] and corners[0].eta_c > corners[1].eta_c
    readied.clear()
    again = banded(ServingModel(), **BASE, **kw)
    assert dict(again.bands) == dict(first.bands)
    kept = "length_samples" not in kw
    assert len(S._corner_plans) == (2 if kept else 0) and readied[-2:] == ([] if kept else corners)


def test_a_load_reads_its_length_quantiles_from_one_table_per_distribution():
    # Load.quantiles: a named distribution's quantiles at mean 1 (length_quantile at the normal score of each
    # percentile), one table shared by the loads of the same distribution and cv (a new load, one per cold call, reads
    # them without computing them again); a sample's own percentiles; a sweep's cv array its own
    from mlsysim_serving import traffic as TR

    a, b = TR.Load(2000.0, 300.0, 0.5, 0.0, "gamma"), TR.Load(900.0, 40.0, 0.5, 0.2, "gamma")
    assert a._prompt_q is b._prompt_q is a._output_q  # (prompts and outputs at the same cv)
    assert a.quantiles() == b.quantiles() == (a._prompt_q, a._prompt_q)
    for pct, z in TR.Z.items():
        assert a.quantiles()[0][pct] == a.quantiles()[1][pct] == TR.length_quantile(1.0, 0.5, "gamma", z)
    assert TR.Load(2000.0, 300.0, 0.5, 0.0, "lognormal")._prompt_q is not a._prompt_q
    pairs = np.array([[100.0, 10.0], [300.0, 50.0], [2000.0, 30.0], [600.0, 90.0]])
    sample = TR.SampledLengths(pairs)
    prompt, output = TR.Load(1000.0, 50.0, None, 0.0, sample).quantiles()
    for pct in TR.Z:
        assert prompt[pct] == float(np.percentile(pairs[:, 0] / pairs[:, 0].mean(), pct))
        assert output[pct] == float(np.percentile(pairs[:, 1] / pairs[:, 1].mean(), pct))
    swept = TR.Load(np.array([2000.0, 900.0]), 300.0, np.array([0.5, 1.0]), 0.0, "gamma")
    prompt, output = swept.quantiles()
    assert prompt is output is swept._prompt_q and sorted(prompt) == sorted(TR.Z)  # (made with the load)
    for pct, z in TR.Z.items():
        assert np.array_equal(prompt[pct], TR.length_quantile(1.0, np.array([0.5, 1.0]), "gamma", z))
        assert np.array_equal(output[pct], prompt[pct])
