"""Disaggregated prefill/decode (ServingModel(disagg=...)): hand-derived KV bytes and transfer, the
pools' answers against ServingModel's own engine, invariants and the error messages."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving.disagg import kv_bytes_per_request, kv_transfer
from mlsysim_serving.layout import Disagg, Pool, parse_disagg

import mlsysim
from mlsysim import ServingModel
from mlsysim_core.errors import InvalidInputError

M, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud
LAYOUT = "prefill=H100x8:tp8,decode=H200x8:tp4"


def _solve(**kw):
    args = dict(
        model=M.Llama3_70B,
        hardware=H.H100,
        seq_len=4000,
        output_len=500,
        arrival_rate=4.0,
        disagg=LAYOUT,
        fabric="IB_NDR",
    )
    args.update(kw)
    return ServingModel().solve(**args)


def test_kv_bytes_per_request_by_hand():
    # Llama-3.1-70B: 80 layers x 8 KV heads x 128 dims x 2 (K and V) = 163,840 elements per token,
    # 2 bytes at bf16: 327,680 B per token; 4,000 tokens -> 1.31072 GB.
    assert M.Llama3_70B.si.kv_elements_per_token == 163_840
    assert kv_bytes_per_request(4000, 163_840, 2.0) == pytest.approx(1.31072e9)
    # DistServe (Zhong et al. OSDI 2024, Sec. 3.3): a 512-token OPT-66B request holds 1.13 GB of KV:
    # 64 layers x 2 x 9216 (MHA) x 2 B = 2,359,296 B per token x 512 = 1.208e9 B = 1.125 GiB.
    assert kv_bytes_per_request(512, 2 * 64 * 9216, 2.0) / 2**30 == pytest.approx(1.125, abs=0.01)
    assert _solve().si("kv_bytes_per_request") == pytest.approx(1.31072e9)


def test_kv_transfer_by_hand():
    # 1.31072 GB, each of tp8 prefill GPUs holds 1/8 (8 KV heads), each tp4 decode GPU receives 1/4:
    # the larger share 0.32768 GB at 50 GB/s x 0.8 = 8.192 ms + 5 us latency.
    full, exposed = kv_transfer(1.31072e9, 1 / 8, 1 / 4, 50e9, 0.8, 5e-6, 0.2, 80.0, False)
    assert full == pytest.approx(8.197e-3) and exposed == full
    # layer by layer under a 200 ms prefill: only the last layer's 1/80 is exposed
    assert kv_transfer(1.31072e9, 1 / 8, 1 / 4, 50e9, 0.8, 5e-6, 0.2, 80.0, True)[1] == pytest.approx(full / 80)
    # a transfer longer than the prefill: all but the prefill of the first 79 layers is exposed
    slow = kv_transfer(1.31072e9, 1, 1, 1e9, 1.0, 0.0, 0.1, 80.0, True)
    assert slow[1] == pytest.approx(1.31072 - 0.1 * 79 / 80)
    r = _solve()
    assert r.si("kv_transfer_time") == pytest.approx(full, rel=1e-9)
    assert r.si("kv_transfer_exposed") < r.si("kv_transfer_time")
    after = _solve(kv_layerwise=False)
    assert after.si("kv_transfer_exposed") == pytest.approx(full)
    assert after.si("ttft_mean") == pytest.approx(r.si("ttft_mean") + full - r.si("kv_transfer_exposed"), rel=1e-9)


def test_pools_are_servingmodel_engines():
    """The decode pool's token gap is ServingModel's on the decode layout with all but one prompt token
    cached (the KV arrived); the prefill pool is ServingModel with one output token."""
    r = _solve()
    dec = ServingModel().solve(
        M.Llama3_70B, H.H200, 4000, output_len=500, tp_size=4, arrival_rate=2.0, prefix_cache_hit=3999 / 4000
    )
    pre = ServingModel().solve(M.Llama3_70B, H.H100, 4000, output_len=1, tp_size=8, arrival_rate=4.0)
    assert r.si("itl_mean") == pytest.approx(dec.si("itl_mean"), rel=1e-12)
    assert r.si("ttft_mean") == pytest.approx(
        pre.si("ttft_mean") + r.si("kv_transfer_exposed") + dec.si("ttft_mean"), rel=1e-12
    )
    assert r.prefill_utilization == pytest.approx(pre.utilization)
    # the unloaded TTFT: one prefill + exposed transfer + one decode step
    assert r.si("ttft") == pytest.approx(
        pre.si("one_prefill_time") + r.si("kv_transfer_exposed") + dec.si("one_prefill_time"), rel=1e-12
    )


def test_balance_and_goodput():
    r = _solve(slo_ttft="2 s", slo_itl="50 ms")
    g_p, g_d = 8 / r.si("prefill_replica_rate"), 4 / r.si("decode_replica_rate")
    assert r.balanced_prefill_share == pytest.approx(g_p / (g_p + g_d))
    assert r.si("balanced_goodput_per_gpu") == pytest.approx(500 / (g_p + g_d))
    assert r.prefill_replicas_needed == math.ceil(4.0 / r.si("prefill_replica_rate"))
    assert r.si("max_arrival_rate") <= r.si("saturation_rate")
    assert r.si("goodput_per_gpu") == pytest.approx(r.si("max_arrival_rate") * 500 / 16)
    best = max(
        ServingModel()
        .solve(M.Llama3_70B, H.H100, 4000, output_len=500, tp_size=tp, arrival_rate=4.0, slo_ttft=2.0, slo_itl=0.05)
        .si("max_arrival_rate")
        * 500
        / tp
        for tp in (2, 4, 8)
    )
    # each aggregated layout's rate is the aggregated solve's own search (Brent's method, within 1e-9)
    assert r.si("aggregated_goodput_per_gpu") == pytest.approx(best, rel=1e-9)
    assert r.disagg_gain == pytest.approx(r.si("balanced_goodput_per_gpu") / best, rel=1e-9)
    assert any(line.startswith("vs aggregated:") for line in r.why())


def test_max_rate_meets_the_slos_at_its_edge():
    """The deployment's max rate meets both p99 SLOs, 1 % more misses one; a decode replica's SLO rate is
    ServingModel's max rate on the decode layout with the prompt's KV cached."""
    slo = dict(slo_ttft=2.0, slo_itl=0.03)
    r = _solve(**slo)
    rate = r.si("max_arrival_rate")
    assert 0 < rate < r.si("saturation_rate")
    edge = _solve(arrival_rate=rate, **slo)
    assert edge.si("ttft_p99") <= 2.0 * (1 + 1e-6) and edge.si("itl_p99") <= 0.03 * (1 + 1e-6)
    over = _solve(arrival_rate=rate * 1.01, **slo)
    assert over.si("ttft_p99") > 2.0 or over.si("itl_p99") > 0.03
    dec = ServingModel().solve(
        M.Llama3_70B,
        H.H200,
        4000,
        output_len=500,
        tp_size=4,
        arrival_rate=2.0,
        prefix_cache_hit=3999 / 4000,
        slo_itl=0.03,
    )
    assert r.si("decode_replica_rate") == pytest.approx(dec.si("max_arrival_rate"), rel=1e-12)


def test_overloaded_says_so():
    r = _solve(arrival_rate=50.0)
    assert r.overloaded and r.ttft_p99 is None
    assert "OVERLOADED" in " ".join(r.why())


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.05, 3.0), seq=st.integers(128, 8000), out=st.integers(2, 2000))
def test_disagg_itl_never_worse_than_aggregated_same_decode_layout(rate, seq, out):
    """Same decode layout (H100 tp4 replicas), same per-replica rate: the decode pool's mean token gap
    never exceeds the aggregated replica's, which also prefills every prompt between its decode steps."""
    agg = ServingModel().solve(M.Llama3_70B, H.H100, seq, output_len=out, tp_size=4, arrival_rate=rate)
    if agg.overloaded:
        return
    r = ServingModel().solve(
        M.Llama3_70B,
        H.H100,
        seq,
        output_len=out,
        arrival_rate=2 * rate,
        disagg="prefill=H100x8:tp8,decode=H100x8:tp4",
        fabric="IB_NDR",
    )
    if not r.overloaded:
        assert r.si("itl_mean") <= agg.si("itl_mean") * (1 + 1e-9)


