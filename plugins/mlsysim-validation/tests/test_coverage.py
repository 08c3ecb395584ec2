"""The bands' coverage of the calibration set (docs/accuracy.md, Bands; mlsysim validate --bands)."""

from __future__ import annotations

from mlsysim_validation import coverage

#: groups below 80 % coverage and their misses (docs/accuracy.md, Bands): A, MLPerf GPT-J (beam search
#: not modelled) and SDXL (UNet at fp8 far below the transformer efficiency); L, TTFT under load of short
#: prompts at 5-50 users (the engine's extra decode steps before a prefill are not modelled) and the
#: client-side TTFT of GPUStack's Qwen3-8B runs at 1-8 users (the HTTP/chat frontend's time is not modelled)
#: and of the open loops of SGLang v0.3.0 (36-45 % low) and vLLM v0.5.4 on one H200 NVL (47-61 % low; its
#: server pinned to one host core); M, SGLang v0.3.0's median TPOT on 8B/A100 at 8 requests/s and 70B/4xH100
#: at 4 and 8/s (its prefill steps stall decode: TPOT grows ~35 % from 4 to 8/s, the model's 4-7 %), vLLM
#: v0.5.4's mean ITL of 8B at 4/s and Gemma-2-27B at 1 and 4/s (8-47 % beyond the band: the host time of a
#: one-core server is not modelled) and three GPUStack Qwen3-8B TPOTs just above their bands (0-3 %);
#: E, the Llama 2 and Llama 3 70B cards (their implied ~423 g/kWh lies above every published US average of
#: 2023-2025) and Patterson et al.'s four runs at the default utilization (their measured average power lies
#: below the 76-82 % of rated node power the utilization range spans: 1-23 % high); F, the 8-GPU
#: job MTTF (software causes not modelled), OPT-175B restarts and the Llama 3 goodput (both lower bounds);
#: S, EAGLE-3 at 4-7 drafts (vLLM time per token 21-27 % low, SGLang tokens/s 24-27 % high: its drafting
#: costs more than the head's weight bytes, which is all the model charges); P, every point: the prefill
#: pools are bound by the expert all-to-all, whose network efficiency ServingModel does not band (a band of
#: +-0.04 %), the H100 decode pool is 8 % low against a +-1 % band (its step too is mostly all-to-all) and
#: the GB200 decode pool +68 % (the source states no batch at that precision); D, the rental estimate (a
#: committed 3-year price) against the four on-demand list prices (unsold hours not modelled: 37-118 %
#: above the band), the capacity block and Mosaic's reserved cluster (short or unstated terms, ~10 % above),
#: two 3-year prices (GCP A3 7 % above, AWS p4de 4 % below) and DeepSeek's owner costing (the owned TCO's
#: +-0.6 % band, 5 % below)
KNOWN_MISSES = {"A": 2, "L": 25, "M": 9, "E": 6, "F": 3, "S": 6, "P": 5, "D": 9}


def test_bands_contain_most_measurements_and_their_predictions():
    rows = coverage.bands()
    # the banded groups are derived (a point some solver with ranges of its own moves): every group; D by
    # the filed operating margins (the rental estimate), the US electricity price and hyperscale PUE ranges
    groups = ("A", "B", "C", "D", "E", "F", "L", "M", "S", "P")
    assert {b.group for b in rows} == set(groups) and len(rows) >= 98
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


def test_calibration_runs_name_records_of_their_hardware():
    for hw, runs in coverage.CALIBRATION_RUNS.items():
        rows = coverage._rows_for(hw)
        assert len(rows) == len(runs) >= 3 and all(r["hardware"] == hw and r["value"] > 0 for r in rows)
