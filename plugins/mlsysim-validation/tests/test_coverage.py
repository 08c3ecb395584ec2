"""The bands' coverage of the calibration set (docs/accuracy.md, Bands; mlsysim validate --bands)."""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pytest
from mlsysim_validation import coverage

from mlsysim_uncertainty.model_error import conformal_q, log_error

ROOT = Path(__file__).resolve().parents[3]

#: groups below 80 % coverage and their misses (docs/accuracy.md, Bands): A, MLPerf GPT-J on H100 (early stops not
#: modelled) and SDXL on H200 and H100 (UNet at fp8 far below the transformer efficiency); L, TTFT under load of short
#: prompts at 5-50 users (the engine's extra decode steps before a prefill are not modelled) and the client-side TTFT of
#: GPUStack's Qwen3-8B runs at 1-8 users (the HTTP/chat frontend's time is not modelled) and of the open loops of SGLang
#: v0.3.0 (36-45 % low), vLLM v0.6.0 with 10-step scheduling (32-49 % low), vLLM v0.5.4 on one H200 NVL (47-61 % low;
#: its server pinned to one host core) and SGLang v0.3.6+ on 4 and 8 H200s (DataCrunch: 6 of 8, 20-40 % low); M, SGLang
#: v0.3.0's and vLLM v0.6.0's median TPOT on 8B/A100 at 8 requests/s and 70B/4xH100 at 4 and 8/s (their prefill steps
#: stall decode: TPOT grows 21-36 % from 4 to 8/s, the model's 4-7 %), vLLM v0.5.4's mean ITL of 8B at 4/s and
#: Gemma-2-27B at 1 and 4/s (8-47 % beyond the band: the host time of a one-core server is not modelled) and three
#: GPUStack Qwen3-8B TPOTs just above their bands (0-3 %); E, the Llama 2 and Llama 3 70B cards (their implied ~423
#: g/kWh lies above every published US average of 2023-2025) and Patterson et al.'s four runs at the default utilization
#: (their measured average power lies below the 76-82 % of rated node power the utilization range spans: 1-23 % high);
#: F, the 8-GPU job MTTF (software causes not modelled), OPT-175B restarts and the Llama 3 goodput (both lower bounds);
#: S, EAGLE-3 at 4-7 drafts (vLLM time per token 21-27 % low, SGLang tokens/s 24-27 % high: its drafting costs more than
#: the head's weight bytes, which is all the model charges); P, every point: the prefill pools are bound by the expert
#: all-to-all, whose network efficiency ServingModel does not band (a band of +-0.04 %), the H100 decode pool is 8 % low
#: against a +-1 % band (its step too is mostly all-to-all) and the GB200 decode pool +68 % (the source states no batch
#: at that precision); D, the rental estimate (a committed 3-year price) against the four on-demand list prices (unsold
#: hours not modelled: 37-118 % above the band), the capacity block and Mosaic's reserved cluster (short or unstated
#: terms, ~10 % above), two 3-year prices (GCP A3 7 % above, AWS p4de 4 % below) and DeepSeek's owner costing (the owned
#: TCO's +-0.6 % band, 5 % below); G (measured in this project, one H200, bare PyTorch), 31 of 58: every prediction lies
#: short of the measurement and the corners move a memory-bound step by a few percent, while the flash-attention decode
#: reads the KV cache at about half the rate the model streams it (25-42 % short from batch 32) and long prefills'
#: attention runs below the forward's 0.6 of peak
KNOWN_MISSES = {"A": 3, "L": 35, "M": 12, "E": 6, "F": 3, "S": 6, "P": 5, "D": 9, "G": 31}