def test_layout_objects_and_text_agree():
    obj = Disagg(Pool(H.H100, 8, 8), Pool(H.H200, 8, 4))
    assert parse_disagg(LAYOUT) == obj
    assert _solve(disagg=obj).si("ttft_mean") == _solve().si("ttft_mean")
    assert parse_disagg("decode=MI300Xx8:tp8;prefill=mi300xx8:tp8").prefill.hardware is H.MI300X


@pytest.mark.parametrize(
    "kw, argument, words",
    [
        (dict(disagg="prefill=H100x1:tp1,decode=H200x8:tp4"), "disagg", "prefill pool that holds"),
        (dict(disagg="prefill=H100x8:tp3,decode=H200x8:tp4"), "disagg", "multiple of its replica"),
        (dict(disagg="prefill=H100x8:tp16,decode=H200x8:tp4"), "disagg", "tp x pp x dp in [1, gpus]"),
        (dict(disagg="prefill=H100x8,decode=H200x8:tp4"), "disagg", "prefill=HWxGPUS:tpN"),
        (dict(disagg="prefill=Nope9x8:tp8,decode=H200x8:tp4"), "disagg", "catalog hardware"),
        (dict(fabric="NVLink"), "fabric", "one domain"),
        (dict(fabric="Carrier_Pigeon"), "fabric", "catalog fabric"),
        (dict(disagg="prefill=H100x4:tp4,decode=H100x8:tp4", fabric="PCIe"), "fabric", "one node"),
        (dict(fabric=None), "fabric", "catalog fabric"),
        (dict(disagg="prefill=H100x8", fabric=None), "disagg", "prefill=HWxGPUS:tpN"),  # the text's mistake first
        (dict(arrival_rate=None), "arrival_rate", "pools are sized"),
        (dict(output_len=1), "output_len", ">= 2"),
        (dict(tp_size=2), "tp_size", "the pools give their tp"),
        (dict(slo_ttft="10 ms"), "slo_ttft", "unloaded 4,000-token prefill + KV transfer"),
        (dict(method="simulate"), "method", "analytic"),
    ],
)
def test_bad_input(kw, argument, words):
    with pytest.raises(InvalidInputError) as exc:
        _solve(**kw)
    assert exc.value.argument == argument and words in str(exc.value)


