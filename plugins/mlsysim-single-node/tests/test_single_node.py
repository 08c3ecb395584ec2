"""SingleNodeModel / Engine: hand-derived numbers, physics expectations, plugin wiring."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import attrs
import pytest
from mlsysim_single_node import Engine, PerformanceProfile, SingleNodeModel

import mlsysim
from mlsysim_physics import efficiency as E

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_sn import BERT_LARGE, H100, LLAMA8, LLAMA70, MIXTRAL, NO_LINK, RESNET  # noqa: E402

solver = SingleNodeModel()
P8_MATMUL = 8030261248 - 128256 * 4096  # untied input embedding is a lookup, not read per step
KV8 = 2 * 32 * 8 * 128 * 2  # bytes per token at fp16 (GQA)
OVH8 = 10e-6 + 32 * 63e-6  # dispatch tax + 32 layers * 63 us
BW = 3.35e12 * 0.87  # MEMORY_STREAM (kernel-level streaming)
FP16 = 989.5e12 * 0.6


def ms(q):
    return q.to("ms").magnitude


def test_plugin_exposes_both_solvers():
    assert mlsysim.SingleNodeModel is SingleNodeModel
    assert mlsysim.Engine is Engine
    names = mlsysim.solvers()
    assert names["SingleNodeModel"].distribution == "mlsysim-single-node"
    assert names["Engine"].produces == "PerformanceProfile"


def test_engine_identical_to_single_node():
    a = Engine.solve(LLAMA8, H100, batch_size=16, precision="fp8", seq_len=512)
    b = SingleNodeModel().solve(LLAMA8, H100, batch_size=16, precision="fp8", seq_len=512)
    assert a.to_dict() == b.to_dict()


def test_cnn_batch1_hand_numbers():
    p = solver.solve(RESNET, H100, batch_size=1)
    moved = 25557032 * 2 + 2 * 11114984 * 2  # weights once + activations written and read
    t_m, t_c = moved / BW, 8.178e9 / FP16
    assert p.bottleneck == "Memory"
    assert ms(p.latency_memory) == pytest.approx(t_m * 1e3, rel=1e-9)
    assert ms(p.latency_compute) == pytest.approx(t_c * 1e3, rel=1e-6)
    ovh = 10e-6 + 50 * 63e-6  # dispatch tax + 50 layers x 63 us (LAYER_OVERHEAD_S)
    assert ms(p.latency_overhead) == pytest.approx(ovh * 1e3, rel=1e-9)
    assert ms(p.latency) == pytest.approx((t_m + ovh) * 1e3, rel=1e-9)
    assert p.arithmetic_intensity.magnitude == pytest.approx(8.178e9 / moved, rel=1e-6)
    assert p.ridge_point.magnitude == pytest.approx(989.5 / 3.35, rel=1e-9)
    assert p.throughput.to("1/s").magnitude == pytest.approx(1 / (t_m + ovh), rel=1e-9)


def test_llm_decode_batch1_memory_bound():
    p = solver.solve(LLAMA8, H100, batch_size=1)
    moved = P8_MATMUL * 2 + KV8  # weights + the new token's KV write (no context)
    assert p.bottleneck == "Memory"
    assert p.bytes_moved.to("B").magnitude == pytest.approx(moved, rel=1e-12)
    assert ms(p.latency) == pytest.approx((moved / BW + OVH8) * 1e3, rel=1e-9)
    # ~16 GB / 3.35 TB/s = 4.8 ms at peak; 5.5 ms streaming at 0.87; + 32 layers x 63 us = 7.2 ms
    assert 6.5 < ms(p.latency) < 8.0


def test_llm_becomes_compute_bound_at_large_batch():
    p = solver.solve(LLAMA8, H100, batch_size=256)
    flops = 256 * 2 * P8_MATMUL
    assert p.bottleneck == "Compute"
    assert p.flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    assert ms(p.latency) == pytest.approx((flops / FP16 + OVH8) * 1e3, rel=1e-9)
    # physics.md: ~8.6 ms at the upstream efficiency 0.5, + 32 layers x 63 us of fixed per-layer cost
    q = solver.solve(LLAMA8, H100, batch_size=256, efficiency=0.5)
    assert q.bottleneck == "Compute" and 9.5 < ms(q.latency) < 11.0


def test_context_adds_kv_reads_and_attention():
    p = solver.solve(LLAMA8, H100, batch_size=8, seq_len=2048)
    flops = 8 * (2 * P8_MATMUL + 4 * 32 * 2048 * 4096)
    moved = P8_MATMUL * 2 + 8 * 2049 * KV8
    assert p.flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    assert p.bytes_moved.to("B").magnitude == pytest.approx(moved, rel=1e-12)
    assert p.memory_footprint.to("B").magnitude == pytest.approx(8030261248 * 2 + 8 * 2049 * KV8, rel=1e-12)


def test_precision_changes_bytes_and_peak():
    p8 = solver.solve(LLAMA8, H100, batch_size=1, precision="fp8")
    assert p8.peak_flops.to("TFLOP/s").magnitude == pytest.approx(1979)
    assert p8.compute_efficiency == E.COMPUTE_NARROW
    assert p8.bytes_moved.to("B").magnitude == pytest.approx(P8_MATMUL + KV8 / 2, rel=1e-12)


def test_moe_reads_only_touched_experts():
    per_expert = (46702792704 - 12879921152) / 6
    dense = 46702792704 - 32000 * 4096 - 8 * per_expert
    p1 = solver.solve(MIXTRAL, H100, batch_size=1)
    kv = 2 * 32 * 8 * 128 * 2
    assert p1.bytes_moved.to("B").magnitude == pytest.approx((dense + 2 * per_expert) * 2 + kv, rel=1e-9)
    p64 = solver.solve(MIXTRAL, H100, batch_size=64)
    frac = 1 - (1 - 2 / 8) ** 64
    assert p64.bytes_moved.to("B").magnitude == pytest.approx((dense + 8 * per_expert * frac) * 2 + 64 * kv, rel=1e-9)
    # FLOPs from active parameters only
    assert p1.flops.to("FLOP").magnitude == pytest.approx(2 * MIXTRAL.si.matmul_parameters, rel=1e-12)


def test_training_step_hand_numbers():
    p = solver.solve(LLAMA8, H100, batch_size=1, is_training=True, seq_len=2048, zero_stage=3, dp_size=64)
    attn = 2 * 32 * 2048**2 * 4096  # causal QK^T and AV: 2 FLOP/MAC x S^2 x H*d_h / 2 (the mask), 32 layers
    fwd = 2 * P8_MATMUL * 2048 + attn
    # default "selective" (flash attention): the backward re-runs the attention core (Korthikanti Sec. 5)
    assert p.flops.to("FLOP").magnitude == pytest.approx(3 * fwd + attn, rel=1e-12)
    # Korthikanti Table 2, selective (no S x S scores) at 16 bits, with this layer's MLP: norms, QKV and fc1
    # inputs and dropout masks 10 s b h; Q, K, V and the projection input 8 s b h; SwiGLU gate, up and product
    # 3 x 2 s b f (f = 14336 = 3.5 h): 10 + 8 + 21 = 39 s b h (Korthikanti's 34 for a 4h GeLU MLP: 16 s b h)
    act = 32 * 2048 * 4096 * 39
    # the output layer: the LM head's inputs 4 s b h + the fp32 logits 4 s b V + their bf16 copy 2 s b V
    out = 2048 * (4 * 4096 + 6 * 128256)
    assert out == pytest.approx(1.61e9, rel=1e-3)  # 1.6 GB of logits for one sequence of 2048
    state = 8030261248 * (2 + 4 + 12) / 64  # bf16 weights, fp32 gradients (Megatron-LM), fp32 master + Adam
    assert p.memory_footprint.to("B").magnitude == pytest.approx(state + act + out, rel=1e-9)
    assert p.seq_len == 2048 and p.is_training
    kw = dict(batch_size=1, is_training=True, seq_len=2048, zero_stage=3, dp_size=64)
    # "none" / False: eq. 2 stores the 5 a s^2 b bytes of scores, softmax and dropout mask too (32 heads)
    for none in ("none", False):
        n = solver.solve(LLAMA8, H100, activation_recomputation=none, **kw)
        scores = 32 * 5 * 32 * 2048**2  # L * 5 a s^2 b = 3.4 GB on top of the 9.1 GB
        assert n.memory_footprint.to("B").magnitude == pytest.approx(state + act + out + scores, rel=1e-9)
        assert n.flops.to("FLOP").magnitude == pytest.approx(3 * fwd, rel=1e-12)
    for full in ("full", True):
        f = solver.solve(LLAMA8, H100, activation_recomputation=full, **kw)
        assert f.flops.to("FLOP").magnitude == pytest.approx(4 * fwd, rel=1e-12)
        assert f.memory_footprint.to("B").magnitude == pytest.approx(state + 32 * 2048 * 4096 * 2 + out, rel=1e-9)


def test_recompute_modes_of_a_cnn():
    """A fixed-shape network has no attention core: selective is none; full re-runs the forward (4/3)."""
    kw = dict(batch_size=32, is_training=True)
    flops = {rc: solver.solve(RESNET, H100, activation_recomputation=rc, **kw).flops for rc in ("selective", "none")}
    assert flops["selective"] == flops["none"]
    full = solver.solve(RESNET, H100, activation_recomputation="full", **kw).flops
    assert (full / flops["none"]).to("").magnitude == pytest.approx(4 / 3, rel=1e-12)


def test_offload_charges_only_spilled_bytes():
    p = solver.solve(LLAMA70, H100, batch_size=1)
    assert not p.feasible
    footprint = 70553706496 * 2 + 2 * 80 * 8 * 128 * 2
    usable = 80e9 * E.USABLE_MEMORY_FRACTION
    spill = footprint - usable
    moved = p.bytes_moved.to("B").magnitude
    t_m = (moved - spill) / BW + spill / (64e9 * E.NETWORK)
    assert p.offload_spill_bytes.to("B").magnitude == pytest.approx(spill, rel=1e-12)
    assert ms(p.latency_memory) == pytest.approx(t_m * 1e3, rel=1e-9)
    assert p.offload_bandwidth.to("GB/s").magnitude == pytest.approx(64)
    assert p.memory_footprint.to("GB").magnitude == pytest.approx(footprint / 1e9)
    assert p.memory_available.to("GB").magnitude == pytest.approx(72)
    assert "FAILED" in p.constraint_trace[0] and "141.1 GB" in p.constraint_trace[0]


def test_no_host_link_cannot_run():
    p = solver.solve(LLAMA8, NO_LINK, batch_size=1)
    assert not p.feasible and math.isinf(p.latency.magnitude) and p.throughput.magnitude == 0
    assert "no host link" in " ".join(p.constraint_trace)
    assert p.to_dict()["latency"]["value"] == math.inf or p.to_dict()["latency"]["value"] is None


def test_raise_errors_gives_infeasible_error():
    with pytest.raises(mlsysim.InfeasibleError) as err:
        solver.solve(LLAMA70, H100, raise_errors=True)
    assert err.value.required > err.value.available == pytest.approx(72e9)
    assert "141.1 GB" in str(err.value) and "72 GB" in str(err.value)


def test_power_model_memory_bound_vs_compute_bound():
    mem = solver.solve(LLAMA8, H100, batch_size=1)
    t_c, t_m, t = (x.to("s").magnitude for x in (mem.latency_compute, mem.latency_memory, mem.latency))
    expect = 700 * min(1.0, 0.18 + (0.52 * t_c + 0.46 * t_m) / t)
    assert mem.power.to("W").magnitude == pytest.approx(expect, rel=1e-9)
    assert 0.5 * 700 < expect < 0.55 * 700  # bandwidth-bound (u_m 0.72): 0.18 + 0.46 x 0.72 = 0.51 TDP, not 0.3
    assert mem.energy.to("J").magnitude == pytest.approx(expect * t, rel=1e-9)
    comp = solver.solve(LLAMA8, H100, batch_size=512)
    t_c, t_m, t = (x.to("s").magnitude for x in (comp.latency_compute, comp.latency_memory, comp.latency))
    expect = 700 * min(1.0, 0.18 + (0.52 * t_c + 0.46 * t_m) / t)  # the fixed per-layer time draws idle power
    assert comp.bottleneck == "Compute" and comp.power.to("W").magnitude == pytest.approx(expect, rel=1e-9)
    assert expect > 0.75 * 700  # u_c 0.86, u_m 0.35: 0.18 + 0.45 + 0.16 = 0.79 TDP
    assert comp.energy_per_sample < mem.energy_per_sample


def test_power_shares_are_arguments_checked_and_banded():
    r = solver.solve(LLAMA8, H100, batch_size=1, power_idle=0.1, power_compute=0.3, power_memory=0.2)
    t_c, t_m, t = (x.to("s").magnitude for x in (r.latency_compute, r.latency_memory, r.latency))
    assert r.power.to("W").magnitude == pytest.approx(700 * (0.1 + (0.3 * t_c + 0.2 * t_m) / t), rel=1e-12)
    assert (r.power_idle, r.power_compute, r.power_memory) == (0.1, 0.3, 0.2)
    with pytest.raises(mlsysim.InvalidInputError) as err:
        solver.solve(LLAMA8, H100, power_memory=1.01)
    assert err.value.argument == "power_memory"
    from mlsysim_uncertainty import banded

    lo, hi = (x.to("W").magnitude for x in banded(SingleNodeModel, LLAMA8, H100, 1).bands.ranges["power"])
    # the corners: every share and efficiency at the end of its range paired with the fast (slow) corner
    fast = solver.solve(
        LLAMA8, H100, 1, efficiency=0.76, memory_efficiency=0.93, power_idle=0.1, power_compute=0.35, power_memory=0.09
    )
    slow = solver.solve(
        LLAMA8, H100, 1, efficiency=0.44, memory_efficiency=0.76, power_idle=0.26, power_compute=0.7, power_memory=0.84
    )
    assert lo == pytest.approx(min(p.power.to("W").magnitude for p in (fast, slow)), rel=1e-9)
    assert hi == pytest.approx(max(p.power.to("W").magnitude for p in (fast, slow)), rel=1e-9)


def test_no_tdp_means_no_power():
    p = solver.solve(RESNET, NO_LINK, batch_size=1)
    assert p.power is None and p.energy is None and p.energy_per_sample is None  # never a silent 0 J
    assert any("no TDP" in n for n in p.notes)


def test_result_protocol():
    p = solver.solve(RESNET, H100, batch_size=4)
    assert isinstance(p, PerformanceProfile) and p.solver == "SingleNodeModel"
    d = p.to_dict()
    assert d["latency"]["unit"] == "ms" and d["bottleneck"] in ("Memory", "Compute")
    for f in (
        "latency",
        "throughput",
        "bottleneck",
        "mfu",
        "arithmetic_intensity",
        "latency_compute",
        "latency_memory",
        "latency_overhead",
        "memory_footprint",
        "feasible",
        "energy",
        "flops",
        "bytes_moved",
        "peak_flops",
        "bandwidth",
        "ridge_point",
        "precision",
        "batch_size",
        "hardware",
        "model",
        "memory_available",
    ):
        assert f in d
    assert "ResNet-50" in p.summary() and "Memory Wall: Passed" in str(p.constraint_trace)
    assert p.energy_per_inference == p.energy


def test_catalog_points_behave():
    H = mlsysim.Hardware.Cloud
    llama = mlsysim.Models.Language.Llama3_8B
    p1 = solver.solve(llama, H.H100, batch_size=1)
    assert p1.bottleneck == "Memory" and 4.5 < ms(p1.latency) < 7.5
    p256 = solver.solve(llama, H.H100, batch_size=256)
    assert p256.bottleneck == "Compute" and 6 < ms(p256.latency) < 9.5
    r = solver.solve(mlsysim.Models.ResNet50, H.A100, batch_size=1)
    assert r.bottleneck == "Memory"
    # a bigger, faster part is never slower on the same step
    assert solver.solve(llama, H.B200, batch_size=32).latency < solver.solve(llama, H.H100, batch_size=32).latency


def test_evolve_what_if_bandwidth():
    faster = attrs.evolve(H100, memory=attrs.evolve(H100.memory, bandwidth="6.7 TB/s"))
    a, b = solver.solve(LLAMA8, H100), solver.solve(LLAMA8, faster)
    assert ms(b.latency_memory) == pytest.approx(ms(a.latency_memory) / 2, rel=1e-9)


# --------------------------------------------------------------------------- encoders and the prefill phase


def test_bert_large_is_a_forward_pass_over_all_tokens():
    """Issue 14 item 4: BERT-Large at sequence 384 is ~260 GFLOP per sample, not one decode token.
    matmul parameters = 335,141,888 - 30,522 x 1,024 (word-embedding lookup; no LM head in
    inference) = 303,887,360; 2 x 303.9e6 x 384 = 233.39 GFLOP; bidirectional attention
    4 x L x S^2 x H*d_h = 4 x 24 x 384^2 x 1024 = 14.50 GFLOP; total 247.88 GFLOP."""
    p = solver.solve(BERT_LARGE, H100, batch_size=1, seq_len=384)
    matmul = 335141888 - 30522 * 1024
    flops = 2 * matmul * 384 + 4 * 24 * 384**2 * 1024
    assert flops == pytest.approx(247.88e9, rel=1e-4)
    assert p.flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    assert 0.9 * 260e9 < flops < 1.1 * 260e9  # the issue's ~260 GFLOP
    assert p.phase == "forward" and p.bottleneck == "Compute"
    # weights once + every layer reads and writes the 384 x 1024 residual stream (16-bit)
    moved = matmul * 2 + 2 * 384 * 24 * 1024 * 2
    assert p.bytes_moved.to("B").magnitude == pytest.approx(moved, rel=1e-12)
    assert ms(p.latency_compute) == pytest.approx(flops / FP16 * 1e3, rel=1e-9)
    assert solver.solve(BERT_LARGE, H100).seq_len == 512  # default: the whole max_seq_len
    assert solver.solve(BERT_LARGE, H100, seq_len=384, phase="prefill").to_dict() == p.to_dict()
    with pytest.raises(mlsysim.InvalidInputError, match="encoder"):
        solver.solve(BERT_LARGE, H100, seq_len=384, phase="decode")


def test_decoder_prefill_phase_hand_numbers():
    # Llama-3.1-8B, one prompt of 2048 tokens: 2 x P_matmul x S + 2 x L x S^2 x H*d_h (causal)
    p = solver.solve(LLAMA8, H100, batch_size=1, seq_len=2048, phase="prefill")
    flops = 2 * P8_MATMUL * 2048 + 2 * 32 * 2048**2 * 4096
    assert p.phase == "prefill" and p.flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    moved = P8_MATMUL * 2 + 2048 * KV8 + 2 * 2048 * 32 * 4096 * 2  # weights, KV written, residual stream
    assert p.bytes_moved.to("B").magnitude == pytest.approx(moved, rel=1e-12)
    assert p.bottleneck == "Compute" and ms(p.latency_compute) == pytest.approx(flops / FP16 * 1e3, rel=1e-9)
    # the default phase is one decode step, as before
    d = solver.solve(LLAMA8, H100, batch_size=1, seq_len=2048)
    assert d.phase == "decode" and d.flops.magnitude < p.flops.magnitude / 1000
    with pytest.raises(mlsysim.InvalidInputError, match="prompt length"):
        solver.solve(LLAMA8, H100, phase="prefill")
    with pytest.raises(mlsysim.InvalidInputError, match="phase"):
        solver.solve(LLAMA8, H100, phase="forward")
    with pytest.raises(mlsysim.InvalidInputError, match="fixed-shape"):
        solver.solve(RESNET, H100, phase="prefill")
    with pytest.raises(mlsysim.InvalidInputError, match="training"):
        solver.solve(LLAMA8, H100, is_training=True, phase="decode")


def test_catalog_marks_encoders():
    lm = mlsysim.Models.Language
    assert lm.BERT_Large.stack == "encoder" and lm.BERT_Base.stack == "encoder"
    assert lm.T5_11B.stack == "encoder-decoder" and lm.Llama3_8B.stack == "decoder"
    with pytest.raises(mlsysim.InvalidInputError, match="stack"):
        attrs.evolve(lm.BERT_Large, stack="bidirectional")


def test_overhead_bound_step_is_said():
    """ResNet-50 at batch 1: the fixed overhead (dispatch + per-layer time) exceeds both roofline terms, so the why
    lines say the step is overhead-bound with its share of the latency (overhead / latency, by hand from the fields);
    at batch 256 the compute term exceeds it and no such line is given."""
    small = SingleNodeModel().solve(RESNET, H100, batch_size=1)
    t_o, t_c, t_m = (small.latency_overhead.m_as("s"), small.latency_compute.m_as("s"), small.latency_memory.m_as("s"))
    assert t_o > max(t_c, t_m)
    line = next(w for w in small.constraint_trace if w.startswith("Overhead:"))
    assert f"{t_o / small.latency.m_as('s'):.0%} of the latency" in line and "batch 1" in line
    assert f"bottleneck {small.bottleneck} is the roofline regime of the remaining time" in line
    assert small.bottleneck == "Memory" and small.overhead_share() == pytest.approx(t_o / small.latency.m_as("s"))
    assert f"(overhead-bound, {t_o / small.latency.m_as('s'):.0%}; roofline Memory)" in small.summary()
    big = SingleNodeModel().solve(RESNET, H100, batch_size=256)
    assert big.latency_compute.m_as("s") > big.latency_overhead.m_as("s")
    assert not any(w.startswith("Overhead:") for w in big.constraint_trace)
    assert big.overhead_share() is None and f"({big.bottleneck}-bound)" in big.summary()


def test_compare_names_the_overhead_wall_of_an_overhead_bound_step():
    """``mlsysim compare``'s wall is what bounds the step: ResNet-50 at batch 1 is 'overhead' on both parts (its
    share of the latency, the roofline regime after it), at batch 256 a roofline wall again."""
    from click.testing import CliRunner

    from mlsysim_cli import main

    def rows(batch: int) -> list:
        out = CliRunner().invoke(
            main, ["compare", "A100", "H100", "--model", "ResNet50", "--batch-size", str(batch), "--json"]
        )
        assert out.exit_code == 0, out.output
        return json.loads(out.output)["rows"]

    for row in rows(1):
        r = row["result"]
        share = r["latency_overhead"]["value"] / r["latency"]["value"]  # both in ms
        assert (
            row["wall"] == "overhead"
            and row["reason"] == f"fixed overhead {share:.0%} of the latency (roofline: memory)"
        )
    assert [row["wall"] for row in rows(256)] == ["compute", "memory"]
