"""A serving loop measured under load on one H200 (mlsysim_validation.loop_points, bench/device/h200_serve_loop.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlsysim_validation import loop_points as P

RAW = Path(__file__).resolve().parents[3] / P.RAW_FILE


def test_the_shipped_summary_is_the_raw_files():
    raw = json.loads(RAW.read_text())
    s = P.shipped()
    assert s == P.summary(raw)
    # 9 levels: the closed-loop probe at max_num_seqs, 5 open loops, 3 closed loops; an open loop's arrivals kept
    assert [lv["name"] for lv in s["levels"]] == [
        "closed256",
        *(f"open{x:.2f}" for x in (0.15, 0.35, 0.55, 0.75, 0.9)),
        "closed1",
        "closed8",
        "closed32",
    ]
    assert all((lv["clients"] is None) == ("arrivals" in lv) for lv in s["levels"])
    assert [len(lv["arrivals"]) for lv in s["levels"] if not lv["clients"]] == [229, 535, 701, 701, 701]
    # the loop's host time per step is a fraction of a millisecond at every level (CUDA graphs, one copy a step)
    assert all(1e-4 < lv["engine_overhead_s"] < 1e-3 for lv in s["levels"])
    assert s["attention"].startswith("aten._flash_attention_forward varlen")


def test_a_level_is_the_call_a_user_would_make():
    s = P.shipped()
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
    assert P.arguments(s, closed)["concurrency"] == 32 and "arrival_rate" not in P.arguments(s, closed)


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
    s = P.shipped()
    level = next(lv for lv in s["levels"] if lv["clients"] == 1)
    b = P.bands(s, level)
    nominal = P.predict(s, dict(level, arrivals=None), "analytic")
    for f in ("ttft_mean", "itl_mean"):
        lo, hi = b[f]
        assert lo < nominal[f] < hi
    assert set(b) == {f for f, _, _ in P.BANDED}