def test_nvlink_inside_one_domain():
    r = _solve(disagg="prefill=H100x4:tp4,decode=H100x4:tp4", fabric="NVLink")
    assert "NVLink" in r.kv_link


def test_cli_disagg_json():
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    args = "serve Llama3_70B H100 --seq-len 4000 --output-len 500 --qps 4 --fabric IB_NDR --slo-itl 50ms --json"
    out = CliRunner().invoke(main, [*args.split(), "--disagg", LAYOUT])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)["result"]
    assert res["kv_bytes_per_request"]["value"] == pytest.approx(1.31072)
    for bad_args in (["--disagg", "prefill=H100x1:tp1,decode=H200x8:tp4"], ["--disagg", LAYOUT, "--bands"]):
        bad = CliRunner().invoke(main, [*args.split(), *bad_args])
        assert bad.exit_code == 1 and "Traceback" not in bad.output and len(bad.output.strip().splitlines()) == 1


def test_pool_degrees_from_text():
    p = parse_disagg("prefill=H200x16:tp8pp2,decode=H100x32:dp32ep32")
    assert p.prefill == Pool(H.H200, 16, 8, pp=2) and p.prefill.replicas == 1
    assert p.decode == Pool(H.H100, 32, 1, ep=32, dp=32) and p.decode.replica_gpus == 32
    assert parse_disagg("prefill=H100x16:ep8,decode=H100x8:tp8").prefill == Pool(H.H100, 16, 8, ep=8)  # tp = ep / dp
    assert parse_disagg("prefill=H100x16:dp8ep16,decode=H100x8:tp8").prefill == Pool(H.H100, 16, 2, ep=16, dp=8)
    assert parse_disagg("prefill=H100x16:pp2,decode=H100x8:tp8").prefill == Pool(H.H100, 16, 1, pp=2)  # 1 without ep
    assert p.decode.label() == "NVIDIA H100 SXM5 80GB x32 (1 x tp1dp32ep32)"
    # split: (tp x pp x dp, gpus // it), the two properties in one call
    assert p.prefill.split() == (16, 1) and p.decode.split() == (32, 1)
    assert Pool(H.H100, 32, 4, pp=2).split() == (8, 4) == (Pool(H.H100, 32, 4, pp=2).replica_gpus, 4)
    for bad, words in (
        ("prefill=H100x8:tp8tp4,decode=H200x8:tp4", "prefill=HWxGPUS:tpN"),
        ("prefill=H100x8:tp4pp4,decode=H200x8:tp4", "tp x pp x dp in [1, gpus]"),
        ("prefill=H100x24:tp8pp2,decode=H200x8:tp4", "multiple of its replica's tp x pp x dp = 16"),
        ("prefill=H100x24:dp4ep6,decode=H200x8:tp4", "tpN, or epN a multiple of dpN (tp = ep / dp); got ep6 dp4"),
        ("prefill=H100x16:dp4ep2,decode=H200x8:tp4", "tpN, or epN a multiple of dpN (tp = ep / dp); got ep2 dp4"),
    ):
        with pytest.raises(InvalidInputError) as exc:
            parse_disagg(bad)
        assert words in str(exc.value)


