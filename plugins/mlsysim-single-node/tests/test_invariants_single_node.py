"""Hypothesis invariants of the roofline: monotone in batch, bandwidth and FLOP/s."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_single_node import SingleNodeModel
from mlsysim_single_node import kernels as K

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_sn import H100, LLAMA8, LLAMA70, MIXTRAL, RESNET  # noqa: E402

solver = SingleNodeModel()
models = st.sampled_from([LLAMA8, LLAMA70, MIXTRAL, RESNET])
batches = st.integers(1, 4096)
contexts = st.one_of(st.none(), st.integers(1, 32768))
precisions = st.sampled_from(["fp16", "bf16", "fp8"])
scale = st.floats(1.0, 64.0)


def _ctx(model, ctx):
    """A context for a transformer; None for the CNN (a seq_len for it is an input error)."""
    return None if model is RESNET else ctx


@settings(max_examples=150, deadline=None)
@given(models, batches, batches, contexts, precisions, st.booleans())
def test_latency_never_falls_as_batch_grows(model, b1, b2, ctx, prec, training):
    lo, hi = sorted((b1, b2))
    kw = dict(precision=prec, seq_len=_ctx(model, ctx), is_training=training)
    if training and kw["seq_len"] is not None:
        kw["seq_len"] = min(ctx, 4096)
    a = solver.solve(model, H100, batch_size=lo, **kw)
    b = solver.solve(model, H100, batch_size=hi, **kw)
    assert b.latency >= a.latency
    assert b.memory_footprint >= a.memory_footprint and b.flops >= a.flops


@settings(max_examples=100, deadline=None)
@given(models, batches, contexts, scale)
def test_more_bandwidth_never_slows_a_memory_bound_step(model, batch, ctx, k):
    base = solver.solve(model, H100, batch_size=batch, seq_len=_ctx(model, ctx))
    faster = attrs.evolve(H100, memory=attrs.evolve(H100.memory, bandwidth=H100.memory.bandwidth * k))
    new = solver.solve(model, faster, batch_size=batch, seq_len=_ctx(model, ctx))
    if base.bottleneck == "Memory":
        assert new.latency <= base.latency
    assert new.latency_memory <= base.latency_memory


@settings(max_examples=100, deadline=None)
@given(models, batches, contexts, scale)
def test_more_flops_never_slows_a_compute_bound_step(model, batch, ctx, k):
    base = solver.solve(model, H100, batch_size=batch, seq_len=_ctx(model, ctx))
    peaks = {p: q * k for p, q in H100.compute.precision_flops.items()}
    faster = attrs.evolve(H100, compute=attrs.evolve(H100.compute, precision_flops=peaks))
    new = solver.solve(model, faster, batch_size=batch, seq_len=_ctx(model, ctx))
    if base.bottleneck == "Compute":
        assert new.latency <= base.latency
    assert new.latency_compute <= base.latency_compute


@settings(max_examples=100, deadline=None)
@given(models, batches, contexts, precisions)
def test_accounting_identities(model, batch, ctx, prec):
    p = solver.solve(model, H100, batch_size=batch, seq_len=_ctx(model, ctx), precision=prec)
    lat = p.latency.to("s").magnitude
    parts = (
        max(p.latency_compute.to("s").magnitude, p.latency_memory.to("s").magnitude)
        + p.latency_overhead.to("s").magnitude
    )
    assert abs(lat - parts) <= 1e-12 * lat
    assert 0 < p.mfu < 1
    assert p.feasible == (p.memory_footprint <= p.memory_available)
    assert abs(p.throughput.to("1/s").magnitude * lat - batch) < 1e-9 * batch


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 1 << 16), min_size=1, max_size=20))
def test_kernels_vectorize(batch_list):
    """The kernels take numpy arrays: one call equals the scalar calls element by element."""
    import numpy as np

    s = solver.solve(LLAMA8, H100, batch_size=1)  # warm the shape cache
    del s
    arr = np.array(batch_list, dtype=float)
    args = (2.0, 2.0, 7.5e9, 0.0, 1.0, 7.5e9, 32.0, 4096.0, 65536.0, 8.03e9)
    f, m, fp = K.decoder_inference(arr, 1024.0, *args)
    lat = K.roofline(f, m, 0.0, 0.0, 989.5e12, 3.35e12, 0.6, 0.8, 3.3e-4, 700.0, 0.25, 0.6, 0.35)[0]
    for i, bsz in enumerate(batch_list):
        fs, ms_, _ = K.decoder_inference(float(bsz), 1024.0, *args)
        ls = K.roofline(fs, ms_, 0.0, 0.0, 989.5e12, 3.35e12, 0.6, 0.8, 3.3e-4, 700.0, 0.25, 0.6, 0.35)[0]
        assert abs(lat[i] - ls) <= 1e-12 * ls
