"""Group T: training steps measured on one H200 in this project (mlsysim_validation.train_points,
bench/device/h200_train_step.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlsysim_validation import coverage, points
from mlsysim_validation import train_points as T
from mlsysim_validation.harness import added_measurements

import mlsysim

RAW = Path(__file__).resolve().parents[3] / T.RAW_FILE


@pytest.fixture(scope="module")
def raw():
    return json.loads(RAW.read_text())


def test_the_shipped_rows_are_the_raw_files_records(raw):
    shipped = [r for r in added_measurements() if r["group"] == "T"]
    assert shipped == T.records(raw) == list(T.shipped())
    steps = [p for p in raw["points"] if p["kind"] == "train_step"]
    # every bf16-master step is a record; the amp step is not (no solver argument states fp32 weights)
    assert len(shipped) == sum(p["variant"] == T.VARIANT for p in steps) and len(shipped) < len(steps)
    assert {r["confidence"] for r in shipped} == {"measured"} and len({r["id"] for r in shipped}) == len(shipped)
    for r, p in zip(shipped, (p for p in steps if p["variant"] == T.VARIANT)):
        assert r["value"] == pytest.approx(p["step_ms"], abs=1e-4)
        assert sum(r["conditions"]["phases_ms"].values()) == pytest.approx(p["fwd_ms"] + p["bwd_ms"] + p["opt_ms"])


def test_each_record_is_distributed_models_step_on_one_h200():
    maps = points.mappings()
    for r in T.shipped():
        fn = maps[r["id"]].fn
        assert isinstance(fn, T.TrainCall) and fn.model == r["conditions"]["model"]
        assert fn.batch_size == r["conditions"]["batch_size"] and fn.seq_len == r["conditions"]["seq_len"]
        assert fn.recompute == ("full" if r["id"].endswith("ckptfull-step") else "selective")
    fleet = T.one_h200()
    assert fleet.total_accelerators == 1 and fleet.accelerator is mlsysim.Hardware.Cloud.H200


def test_llama3_2_1b_step_and_its_phases_by_hand():
    # Llama3_2_1B: LM head 128,256 x 2,048 = 262,668,288; per layer the rest of the catalog's 1,235,814,400 matmul
    # parameters (tied: the total, its 67,584 norm weights included) / 16 = 60,821,632; 4 x 2,048 tokens.
    # DistributedModel per token: 16 layers x (6 P_layer + 12 S d_attn + 4 S d_attn selective) + 6 x head,
    # S d_attn = 2,048 x 2,048; at 0.60 of 989.5 TFLOP/s, no communication on one GPU; then the AdamW update:
    # 30 B a parameter (fp32 gradient 4 + fp32 master, m, v read and written 24 + bf16 weight written 2) at
    # 0.87 x 4.8 TB/s
    layer, head, sd, tokens = 60_821_632, 262_668_288, 2048 * 2048, 4 * 2048
    assert layer * 16 + head == 1_235_814_400
    hw = tokens * (16 * (6 * layer + 16 * sd) + 6 * head)
    fwd = tokens * (16 * (2 * layer + 4 * sd) + 2 * head)
    compute = hw / (0.60 * 989.5e12) * 1e3
    opt = 30 * 1_235_814_400 / (0.87 * 4.8e12) * 1e3
    fn = T.TrainCall("Llama3_2_1B", 4, 2048, "selective")
    assert fn() == pytest.approx(compute + opt, rel=1e-9) and compute == pytest.approx(117.128, abs=1e-3)
    assert opt == pytest.approx(8.878, abs=1e-3)
    split = T.phases(fn.solve(), mlsysim.Models.Language.Llama3_2_1B)
    assert split["forward"] == pytest.approx(compute * fwd / hw, rel=1e-9)
    assert split["optimizer"] == pytest.approx(opt, rel=1e-9)
    assert split["forward"] + split["backward"] == pytest.approx(compute, rel=1e-12)
    # full recomputation adds the forward's layer GEMMs again: 8 P_layer + 16 S d_attn
    full = T.TrainCall("Llama3_2_1B", 4, 2048, "full")()
    assert full == pytest.approx(
        tokens * (16 * (8 * layer + 16 * sd) + 6 * head) / (0.60 * 989.5e12) * 1e3 + opt, rel=1e-9
    )


def test_group_t_is_not_in_the_calibration_set():
    # reported and counted by mlsysim validate, but no model-error class's q and no domain take its points
    assert "T" in coverage.NOT_CALIBRATION
    assert all(b.group != "T" for b in coverage.bands())
    assert not any(pid.startswith("T-") for pid in coverage.domain_calls())


def test_the_measured_steps_by_phase(raw):
    # bench/device/h200_train_2026-12-04.json: Llama3_2_1B 8 x 2,048 without checkpointing, forward 100.39,
    # backward 196.63 (1.96 forwards), AdamW 12.34 ms; its optimizer moves ~34 B a parameter:
    # 34 x 1,235,814,400 B / 12.34 ms = 3.4 TB/s; DistributedModel says 234.26 ms of compute + 8.88 ms of
    # optimizer update (30 B a parameter at 0.87 x 4.8 TB/s) = 243.13 ms (-21 %)
    rec = next(r for r in T.shipped() if r["id"] == "T-h200-torch-llama321b-b8-s2048-ckptnone-step")
    ph = rec["conditions"]["phases_ms"]
    assert (ph["forward"], ph["backward"], ph["optimizer"]) == pytest.approx((100.39, 196.63, 12.34), abs=0.01)
    assert rec["value"] == pytest.approx(309.51, abs=0.01)
    assert 34 * 1_235_814_400 / (ph["optimizer"] / 1e3) / 1e12 == pytest.approx(3.4, abs=0.05)
    assert points.mappings()[rec["id"]].fn() == pytest.approx(234.26 + 8.88, abs=0.01)
    # the run skipped Llama3_8B by its bytes and kept the amp step out of the records
    assert (
        raw["skipped"] == ["Llama3_8B/bf16-master: state 18 B x 8,030,261,248 = 144.5 GB > 90 % of 150.1 GB"]
        and raw["errors"] == []
    )


def test_single_node_fits_every_measured_step_flash_attention_stores_no_scores():
    """Every group-T step ran (flash attention: no S x S scores stored) and SingleNodeModel's same call, at its
    default selective recomputation, fits each in the H200; its footprint counts the 18 B of state a parameter,
    Korthikanti's selective activations with the layer's MLP (42 s b h a layer for Llama3_2_1B; full: 2 s b h)
    and the output layer as Megatron-LM holds it (4 s b h + 6 s b V), not the unfused loop's extra tensors (SiLU's
    output, RoPE's copies, F.cross_entropy's fp32 gradients) or the allocator's slack, so it is below each
    measured peak. With "none" (eq. 2's stored scores) three of the measured steps would not fit (182-384 GB)."""
    for r in T.shipped():
        fn = T.call(r)
        p = fn.single_node()
        peak = r["conditions"]["peak_memory_gb"]
        assert p.feasible, r["id"]
        assert p.memory_footprint.to("GB").magnitude < peak, r["id"]
    # Llama3_2_1B at 2 x 8,192 by hand: 1,235,814,400 x 18 B + 16 layers x 42 s b h (10 + attention 8 + SwiGLU
    # 6 x 8,192 / 2,048 = 24) + the output layer s b (4 h + 6 x 128,256)
    fn = T.TrainCall("Llama3_2_1B", 2, 8192, "selective")
    want = 1_235_814_400 * 18 + 16 * 42 * 8192 * 2 * 2048 + 8192 * 2 * (4 * 2048 + 6 * 128256)
    assert fn.single_node().memory_footprint.to("B").magnitude == pytest.approx(want, rel=1e-9)
    none = T.TrainCall("Llama3_2_1B", 2, 8192, "none").single_node()
    assert not none.feasible and none.memory_footprint.to("B").magnitude == pytest.approx(
        want + 16 * 5 * 32 * 8192**2 * 2, rel=1e-9
    )


def test_phases_refuse_a_model_without_an_lm_head():
    import pytest
    from mlsysim_validation.train_points import phases

    import mlsysim
    from mlsysim_core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="vocab_size"):
        phases(None, mlsysim.Models.ResNet50)
