"""A serving loop measured under load on one H200 (mlsysim_validation.loop_points, bench/device/h200_serve_loop.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlsysim_validation import loop_points as P

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_summaries_are_the_raw_files():
    runs = P.shipped()
    assert [s["raw_file"] for s in runs] == list(P.RAW_FILES)
    for f, s in zip(P.RAW_FILES, runs):
        assert s == P.summary(json.loads((ROOT / f).read_text()), f)
    assert [(s["scheduler"], s["max_num_batched_tokens"]) for s in runs] == [
        ("separate", 2048),
        ("mixed", 512),
        ("separate", 2048),
    ]
    opens = [f"open{x:.2f}" for x in (0.15, 0.35, 0.55, 0.75, 0.9)]
    # run 1: the closed-loop probe, 5 open loops, 3 closed loops; runs 2-3 add the dispersed-length level and lost
    # closed loops to the script's time guard (run 2: 8 and 32 clients, run 3: 32)
    assert [lv["name"] for lv in runs[0]["levels"]] == ["closed256", *opens, "closed1", "closed8", "closed32"]
    assert [lv["name"] for lv in runs[1]["levels"]] == ["closed256", *opens, "open0.35cv0.5", "closed1"]
    assert [lv["name"] for lv in runs[2]["levels"]] == ["closed256", *opens, "open0.35cv0.5", "closed1", "closed8"]
    for s in runs:
        assert all((lv["clients"] is None) == ("arrivals" in lv) for lv in s["levels"])
        # only the dispersed level carries lengths, one pair per request, each within the script's caps
        assert [lv["name"] for lv in s["levels"] if "lengths" in lv] == [
            lv["name"] for lv in s["levels"] if "cv" in lv["name"]
        ]
        for lv in s["levels"]:
            if "lengths" in lv:
                assert len(lv["lengths"]) == len(lv["arrivals"])
                assert max(p for p, _ in lv["lengths"]) <= min(s["max_num_batched_tokens"], 3 * s["prompt"])
                assert max(o for _, o in lv["lengths"]) <= 3 * s["output"]
        # the loop's host time per step is a fraction of a millisecond at every level (CUDA graphs, one copy a step)
        assert all(1e-4 < lv["engine_overhead_s"] < 1e-3 for lv in s["levels"])
        assert s["attention"].startswith("aten._flash_attention_forward varlen")
        # a separate run's prefill steps are measured by prompts; a mixed run's mixed steps by mixed_fit
        assert (s["mixed_step"] is None) == bool(s["prefill_step_s"]) == (s["scheduler"] == "separate")
    assert [len(lv["arrivals"]) for lv in runs[0]["levels"] if not lv["clients"]] == [229, 535, 701, 701, 701]
    fit = runs[1]["mixed_step"]
    assert fit["steps"] > 2000 and fit["residual_p50"] < 0.1 and len(fit["left_out"]) == 1


def test_a_level_is_the_call_a_user_would_make():
    runs = P.shipped()
    s = runs[0]
    open_, closed = s["levels"][1], s["levels"][-1]
    a = P.arguments(s, open_)
    assert a == {
        "output_len": 128,
        "engine": "torch",
        "engine_overhead": open_["engine_overhead_s"],
        "prefill_steps": "separate",
        "max_num_seqs": 256,
        "max_num_batched_tokens": 2048,
        "arrival_rate": open_["arrival_rate"],
    }
    assert P.seq_len(s, open_) == 512
    assert P.arguments(s, closed)["concurrency"] == 32 and "arrival_rate" not in P.arguments(s, closed)
    # run 2: its scheduler and step budget; its dispersed level: the drawn pairs, their means as the lengths
    mixed = runs[1]
    cv = next(lv for lv in mixed["levels"] if "lengths" in lv)
    a = P.arguments(mixed, cv)
    assert (a["prefill_steps"], a["max_num_batched_tokens"]) == ("mixed", 512)
    assert a["length_samples"] == cv["lengths"]
    prompts = [p for p, _ in cv["lengths"]]
    assert P.seq_len(mixed, cv) == round(sum(prompts) / len(prompts)) == 421  # capped at the step: below 512
    assert a["output_len"] == round(sum(o for _, o in cv["lengths"]) / len(prompts))
    # the plain call: the run's means and its length_cv, lognormal (uncapped), no samples
    plain = P.arguments(mixed, cv, samples=False)
    assert (plain["length_cv"], plain["length_dist"], plain["output_len"]) == (0.5, "lognormal", 128)
    assert "length_samples" not in plain and P.seq_len(mixed, cv, samples=False) == 512


_STEPS = {"prompt": 512, "decode_step_s": [[1, 0.006], [3, 0.010]], "prefill_step_s": [[1, 0.020], [2, 0.030]]}


def test_measured_steps_interpolate_the_measured_medians():
    c = P.MeasuredSteps(_STEPS)
    assert c.time(2, 700.0, 702.0) == pytest.approx(0.008)  # halfway between batch 1 and 3
    assert c.time(1024, 0.0, 1024.0, fresh=1.0) == pytest.approx(0.030)  # a prefill step of two prompts
    assert c.time(768, 0.0, 768.0) == pytest.approx(0.025)  # one and a half prompts' tokens
    arr = c.time(3.0, [1500.0, 1600.0], [1503.0, 1603.0])  # the simulator's fast-forward passes contexts as arrays
    assert list(arr) == pytest.approx([0.010, 0.010])
    assert c.drain(0.02, 512) == 0.0


def _level(**kw):
    return {"clients": None, "requests": 0, "arrivals": None, **kw}


@pytest.mark.parametrize("output, itl", [(4, 6.0), (1, float("nan"))])
def test_one_request_at_a_time_waits_for_nothing(output, itl):
    # requests 1 s apart: each is prefilled alone (20 ms: its TTFT), then decodes alone (6 ms a token)
    s = dict(_STEPS, output=output, max_num_seqs=4, max_num_batched_tokens=512)
    got = P.measured_queue(s, _level(arrivals=[0.0, 1.0, 2.0, 3.0]))
    assert got["ttft_mean"] == pytest.approx(20.0) and got["ttft_p90"] == pytest.approx(20.0)
    assert got["itl_mean"] == pytest.approx(itl, nan_ok=True)
    one_client = P.measured_queue(s, _level(clients=1, requests=5))  # a closed loop of one client: the same
    assert one_client["ttft_mean"] == pytest.approx(20.0)


def test_a_second_prompt_waits_for_the_first_ones_prefill_step():
    # 512-token steps hold one prompt: arrivals at 0 and 1 ms, single-token outputs; the second's prefill step
    # starts when the first's ends (20 ms) and ends at 40 ms: TTFT 39 ms; mean (20 + 39) / 2
    s = dict(_STEPS, output=1, max_num_seqs=4, max_num_batched_tokens=512)
    got = P.measured_queue(s, _level(arrivals=[0.0, 0.001]))
    assert got["ttft_mean"] == pytest.approx(29.5)
    # with 1,024-token steps, two prompts arriving together share one prefill step of 30 ms: TTFT 30 ms each (a
    # third, 1 s later, alone: 20 ms)
    s["max_num_batched_tokens"] = 1024
    assert P.measured_queue(s, _level(arrivals=[0.0, 0.0, 1.0]))["ttft_mean"] == pytest.approx(80.0 / 3)
    # the second one arriving 1 ms late misses the first's step (the scheduler took it at 0): 29.5 again
    assert P.measured_queue(s, _level(arrivals=[0.0, 0.001]))["ttft_mean"] == pytest.approx(29.5)


def test_error_is_none_where_the_model_says_overloaded():
    assert P.error(40.0, 50.0) == pytest.approx(0.25)
    assert P.error(40.0, None) is None


def test_a_levels_bands_hold_its_answer():
    # the banded call is the level's call: each interval holds the analytic answer (closed loop of one client)
    s = P.shipped()[0]
    level = next(lv for lv in s["levels"] if lv["clients"] == 1)
    b = P.bands(s, level)
    nominal = P.predict(s, dict(level, arrivals=None), "analytic")
    for f in ("ttft_mean", "itl_mean"):
        lo, hi = b[f]
        assert lo < nominal[f] < hi
    assert set(b) == {f for f, _, _ in P.BANDED}


_MIXED = {"prompt": 512, "decode_step_s": [[1, 0.006], [3, 0.010]], "prefill_step_s": [], "scheduler": "mixed"}
_MIXED["mixed_step"] = {"coef": [0.010, 1e-5, 1e-7]}


def test_a_mixed_step_costs_the_runs_fit_and_a_decode_step_its_median():
    c = P.MeasuredSteps(_MIXED)
    # 512 tokens beside 100 decoding sequences holding 60,000 keys: 10 + 5.12 + 6 ms
    assert c.time(512, 60000.0, 60512.0, fresh=1.0) == pytest.approx(0.02112)
    assert c.time(2, 1100.0, 1102.0) == pytest.approx(0.008)  # no prompt in it: the decode median at batch 2


def test_one_request_at_a_time_in_mixed_steps():
    # one 512-token prompt in a 512-token step: 10 + 5.12 ms (no decode keys), then 6 ms decode steps alone
    s = dict(_MIXED, output=4, max_num_seqs=4, max_num_batched_tokens=512, scheduler="mixed")
    got = P.measured_queue(s, _level(arrivals=[0.0, 1.0, 2.0]))
    assert got["ttft_mean"] == pytest.approx(15.12) and got["itl_mean"] == pytest.approx(6.0)


def _replayed(kind, batch, rows, clients=None):
    walls = [10_000] * len(kind)
    return {
        "name": "x",
        "clients": clients,
        "steps": {"kind": kind, "batch": batch, "wall_us": walls},
        "per_request": {"rows": rows},
    }


def test_replay_gives_each_mixed_steps_tokens_and_keys():
    # prompts of 6 tokens, outputs of 3, 8-token steps of 10 ms; A arrives at 0, B at 5 ms. Step 1: A's prompt
    # alone (6 tokens, no decode keys). Step 2 (B came during step 1): A decodes over its 6 + 1 keys and B's
    # prompt fills 6 of the 7 tokens left: 7 tokens. Then decode steps of 2 and of 1 (A had 3 tokens by step 3).
    rows = [[0.0, 0.01, 0.03, 3, 6], [0.005, 0.02, 0.04, 3, 6]]
    got = P.replay(_replayed("mmdd", [0, 1, 2, 1], rows), 6, 3, 8, 4)
    assert got == [(6, 0, 0.01), (7, 7, 0.01)]
    with pytest.raises(ValueError, match="replay gives d2, loop m2"):  # a record the scheduler cannot give
        P.replay(_replayed("mmmd", [0, 1, 2, 1], rows), 6, 3, 8, 4)
    # a closed loop of one client: its next request two steps after its last token's step, at once when idle
    one = P.replay(_replayed("mddmdd", [0, 1, 1, 0, 1, 1], [[0, 0, 0, 3, 6]] * 2, clients=1), 6, 3, 8, 4)
    assert one == [(6, 0, 0.01), (6, 0, 0.01)]
