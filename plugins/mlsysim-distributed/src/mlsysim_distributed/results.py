"""DistributedResult: what one DistributedModel.solve() returns (SI floats in, Quantities out)."""

from __future__ import annotations

from typing import Any

import attrs

from mlsysim_core.results import Result, measure, result


@result("DistributedModel")
class DistributedResult(Result):
    """One training step of a data x tensor x pipeline (x expert) parallel job on a fleet.

    Time fields are per optimizer step. ``step_time = compute_latency + pipeline_bubble_latency +
    exposed_communication_latency + optimizer_time``. Upstream 0.1.1 names are kept:
    ``step_latency_total`` (= step_time), ``effective_throughput`` (= throughput).
    """

    # --- time per step
    step_time = measure("ms", doc="wall time of one optimizer step (global batch)")
    compute_latency = measure("ms", doc="compute of the busiest stage over the step, no bubble, no communication")
    ideal_step_time = measure(
        "ms", doc="hardware FLOPs / (N x peak x compute efficiency): perfect scaling, compute only"
    )
    pipeline_bubble_latency = measure(
        "ms", doc="pipeline fill + drain of the schedule: (p-1)/v micro-batch times for 1F1B"
    )
    dp_communication_latency = measure(
        "ms", doc="data-parallel gradient synchronisation per step (all of it, hidden or not)"
    )
    dp_exposed_latency = measure("ms", doc="part of the DP synchronisation not hidden behind backward (overlap_comm)")
    tp_communication_latency = measure("ms", doc="tensor-parallel all-reduces of the busiest stage per step")
    tp_exposed_latency = measure(
        "ms", doc="part of the tensor-parallel communication not hidden behind the GEMMs (all of it without tp_overlap)"
    )
    pp_communication_latency = measure("ms", doc="pipeline point-to-point sends of one stage per step")
    ep_communication_latency = measure("ms", doc="expert-parallel all-to-alls of the busiest stage per step")
    ep_exposed_latency = measure(
        "ms", doc="part of the expert all-to-alls not hidden behind compute (all of it but with dualpipe)"
    )
    cp_communication_latency = measure("ms", doc="context-parallel K/V exchange of the busiest stage per step")
    cp_exposed_latency = measure("ms", doc="part of the K/V exchange not hidden behind attention (ring variant)")
    communication_latency = measure("ms", doc="dp + tp + pp + ep + cp communication per step")
    exposed_communication_latency = measure(
        "ms", doc="communication on the critical path: exposed tp, pp, ep, cp and dp"
    )
    optimizer_time = measure(
        "ms",
        doc="the optimizer update after the gradient reduction: (gradient + 2 x optimizer state + weight) bytes of "
        "the parameters whose optimizer state the GPU holds (its ZeRO shard) / (HBM bandwidth x "
        "mlsysim_physics.efficiency.MEMORY_STREAM)",
    )
    time_to_train = measure("day", doc="steps for `tokens` x step_time (when tokens were given)", optional=True)
    # --- rates and efficiencies
    throughput = measure("1/s", doc="sequences (samples) per second = global batch / step_time")
    tokens_per_second = measure("token/s", doc="tokens per second = throughput x seq_len (transformers)", optional=True)
    scaling_efficiency: float = attrs.field(metadata={"doc": "ideal_step_time / step_time"})
    bubble_fraction: float = attrs.field(
        metadata={"doc": "u/(m + u), u the schedule's idle micro-batch times ((p-1)/v for 1F1B)"}
    )
    mfu: float = attrs.field(metadata={"doc": "model FLOPs / (step_time x N x dense peak), no recomputation counted"})
    hfu: float = attrs.field(metadata={"doc": "hardware FLOPs (with recomputation) / (step_time x N x dense peak)"})
    achieved_flops_per_gpu = measure("TFLOP/s", doc="hardware FLOPs per step / (step_time x N) (Megatron's convention)")
    flops_per_step = measure("PFLOP", doc="model FLOPs of one step (6 P tokens + attention; no recomputation)")
    hardware_flops_per_step = measure("PFLOP", doc="FLOPs executed in one step, recomputation included")
    # --- memory per GPU
    memory_per_gpu = measure("GB", doc="weights + gradients + optimizer + activations on the busiest GPU")
    weights_memory = measure("GB", doc="weights per GPU")
    gradients_memory = measure("GB", doc="gradients per GPU")
    optimizer_memory = measure("GB", doc="optimizer state per GPU (fp32 master + Adam moments)")
    activation_memory = measure("GB", doc="activations held by the busiest pipeline stage")
    memory_capacity = measure("GB", doc="HBM of one accelerator")
    memory_utilization: float = attrs.field(metadata={"doc": "memory_per_gpu / memory_capacity"})
    feasible: bool = attrs.field(metadata={"doc": "memory_per_gpu fits in HBM"})
    infeasible_reason: str = attrs.field(default="", metadata={"doc": "why not feasible (required vs HBM), else ''"})
    # --- configuration as solved
    parallelism: dict = attrs.field(metadata={"doc": "{'dp', 'tp', 'pp', 'ep', 'cp'} degrees"})
    microbatch_count: int = attrs.field()
    micro_batch_size: float = attrs.field(
        metadata={"doc": "sequences per micro-batch per DP rank (may be fractional: see warnings)"}
    )
    local_batch_size: int = attrs.field(metadata={"doc": "sequences per DP rank per step"})
    global_batch_size: int = attrs.field()
    seq_len: int = attrs.field()
    precision: str = attrs.field()
    zero_stage: int = attrs.field()
    grad_precision: str = attrs.field(metadata={"doc": "dtype of the gradient buffers and the gradient reduction"})
    master_precision: str = attrs.field(metadata={"doc": "dtype of the optimizer's master copy of the weights"})
    state_bytes_per_param: float = attrs.field(
        metadata={
            "doc": "weights + gradients + optimizer bytes per parameter before sharding "
            "(18 with bf16 Megatron defaults)"
        }
    )
    activation_recomputation: str = attrs.field()
    schedule: str = attrs.field(
        default="1f1b", metadata={"doc": "pipeline schedule (gpipe, 1f1b, interleaved, zb-h1, zb-v, dualpipe)"}
    )
    cp_variant: str = attrs.field(default="ring", metadata={"doc": "context-parallel K/V exchange: ring or all-gather"})
    fp8: bool = attrs.field(default=False, metadata={"doc": "GEMMs at the fp8 peak, linear-layer inputs kept in FP8"})
    tp_overlap: bool = attrs.field(
        default=False, metadata={"doc": "tensor-parallel communication overlapped with the GEMMs"}
    )
    total_accelerators: int = attrs.field(metadata={"doc": "N = dp x tp x pp accelerators used (the whole fleet)"})
    fleet: object = attrs.field(metadata={"doc": "the Fleet solved for (for energy/cost consumers)"})
    model: object = attrs.field()
    efficiency: object = attrs.field(metadata={"doc": "the TrainingEfficiency used"})
    notes: tuple = attrs.field(default=(), metadata={"doc": "assumptions that mattered for this answer"})

    # aliases, derived (not stored): upstream 0.1.1 names and the HasLatency protocol
    @property
    def step_latency_total(self) -> Any:
        """Same as step_time (upstream 0.1.1 name)."""
        return self.step_time

    @property
    def latency(self) -> Any:
        """Same as step_time (the HasLatency protocol)."""
        return self.step_time

    @property
    def effective_throughput(self) -> Any:
        """Same as throughput (upstream 0.1.1 name)."""
        return self.throughput
