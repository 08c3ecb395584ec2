"""Issue 18: context parallelism, pipeline schedules by name, FP8 GEMMs (hand-derived values)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_distributed import DistributedModel, TrainingEfficiency
from mlsysim_distributed import kernels as K
from mlsysim_distributed import schedules as SCH

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import (
    ComputeCore,
    Fleet,
    HardwareNode,
    MemoryHierarchy,
    NetworkFabric,
    Node,
    TransformerWorkload,
)


def small_fleet(count=2, per_node=4, accel=None):
    """``count`` nodes of ``per_node`` 100 TFLOP/s GPUs, a 100 GB/s node link (1 us), a 10 GB/s fabric (5 us)."""
    accel = accel or HardwareNode(
        name="TestGPU",
        compute=ComputeCore(precision_flops={"bf16": "100 TFLOP/s"}, default_precision="bf16"),
        memory=MemoryHierarchy(capacity="80 GB", bandwidth="2 TB/s"),
    )
    node = Node(
        name="TestNode",
        accelerator=accel,
        accelerators_per_node=per_node,
        intra_node=NetworkFabric(name="link", bandwidth="100 GB/s", latency="1 us"),
        nics_per_node=per_node,
    )
    return Fleet(
        name="TestFleet",
        node=node,
        count=count,
        fabric=NetworkFabric(name="net", bandwidth="80 Gbit/s", latency="5 us"),
    )


H, L, V = 1024, 4, 1000
LAYER_P = 12 * H * H
TINY = TransformerWorkload(
    name="TinyGPT",
    parameters=L * LAYER_P + 2 * V * H,
    layers=L,
    hidden_dim=H,
    heads=16,
    ffn_dim=4 * H,
    vocab_size=V,
    max_seq_len=4096,
)
EXACT = TrainingEfficiency(compute=0.5, network=1.0)
solve = DistributedModel().solve

S = 512
KV = 2 * 16 * 64 * S * 2.0  # K and V of one 512-token sequence, 16 heads x 64, 2 B: 2,097,152 B


def test_cp_all_gather_bytes_per_layer_by_hand():
    """cp=2 on the 100 GB/s node link: (cp-1)/cp * 2 MiB / 100 GB/s + 1 us per pass, forward and backward,
    4 layers, not overlapped (Llama 3)."""
    r = solve(TINY, small_fleet(), batch_size=4, cp_size=2, cp_variant="all-gather", seq_len=S, efficiency=EXACT)
    one = 0.5 * KV / 100e9 + 1e-6
    assert r.parallelism == {"dp": 4, "tp": 1, "pp": 1, "ep": 1, "cp": 2}
    assert r.cp_communication_latency.m_as("s") == pytest.approx(4 * 2 * one, rel=1e-9)
    assert r.cp_exposed_latency.m_as("s") == pytest.approx(4 * 2 * one, rel=1e-9)


def test_cp_ring_hides_behind_attention_by_hand():
    """Ring: (cp-1) sends of KV/cp per pass (x2 in backward), each behind the block's attention:
    attention forward of 256 tokens x 4 S d FLOPs at 0.5 x 100 TFLOP/s."""
    one = 1e-6 + (KV / 2) / 100e9
    attn = 256 * 4 * S * 1024 / (0.5 * 100e12)
    moved, exposed = K.cp_kv_exchange_time(KV, 2, "ring", 100e9, 1e-6, attn)
    assert moved == pytest.approx(3 * one)
    assert exposed == pytest.approx((one - attn) + 2 * (one - attn))
    r = solve(TINY, small_fleet(), batch_size=4, cp_size=2, seq_len=S, efficiency=EXACT)
    assert r.cp_communication_latency.m_as("s") == pytest.approx(4 * 3 * one, rel=1e-9)
    assert r.cp_exposed_latency.m_as("s") == pytest.approx(4 * 3 * (one - attn), rel=1e-9)
    assert K.cp_kv_exchange_time(KV, 2, "ring", 100e9, 1e-6, 10 * one)[1] == 0.0


def test_cp_divides_activation_memory_and_compute():
    """Each of cp ranks holds S/cp tokens of every sequence: activations and compute per micro-batch / cp."""
    one = solve(TINY, small_fleet(), batch_size=8, seq_len=S, efficiency=EXACT)  # dp 8, one sequence each
    two = solve(TINY, small_fleet(), batch_size=4, cp_size=2, seq_len=S, efficiency=EXACT)  # dp 4 x cp 2
    assert two.activation_memory.m_as("B") == pytest.approx(one.activation_memory.m_as("B") / 2, rel=1e-12)
    assert two.compute_latency.m_as("s") == pytest.approx(one.compute_latency.m_as("s") / 2, rel=1e-12)


def test_cp_activation_bytes_by_hand():
    """Selective recompute, t=1: 34 s b h per layer / cp (MHA, a 4h plain MLP), 4 layers, plus the output layer
    (4 s b h + 6 s b V) / cp: the LM head's inputs, the fp32 logits and their bf16 copy."""
    r = solve(TINY, small_fleet(), batch_size=4, cp_size=2, seq_len=S, efficiency=EXACT)
    per_layer = 34 * S * 1 * H / 2
    out = S * (4 * H + 6 * V) / 2
    assert r.activation_memory.m_as("B") == pytest.approx(4 * per_layer + out)


