"""vLLM v0.5.x's host time per step (:mod:`mlsysim_serving.host_time`): it lengthens every step by the same
amount in both methods, so token gaps and TTFT grow by at least the difference to the generic default."""

from __future__ import annotations

import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving.host_time import VLLM_0_5_STEP_S

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_physics.efficiency import STEP_OVERHEAD_S

LM, HW = mlsysim.Models.Language, mlsysim.Hardware
#: Llama-3.1-8B on one H200 NVL at ShareGPT's means (Phala's vLLM v0.5.4 rows), 512-token chunks
LOADED = dict(
    seq_len=215, output_len=179, precision="bf16", length_cv=1.13, max_num_batched_tokens=512, arrival_rate=4.0
)


def _solve(**kw):
    return ServingModel().solve(LM.Llama3_1_8B, HW.H200_NVL, **kw)


def test_the_v05_step_is_three_ms_longer_than_the_default_at_batch_one():
    # one request, no traffic: a decode step is GPU time + host time, so 4 ms - 1 ms = 3 ms more per token,
    # and the prefill (one step) 3 ms more as well
    assert VLLM_0_5_STEP_S - STEP_OVERHEAD_S == pytest.approx(3e-3, abs=1e-15)
    plain = _solve(seq_len=215, batch_size=1, precision="bf16")
    v05 = _solve(seq_len=215, batch_size=1, precision="bf16", engine_overhead=VLLM_0_5_STEP_S)
    assert v05.itl.m_as("s") - plain.itl.m_as("s") == pytest.approx(3e-3, abs=1e-12)
    assert v05.ttft.m_as("s") - plain.ttft.m_as("s") == pytest.approx(3e-3, abs=1e-12)


@pytest.mark.parametrize("method", ["analytic", "simulate"])
def test_both_methods_lengthen_every_token_gap_by_the_host_time(method):
    # under Poisson arrivals at 4/s each step holds the extra 3 ms, and longer steps hold a few more sequences,
    # whose KV reads add a little GPU time: the mean token gap grows by 3 ms and at most 10 % more (the weight
    # reads, most of an 8B model's decode step at a batch of a few, do not grow)
    kw = {"method": "simulate", "num_requests": 2000, "seed": 0} if method == "simulate" else {}
    plain = _solve(**LOADED, engine_overhead=STEP_OVERHEAD_S, **kw)
    v05 = _solve(**LOADED, engine_overhead=VLLM_0_5_STEP_S, **kw)
    grown = v05.itl_mean.m_as("s") - plain.itl_mean.m_as("s")
    assert 3e-3 <= grown <= 3.3e-3
    assert v05.ttft_mean.m_as("s") - plain.ttft_mean.m_as("s") >= 3e-3


@pytest.mark.parametrize("bad", [-0.001, 1.5, "fast", "3 GB", "2 s"])
def test_bad_engine_overhead_is_named(bad):
    with pytest.raises(InvalidInputError) as e:
        _solve(seq_len=215, batch_size=1, precision="bf16", engine_overhead=bad)
    assert e.value.argument == "engine_overhead"
