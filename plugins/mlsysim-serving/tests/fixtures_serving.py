"""Test-only catalog values built from the types (hand-derived numbers must not move when the default
catalog is revised). Numbers: vendor datasheets / HF configs, as in the default catalog."""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pytest
from mlsysim_serving import ops
from mlsysim_serving import traffic as TR

from mlsysim_core.types import (
    CNNWorkload,
    ComputeCore,
    HardwareNode,
    IOInterconnect,
    MemoryHierarchy,
    TransformerWorkload,
)

# Repeated in mlsysim-single-node (fixtures_sn.py) on purpose: plugins are independent distributions, tested alone.
H100 = HardwareNode(
    name="H100 (test)",
    compute=ComputeCore(
        precision_flops={"bf16": "989.5 TFLOP/s", "fp16": "989.5 TFLOP/s", "fp8": "1979 TFLOP/s"},
        default_precision="bf16",
    ),
    memory=MemoryHierarchy(capacity="80 GB", bandwidth="3.35 TB/s"),
    interconnect=IOInterconnect(name="PCIe Gen5", bandwidth="64 GB/s"),
    scale_up=IOInterconnect(name="NVLink 4", bandwidth="450 GB/s", latency="0.5 us"),
    tdp="700 W",
    dispatch_tax="10 us",
)
# NVIDIA A100 SXM4 80GB datasheet (dense bf16; NVLink 3 600 GB/s bidirectional = 300 per direction), as the catalog.
A100 = HardwareNode(
    name="A100 (test)",
    compute=ComputeCore(precision_flops={"bf16": "312 TFLOP/s", "fp16": "312 TFLOP/s"}, default_precision="bf16"),
    memory=MemoryHierarchy(capacity="80 GB", bandwidth="2.039 TB/s"),
    interconnect=IOInterconnect(name="PCIe Gen4", bandwidth="32 GB/s"),
    scale_up=IOInterconnect(name="NVLink 3", bandwidth="300 GB/s", latency="0.5 us"),
    tdp="400 W",
    dispatch_tax="15 us",
)
NO_LINK = HardwareNode(
    name="island (test)",
    compute=ComputeCore(precision_flops={"fp16": "100 TFLOP/s"}, default_precision="fp16"),
    memory=MemoryHierarchy(capacity="16 GB", bandwidth="1 TB/s"),
    dispatch_tax="0 s",
)
LLAMA8 = TransformerWorkload(
    name="Llama-3.1-8B (test)",
    parameters=8030261248,
    layers=32,
    hidden_dim=4096,
    heads=32,
    kv_heads=8,
    head_dim=128,
    ffn_dim=14336,
    vocab_size=128256,
    max_seq_len=131072,
)
LLAMA70 = TransformerWorkload(
    name="Llama-3.1-70B (test)",
    parameters=70553706496,
    layers=80,
    hidden_dim=8192,
    heads=64,
    kv_heads=8,
    head_dim=128,
    ffn_dim=28672,
    vocab_size=128256,
    max_seq_len=131072,
)
MIXTRAL = TransformerWorkload(
    name="Mixtral-8x7B (test)",
    parameters=46702792704,
    active_parameters=12879921152,
    experts=8,
    active_experts=2,
    layers=32,
    hidden_dim=4096,
    heads=32,
    kv_heads=8,
    head_dim=128,
    ffn_dim=14336,
    vocab_size=32000,
    max_seq_len=32768,
)
RESNET = CNNWorkload(
    name="ResNet-50 (test)",
    parameters=25557032,
    flops_per_sample="8.178 GFLOP",
    activations_per_sample=11114984,
    layers=50,
)

