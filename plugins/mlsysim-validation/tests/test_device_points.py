"""Group G: the H200 measured in this project (mlsysim_validation.device_points, bench/device/h200_measure.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlsysim_validation import device_points as D
from mlsysim_validation import points
from mlsysim_validation.harness import added_measurements
from mlsysim_validation.serving_call import ServingCall

RAW = Path(__file__).resolve().parents[3] / D.RAW_FILE


@pytest.fixture(scope="module")
def raw():
    return json.loads(RAW.read_text())


RAW_B = RAW.parent / Path(D.RAW_FILES[1]).name


@pytest.fixture(scope="module")
def raw_b():
    return json.loads(RAW_B.read_text())


def test_the_shipped_rows_are_the_raw_files_records(raw, raw_b):
    shipped = [r for r in added_measurements() if r["group"] == "G"]
    assert shipped == D.records(raw) + D.records(raw_b, D.RAW_FILES[1])
    # every CUDA-graph decode step is a record (bf16, fp8; the second run's int4); no eager step is
    graphs = [p for p in raw["points"] if p["kind"] == "decode_graph"]
    assert len(graphs) == 40
    assert [p["weights"] for p in raw_b["points"] if p["kind"] == "decode_graph"] == ["int4"] * 3
    assert sum(r["quantity"] == "itl_ms" for r in shipped) == 43
    assert {r["conditions"]["phase"] for r in shipped} == {
        "decode step (CUDA graph replayed)",
        "prefill (one eager forward)",
        "prefill (CUDA graph replayed)",
    }
    # the second run's 6 prefills in a CUDA graph: 1B and 8B at 256, 1,024 and 2,048 tokens, batch 1
    second = [
        (r["conditions"]["model"], r["conditions"]["input_len"])
        for r in D.records(raw_b, D.RAW_FILES[1])
        if r["quantity"] == "ttft_ms"
    ]
    assert second == [(m, s) for m in ("Llama3_2_1B", "Llama3_8B") for s in (256, 1024, 2048)]
    assert {r["confidence"] for r in shipped} == {"measured"} and len({r["id"] for r in shipped}) == len(shipped)


def test_host_bound_prefills_are_left_out_by_the_floor_rule(raw):
    # an eager prefill within 1.5x of the same model's fastest eager batch-1 decode step (the host's launch floor)
    # is left out: 1B at 256, 1,024 and 2,048 tokens (9.3-10.7 ms against a floor of 11.7 ms), 8B at 256 and 1,024
    # (28.1, 29.0 ms against 27.0 ms); any factor from 1.1 to 1.9 leaves the same ones out
    def kept(factor: float) -> list[tuple[str, int, int]]:
        eager = [p for p in raw["points"] if p["kind"] == "decode_eager" and p["weights"] == "bf16"]
        floor = {m: min(p["median_ms"] for p in eager if p["model"] == m) for m in {p["model"] for p in eager}}
        return [
            (p["model"], p["batch"], p["prompt"])
            for p in raw["points"]
            if p["kind"] == "prefill" and p["median_ms"] >= factor * floor[p["model"]]
        ]

    prefills = [
        (r["conditions"]["model"], r["conditions"]["batch_size"], r["conditions"]["input_len"])
        for r in D.records(raw)
        if r["quantity"] == "ttft_ms"
    ]
    assert prefills == kept(D.HOST_BOUND) == kept(1.1) == kept(1.9)
    assert ("Llama3_2_1B", 1, 2048) not in prefills and ("Llama3_2_1B", 1, 4096) in prefills
    assert ("Llama3_8B", 1, 1024) not in prefills and ("Llama3_8B", 1, 2048) in prefills
    assert len(prefills) == 9


def test_each_record_is_the_static_solve_without_an_engine_loop():
    maps = points.mappings()
    for r in (r for r in added_measurements() if r["group"] == "G"):
        fn = maps[r["id"]].fn
        assert isinstance(fn, ServingCall) and fn.hardware == "H200" and fn.engine == D.ENGINE
        assert fn.arguments["engine_overhead"] == 0.0 and fn.batch_size == r["conditions"]["batch_size"]
        assert fn.field == ("itl" if r["quantity"] == "itl_ms" else "ttft")


def test_llama3_8b_decode_at_batch_1_by_hand():
    # weights read once a step less the embedding table (one row of it is read): (8,030,261,248 - 128,256 x 4,096)
    # x 2 B = 15,009,849,344 B, plus a 2,048-token KV cache at 131,072 B a token = 268,435,456 B, at MEMORY_STREAM
    # 0.87 x 4.8 TB/s: 3.6586 ms; fixed: dispatch 10 us + 32 layers x 63 us = 2.026 ms; no engine overhead
    fn = points.mappings()["G-h200-torch-llama38b-bf16-decode-b1-ctx2048-itl"].fn
    want = (15_009_849_344 + 268_435_456) / (0.87 * 4.8e12) * 1e3 + 0.010 + 32 * 0.063
    assert fn() == pytest.approx(want, rel=1e-4)
    measured = next(r["value"] for r in added_measurements() if r["id"].endswith("llama38b-bf16-decode-b1-ctx2048-itl"))
    assert measured == pytest.approx(5.9183, abs=1e-4)  # bench/device/h200_2026-12-04.json


def test_an_int4_decode_step_maps_to_w4a16_by_hand(raw_b):
    # a record: bf16 matmuls, int4 weights. Weights less the embedding table
    # 15,009,849,344 B / 4 = 3,752,462,336 B, plus the 268,435,456 B KV cache, at 0.87 x 4.8 TB/s: 0.96286 ms,
    # plus 2.026 ms fixed (as the bf16 step) = 2.989 ms; measured 4.171 ms (tinygemm int4, 28 % short)
    point = next(p for p in raw_b["points"] if p["kind"] == "decode_graph" and p["batch"] == 1)
    rec = next(r for r in D.records(raw_b, D.RAW_FILES[1]) if r["id"].endswith("llama38b-int4-decode-b1-ctx2048-itl"))
    assert point["weights"] == "int4" and rec["value"] == pytest.approx(point["median_ms"], abs=1e-4)
    fn = D.call(rec)
    assert fn.arguments == {"precision": "bf16", "weight_precision": "int4", "engine_overhead": 0.0}
    want = (15_009_849_344 / 4 + 268_435_456) / (0.87 * 4.8e12) * 1e3 + 0.010 + 32 * 0.063
    assert fn() == pytest.approx(want, rel=1e-4)
    assert point["median_ms"] == pytest.approx(4.1710, abs=1e-4)