def test_pipeline_and_expert_parallel_pools_are_servingmodel_engines():
    """A tp8pp2 prefill replica is ServingModel's engine at tp8 pp2 (its 16 GPUs span two HGX boards joined
    by the fabric); a DeepSeek-V3 decode pool of attention data parallel ranks with experts over 32 GPUs is
    ServingModel's engine at dp_attention 32, ep_size 32, all but one prompt token cached."""
    r = _solve(disagg="prefill=H100x16:tp8pp2,decode=H200x8:tp4")
    pre = ServingModel().solve(
        M.Llama3_70B, H.H100, 4000, output_len=1, tp_size=8, pp_size=2, fabric="IB_NDR", arrival_rate=4.0
    )
    assert r.prefill_utilization == pytest.approx(pre.utilization, rel=1e-12)
    # each prefill GPU holds its stage's 40 layers of a request's KV: 1/16 of it; a decode GPU 1/4 binds
    assert r.si("kv_transfer_time") == pytest.approx(_solve().si("kv_transfer_time"), rel=1e-12)
    ds = dict(model=M.DeepSeek_V3, hardware=H.H100, seq_len=2000, output_len=100, precision="fp8")
    d = _solve(**ds, arrival_rate=20.0, disagg="prefill=H100x32:dp32ep32,decode=H100x32:dp32ep32")
    dec = ServingModel().solve(
        **ds, tp_size=1, dp_attention=32, ep_size=32, fabric="IB_NDR", arrival_rate=20.0, prefix_cache_hit=1999 / 2000
    )
    assert d.si("itl_mean") == pytest.approx(dec.si("itl_mean"), rel=1e-12)
    assert d.decode_tp == 1 and "tp1dp32ep32" in d.layout
    # 61 layers over two stages: 31 + 30, the 31-layer stage holds 31/61 of the weights and binds
    uneven = _solve(**ds, arrival_rate=5.0, disagg="prefill=H100x16:tp8pp2,decode=H100x32:dp32ep32")
    assert any("61 layers over pp 2 as 1 stage(s) of 31 and 1 of 30" in n for n in uneven.notes)


def test_pools_prepared_without_their_layout_notes_note_them_when_read():
    """The pools' setups are prepared without their parallel layouts' notes (:func:`.parallel.layout_notes`, ~20 k
    instructions on a MoE layout, made where the result's notes are read): the notes are those of the pools' layouts
    prepared with them, in the same order (uneven stages over a fabric; expert imbalance and node-limited routing)."""
    from mlsysim_serving.setup import prepare

    ib = mlsysim.Systems.Fabrics.InfiniBand_NDR
    r = _solve(
        model=M.DeepSeek_V3, seq_len=2000, precision="fp8", disagg="prefill=H100x16:tp8pp2,decode=H100x16:dp16ep16"
    )
    common = (M.DeepSeek_V3, H.H100, "fp8")
    pre = prepare(*common, 8, None, None, None, None, False, None, pp_size=2, fabric=ib)
    dec = prepare(*common, 1, None, None, None, None, False, None, ep_size=16, dp_attention=16, fabric=ib)
    bare = prepare(
        *common, 1, None, None, None, None, False, None, ep_size=16, dp_attention=16, fabric=ib, layout_notes=False
    )
    assert bare.layout.notes == () and bare.notes == dec.notes[: len(bare.notes)] and len(dec.layout.notes) == 2
    assert any("node-limited routing in prefill" in n for n in dec.layout.notes)
    assert any("61 layers over pp 2" in n for n in pre.layout.notes)
    made = tuple(dict.fromkeys(pre.notes + dec.notes))
    assert r.notes[: len(made)] == made