def test_bands_contain_most_measurements_and_their_predictions():
    rows = [b for b in coverage.bands() if b.banded]  # the corners' bands (with the model error: below)
    # the banded groups are derived (a point some solver with ranges of its own moves): every group; D by
    # the filed operating margins (the rental estimate), the US electricity price and hyperscale PUE ranges
    groups = ("A", "B", "C", "D", "E", "F", "G", "L", "M", "S", "P", "W")
    assert {b.group for b in rows} == set(groups) and len(rows) >= 102
    assert all(b.low <= b.predicted <= b.high for b in rows)
    assert all((b.outside == 0.0) == b.covered for b in rows)
    far = {b.id: b.outside for b in rows if not b.covered}
    assert far["F-kokolis-mttf-8gpu"] < -0.5 and 0 < far["E-llama3-70B-tco2e"] < 0.02  # a bias; a near miss
    for g in groups:
        sel = [b for b in rows if b.group == g]
        misses = sum(not b.covered for b in sel)
        if g in KNOWN_MISSES:
            assert misses <= KNOWN_MISSES[g], g
        else:
            assert misses <= 0.2 * len(sel), g  # issue 20: at least 80 %
    # group E and F bands come from ranged catalog numbers (provenance: the Llama cards' grid intensity) and
    # the default utilization's range (Patterson's runs, BLOOM's lifecycle: the paper's own node, grid and PUE)
    e_f = {b.id: b for b in rows if b.group in "EF"}
    assert {"E-llama31-405B-tco2e", "F-llama3-interruptions-per-day", "E-patterson-gpt3-175b-energy"} <= set(e_f)
    assert e_f["E-bloom-lifecycle-tco2e"].covered  # below the nominal: only the utilization range reaches it


def test_a_one_sided_record_is_covered_when_its_band_reaches_the_allowed_side():
    # a lower bound of 0.9 (Llama 3's 'higher than 90 %'): a band [0.93, 0.97] above it satisfies it
    above = coverage.Band("x", "F", 0.9, 0.95, 0.93, 0.97, "k", bound="lower")
    assert above.covered and above.outside == 0.0 and above.score == 0.0
    exact = coverage.Band("x", "F", 0.9, 0.95, 0.93, 0.97, "k")
    assert not exact.covered and exact.outside == pytest.approx(0.9 / 0.93 - 1)
    assert exact.score == pytest.approx(math.log(0.95 / 0.9))
    # a band [0.75, 0.85] below the lower bound misses by 0.9 / 0.85 - 1, its score |ln(0.9 / 0.8)|
    below = coverage.Band("x", "F", 0.9, 0.8, 0.75, 0.85, "k", bound="lower")
    assert not below.covered and below.outside == pytest.approx(0.9 / 0.85 - 1)
    assert below.score == pytest.approx(math.log(0.9 / 0.8))
    # an upper bound of 1.0 under a band [0.9, 1.1] (its low end reaches it), over [1.2, 1.4] a miss
    assert coverage.Band("x", "F", 1.0, 1.05, 0.9, 1.1, "k", bound="upper").covered
    high = coverage.Band("x", "F", 1.0, 1.3, 1.2, 1.4, "k", bound="upper")
    assert high.outside == pytest.approx(1.0 / 1.2 - 1) and high.score == pytest.approx(math.log(1.3))


def test_calibration_runs_name_records_of_their_hardware():
    for hw, runs in coverage.CALIBRATION_RUNS.items():
        rows = coverage._rows_for(hw)
        assert len(rows) == len(runs) >= 3 and all(r["hardware"] == hw and r["value"] > 0 for r in rows)


#: misses of the bands with the model error (leave-one-out), docs/accuracy.md: each group's points whose |ln error| is
#: among the largest of their class, so the q of the class's other points falls short: A, SDXL on H100 (out of the other
#: points' domain, fp8 never measured on H100 by SingleNodeModel without it: q is the class's largest other error, SDXL
#: on H200's 0.48 against its own 0.54); C, DeepSeek-V3's GPU-hours (out of domain too, on H800); D, the AWS p4d and
#: p4de on-demand prices; E, GShard's energy and BLOOM's energy per request; F, the 8-GPU job MTTF (the other four's
#: largest, 0.81, against its 1.20); L, GPUStack's vLLM TTFT at 1-8 users and NIM's 200/200 tokens at 25 and 50 users
#: and 500/2,000 and 1,000/1,000 tokens at 50 users (the class's q fell from 0.91 to 0.81 with DataCrunch's eight SGLang
#: rows, 20-40 % low, all within it; vLLM 0.5.4's 8B at 1 req/s, 46 % low, now inside); M, the median TPOT at 8 req/s of
#: SGLang 0.3.0 and vLLM 0.6.0 (8B and 70B: both engines run prefills as steps of their own, stalling decode) and vLLM
#: 0.5.4's ITL on one H200 NVL (8B at 4 req/s, Gemma-2-27B at 1 and 4 req/s); S, vLLM EAGLE-3 at 5-7 drafts; G (its own
#: class, a bare PyTorch loop, q 0.367), 11 of 58: its largest bf16/fp8 decode steps (batch 128-256 at context
#: 512-2,048, 32-128 at 8,192: 31-43 % short) and the int4 (tinygemm) steps at batch 8 and 32 (56 and 78 % short)
KNOWN_MISSES_WITH_MODEL_ERROR = {"A": 1, "C": 1, "D": 2, "E": 2, "F": 1, "L": 8, "M": 7, "S": 3, "G": 11}


