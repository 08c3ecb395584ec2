"""PerformanceProfile: what one roofline step of a model on one accelerator costs, and why."""

from __future__ import annotations

import math

import attrs

from mlsysim_core.results import Result, measure, result
from mlsysim_core.types import as_tuple


def _gb(x: float) -> str:
    return f"{x / 1e9:.4g} GB"


@result("SingleNodeModel")
class PerformanceProfile(Result):
    """Result of ``SingleNodeModel().solve`` / ``Engine.solve``.

    Physical fields are pint Quantities (``profile.latency.to("ms")``); ``to_dict()`` gives plain
    data; ``explain()`` / ``str()`` a summary; ``constraint_trace`` says which wall bound the step.
    A step is ``batch_size`` samples: images for a CNN, whole sequences of ``seq_len`` tokens for an
    encoder, a decoder's prefill and training, one decode token per sequence for a decoder's decode step.
    """

    # --- the answer
    latency = measure("ms", doc="time per step: max(latency_compute, latency_memory) + latency_overhead")
    throughput = measure(
        "1/s",
        doc="samples per second = batch_size / latency (tokens/s for an LLM decode step, "
        "sequences/s for an encoder or a prefill)",
    )
    bottleneck: str = attrs.field(
        metadata={
            "doc": '"Memory" or "Compute": the larger roofline term (the roofline regime; a step whose fixed '
            "overhead exceeds both is overhead-bound, which its why lines and summary say)"
        }
    )
    mfu: float = attrs.field(metadata={"doc": "model FLOPs utilisation = flops / (latency * peak_flops)"})
    hfu: float = attrs.field(
        metadata={"doc": "hardware FLOPs utilisation (= mfu; recomputed FLOPs counted in training with recomputation)"}
    )
    feasible: bool = attrs.field(metadata={"doc": "memory_footprint <= memory_available"})
    # --- the roofline terms
    latency_compute = measure("ms", doc="flops / (peak_flops * compute_efficiency)")
    latency_memory = measure(
        "ms", doc="bytes from memory / (bandwidth * memory_efficiency) + spilled bytes over the host link"
    )
    latency_overhead = measure("ms", doc="dispatch tax + layers * per-layer framework overhead")
    flops = measure("GFLOP", doc="FLOPs of the step")
    bytes_moved = measure("GB", doc="bytes moved to/from main memory (and the host link when spilling)")
    arithmetic_intensity = measure("FLOP/B", doc="flops / bytes_moved")
    ridge_point = measure("FLOP/B", doc="peak_flops / bandwidth: intensity where compute and memory times meet at peak")
    peak_flops = measure("TFLOP/s", doc="dense peak at the precision used")
    bandwidth = measure("TB/s", doc="main-memory peak bandwidth")
    peak_flops_actual = measure("TFLOP/s", doc="peak_flops * compute_efficiency (achievable)")
    peak_bw_actual = measure("TB/s", doc="bandwidth * memory_efficiency (achievable)")
    compute_efficiency: float = attrs.field(metadata={"doc": "achieved fraction of peak FLOP/s assumed"})
    memory_efficiency: float = attrs.field(metadata={"doc": "achieved fraction of peak bandwidth assumed"})
    power_idle: float = attrs.field(default=None, metadata={"doc": "awake-idle share of TDP in the power model"})
    power_compute: float = attrs.field(default=None, metadata={"doc": "share of TDP the busy compute units draw"})
    power_memory: float = attrs.field(default=None, metadata={"doc": "share of TDP the busy memory system draws"})
    # --- memory wall
    memory_footprint = measure(
        "GB", doc="bytes that must be resident: weights (+ KV cache, activations, training state)"
    )
    memory_available = measure("GB", doc="usable memory = capacity * usable fraction")
    memory_capacity = measure("GB", doc="memory capacity of the accelerator")
    offload_spill_bytes = measure(
        "GB", doc="footprint beyond usable memory, fetched over the host link each step", optional=True
    )
    offload_bandwidth = measure("GB/s", doc="host link bandwidth used for the spilled bytes", optional=True)
    # --- energy
    power = measure("W", doc="average accelerator power over the step", optional=True)
    energy = measure(
        "J", doc="accelerator energy of the step (power * latency); None when the part has no TDP", optional=True
    )
    energy_per_sample = measure("J", doc="energy / batch_size", optional=True)
    # --- inputs echoed
    precision: str = attrs.field()
    batch_size: int = attrs.field()
    seq_len: object = attrs.field(
        metadata={"doc": "context (inference) or sequence length (training); None: no KV context"}
    )
    is_training: bool = attrs.field()
    phase: str = attrs.field(
        metadata={
            "doc": 'the step solved: "decode" or "prefill" (a decoder), "forward" (an '
            'encoder over its whole sequence, a CNN) or "training"'
        }
    )
    hardware: str = attrs.field(metadata={"doc": "hardware name"})
    model: str = attrs.field(metadata={"doc": "model name"})
    notes: tuple = attrs.field(
        factory=tuple,
        converter=as_tuple,
        metadata={"doc": "every default taken for a value not given: precision, usable-memory share, missing TDP"},
    )
    # SI stores behind the Quantity views above (set by @result), read by the explanations below
    _latency: float
    _throughput: float
    _latency_compute: float
    _latency_memory: float
    _latency_overhead: float
    _arithmetic_intensity: float
    _ridge_point: float
    _memory_footprint: float
    _memory_available: float
    _memory_capacity: float
    _offload_spill_bytes: float | None
    _offload_bandwidth: float | None

    @property
    def energy_per_inference(self):
        """Upstream name: energy of the step (whole batch)."""
        return self.energy

    @property
    def constraint_trace(self) -> list[str]:
        """Why: the memory wall and the roofline wall, as sentences (built on access)."""
        req, avail = self._memory_footprint, self._memory_available
        lines = [
            f"Memory Wall: {'Passed' if self.feasible else 'FAILED'}. Required {_gb(req)} "
            f"{'<=' if self.feasible else '>'} available {_gb(avail)} (usable share of "
            f"{_gb(self._memory_capacity)}) on {self.hardware}."
        ]
        if not self.feasible:
            spill, link_bw = self._offload_spill_bytes, self._offload_bandwidth
            if link_bw and spill is not None:  # both set when the step does not fit and a host link exists
                lines.append(f"Offload: {_gb(spill)} spill over the host link at {link_bw / 1e9:.4g} GB/s every step.")
            else:
                lines.append(
                    f"Offload: {self.hardware} has no host link in the catalog, the step cannot run (latency = inf)."
                )
        ai, ridge = self._arithmetic_intensity, self._ridge_point
        lines.append(
            f"Roofline: {self.bottleneck.lower()}-bound, intensity {ai:.4g} FLOP/B vs ridge {ridge:.4g} FLOP/B "
            "at peak; "
            f"compute {self._latency_compute * 1e3:.4g} ms, memory {self._latency_memory * 1e3:.4g} ms, "
            f"overhead {self._latency_overhead * 1e3:.4g} ms."
        )
        share = self.overhead_share()
        if share is not None:
            lines.append(
                f"Overhead: the fixed dispatch and per-layer time is {share:.0%} of the latency, more "
                f"than either roofline term: at batch {self.batch_size} the step is overhead-bound (a larger batch "
                f"amortizes it); bottleneck {self.bottleneck} is the roofline regime of the remaining time."
            )
        return lines

    def overhead_share(self) -> float | None:
        """latency_overhead / latency when the fixed overhead exceeds both roofline terms (the step is
        overhead-bound, whatever ``bottleneck``'s roofline regime), else None."""
        t_o = self._latency_overhead
        if t_o > max(self._latency_compute, self._latency_memory) and math.isfinite(self._latency):
            return float(t_o / self._latency)
        return None

    def _bound(self) -> str:
        """What bounds the step, for the summary: the roofline regime, and the overhead where it dominates."""
        share = self.overhead_share()
        return (
            f"{self.bottleneck}-bound" if share is None else f"overhead-bound, {share:.0%}; roofline {self.bottleneck}"
        )

    def summary(self) -> str:
        """A short text block (upstream name)."""
        lat = self._latency
        return "\n".join(
            [
                f"{self.model} on {self.hardware} ({self.precision}, batch {self.batch_size}"
                f"{', training' if self.is_training else ''})",
                f"  latency     {lat * 1e3:.4g} ms  ({self._bound()})"
                if math.isfinite(lat)
                else "  latency     inf (does not fit, no offload path)",
                f"  throughput  {self._throughput:.4g} /s",
                f"  MFU         {self.mfu:.1%}",
                f"  memory      {_gb(self._memory_footprint)} of {_gb(self._memory_available)} usable",
                *("  " + line for line in self.constraint_trace),
            ]
        )