def test_speculative_decode_pool():
    """MTP/heads speculation (spec_draft_cost) runs on the decode pool: its token gap is ServingModel's on the
    decode layout with the same speculation; the aggregated layouts compared against speculate too."""
    spec = dict(spec_draft_cost=0.05, spec_k=3, spec_accept=0.6)
    r = _solve(**spec, slo_itl="30 ms")
    dec = ServingModel().solve(
        M.Llama3_70B, H.H200, 4000, output_len=500, tp_size=4, arrival_rate=2.0, prefix_cache_hit=3999 / 4000, **spec
    )
    assert r.si("itl_mean") == pytest.approx(dec.si("itl_mean"), rel=1e-12)
    assert r.si("itl_mean") < _solve(slo_itl="30 ms").si("itl_mean")
    assert any("speculative decoding on the decode pool" in n for n in r.notes)
    agg = ServingModel().solve(
        M.Llama3_70B, H.H100, 4000, output_len=500, tp_size=8, arrival_rate=4.0, slo_itl=0.03, **spec
    )
    assert r.aggregated_layout == "NVIDIA H100 SXM5 80GB tp8"
    assert r.si("aggregated_goodput_per_gpu") == pytest.approx(agg.si("max_arrival_rate") * 500 / 8, rel=1e-9)
    with pytest.raises(InvalidInputError) as exc:
        _solve(spec_draft=M.Llama3_1B, spec_accept=0.6)
    assert exc.value.argument == "spec_draft" and "spec_draft_cost" in str(exc.value)


def test_pools_with_redundant_experts():
    """SGLang's 96-H100 deployment (LMSYS blog 2025-05-05): decode on 72 GPUs at EP72 needs DeepSeek-V3's
    256 experts + 32 redundant copies = 288 physical experts, 4 per GPU (72 does not divide 256). Each GPU
    holds its dense weights and (E + r)/ep experts; a token still reaches k experts, so the all-to-all
    bytes per token do not change with r; the decode pool is ServingModel's engine with the same copies."""
    ds = dict(model=M.DeepSeek_V3, hardware=H.H100, seq_len=2000, output_len=100, precision="fp8", arrival_rate=20.0)
    m = M.DeepSeek_V3
    total, active = m.parameters, m.si.active_parameters
    experts = (total - active) / (256 - 8) * 256  # routed experts' parameters: 8 of 256 are active
    dense = total - experts
    r = _solve(**ds, disagg="prefill=H100x32:dp32ep32,decode=H100x72:dp72ep72r32")
    assert r.si("decode_weights_per_gpu") == pytest.approx(dense + experts * 288 / 256 / 72)  # 1 B per fp8 weight
    assert r.si("prefill_weights_per_gpu") == pytest.approx(dense + experts / 32)
    assert "tp1dp72ep72r32" in r.layout
    dec = ServingModel().solve(
        **{**ds, "arrival_rate": 20.0},
        tp_size=1,
        dp_attention=72,
        ep_size=72,
        redundant_experts=32,
        fabric="IB_NDR",
        prefix_cache_hit=1999 / 2000,
    )
    assert r.si("itl_mean") == pytest.approx(dec.si("itl_mean"), rel=1e-12)
    # the same 32 GPUs with and without 32 redundant experts: 9 experts per GPU instead of 8, same all-to-all
    one = dict(ds, tp_size=1, dp_attention=32, ep_size=32, fabric="IB_NDR", batch_size=64, arrival_rate=None)
    plain, copies = ServingModel().solve(**one), ServingModel().solve(**one, redundant_experts=32)
    assert copies.si("decode_all_to_all_time") == plain.si("decode_all_to_all_time") > 0.0
    assert copies.si("weights_per_gpu") - plain.si("weights_per_gpu") == pytest.approx(experts / 256)
    pre = _solve(**ds, disagg="prefill=H100x32:dp32ep32r32,decode=H100x72:dp72ep72r32")
    assert pre.si("prefill_weights_per_gpu") == pytest.approx(dense + experts * 288 / 256 / 32)