PCIE_ONLY = HardwareNode(
    name="PCIe card (test)",
    compute=ComputeCore(precision_flops={"fp16": "121 TFLOP/s"}, default_precision="fp16"),
    memory=MemoryHierarchy(capacity="24 GB", bandwidth="300 GB/s"),
    interconnect=IOInterconnect(name="PCIe Gen4", bandwidth="32 GB/s", latency="2 us"),
    tdp="72 W",
)
MLA = TransformerWorkload(
    name="DeepSeek-V3-like (test)",
    parameters=671026419712,
    active_parameters=37554114560,
    experts=256,
    active_experts=8,
    layers=61,
    hidden_dim=7168,
    heads=128,
    kv_heads=128,
    head_dim=128,
    vocab_size=129280,
    kv_lora_rank=512,
    qk_rope_head_dim=64,
    max_seq_len=163840,
)


class UnitSteps:
    """A step cost of exactly one second whatever the step holds, for hand-countable simulator runs."""

    def time(self, tokens, attn, kv_tokens, prefill=False, roofline=False, fresh=0.0):
        return 1.0

    def drain(self, t, tokens):
        return 0.0


#: One H100 per pool over NVLink: the smallest disaggregated layout, for arguments refused with pools.
ONE_GPU_POOLS = dict(disagg="prefill=H100x1:tp1,decode=H100x1:tp1", fabric="NVLink")


#: ops.ARRAY with the C library's math functions (ops.SCALAR's, element by element) in place of numpy's ufuncs,
#: whose SIMD exp, expm1 and log1p (numpy 2.x on AVX-512) differ from the C library's by one ulp on ~5 % of
#: arguments, a difference that fixed points and difference quotients amplify: with these, a float's branch
#: and an array's are compared exactly, operation for operation.
LIBM_ARRAY = ops.Ops(
    ops.ARRAY.max,
    ops.ARRAY.min,
    ops.ARRAY.where,
    ops.ARRAY.ratio,
    ops.ARRAY.top,
    ops.ARRAY.all,
    **{
        k: np.vectorize(getattr(ops.SCALAR, k), otypes=[bool if k == "isfinite" else float])
        for k in ("exp", "expm1", "log", "log1p", "sqrt", "floor", "ceil", "isfinite", "erf")
    },
)


@contextlib.contextmanager
def libm_arrays():
    """Kernels given arrays take :data:`LIBM_ARRAY` as their operations while the block runs."""
    with mock.patch.object(ops, "ARRAY", LIBM_ARRAY), mock.patch.object(TR, "ARRAY", LIBM_ARRAY):
        yield


class Timed:
    """A step cost without step pieces (:meth:`StepCost.line` and :meth:`StepCost.pieces` None): the traffic kernels
    time every step through :meth:`StepCost.time` (their general path)."""

    def __init__(self, cost):
        self.cost = cost

    def line(self, tokens, attn, kv_tokens, pos):
        return None

    def pieces(self, pos):
        return None

    def __getattr__(self, name):
        return getattr(self.cost, name)


def steady_matches_timed(cost, load, lam: float, M: float, rel: float) -> float:
    """Check that ``_mix``'s Poisson sum and ``batch_slope`` (dT/dB) on ``cost``'s pieces equal them on the same
    steps timed one by one (:class:`Timed`) at the timed path's steady state for rate ``lam``, to ``rel`` (the slope
    to 10 ``rel``); answers that steady step time T."""
    timed = Timed(cost)
    T = TR.steady(ops.SCALAR, timed, load, lam, M)[0]
    B, m = 1.0 + lam * load.D1 * T, lam * T
    fast, slow = TR._mix(ops.SCALAR, cost, load, B, m, M), TR._mix(ops.SCALAR, timed, load, B, m, M)
    for a, b in zip(fast, slow):
        assert a == pytest.approx(b, rel=rel)
    slope = TR.batch_slope(ops.SCALAR, cost, load, B, m, fast[1], M)
    assert slope == pytest.approx(TR.batch_slope(ops.SCALAR, timed, load, B, m, fast[1], M), rel=10 * rel)
    return T


@contextlib.contextmanager
def counted(name, answered=False):
    """The calls of traffic's function ``name`` (their arguments) while the block runs; ``answered``: only those that
    returned something (not None)."""
    seen = []
    fn = getattr(TR, name)

    def counting(*args):
        out = fn(*args)
        if out is not None or not answered:
            seen.append(args)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TR, name, counting)
        yield seen