def test_cp_placement_and_errors():
    inside = solve(TINY, small_fleet(), batch_size=2, tp_size=2, cp_size=2, seq_len=S, efficiency=EXACT)
    across = solve(TINY, small_fleet(), batch_size=1, tp_size=2, cp_size=4, seq_len=S, efficiency=EXACT)
    assert across.cp_communication_latency > inside.cp_communication_latency  # t*cp=8 > 4 GPUs: the fabric
    with pytest.raises(InvalidInputError) as ei:
        solve(TINY, small_fleet(), batch_size=4, cp_size=3, seq_len=S)
    assert ei.value.argument == "tp_size*cp_size*pp_size"
    with pytest.raises(InvalidInputError) as ei:
        solve(TINY, small_fleet(), batch_size=4, cp_size=2, cp_variant="ulysses", seq_len=S)
    assert ei.value.argument == "cp_variant"


# ----------------------------------------------------------------------------- schedules


def test_bubble_units_per_paper():
    """p=4, v=2, F=B=W=1/3 (Qi et al.'s T_F = T_B = T_W)."""
    t = 1 / 3
    assert SCH.bubble_units("gpipe", 4, 1, t, t, t) == 3
    assert SCH.bubble_units("1f1b", 4, 1, t, t, t) == 3
    assert SCH.bubble_units("interleaved", 4, 2, t, t, t) == 1.5
    assert SCH.bubble_units("zb-h1", 4, 1, t, t, t) == pytest.approx(1.0)
    assert SCH.bubble_units("zb-v", 4, 2, t, t, t) == pytest.approx(0.0)
    assert SCH.bubble_units("dualpipe", 4, 1, t, t, t) == pytest.approx(2 / 3)  # (4/2-1)(F + 2B - W)
    assert SCH.bubble_units("zb-v", 4, 2, 0.5, 0.4, 0.1) == pytest.approx(3 * 0.7 / 2)
    assert SCH.bubble_units("1f1b", 1, 1, t, t, t) == 0


def test_in_flight_per_paper():
    assert SCH.in_flight("gpipe", 8, 4, 1) == 8
    assert SCH.in_flight("1f1b", 8, 4, 1) == 4
    assert SCH.in_flight("zb-h1", 2, 4, 1) == 2
    assert SCH.in_flight("interleaved", 8, 4, 2) == pytest.approx(4 * (1 + 3 / 8))
    assert SCH.in_flight("dualpipe", 8, 4, 1) == 5