@pytest.mark.parametrize(
    "disagg, argument, words",
    [
        ("prefill=H100x32:dp32ep32,decode=H100x72:dp72ep72", "disagg", "a divisor of experts=256"),
        ("prefill=H100x32:dp32ep32,decode=H100x72:dp72ep72r8", "disagg", "experts + redundant_experts=264"),
        ("prefill=H100x8:tp8r8,decode=H100x72:dp72ep72r32", "disagg", "0 without expert parallelism"),
        ("prefill=H100x32:dp32ep32r4r4,decode=H100x72:dp72ep72r32", "disagg", "prefill=HWxGPUS:tpN"),
        ("prefill=H100x32:r32,decode=H100x72:dp72ep72r32", "disagg", "prefill=HWxGPUS:tpN"),
    ],
)
def test_redundant_experts_refused(disagg, argument, words):
    ds = dict(model=M.DeepSeek_V3, seq_len=2000, output_len=100, precision="fp8", arrival_rate=20.0)
    with pytest.raises(InvalidInputError) as exc:
        _solve(**ds, disagg=disagg)
    assert exc.value.argument == argument and words in str(exc.value)
    assert parse_disagg("prefill=H100x32:dp32ep32r0,decode=H100x72:ep72dp72r32").decode == Pool(
        H.H100, 72, 1, ep=72, dp=72, redundant=32
    )
    with pytest.raises(InvalidInputError) as top:
        _solve(**ds, redundant_experts=32)
    assert top.value.argument == "redundant_experts" and "rN in its degrees" in str(top.value)


def test_a_pool_meeting_the_slo_at_no_rate_answers_zero_not_a_division_by_zero():
    """p99 TTFT above the SLO even at a vanishing rate (dispersed prompts): the max rate is 0 and the pools
    have no balanced share (None), where the GPUs per request/s of a pool were once divided by a zero rate."""
    r = ServingModel().solve(
        M.Llama3_8B,
        H.H100,
        512,
        output_len=200,
        arrival_rate=1.0,
        disagg="prefill=H100x8:tp1,decode=H100x8:tp1",
        fabric="IB_NDR",
        length_cv=1.5,
        slo_ttft=0.08,
        slo_itl=0.05,
        slo_percentile=99,
    )
    assert r.si("max_arrival_rate") == 0.0 and r.balanced_prefill_share is None


def test_bands_on_two_pools_are_refused_by_name():
    """Each pool runs at its own efficiencies, which a disaggregated result does not carry: a band is
    refused with the argument named (it used to fail with an AttributeError, a traceback on the CLI)."""
    from mlsysim_uncertainty import banded

    with pytest.raises(InvalidInputError, match="disagg.*aggregated layout when bands are asked"):
        banded(ServingModel, M.Llama3_70B, H.H100, 4000, output_len=500, arrival_rate=4.0, disagg=LAYOUT)


def test_the_aggregated_comparison_sets_up_no_degree_the_weights_alone_fill(monkeypatch):
    """Degrees are set up from the largest down; below one whose weights P * b / tp fill a GPU none holds a request
    (kernels.weights_per_gpu: tensor-only weights per GPU scale as 1/tp), so none is set up: Llama3_70B bf16 (~141 GB)
    on H100 sets up tp8, tp4 and tp2 (~71 GB per GPU), not tp1 (~141 GB); Llama3_405B (~810 GB) sets up tp8 only
    (~101 GB per GPU: more than an H100 has) and notes that no layout holds it."""
    from mlsysim_serving import disagg as DG

    built = []
    make = DG._Replica.__init__

    def recorded(self, role, pool, *args, **kwargs):
        if role == "aggregated":
            built.append(pool.tp)
        make(self, role, pool, *args, **kwargs)

    monkeypatch.setattr(DG._Replica, "__init__", recorded)
    L, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud
    layout = dict(disagg="prefill=H200x8:tp8,decode=H200x8:tp8", fabric="IB_NDR", efficiency=0.6 + 3e-15)
    r = ServingModel().solve(L.Llama3_70B, H.H100, 2000, output_len=200, arrival_rate=0.5, **layout)
    assert built == []  # set up on the first read of a field of the comparison
    assert r.aggregated_layout is not None and built == [8, 4, 2]
    built.clear()
    r = ServingModel().solve(L.Llama3_405B, H.H100, 2000, output_len=200, arrival_rate=0.5, **layout)
    assert r.aggregated_goodput_per_gpu is None and built == [8]
    assert any(n.startswith("aggregated comparison: no tensor-parallel layout of NVIDIA H100") for n in r.notes)


