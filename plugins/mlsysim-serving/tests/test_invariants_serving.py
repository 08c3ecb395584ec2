"""Hypothesis invariants of serving: ITL grows with context, KV linear in seq_len and batch, more
bandwidth / FLOP/s never slows the bound phase, TP never needs more memory per GPU."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_serving import ServingModel
from mlsysim_serving import kernels as K

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70, MIXTRAL, MLA  # noqa: E402

serving = ServingModel()
models = st.sampled_from([LLAMA8, LLAMA70, MIXTRAL, MLA])
seqs = st.integers(1, 32000)
batches = st.integers(1, 512)
tps = st.sampled_from([1, 2, 4, 8])
precs = st.sampled_from(["fp16", "fp8"])


@settings(max_examples=150, deadline=None)
@given(models, seqs, seqs, batches, tps, precs)
def test_itl_and_ttft_grow_with_context(model, s1, s2, batch, tp, prec):
    lo, hi = sorted((s1, s2))
    a = serving.solve(model, H100, lo, batch, precision=prec, tp_size=tp)
    b = serving.solve(model, H100, hi, batch, precision=prec, tp_size=tp)
    assert b.itl >= a.itl and b.ttft >= a.ttft and b.total_memory_required >= a.total_memory_required


@settings(max_examples=150, deadline=None)
@given(models, seqs, batches, st.integers(1, 64), precs)
def test_kv_linear_in_seq_len_and_batch(model, seq, batch, k, prec):
    base = serving.solve(model, H100, seq, batch, precision=prec).kv_cache_size.to("B").magnitude
    more_seq = serving.solve(
        model,
        H100,
        min(seq * k, 163840 if model is MLA else 32768 if model is MIXTRAL else 131072),
        batch,
        precision=prec,
    )
    more_b = serving.solve(model, H100, seq, batch * k, precision=prec).kv_cache_size.to("B").magnitude
    ratio = more_seq.seq_len / seq
    assert abs(more_seq.kv_cache_size.to("B").magnitude - base * ratio) <= 1e-9 * base * ratio
    assert abs(more_b - base * k) <= 1e-9 * base * k
    per_token = model.si.kv_elements_per_token * (1 if prec == "fp8" else 2)
    assert abs(base - seq * batch * per_token) <= 1e-9 * base


@settings(max_examples=100, deadline=None)
@given(models, seqs, batches, st.floats(1, 32), st.booleans())
def test_faster_hardware_never_slower(model, seq, batch, k, bandwidth):
    base = serving.solve(model, H100, seq, batch)
    if bandwidth:
        hw = attrs.evolve(H100, memory=attrs.evolve(H100.memory, bandwidth=H100.memory.bandwidth * k))
    else:
        peaks = {p: q * k for p, q in H100.compute.precision_flops.items()}
        hw = attrs.evolve(H100, compute=attrs.evolve(H100.compute, precision_flops=peaks))
    new = serving.solve(model, hw, seq, batch)
    assert new.itl <= base.itl and new.ttft <= base.ttft


@settings(max_examples=100, deadline=None)
@given(models, seqs, batches, tps, tps)
def test_more_tp_less_memory_per_gpu(model, seq, batch, t1, t2):
    lo, hi = sorted((t1, t2))
    a = serving.solve(model, H100, seq, batch, tp_size=lo)
    b = serving.solve(model, H100, seq, batch, tp_size=hi)
    assert b.total_memory_required <= a.total_memory_required
    assert b.decode_memory_time <= a.decode_memory_time


@settings(max_examples=100, deadline=None)
@given(models, seqs, batches, batches)
def test_itl_grows_with_concurrency(model, seq, b1, b2):
    lo, hi = sorted((b1, b2))
    a = serving.solve(model, H100, seq, lo)
    b = serving.solve(model, H100, seq, hi)
    assert (
        b.itl >= a.itl and b.ttft >= a.ttft and b.tokens_per_second.magnitude >= a.tokens_per_second.magnitude * 0.999
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 100000), min_size=1, max_size=16))
def test_kernels_vectorize(contexts):
    ctx = np.array(contexts, dtype=float)
    args = (2.0, 2.0, 2.0, 2.0, 7.5e9, 7.5e9, 4.0 * 32.0 * 4096.0, 4096.0, 65536.0, 0.5)
    f, m, msg, _ = K.decode(8.0, ctx, *args)
    t = K.phase_time(f, m, K.tp_allreduce(msg, 2.0, 32.0, 450e9, 5e-7, 0.8, 5e-6), 989.5e12, 3.35e12, 0.6, 0.8, 3e-4)[0]
    for i, c in enumerate(contexts):
        fs, ms_, msgs, _ = K.decode(8.0, float(c), *args)
        ts = K.phase_time(
            fs, ms_, K.tp_allreduce(msgs, 2.0, 32.0, 450e9, 5e-7, 0.8, 5e-6), 989.5e12, 3.35e12, 0.6, 0.8, 3e-4
        )[0]
        assert abs(t[i] - ts) <= 1e-12 * ts
