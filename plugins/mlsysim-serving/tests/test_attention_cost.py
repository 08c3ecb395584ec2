"""Attention's cost in a step: MLA decode in its absorbed form and the attention matmuls at the KV cache's
precision (issue 16). Numbers derived by hand in the comments."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving import under_load as UL
from mlsysim_serving.precisions import attention_peak
from mlsysim_serving.setup import attention_flops, prepare

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, MLA  # noqa: E402

serving = ServingModel()


def test_multi_head_attention_flops_per_token_pair():
    # Llama-3.1-8B: QK^T and AV over 32 heads x 128 = 4096 wide, 2 FLOPs per multiply-add, 32 layers:
    # 4 * 32 * 4096 = 524,288 FLOPs of one token against one, prefill and decode alike
    assert attention_flops(LLAMA8) == (524_288.0, 524_288.0)


def test_mla_decode_attention_is_the_absorbed_form():
    # prefill, multi-head form: 4 * 61 layers * 128 heads * 128 = 3,997,696
    # decode, absorbed: 128 heads score 512 + 64 = 576 values and sum 512: 2 * 61 * 128 * (576 + 512) = 16,990,208
    prefill, decode = attention_flops(MLA)
    assert prefill == 3_997_696.0
    assert decode == 16_990_208.0


def test_attention_runs_at_the_kv_precision_peak():
    # the fixture H100: bf16 989.5, fp8 1979 TFLOP/s, no int8 peak
    assert attention_peak(H100, "bf16", "fp8") == (989.5e12, None)
    assert attention_peak(H100, "fp8", "bf16") == (1979e12, None)
    peak, note = attention_peak(H100, "int8", "bf16")  # an int8 cache is dequantized in the kernel
    assert peak == 989.5e12 and note is not None and "dequantized" in note


def test_bf16_kv_attention_costs_its_flops_at_the_bf16_peak():
    # same fp8 matmuls (same efficiency), BF16 vs FP8 KV: the decode compute differs by the attention alone,
    # B * a * S / eta * (1/989.5e12 - 1/1979e12) with a = 524,288 (B = 64, S = 4,096: 137.4 GFLOP of attention)
    kw = dict(precision="fp8", tp_size=1)
    bf16 = serving.solve(LLAMA8, H100, 4096, 64, kv_precision="bf16", **kw)
    fp8 = serving.solve(LLAMA8, H100, 4096, 64, kv_precision="fp8", **kw)
    eta = float(bf16.compute_efficiency)
    attention = 64 * 524_288.0 * 4096
    expected = attention / eta * (1 / 989.5e12 - 1 / 1979e12)
    got = (bf16.decode_compute_time - fp8.decode_compute_time).to("s").magnitude
    assert got == pytest.approx(expected, rel=1e-9)
    assert bf16.decode_flops == fp8.decode_flops  # the FLOPs are the same, their rate is not


def test_step_cost_counts_mla_decode_and_prefill_attention_apart():
    # one decode step of B sequences at context S on the engine's step cost equals the static decode step,
    # and a lone prefill of S tokens the static prefill: each with its own attention form
    setup = prepare(MLA, H100, "fp8", 8, "bf16", None, None, None, False, None)
    cost = UL.step_cost(setup)
    B, S = 16, 2000
    r = serving.solve(MLA, H100, S, B, precision="fp8", kv_precision="bf16", tp_size=8)
    assert float(cost.time(float(B), B * float(S), B * (S + 1.0))) == pytest.approx(r.itl.to("s").magnitude, rel=1e-9)
    one = serving.solve(MLA, H100, S, 1, precision="fp8", kv_precision="bf16", tp_size=8)
    assert float(cost.prefill(float(S))) == pytest.approx(one.ttft.to("s").magnitude, rel=1e-9)
    # the decode attention of the step: B * 16,990,208 * S / 8 GPUs at 989.5 TFLOP/s x eta
    c, _ = cost.parts(float(B), B * float(S), B * (S + 1.0))
    c0, _ = cost.parts(float(B), 0.0, B * (S + 1.0))
    eta = float(r.compute_efficiency)
    assert c - c0 == pytest.approx(B * 16_990_208.0 * S / 8 / (989.5e12 * eta), rel=1e-12)


def test_simulator_prices_a_prompt_in_the_prefill_form():
    # one request of 8,000 prompt tokens arriving at 0 on an idle engine: its whole prompt is one step
    # (budget 8,192), so its first token comes after exactly the step cost's lone prefill of 8,000 tokens,
    # whose attention is the multi-head form (3,997,696 per token pair), not MLA decode's absorbed one
    # (16,990,208): compute-bound at this length (8,000 x 74 GFLOP / 8 GPUs at 1979 TFLOP/s x 0.5 = 75 ms
    # against 29 ms to stream 84 GB of FP8 weights per GPU), so the two forms give different times
    from mlsysim_serving import simulate as SIM

    setup = prepare(MLA, H100, "fp8", 8, "bf16", None, None, None, False, None)
    cost = UL.step_cost(setup)
    arrive, first, _ = SIM.simulate(cost, np.array([8000]), np.array([2]), 0.0, 8192, 8, 1e6, arrivals=np.zeros(1))
    prefill = float(cost.prefill(8000.0))
    assert first[0] - arrive[0] == pytest.approx(prefill, rel=1e-12)
    # the same work priced in the decode form costs 8000^2/2 * (16,990,208 - 3,997,696) / 8 GPUs more
    # attention FLOPs at 989.5 TFLOP/s x eta (0.105 s at eta 0.5)
    absorbed = float(cost.time(8000.0, 8000.0 * 8000.0 / 2.0, 8000.0, True))
    extra = 8000.0**2 / 2.0 * (16_990_208.0 - 3_997_696.0) / 8.0 / (989.5e12 * setup.eta_c)
    assert absorbed - prefill == pytest.approx(extra, rel=1e-9)


def test_the_notes_say_when_attention_runs_at_another_peak():
    # fp8 matmuls beside a bf16 KV cache: the attention's peak differs, and the result says so
    r = serving.solve(LLAMA8, H100, 1024, 8, precision="fp8", kv_precision="bf16")
    assert any("QK^T and AV at the bf16 KV cache's dense peak" in n for n in r.notes)
    same = serving.solve(LLAMA8, H100, 1024, 8, precision="bf16")
    assert not any("QK^T" in n for n in same.notes)