def test_the_aggregated_comparison_is_made_on_the_first_read_of_one_of_its_fields(monkeypatch):
    """A disaggregated result answers aggregated_goodput_per_gpu, aggregated_layout, disagg_gain and notes (its
    aggregated comparison) on the first read of one of them, once per call's configuration: a solve that reads none
    sets up no aggregated layout. The result stays what it was: the same values as a solve from empty memos that
    reads them at once, in every view (to_dict, why, pickle, copy, ==)."""
    import copy
    import pickle

    from mlsysim_serving import disagg as DG

    made = []
    best = DG._Aggregated.best

    def recorded(self, *args):
        made.append(args)
        return best(self, *args)

    monkeypatch.setattr(DG._Aggregated, "best", recorded)
    L, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud
    case = dict(disagg=LAYOUT, fabric="IB_NDR", efficiency=0.6 + 5e-15, slo_ttft=2.0, slo_itl=0.05)
    r = ServingModel().solve(L.Llama3_70B, H.H100, 4000, output_len=500, arrival_rate=4.0, **case)
    assert made == [] and r.si("ttft_p99") > 0 and made == []
    layout = r.aggregated_layout
    assert layout.startswith(H.H100.name) and len(made) == 1
    gain, notes, goodput = r.disagg_gain, r.notes, r.si("aggregated_goodput_per_gpu")
    assert len(made) == 1 and gain == pytest.approx(r.si("balanced_goodput_per_gpu") / goodput, rel=1e-15)
    other = ServingModel().solve(L.Llama3_70B, H.H100, 4000, output_len=500, arrival_rate=3.0, **case)
    assert (other.aggregated_layout, other.disagg_gain, other.notes) == (layout, gain, notes) and len(made) == 1
    fresh = ServingModel().solve(L.Llama3_70B, H.H100, 4000, output_len=500, arrival_rate=4.0, **case)
    for copied in (pickle.loads(pickle.dumps(fresh)), copy.copy(fresh), copy.deepcopy(fresh)):
        assert copied.to_dict() == r.to_dict() and copied.why() == r.why() and copied == r
    # other read only its comparison: the pools' served-rate power (its other later group) waits for a read of its own
    assert "_later" in vars(other) and other.loaded_energy_per_token is not None
    assert all("_later" not in vars(x) for x in (r, other, fresh))


def test_a_prefill_pool_times_no_token_gap(monkeypatch):
    """A prefill replica's requests have one output token: its engine times no token gap (one_decode None: nothing
    reads it), where the decode pool's is the unloaded ITL; the engine memo keeps it apart from the engine of the same
    layout and lengths that times one (:func:`.under_load.replica`'s default), which is otherwise the same."""
    from mlsysim_serving import under_load as UL

    calls = []
    replica = UL.replica

    def recorded(*args):
        calls.append(args)
        return replica(*args)

    monkeypatch.setattr(UL, "replica", recorded)
    r = _solve(efficiency=0.6 + 7e-15)
    pre, dec = calls  # (setup, seq_len, output_len, mix, spec, known, gaps)
    e_p, e_d = replica(*pre)[2], replica(*dec)[2]
    assert pre[2] == 1 and pre[6] is False and e_p.one_decode is None
    assert dec[6] is True and r.si("itl") == e_d.one_decode > 0
    timed = replica(*pre[:4])[2]
    assert timed is not e_p and timed.one_decode > 0 and timed[1:5] == e_p[1:5]