def test_model_error_widens_each_band_by_its_class_interval_from_the_other_points():
    rows = coverage.bands()
    widened = coverage.with_model_error(rows)
    errors = {b.id: log_error(b.measured, b.predicted) for b in rows}
    for b, w in zip(rows, widened):
        others = [errors[o.id] for o in rows if o.error_class == b.error_class and o.id != b.id]
        # out of the other points' domain (their hardware, precisions, batch and context spans), q is their largest
        q = max(others) if coverage.outside_without(b.id, b.where) else conformal_q(others)
        assert w.q == q and w.error_class == b.error_class is not None
        high = max(b.high, b.predicted * math.exp(q))
        assert (w.low, w.high) == (min(b.low, b.predicted * math.exp(-q)), min(high, 1.0) if b.fraction else high)
    # a fraction stops at 1, as banded stops a plain-number field: Llama 3's goodput (0.83, q 1.20 of F's others)
    goodput = next(w for w in widened if w.id == "F-llama3-effective-training-time")
    assert goodput.fraction and goodput.predicted * math.exp(goodput.q) > 1.0 == goodput.high
    assert {w.id for w in widened if w.fraction} >= {"C-llama3-405b-8k-mfu", "F-llama3-effective-training-time"}
    # by hand: ReliabilityModel's 5 points (group F), each left out leaves 4, so q is the others' largest;
    # the 8-GPU MTTF (|ln| 1.20, the largest) gets OPT-175B's restarts' 0.81 and stays a miss
    mttf = next(w for w in widened if w.id == "F-kokolis-mttf-8gpu")
    restarts = next(b for b in rows if b.id == "F-opt175b-total-hw-restarts-per-day")
    assert mttf.q == math.log(restarts.measured / restarts.predicted) and not mttf.covered
    for g in {b.group for b in rows}:
        sel = [w for w in widened if w.group == g]
        misses = sum(not w.covered for w in sel)
        assert misses <= KNOWN_MISSES_WITH_MODEL_ERROR.get(g, 0.2 * len(sel)), g
        before = [b for b in rows if b.group == g and b.banded]
        assert sum(w.covered for w in sel) >= sum(b.covered for b in before)  # a hull covers what it holds
    # left out, each SDXL row lies out of the domain of the others (the other hardware's SDXL is SingleNodeModel's
    # only fp8 point): its q is the class's largest other error, the other SDXL row's, which covers H200 (0.48 < 0.54)
    sdxl = {w.id.split("-")[2]: w for w in widened if "stable-diffusion" in w.id}
    assert sdxl["h200x8"].covered and not sdxl["h100x8"].covered
    assert sdxl["h200x8"].q == pytest.approx(sdxl["h100x8"].score) and sdxl["h100x8"].q == pytest.approx(
        sdxl["h200x8"].score
    )
    assert any("precision fp8 was never measured" in line for line in sdxl["h200x8"].outside_domain)
    halves = {g: statistics.median(w.half_width for w in widened if w.group == g) for g in "LM"}
    assert halves["L"] > 4 * halves["M"]  # the TTFT-like class's q is ~4x the ITL-like's (0.95 against 0.24)


def test_model_error_data_is_current():
    """mlsysim_uncertainty/data/model_error.json is what tools/model_error.py writes from this run (the
    coverage tests' run: the mappings run once)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import model_error as tool
    finally:
        sys.path.pop(0)
    assert json.loads(tool.TARGET.read_text()) == json.loads(tool.text()), "run python tools/model_error.py"