def test_pass_shares_by_hand():
    """forward 2P + 4Sd, input grads 2P + 8Sd (+ 4Sd selective), weight grads 2P."""
    a = 4 * S * H
    f, b, w = SCH.pass_shares(LAYER_P, S, H, "selective")
    total = 6 * LAYER_P + 16 * S * H
    assert (f, b, w) == pytest.approx(((2 * LAYER_P + a) / total, (2 * LAYER_P + 3 * a) / total, 2 * LAYER_P / total))


def test_schedule_in_the_step():
    """The bubble is u * t_mb and bubble_fraction u / (m + u); default = 1F1B as before."""
    kw = dict(
        model=TINY, fleet=small_fleet(), batch_size=16, pp_size=2, microbatch_count=4, seq_len=S, efficiency=EXACT
    )
    base, f1b, zb = solve(**kw), solve(**kw, schedule="1f1b"), solve(**kw, schedule="zb-h1")
    assert base.schedule == "1f1b" and base.step_time == f1b.step_time
    F, B, W = SCH.pass_shares(LAYER_P, S, H, "selective")
    u = F + B - W
    assert zb.bubble_fraction == pytest.approx(u / (4 + u))
    ratio = zb.pipeline_bubble_latency / f1b.pipeline_bubble_latency
    assert float(ratio.m_as("")) == pytest.approx(u)
    g = solve(**kw, schedule="gpipe")
    assert g.activation_memory > f1b.activation_memory  # 4 micro-batches in flight instead of 2
    dp = solve(**kw, schedule="dualpipe")
    assert dp.weights_memory.m_as("B") == pytest.approx(2 * f1b.weights_memory.m_as("B"))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(schedule="pipedream"), "schedule"),
        (dict(schedule="interleaved"), "v_stages"),
        (dict(schedule="1f1b", v_stages=2), "v_stages"),
        (dict(schedule="dualpipe", pp_size=1), "pp_size"),
    ],
)
def test_schedule_errors(kwargs, argument):
    call = dict(model=TINY, fleet=small_fleet(), batch_size=4, pp_size=2, seq_len=S)
    call.update(kwargs)
    with pytest.raises(InvalidInputError) as ei:
        solve(**call)
    assert ei.value.argument == argument


def test_dualpipe_needs_even_stages():
    six = TransformerWorkload(name="Six", parameters=6 * LAYER_P, layers=6, hidden_dim=H, heads=16)
    with pytest.raises(InvalidInputError) as ei:
        solve(six, small_fleet(count=3, per_node=1), batch_size=1, pp_size=3, schedule="dualpipe", seq_len=S)
    assert ei.value.argument == "pp_size"


@given(st.sampled_from(SCH.SCHEDULES[1:]), st.integers(2, 64), st.integers(1, 256))
def test_no_schedule_idles_more_than_1f1b(schedule, p, m):
    p = p + p % 2
    F, B, W = SCH.pass_shares(LAYER_P, S, H, "selective")
    v = 2 if schedule in ("interleaved", "zb-v") else 1
    assert 0 <= SCH.bubble_units(schedule, p, v, F, B, W) <= SCH.bubble_units("1f1b", p, 1, F, B, W)


# ----------------------------------------------------------------------------- fp8


def _fp8_fleet():
    acc = HardwareNode(
        name="FP8GPU",
        compute=ComputeCore(precision_flops={"bf16": "100 TFLOP/s", "fp8": "200 TFLOP/s"}, default_precision="bf16"),
        memory=MemoryHierarchy(capacity="80 GB", bandwidth="2 TB/s"),
    )
    return small_fleet(accel=acc)


