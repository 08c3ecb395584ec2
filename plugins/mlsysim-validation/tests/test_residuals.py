"""Group L's residuals by family (mlsysim_validation.residuals; docs/accuracy.md, "Session 18")."""

from __future__ import annotations

import warnings

import pytest
from mlsysim_validation import residuals as R
from mlsysim_validation.harness import added_measurements


@pytest.fixture(scope="module")
def rows() -> list[R.Residual]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return R.residuals()


def _row(i: str, in_engine: float, gap: float, step: float = 10.0) -> R.Residual:
    return R.Residual(i, "f", 100.0 + gap, 100.0, alone=20.0, step=step, in_engine=in_engine, utilization=0.1)


def test_every_loaded_ttft_row_has_one_family(rows):
    ids = sorted(r["id"] for r in added_measurements() if r["group"] == "L")
    assert [r.id for r in rows] == ids and len(ids) == 44
    names = [name for name, _ in R.FAMILIES]
    assert {r.family for r in rows} == set(names)
    assert R.family("L-nim-llama33-70b-2xh100-isl1000-osl1000-c5-ttft") == names[0]
    assert R.family("L-nim-llama33-70b-2xh100-isl5000-osl500-c5-ttft") == names[1]
    assert R.family("L-gpustack-qwen3-8b-h100-trtllm-sharegpt-c4-ttft") == "GPUStack SGLang/TRT-LLM, closed"
    with pytest.raises(ValueError, match="no family"):
        R.family("L-somebody-else-ttft")
    # a series is one row id less its load
    rps4 = "L-vllm060-llama318b-1xa100-sharegpt-rps4-ttft-p50"
    assert R.series(rps4) == "L-vllm060-llama318b-1xa100-sharegpt-ttft-p50"
    assert R.series("L-nim-llama33-70b-2xh100-isl200-osl200-c25-ttft") == "L-nim-llama33-70b-2xh100-isl200-osl200-ttft"


def test_slopes_and_the_per_chunk_frontend_load_by_hand():
    # one series at 2, 4, 6 requests: gaps 10, 14, 18 ms -> 2 ms per request; a one-row series gives none
    series = [_row(f"L-x-c{n}-ttft", n, g) for n, g in ((2, 10.0), (4, 14.0), (6, 18.0))]
    lone = _row("L-y-c1-ttft", 1, 50.0)
    ((slope, top),) = R.slopes([*series, lone])
    assert slope == pytest.approx(2.0) and top.in_engine == 6
    # c = 2 x 2 ms a chunk; 6 streams a 10 ms step: 6 x 4 / 10 = 2.4 (the stage could not keep up)
    assert R.chunk_load(slope, top) == pytest.approx(2.4)


def test_what_the_residuals_rule_out(rows):
    by = {name: [r for r in rows if r.family == name] for name, _ in R.FAMILIES}
    # a prefill the model misses: group G's static prefills are at most ~20 % slower than modelled (0.2 lone
    # prefills), while most rows miss far more
    shortfall = R.prefill_shortfall()
    assert 0.1 < shortfall < 0.25
    assert sum(r.gap > shortfall * r.alone for r in rows) == 36
    # a time fixed per request: GPUStack's vLLM 0.11.0 only, ~50 ms from one client on, nearly flat
    vllm = by["GPUStack vLLM 0.11.0, closed"]
    gaps = [r.gap for r in vllm]
    assert min(gaps) > 40 and max(gaps) < 1.25 * min(gaps)
    assert min(vllm, key=lambda r: r.in_engine).in_engine == pytest.approx(1.0)
    # NIM's one-user rows bound its own at a few ms
    nim_one = [r for r in rows if r.id.startswith("L-nim") and r.in_engine < 1.5]
    assert len(nim_one) == 2 and all(abs(r.gap) < 15 for r in nim_one)
    # about one modelled step more on the open loops of SGLang and vLLM 0.5.4, at every load
    for name in ("SGLang 0.3.0, open", "SGLang >= 0.3.6 on H200, open", "vLLM 0.5.4 on one core, open"):
        assert all(0.6 < r.gap / r.step < 2.0 for r in by[name]), name
    # a serial per-chunk frontend cannot give NIM's short-prompt, vLLM 0.6.0's or GPUStack vLLM's slopes
    for name in ("NIM 1.8.0, 200-1,000 tok, closed", "vLLM 0.6.0 multi-step, open", "GPUStack vLLM 0.11.0, closed"):
        assert all(R.chunk_load(s, top) > 1.5 for s, top in R.slopes(by[name])), name
    # SGLang's gap hardly grows with the load
    assert all(s < 1.0 for s, _ in R.slopes(by["SGLang 0.3.0, open"] + by["SGLang >= 0.3.6 on H200, open"]))


def test_the_table_has_one_line_per_family(rows):
    lines = R.table(rows).splitlines()
    assert lines[0].split()[:2] == ["family", "rows"]
    assert [line[:34].strip() for line in lines[1:]] == [name for name, _ in R.FAMILIES]
    assert sum(int(line[34:39]) for line in lines[1:]) == 44
