"""Named default efficiencies and overheads: the achievable fraction of datasheet peaks (few, documented).

A first-order model is only as good as these. Each constant below states what it is the fraction
of, its value and where the value comes from; none is fitted to a single measurement. Solvers take
explicit overrides (``efficiency=`` for compute, ``memory_efficiency=`` where offered); these are the
defaults when the user gives none. Report prediction error against
``shared/calibration/measurements.json`` per group (``mlsysim validate``) rather
than tuning a constant per point.

Sources are cited by key below ([NAR21], ...) and listed with their tables and figures in
docs/accuracy.md, "Default efficiencies and their sources".
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import attrs

from mlsysim_core.validate import fraction


@attrs.frozen(kw_only=True)
class Efficiency:
    """Fractions of peak achieved by real kernels: compute (dense GEMM), memory (streaming), links."""

    compute: float = attrs.field(converter=lambda v: fraction("efficiency.compute", v))
    memory: float = attrs.field(converter=lambda v: fraction("efficiency.memory", v))
    network: float = attrs.field(converter=lambda v: fraction("efficiency.network", v))


# --------------------------------------------------------------------------- compute

#: Achieved fraction of the dense tensor peak for whole forward passes at 16-bit or wider precision
#: (bf16, fp16, tf32, fp32, fp64). Large GEMMs alone reach ~0.7-0.8 of peak; attention, norms and
#: element-wise kernels pull whole models down to 0.45-0.76 [NAR21 0.44-0.52 incl. comm, CHOW22
#: 0.46, POPE22 0.76 prefill]. 0.6 is the middle of that range.
COMPUTE_WIDE = 0.60

#: Achieved fraction of the dense peak at 8 bits or fewer (fp8, int8, fp6, fp4, int4). The tensor
#: peak doubles (or quadruples) but attention, softmax, norms, (de)quantisation do not, so the
#: achieved share of the narrower peak is lower: one step below COMPUTE_WIDE. Range 0.367-0.633:
#: COMPUTE_WIDE's as factors of this value (mlsysim_uncertainty.ranges.UNBANDED).
COMPUTE_NARROW = 0.50

#: Bytes per element at or below which COMPUTE_NARROW applies.
NARROW_BYTES = 1.0

# --------------------------------------------------------------------------- memory and links

#: Achieved fraction of peak main-memory (HBM/GDDR) bandwidth by a kernel streaming weights, KV
#: cache and activations: measured copy/read kernels reach 86.7 % on H100 [VPGT24], 88 % on A100
#: [NVF88], ~90 % [LUO24]: 0.87. This is a kernel-level fraction: the fixed costs of a step (per
#: kernel, per layer, per iteration) are counted apart, below, once each. (Until issue 14 this was
#: 0.70, the end-to-end rate of gpt-fast [GPTF23], which already contains those fixed costs, and the
#: per-layer and per-iteration overheads were added on top of it: counted twice.)
MEMORY_STREAM = 0.87

#: Achieved fraction of a link's per-direction bandwidth by bandwidth-bound collectives
#: (ring all-reduce bus bandwidth in nccl-tests reaches ~0.8 of the NVLink/IB line rate [NCCL]).
NETWORK = 0.80

#: Fixed software latency per collective call (launch + synchronisation), added to the link's
#: alpha per ring step; dominates tensor-parallel decode [NCCL]. Range 2-10 us, an estimate: [NCCL]'s
#: "a few to ~10 us" per call.
COLLECTIVE_LAUNCH_S = 5e-6

#: Per-hop latency (alpha) of a scale-up link (or a network fabric) whose catalog entry gives none:
#: AMD Infinity Fabric, Intel Gaudi RoCE, Google ICI and AWS NeuronLink publish no per-hop figure.
#: 0.7 us: NVLink's 0.5 us (mlsysim 0.1.1 LATENCY_NVLINK) is the best case of a switched/direct
#: GPU link, the RCCL measurement on MI250X Infinity Fabric implies ~0.67 us [RCCL929] and ICI is
#: "sub-microsecond" [ICI]. A solver that uses it says so in the result's notes. Range 0.5-1 us, an
#: estimate (NVLink's best case to a judgement above [RCCL929] and [ICI]).
DEFAULT_LINK_LATENCY_S = 0.7e-6

#: Per-layer, per-step fixed GPU time: a layer is ~10-15 kernels (norms, GEMMs, rotary, attention,
#: activations, residual adds), each with a launch, a ramp-up to full bandwidth and a tail that a
#: bandwidth term does not see (a few us each). Derived from [GPTF23] with the kernel-level
#: MEMORY_STREAM: bf16 Llama-2-7B takes 9.53 ms per token where streaming its 13.32 GB at
#: 0.87 x 2,039 GB/s takes 7.51 ms; the 2.02 ms left over its 32 layers is 63 us per layer. The
#: residual is a fixed cost, not a bandwidth fraction: it stays 2.0-2.6 ms per token while int8 and
#: int4 cut the bytes 2-3x (their dequantisation adds the rest). gpt-fast runs the model under CUDA
#: graphs with no serving engine, so the residual holds no host scheduling (STEP_OVERHEAD_S).
#: (Upstream 0.1.1's FRAMEWORK_LAYER_TAX_MS was 10 us [UPS011], unsourced.) Range 29.3-78.4 us: the
#: same residual with MEMORY_STREAM at its range ends, 0.76 and 0.93.
LAYER_OVERHEAD_S = 63e-6

#: Per-iteration host overhead of a serving engine (scheduling, sampling, hand-off of the sampled
#: tokens, host-device synchronisation), on the critical path of every prefill/decode iteration
#: because the next iteration needs the sampled tokens. vLLM measured that for Llama-3-8B on one H100
#: only 38 % of serving time was GPU execution before its v0.6 overhead work (HTTP server 33 %,
#: scheduling 29 %) [VLLM060]; engines with C++ runtimes, CUDA graphs and overlapped scheduling
#: (TensorRT-LLM, SGLang, vLLM >= 0.6) keep it to a fraction of a millisecond to ~1 ms per step.
#: 1 ms per iteration (serving engines only: a single forward pass has no sampling
#: loop). Not part of LAYER_OVERHEAD_S, which was measured without a serving engine [GPTF23].
STEP_OVERHEAD_S = 1e-3

#: Share of the memory capacity the part reports (``HardwareNode.memory.capacity``, e.g. 81,559 MiB
#: on an H100 SXM) a deployment may plan to fill [VLLM]. A policy, not a property of the part:
#: results state it in their notes; a solver may take an argument to override it. Range 0.79-0.90:
#: engines' defaults (SGLang's mem_fraction_static 0.88 at tensor parallelism 1 to 0.79 at 16, vLLM 0.9).
USABLE_MEMORY_FRACTION = 0.90

#: Training stall per checkpoint (s) when neither the cost nor a storage to derive it from is given
#: (ReliabilityModel): upstream 0.1.1's ``checkpoint_time_s`` default (shared/reference/mlsysim-0.1.1.md
#: sec. 3.6), inside the measured stall of one job per checkpoint, 6.3 s saving asynchronously to
#: 148.8 s saving synchronously [PTDCP24] (its range, mlsysim_uncertainty.ranges).
CHECKPOINT_S = 60.0

# --------------------------------------------------------------------------- power

#: Accelerator power as a fraction of TDP: P = TDP * min(1, IDLE + COMPUTE * u_c + MEMORY * u_m),
#: where u_c, u_m are the busy fractions of the step of the compute units and the memory system
#: at their achievable rates (the form of [SPLIT24]'s finding: a compute-bound prefill draws near TDP, a
#: memory-bound decode markedly less). The shares are the ordinary least-squares fit (tools/power_shares.py,
#: mlsysim_validation.power_points) to the measured board draws of the calibration set, u_c and u_m from the
#: model's own step: four steady-state continuous-batching runs of the ML.ENERGY Benchmark v3.0 (Llama-3.1-8B
#: on an H100 at 688 W and on a B200 at 691 W, Qwen3-8B at 801 W and Qwen3-30B-A3B at 601 W on a B200) [MLE3]
#: and two awake-idle readings with a CUDA context held (H100 145 W, V100 53 W) [NVSMI]: 0.178 / 0.524 / 0.462
#: of TDP, each +- one standard error (0.079 / 0.175 / 0.376) its range (mlsysim_uncertainty.ranges). Before
#: the fit, 0.25 / 0.60 / 0.35 (a judgement from [SPLIT24]) drew 0.44 of TDP for Llama-3-8B decode on an H200 at
#: batch 1, above [MA26]'s measured 0.20-0.43; the wide MEMORY range says the six draws barely separate the
#: memory system's share from the compute units'.
POWER_IDLE_FRACTION = 0.18
POWER_COMPUTE_FRACTION = 0.52
POWER_MEMORY_FRACTION = 0.46


def link_latency(link: Any, what: str) -> tuple[float, str | None]:
    """(alpha in s, note): the link's catalog latency, or DEFAULT_LINK_LATENCY_S and a note naming
    ``what`` (e.g. "MI300X scale-up link") when the catalog has none."""
    lat = link.si.latency
    if lat is not None:
        return lat, None
    return DEFAULT_LINK_LATENCY_S, (
        f"{what} latency: {DEFAULT_LINK_LATENCY_S * 1e6:g} us per hop "
        "(DEFAULT_LINK_LATENCY_S; the catalog has no published figure)"
    )


def usable_memory_note(hardware: Any, fraction: float) -> str:
    """The result note stating the usable-memory policy and the capacity it applies to."""
    mem = hardware.memory
    what = "the part reports" if mem.si.capacity_stated is not None else "the vendor states (no reported total found)"
    return (
        f"usable memory: {fraction:.0%} of the {mem.si.capacity / 2**20:,.0f} MiB {what} "
        f"({'USABLE_MEMORY_FRACTION' if fraction == USABLE_MEMORY_FRACTION else 'memory_fraction'}, "
        "as vLLM's gpu_memory_utilization)"
    )


def compute_efficiency(bytes_per_element: float) -> float:
    """Default achieved fraction of the dense peak for a precision of ``bytes_per_element`` bytes."""
    return COMPUTE_NARROW if bytes_per_element <= NARROW_BYTES else COMPUTE_WIDE


_NAMED = """COMPUTE_WIDE COMPUTE_NARROW MEMORY_STREAM NETWORK COLLECTIVE_LAUNCH_S LAYER_OVERHEAD_S STEP_OVERHEAD_S
USABLE_MEMORY_FRACTION CHECKPOINT_S DEFAULT_LINK_LATENCY_S
POWER_IDLE_FRACTION POWER_COMPUTE_FRACTION POWER_MEMORY_FRACTION"""
#: Every named default (the constants above), for reports and ``mlsysim`` CLI listings.
NAMED_DEFAULTS = MappingProxyType({name: globals()[name] for name in _NAMED.split()})

#: Defaults as one value (16-bit compute); solvers pick COMPUTE_NARROW for 8-bit and below.
DEFAULT = Efficiency(compute=COMPUTE_WIDE, memory=MEMORY_STREAM, network=NETWORK)
