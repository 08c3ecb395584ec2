"""ServingModel: hand-derived numbers, tensor parallelism, KV (GQA/MLA), MoE, plugin wiring."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel, ServingResult

import mlsysim
from mlsysim_physics import efficiency as E

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70, MIXTRAL, MLA, PCIE_ONLY, RESNET  # noqa: E402

serving = ServingModel()
P8 = 8030261248
P8_MATMUL = P8 - 128256 * 4096
KV8 = 2 * 32 * 8 * 128 * 2
OVH8 = 10e-6 + 32 * 63e-6 + 1e-3  # dispatch + 32 layers x 63 us + one serving iteration (STEP_OVERHEAD_S)
BW = 3.35e12 * 0.87  # MEMORY_STREAM (kernel-level streaming)
FP16 = 989.5e12 * 0.6


def ms(q):
    return q.to("ms").magnitude


def test_plugin_exposes_solver():
    assert mlsysim.ServingModel is ServingModel
    assert mlsysim.solvers()["ServingModel"].distribution == "mlsysim-serving"


def test_llama8b_h100_hand_numbers():
    r = serving.solve(LLAMA8, H100, seq_len=2048, batch_size=1)
    assert isinstance(r, ServingResult) and r.feasible
    assert r.kv_cache_size.to("B").magnitude == 2048 * KV8 == 268435456
    prefill_flops = 2 * P8_MATMUL * 2048 + 2 * 32 * 2048**2 * 4096
    assert r.prefill_flops.to("FLOP").magnitude == pytest.approx(prefill_flops, rel=1e-12)
    assert ms(r.ttft) == pytest.approx((prefill_flops / FP16 + OVH8) * 1e3, rel=1e-9)
    assert r.prefill_bottleneck == "Compute" and r.decode_bottleneck == "Memory"
    decode_bytes = P8_MATMUL * 2 + 2049 * KV8
    assert r.decode_bytes.to("B").magnitude == pytest.approx(decode_bytes, rel=1e-12)
    assert ms(r.itl) == pytest.approx((decode_bytes / BW + OVH8) * 1e3, rel=1e-9)
    assert r.tokens_per_second.to("1/s").magnitude == pytest.approx(1 / r.itl.to("s").magnitude)
    assert r.model_weights_size.to("B").magnitude == P8 * 2
    # prefill memory floor: the weights stream once
    assert ms(r.prefill_memory_time) >= P8_MATMUL * 2 / BW * 1e3


def test_guide_ranges_on_catalog():
    r = serving.solve(mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100, seq_len=2048, batch_size=1)
    assert r.kv_cache_size.to("GB").magnitude == pytest.approx(0.268, abs=0.005)
    assert 5 <= ms(r.itl) <= 9 and 15 <= ms(r.ttft) <= 200 and r.feasible


def test_llama70b_fits_only_with_tp_and_fp8():
    one = serving.solve(LLAMA70, H100, seq_len=2048)
    assert not one.feasible
    assert one.total_memory_required > one.memory_available
    assert "FAILED" in one.constraint_trace[0] and "141.1 GB" in one.constraint_trace[0]
    two = serving.solve(LLAMA70, H100, seq_len=2048, tp_size=2, precision="fp8")
    assert two.feasible and two.kv_precision == "fp8"
    assert two.weights_per_gpu.to("B").magnitude == pytest.approx(70553706496 / 2)
    cat = serving.solve(
        mlsysim.Models.Language.Llama3_70B, mlsysim.Hardware.Cloud.H100, 2048, tp_size=2, precision="fp8"
    )
    assert cat.feasible
    with pytest.raises(mlsysim.InfeasibleError) as err:
        serving.solve(LLAMA70, H100, seq_len=2048, raise_errors=True)
    assert err.value.required > err.value.available


def test_tensor_parallel_communication_hand_numbers():
    r = serving.solve(LLAMA70, H100, seq_len=1024, batch_size=4, tp_size=4, precision="fp8")
    # decode: 2 all-reduces per layer of B*d*2 bytes (activations stay 16-bit under fp8 weights)
    msg = 4 * 8192 * 2
    ring = 2 * 3 / 4 * msg / (450e9 * E.NETWORK) + 2 * 3 * 0.5e-6 + E.COLLECTIVE_LAUNCH_S
    assert ms(r.decode_communication_time) == pytest.approx(2 * 80 * ring * 1e3, rel=1e-9)
    msg_p = 4 * 1024 * 8192 * 2
    ring_p = 2 * 3 / 4 * msg_p / (450e9 * E.NETWORK) + 2 * 3 * 0.5e-6 + E.COLLECTIVE_LAUNCH_S
    assert ms(r.prefill_communication_time) == pytest.approx(2 * 80 * ring_p * 1e3, rel=1e-9)
    # weights and KV split by tp (8 KV heads over 4 GPUs)
    kv_total = 4 * 1024 * 2 * 80 * 8 * 128 * 1
    assert r.kv_cache_per_gpu.to("B").magnitude == pytest.approx(kv_total / 4)
    assert ms(r.itl) == pytest.approx(
        ms(r.decode_memory_time) + ms(r.decode_communication_time) + ms(r.overhead), rel=1e-9
    )


def test_tp_beyond_kv_heads_replicates_kv():
    r = serving.solve(LLAMA70, H100, seq_len=1024, tp_size=8, gpus_per_node=16)
    kv_total = 1024 * 2 * 80 * 8 * 128 * 2
    assert r.kv_cache_per_gpu.to("B").magnitude == pytest.approx(kv_total / 8)
    wide = TransformerWorkload_like_gqa2()
    r2 = serving.solve(wide, H100, seq_len=1024, tp_size=8)
    # 2 KV heads over 8 GPUs: each GPU holds one KV head = half of the cache
    kv2 = 1024 * 2 * 8 * 2 * 128 * 2
    assert r2.kv_cache_per_gpu.to("B").magnitude == pytest.approx(kv2 / 2)


def TransformerWorkload_like_gqa2():
    from mlsysim_core.types import TransformerWorkload

    return TransformerWorkload(
        name="gqa2", parameters=1_000_000_000, layers=8, hidden_dim=4096, heads=32, kv_heads=2, head_dim=128
    )


def test_mla_kv_is_latent_and_replicated_under_tp():
    r = serving.solve(MLA, H100, seq_len=4096, precision="fp8", tp_size=8)
    per_token = 61 * (512 + 64) * 1  # bytes at fp8
    assert r.kv_cache_size.to("B").magnitude == pytest.approx(4096 * per_token)
    assert r.kv_cache_per_gpu.to("B").magnitude == pytest.approx(4096 * per_token)
    assert not r.feasible  # 671 GB of fp8 weights over 8 x 72 GB usable


def test_moe_weights_total_flops_active():
    r1 = serving.solve(MIXTRAL, H100, seq_len=128, batch_size=1)
    per_expert = (46702792704 - 12879921152) / 6
    dense = 46702792704 - 32000 * 4096 - 8 * per_expert
    assert r1.model_weights_size.to("B").magnitude == pytest.approx(46702792704 * 2)
    assert r1.decode_bytes.to("B").magnitude == pytest.approx((dense + 2 * per_expert) * 2 + 129 * KV8, rel=1e-9)
    assert r1.decode_flops.to("FLOP").magnitude == pytest.approx(
        2 * MIXTRAL.si.matmul_parameters + 4 * 32 * 128 * 4096, rel=1e-12
    )
    r64 = serving.solve(MIXTRAL, H100, seq_len=128, batch_size=64)
    assert r64.decode_bytes > r1.decode_bytes


def test_kv_precision_separate():
    a = serving.solve(LLAMA8, H100, seq_len=4096, batch_size=8)
    b = serving.solve(LLAMA8, H100, seq_len=4096, batch_size=8, kv_precision="fp8")
    assert b.kv_cache_size.to("B").magnitude == pytest.approx(a.kv_cache_size.to("B").magnitude / 2)
    assert b.itl < a.itl and b.kv_precision == "fp8" and b.precision == "bf16"  # H100 default_precision


def test_output_len_gives_mean_itl_e2e_and_rps():
    r = serving.solve(LLAMA8, H100, seq_len=1000, batch_size=4, output_len=201)
    mid = serving.solve(LLAMA8, H100, seq_len=1100, batch_size=4)
    assert ms(r.itl_mean) == pytest.approx(ms(mid.itl), rel=1e-12)
    assert ms(r.e2e_latency) == pytest.approx(ms(r.ttft) + 200 * ms(r.itl_mean), rel=1e-12)
    assert r.requests_per_second.to("1/s").magnitude == pytest.approx(4 / r.e2e_latency.to("s").magnitude)
    assert r.kv_cache_size.to("B").magnitude == 4 * 1201 * KV8


def test_energy_per_token():
    r = serving.solve(LLAMA8, H100, seq_len=512, batch_size=1)
    t_c, t_m, t = (x.to("s").magnitude for x in (r.decode_compute_time, r.decode_memory_time, r.itl))
    p = 700 * min(1, 0.18 + (0.52 * t_c + 0.46 * t_m) / t)
    assert r.decode_power.to("W").magnitude == pytest.approx(p, rel=1e-9)
    assert r.energy_per_token.to("J").magnitude == pytest.approx(p * t, rel=1e-9)
    big = serving.solve(LLAMA8, H100, seq_len=512, batch_size=64)
    assert big.energy_per_token < r.energy_per_token


def test_power_shares_are_arguments_checked_and_banded():
    r = serving.solve(LLAMA8, H100, seq_len=512, power_idle=0.1, power_compute=0.3, power_memory=0.2)
    t_c, t_m, t = (x.to("s").magnitude for x in (r.decode_compute_time, r.decode_memory_time, r.itl))
    assert r.decode_power.to("W").magnitude == pytest.approx(700 * (0.1 + (0.3 * t_c + 0.2 * t_m) / t), rel=1e-12)
    assert (r.power_idle, r.power_compute, r.power_memory) == (0.1, 0.3, 0.2)
    default = serving.solve(LLAMA8, H100, seq_len=512)
    shipped = (E.POWER_IDLE_FRACTION, E.POWER_COMPUTE_FRACTION, E.POWER_MEMORY_FRACTION)
    assert (default.power_idle, default.power_compute, default.power_memory) == shipped
    for name, bad in (("power_idle", 0.0), ("power_memory", 1.5), ("power_compute", "x")):
        with pytest.raises(mlsysim.InvalidInputError) as err:
            serving.solve(LLAMA8, H100, seq_len=512, **{name: bad})
        assert err.value.argument == name
    from mlsysim_uncertainty import banded

    held = banded(
        ServingModel,
        LLAMA8,
        H100,
        512,
        8,
        output_len=64,
        **dict(zip(("power_idle", "power_compute", "power_memory"), shipped)),
    )
    moved = banded(ServingModel, LLAMA8, H100, 512, 8, output_len=64)
    (lo_h, hi_h), (lo_m, hi_m) = (b.bands.ranges["energy_per_token"] for b in (held, moved))
    assert lo_m < lo_h <= hi_h < hi_m  # the shares' ranges widen the energy band; the latency's stays
    assert held.bands.ranges["itl"] == moved.bands.ranges["itl"]
    grid = serving.sweep(model=LLAMA8, hardware=H100, seq_len=512, power_idle=[0.1, 0.2])
    assert list(grid["power_idle"]) == [0.1, 0.2] and grid["decode_power"][1] > grid["decode_power"][0]


def test_pcie_only_part_defaults_to_one_gpu_per_node():
    with pytest.raises(mlsysim.InvalidInputError) as err:
        serving.solve(LLAMA8, PCIE_ONLY, seq_len=512, tp_size=2)
    assert "[1, 1]" in str(err.value)
    r = serving.solve(LLAMA8, PCIE_ONLY, seq_len=512, tp_size=2, gpus_per_node=4)
    assert r.decode_communication_time.magnitude > 0


def test_a_phase_whose_fixed_overhead_exceeds_every_term_is_said_to_be_overhead_bound():
    """Llama-3.2-1B decode on an H100: weights 2.47 GB / (3.35 TB/s x eta_m) is ~0.85 ms, under the fixed per-step
    overhead (1 ms engine + 16 layers x 63 us = 2.018 ms): the Decode line says so with the overhead's share of the
    ITL (2.018 / 2.872 = 70 %), decode_bottleneck keeps the roofline regime (Memory). Llama-3-8B's decode (5.24 ms of
    memory) is not overhead-bound; both lines show the overhead term."""
    small = serving.solve(mlsysim.Models.Llama3_1B, mlsysim.Hardware.H100, seq_len=512)
    o, itl = small.overhead.m_as("s"), small.itl.m_as("s")
    assert o > max(small.decode_memory_time.m_as("s"), small.decode_compute_time.m_as("s"))
    decode = next(w for w in small.constraint_trace if w.startswith("Decode:"))
    assert small.decode_bottleneck == "Memory" and f"overhead {o * 1e3:.4g} ms)" in decode
    assert f"overhead-bound: the fixed per-step overhead is {o / itl:.0%} of the ITL" in decode
    big = serving.solve(LLAMA8, H100, seq_len=512)
    lines = [w for w in big.constraint_trace if w.startswith(("Prefill:", "Decode:"))]
    assert len(lines) == 2 and all("overhead" in w and "overhead-bound" not in w for w in lines)


def test_to_dict_and_trace():
    r = serving.solve(LLAMA8, H100, seq_len=512)
    d = r.to_dict()
    assert d["solver"] == "ServingModel" and d["itl"]["unit"] == "ms" and d["itl_mean"] is None
    assert r.bottlenecks == {"prefill": "Compute", "decode": "Memory"}
    assert "Passed" in r.constraint_trace[0] and r.prompt_cache_hit_ratio == 0.0
    assert not hasattr(RESNET, "kv_cache_bytes")


def test_continuous_batching_interleaves_prefills():
    r = serving.solve(LLAMA70, H100, seq_len=5000, batch_size=25, precision="fp8", tp_size=2, output_len=500)
    one = serving.solve(LLAMA70, H100, seq_len=5000, batch_size=1, precision="fp8", tp_size=2)
    assert ms(r.prefill_time_per_request) == pytest.approx(ms(one.ttft), rel=1e-12)
    assert ms(r.itl_continuous) == pytest.approx(ms(r.itl_mean) + 25 / 500 * ms(one.ttft), rel=1e-12)
    c1 = serving.solve(LLAMA70, H100, seq_len=5000, batch_size=1, precision="fp8", tp_size=2, output_len=500)
    assert ms(c1.prefill_time_per_request) == pytest.approx(ms(c1.ttft))
    assert c1.itl_continuous < r.itl_continuous


def test_batch1_itl_is_stream_time_plus_sourced_fixed_costs():
    """Issue 14 item 6: each overhead counted once. Batch-1 ITL at context 2048 =
    bytes / (3.35 TB/s x 0.87 kernel-level streaming) + 80 or 32 layers x 63 us (fixed per-layer GPU
    time, from gpt-fast) + 1 ms serving iteration + 10 us dispatch + tensor-parallel all-reduces
    (2 per layer, ring: 2(n-1)/n x M/(450 GB/s x 0.8) + 2(n-1) x 0.5 us + 5 us launch)."""
    # Llama-3-70B, TP 8, bf16: weights read = P - untied input embedding, / 8 GPUs; KV of 2049 tokens
    # per GPU: 2 x 80 layers x 8 kv heads x 128 x 2 B / 8 (one KV head per GPU)
    p70 = 70553706496 - 128256 * 8192
    kv70 = 2 * 80 * 8 * 128 * 2 / 8
    moved = p70 * 2 / 8 + 2049 * kv70
    msg = 8192 * 2  # one token's hidden state, 16-bit
    ring = 2 * 7 / 8 * msg / (450e9 * 0.8) + 2 * 7 * 0.5e-6 + 5e-6
    comm = 2 * 80 * ring
    itl = moved / BW + 80 * 63e-6 + 1e-3 + 10e-6 + comm
    r = serving.solve(LLAMA70, H100, seq_len=2048, tp_size=8)
    assert ms(r.itl) == pytest.approx(itl * 1e3, rel=1e-9)
    assert ms(r.itl) == pytest.approx(13.97, abs=0.02)  # 6.01 stream + 5.04 layers + 1.01 + 1.93 comm
    # Mixtral-8x7B, TP 2, bf16, one token: dense part + 2 of 8 experts per layer, / 2 GPUs
    mx = serving.solve(MIXTRAL, H100, seq_len=2048, tp_size=2)
    expert = (46702792704 - 12879921152) / 6  # one expert's parameters, all layers
    dense = 46702792704 - 8 * expert - 32000 * 4096  # attention, norms, router, LM head
    kvm = 2 * 32 * 8 * 128 * 2 / 2
    moved_m = (dense + 2 * expert) * 2 / 2 + 2049 * kvm
    ring_m = 2 * 1 / 2 * 4096 * 2 / (450e9 * 0.8) + 2 * 1 * 0.5e-6 + 5e-6
    itl_m = moved_m / BW + 32 * 63e-6 + 1e-3 + 10e-6 + 2 * 32 * ring_m
    assert ms(mx.itl) == pytest.approx(itl_m * 1e3, rel=1e-9)
    # the two fixed costs are the constants named in mlsysim_physics.efficiency, each with its source
    assert (E.MEMORY_STREAM, E.LAYER_OVERHEAD_S, E.STEP_OVERHEAD_S) == (0.87, 63e-6, 1e-3)


def test_beam_search_shares_the_prefill_and_decodes_every_beam():
    """Issue 14 item 8: 2 requests x 4 beams, prompts of 1024 tokens, 128 generated tokens. One
    prefill of the 2 prompts; each decode step runs 8 sequences (weights read once, 8 KV caches of
    1024 + 1 tokens read) and yields one output token per request. The cache held: each prompt's 1024
    tokens once, shared by its 4 beams, and each beam's 128 generated tokens (TensorRT-LLM's KV cache
    manager shares a prompt's blocks among the beams)."""
    r = serving.solve(LLAMA8, H100, seq_len=1024, batch_size=2, output_len=128, beam_width=4)
    prefill_flops = 2 * (2 * P8_MATMUL * 1024 + 2 * 32 * 1024**2 * 4096)  # 2 prompts, not 8
    assert r.prefill_flops.to("FLOP").magnitude == pytest.approx(prefill_flops, rel=1e-12)
    decode_bytes = P8_MATMUL * 2 + 8 * 1025 * KV8
    assert r.decode_bytes.to("B").magnitude == pytest.approx(decode_bytes, rel=1e-12)
    assert ms(r.itl) == pytest.approx((decode_bytes / BW + OVH8) * 1e3, rel=1e-9)
    assert r.decode_flops.to("FLOP").magnitude == pytest.approx(8 * (2 * P8_MATMUL + 4 * 32 * 1024 * 4096), rel=1e-12)
    assert r.kv_cache_size.to("B").magnitude == pytest.approx(2 * (1024 + 4 * 128) * KV8, rel=1e-12)
    assert r.tokens_per_second.to("1/s").magnitude == pytest.approx(2 / r.itl.to("s").magnitude)
    assert r.beam_width == 4 and r.batch_size == 2
    # the same as 2 prompts prefilled + 8 independent sequences decoded
    pre = serving.solve(LLAMA8, H100, seq_len=1024, batch_size=2, output_len=128)
    dec = serving.solve(LLAMA8, H100, seq_len=1024, batch_size=8, output_len=128)
    assert r.ttft == pre.ttft and r.itl_mean == dec.itl_mean and r.itl == dec.itl
    assert ms(r.e2e_latency) == pytest.approx(ms(pre.ttft) + 127 * ms(dec.itl_mean), rel=1e-12)
    assert r.requests_per_second.magnitude == pytest.approx(2 / r.e2e_latency.to("s").magnitude)
    held = dec.total_memory_required - r.total_memory_required  # 8 prompts' caches held against 2
    assert held.to("B").magnitude == pytest.approx(6 * 1024 * KV8, rel=1e-9)
    with pytest.raises(mlsysim.InvalidInputError, match="beam_width"):
        serving.solve(LLAMA8, H100, seq_len=1024, beam_width=0)
    swept = ServingModel.sweep(
        model=LLAMA8, hardware=H100, seq_len=1024, batch_size=[1, 2], output_len=128, beam_width=4
    )
    assert swept["itl"].to("ms").magnitude[1] == pytest.approx(ms(r.itl), rel=1e-12)