def test_fp8_gemms_at_fp8_peak_rest_at_bf16():
    """Compute per token: 4 layers x (6P / 200T + 16 S d / 100T) + 6 V h / 100T, against all at 100T."""
    bf = solve(TINY, _fp8_fleet(), batch_size=8, seq_len=S, efficiency=EXACT)
    f8 = solve(TINY, _fp8_fleet(), batch_size=8, seq_len=S, efficiency=EXACT, fp8=True)
    gemm, attn, head = 6 * LAYER_P, 16 * S * H, 6 * V * H
    expected = (4 * (gemm / 2 + attn) + head) / (4 * (gemm + attn) + head)
    assert (f8.compute_latency / bf.compute_latency).m_as("") == pytest.approx(expected)
    assert f8.fp8 and f8.flops_per_step == bf.flops_per_step and f8.mfu > bf.mfu


def test_fp8_needs_an_fp8_peak():
    with pytest.raises(InvalidInputError) as ei:
        solve(TINY, small_fleet(), batch_size=8, seq_len=S, fp8=True)
    assert ei.value.argument == "fp8"


# ----------------------------------------------------------------------------- TP overlap, FP8 activations


def test_tp_overlap_exposes_one_ring_step_plus_what_the_gemms_cannot_cover():
    """tp 4 on one node: the exposed TP time is comm/4 + max(0, 3/4 comm - GEMM time) per micro-batch."""
    kw = dict(batch_size=2, tp_size=4, seq_len=S, efficiency=EXACT)
    plain = solve(TINY, small_fleet(), **kw)
    over = solve(TINY, small_fleet(), tp_overlap=True, **kw)
    comm = plain.tp_communication_latency.m_as("s")
    assert plain.tp_exposed_latency.m_as("s") == pytest.approx(comm)
    # GEMM time of the step: tokens x L x 6P / (t x peak x eta) (one micro-batch of one sequence per DP rank)
    gemm = S * L * 6 * LAYER_P / (4 * 100e12 * 0.5)
    expected = comm / 4 + max(0.0, 0.75 * comm - gemm)
    assert over.tp_exposed_latency.m_as("s") == pytest.approx(expected)
    assert over.tp_communication_latency == plain.tp_communication_latency and over.tp_overlap
    saved = (plain.step_time - over.step_time).m_as("s")
    assert saved == pytest.approx(comm - expected)
    assert K.tp_overlap_exposed(8.0, 1.0, 4) == pytest.approx(2.0 + 5.0)  # GEMMs cover 1 of the 6 s left
    assert K.tp_overlap_exposed(8.0, 100.0, 4) == pytest.approx(2.0)


def test_tp_overlap_needs_sequence_parallelism():
    with pytest.raises(InvalidInputError) as ei:
        solve(TINY, small_fleet(), batch_size=2, tp_size=4, seq_len=S, tp_overlap=True, sequence_parallel=False)
    assert ei.value.argument == "tp_overlap"


@pytest.mark.parametrize("sp, t, bf16, fp8", [(True, 4, 34 / 4, 27 / 4), (False, 4, 10 + 24 / 4, 8 + 19 / 4)])
def test_fp8_keeps_the_linear_layer_inputs_in_one_byte(sp, t, bf16, fp8):
    """Korthikanti's 34 s b h: the QKV, FC1 (2 + 2), projection and FC2 (2 + 8) inputs halve in FP8."""
    sbh = S * 1 * H
    assert K.activation_bytes_per_layer(S, 1, H, 16, t, sp) == pytest.approx(sbh * bf16)
    assert K.activation_bytes_per_layer(S, 1, H, 16, t, sp, fp8=True) == pytest.approx(sbh * fp8)
    assert K.activation_bytes_per_layer(S, 1, H, 16, t, sp, "full", fp8=True) == K.activation_bytes_per_layer(
        S, 1, H, 16, t, sp, "full"
    )
    kw = dict(batch_size=8, seq_len=S, efficiency=EXACT)
    assert (
        solve(TINY, _fp8_fleet(), fp8=True, **kw).activation_memory < solve(TINY, _fp8_fleet(), **kw).activation_memory
    )
