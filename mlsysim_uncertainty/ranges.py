"""Ranges of the named efficiencies and overheads (``mlsysim_physics.efficiency``): ``RANGES``, the ones
bands span (by the solve() argument each overrides), and ``UNBANDED``, the ones no argument overrides.

Each range is where the named default's own sources put the value (low, high), its provenance tier
(``measured``: a measurement of the quantity itself; ``paper``: a published figure the value is
derived from; ``estimate``: a documented judgement) and the sources (keys of the source list of
``mlsysim_physics.efficiency``, docs/accuracy.md). A solver applies a range to the value it used, as the
factors ``low / default`` and ``high / default``: a compute efficiency of 0.5 at fp8 spans
0.5 x (0.44/0.60) .. 0.5 x (0.76/0.60). How well the resulting bands cover the calibration set:
``docs/accuracy.md`` (Bands).
"""

from __future__ import annotations

from typing import Any

import attrs

from mlsysim_fleet import rental
from mlsysim_physics import efficiency as E
from mlsysim_physics.equations import DEFAULT_IDLE_FRACTION, DEFAULT_UTILIZATION

TIERS = ("datasheet", "measured", "paper", "estimate")


@attrs.frozen(kw_only=True)
class Range:
    """A named default's plausible span: ``low <= default <= high`` (SI), ``faster`` the end paired
    with the fast corner, where every field is at its low end ("high" for a fraction of peak, "low"
    for an overhead or a node's utilization, which energy and cost grow with)."""

    name: str
    default: float
    low: float
    high: float
    faster: str = attrs.field(validator=attrs.validators.in_(("high", "low")))
    tier: str = attrs.field(validator=attrs.validators.in_(TIERS))
    source: str
    #: key of a hardware entry's ``calibration`` table (and its ``range``) fitting this value, if any
    calibrated: str | None = None

    def __attrs_post_init__(self) -> None:
        if not 0.0 <= self.low <= self.default <= self.high:
            raise ValueError(f"range {self.name}: need 0 <= low <= default <= high")

    def corners(self, used: float, calibration: Any = None) -> tuple[float, float]:
        """(fast, slow) values: the hardware's calibrated range (``mlsysim calibrate``: the spread of
        the leave-one-out fits) where it has one, else this range scaled to ``used``, the value a
        solver used in place of ``default``."""
        span = None if calibration is None else calibration.get("range", {}).get(self.calibrated)
        lo, hi = span if span is not None else (used * self.low / self.default, used * self.high / self.default)
        return (min(hi, 1.0), lo) if self.faster == "high" else (lo, hi)  # a fraction of peak stays <= 1


#: The accelerator power shares of TDP (mlsysim_physics.efficiency.POWER_*): the least-squares fit to the calibration
#: set's measured board draws (tools/power_shares.py), each +- one standard error of that fit (s = 0.112 of TDP
#: over 3 degrees of freedom), rounded to 0.01.
_POWER_FIT = (
    "least squares over six measured board draws ([MLE3] four continuous-batching runs, [NVSMI] two awake-idle "
    "readings)"
)
#: solve() argument (ServingModel, SingleNodeModel) -> (named default, low, high, source) of each power share
_POWER_RANGES = {
    "power_idle": ("POWER_IDLE_FRACTION", 0.10, 0.26, f"{_POWER_FIT}: 0.178 +- 0.079"),
    "power_compute": ("POWER_COMPUTE_FRACTION", 0.35, 0.70, f"{_POWER_FIT}: 0.524 +- 0.175"),
    "power_memory": ("POWER_MEMORY_FRACTION", 0.09, 0.84, f"{_POWER_FIT}: 0.462 +- 0.376"),
}


#: solve() argument (``a.b``: attribute ``b`` of argument ``a``) -> range of the named default it overrides.
RANGES = {
    "efficiency": Range(
        name="COMPUTE_WIDE",
        default=E.COMPUTE_WIDE,
        low=0.44,
        high=0.76,
        faster="high",
        tier="paper",
        source="[NAR21] 44-52 % of A100 peak end to end (Table 1); [POPE22] 76 % MFU for PaLM-540B prefill",
        calibrated="compute",
    ),
    "memory_efficiency": Range(
        name="MEMORY_STREAM",
        default=E.MEMORY_STREAM,
        low=0.76,
        high=0.93,
        faster="high",
        tier="measured",
        source="[H200DEV] this project's H200 SXM: a read kernel (a sum over 4 GiB) at 4,453 GB/s, 0.928 of "
        "4.8 TB/s (high; [VPGT24] 0.867, [NVF88] 0.88, [LUO24] ~0.90 lie within); [GPTF23] int8 Llama-2-7B on "
        "A100: 6.87 GB per token in 6.43 ms less the 2.02 ms fixed residual = 1,558 GB/s, 0.76 of 2,039 GB/s (low)",
        calibrated="memory",
    ),
    "engine_overhead": Range(
        name="STEP_OVERHEAD_S",
        default=E.STEP_OVERHEAD_S,
        low=0.0,
        high=2e-3,
        faster="low",
        tier="estimate",
        source="SGLang v0.4 overlap ('zero-overhead') scheduler and vLLM >= 0.6 async output processing hide host "
        "scheduling behind the GPU step (low: 0); high: 2 ms, twice the default, a judgement (this project's serving "
        "loop: 0.15-0.61 ms); engines before that work spend more ([VLLM060]: vLLM v0.5.3 about 4 ms a step), which "
        "their rows state (mlsysim_serving.host_time.VLLM_0_5_STEP_S) rather than this range covering it",
        calibrated="engine_overhead",
    ),
    "efficiency.network": Range(
        name="NETWORK",
        default=E.NETWORK,
        low=0.75,
        high=0.85,
        faster="high",
        tier="estimate",
        source="an estimate around the 0.8 default: large-message collective bus bandwidth at 75-85 % of the link "
        "rate (no measured table in the calibration set; [NCCL] there is small-message latency, not bandwidth)",
    ),
    "utilization": Range(
        name="DEFAULT_UTILIZATION",
        default=DEFAULT_UTILIZATION,
        low=(0.76 - DEFAULT_IDLE_FRACTION) / (1.0 - DEFAULT_IDLE_FRACTION),
        high=(0.82 - DEFAULT_IDLE_FRACTION) / (1.0 - DEFAULT_IDLE_FRACTION),
        faster="low",
        tier="measured",
        source="the default's own sources (mlsysim_physics.equations): measured training draw 76-82 % of rated node "
        "power (Latif et al. 2024; Newkirk et al. 2025), as a position between idle (0.30 of max) and max: "
        "(0.76 - 0.3) / 0.7 = 0.657 .. (0.82 - 0.3) / 0.7 = 0.743",
    ),
    "rental_margin": Range(
        name="DEFAULT_RENTAL_MARGIN",
        default=rental.DEFAULT_RENTAL_MARGIN,
        low=rental.RENTAL_MARGIN_RANGE[0],
        high=rental.RENTAL_MARGIN_RANGE[1],
        faster="low",
        tier="paper",
        source="2024 operating margins in Form 10-K filings (mlsysim_fleet.rental): Google Cloud 0.141 (low), "
        "CoreWeave 0.169 (the default), AWS 0.370 (high)",
    ),
    "checkpoint_time_s": Range(
        name="CHECKPOINT_S",
        default=E.CHECKPOINT_S,
        low=6.3,
        high=148.8,
        faster="low",
        tier="measured",
        source="[PTDCP24] one job's training stall per checkpoint (IBM, 7B model, PyTorch distributed "
        "checkpointing): 6.3 s saving asynchronously (low) to 148.8 s saving synchronously (high)",
    ),
}
#: DistributedModel's TrainingEfficiency (``efficiency.compute``, ``efficiency.network``): its compute
#: share has COMPUTE_WIDE's value and sources (mlsysim_distributed/defaults.py), so the same range.
RANGES["efficiency.compute"] = RANGES["efficiency"]
#: ServingModel's ``network_efficiency`` (its all-reduces, all-to-alls, stage hops and KV transfer) is the
#: same link efficiency (mlsysim_physics.efficiency.NETWORK), so the same range.
RANGES["network_efficiency"] = RANGES["efficiency.network"]
#: The accelerator power shares (energy grows with each: its low end pairs with the fast corner).
RANGES.update(
    {
        argument: Range(
            name=name, default=E.NAMED_DEFAULTS[name], low=low, high=high, faster="low", tier="measured", source=fit
        )
        for argument, (name, low, high, fit) in _POWER_RANGES.items()
    }
)


def _gptf23_layer_overhead(memory_efficiency: float) -> float:
    """[GPTF23] bf16 Llama-2-7B decode on A100-80GB, the per-layer residual of a token (s):
    (1/104.9 tokens/s - 13.32 GB / (memory_efficiency x 2,039 GB/s)) / 32 layers (the derivation of
    LAYER_OVERHEAD_S in mlsysim_physics.efficiency, at MEMORY_STREAM's range ends)."""
    return (1.0 / 104.9 - 13.32e9 / (memory_efficiency * 2.039e12)) / 32


#: Named defaults no solve() argument overrides, so no band moves them (yet): their ranges, documented
#: and checked here. COMPUTE_NARROW takes COMPUTE_WIDE's range as factors (a solver applies a range to the
#: value it used); the link latency's range is the one the catalog's 0.5 us NVLink hops carry.
UNBANDED = {
    r.name: r
    for r in (
        Range(
            name="COMPUTE_NARROW",
            default=E.COMPUTE_NARROW,
            low=E.COMPUTE_NARROW * 0.44 / E.COMPUTE_WIDE,
            high=E.COMPUTE_NARROW * 0.76 / E.COMPUTE_WIDE,
            faster="high",
            tier="paper",
            source="COMPUTE_WIDE's range and sources ([NAR21], [POPE22]) as factors of this default: "
            "0.50 x 0.44/0.60 = 0.367 .. 0.50 x 0.76/0.60 = 0.633",
        ),
        Range(
            name="LAYER_OVERHEAD_S",
            default=E.LAYER_OVERHEAD_S,
            low=_gptf23_layer_overhead(RANGES["memory_efficiency"].low),
            high=_gptf23_layer_overhead(RANGES["memory_efficiency"].high),
            faster="low",
            tier="paper",
            source="[GPTF23] bf16 row's residual per layer with MEMORY_STREAM at its range ends: 29.3 us at 0.76, "
            "78.4 us at 0.93 (63 us at the 0.87 default)",
        ),
        Range(
            name="COLLECTIVE_LAUNCH_S",
            default=E.COLLECTIVE_LAUNCH_S,
            low=2e-6,
            high=10e-6,
            faster="low",
            tier="estimate",
            source="[NCCL] small-message all-reduce latency of 'a few to ~10 us' per collective call on 8x H100 "
            "NVLink (launch + synchronisation): 2-10 us, a judgement of that span",
        ),
        Range(
            name="DEFAULT_LINK_LATENCY_S",
            default=E.DEFAULT_LINK_LATENCY_S,
            low=0.5e-6,
            high=1e-6,
            faster="low",
            tier="estimate",
            source="NVLink's 0.5 us (mlsysim 0.1.1 LATENCY_NVLINK, the best case of a GPU link) to 1 us, a judgement "
            "above [RCCL929]'s ~0.67 us per ring step on MI250X Infinity Fabric and [ICI]'s sub-microsecond hop",
        ),
        Range(
            name="USABLE_MEMORY_FRACTION",
            default=E.USABLE_MEMORY_FRACTION,
            low=0.79,
            high=0.90,
            faster="high",
            tier="paper",
            source="serving engines' defaults for the share of memory they plan to fill: SGLang's mem_fraction_static "
            "0.88 at tensor parallelism 1 down to 0.79 at 16 or more (python/sglang/srt/server_args.py, "
            "ServerArgs.__post_init__), vLLM's gpu_memory_utilization 0.9 ([VLLM]); a policy a deployment sets "
            "(ServingModel's memory_fraction), not an uncertain property",
        ),
    )
}
#: [MA26] measured draw of LLM decode on an H200 (700 W TDP) across four attention kinds (GQA, MLA, Gated
#: DeltaNet, Mamba2), as shares of TDP: 137 W / 700 W .. 300 W / 700 W; memory-bound, no power cap ever acts. No
#: model or batch per draw is given, so it checks the power shares' band (tests/test_ranges.py) rather than fits them.
DECODE_DRAW_SHARE = (137.0 / 700.0, 300.0 / 700.0)


@attrs.frozen(kw_only=True)
class Measured:
    """A sourced measurement of the quantity a range (``RANGES[argument]``) stands for: a range must contain every
    one it holds (tests/test_ranges.py fails otherwise), so a band never excludes what a cited source measured."""

    argument: str
    value: float
    source: str


#: this project's H200 SXM (bench/device/h200_2026-12-04.json and ...b.json, ``hbm_read_sum`` and ``hbm_copy``: the
#: median of 200 CUDA-event timings over 4 GiB; the catalog's 4.8 TB/s): a test reads them from those files
_H200DEV = "[H200DEV] this project's H200 SXM (bench/device/h200_2026-12-04{}.json, {}): {:,} GB/s of 4.8 TB/s"
#: Every measurement of a banded quantity that this project holds or that a range's sources state, each within its
#: range. The GEMM-alone ceilings of [H200DEV] (bf16 0.69, fp8 0.64-0.68 of the dense peaks) are not here: the
#: compute shares are those of whole forward passes, which large GEMMs alone exceed (mlsysim_physics.efficiency).
#: Nor is vLLM v0.5.x's host time per step (4 ms, [VLLM060] and its RFC): those rows state it
#: (mlsysim_serving.host_time.VLLM_0_5_STEP_S); the default is that of engines with asynchronous output processing.
MEASURED = (
    Measured(argument="memory_efficiency", value=4452.6 / 4800.0, source=_H200DEV.format("", "read", 4453)),
    Measured(argument="memory_efficiency", value=4378.8 / 4800.0, source=_H200DEV.format("b", "read", 4379)),
    Measured(argument="memory_efficiency", value=4250.8 / 4800.0, source=_H200DEV.format("", "copy", 4251)),
    Measured(argument="memory_efficiency", value=4274.2 / 4800.0, source=_H200DEV.format("b", "copy", 4274)),
    Measured(argument="memory_efficiency", value=2903.0 / 3350.0, source="[VPGT24] H100 device-to-device copy"),
    Measured(argument="memory_efficiency", value=1.80 / 2.04, source="[NVF88] A100 read kernel"),
    Measured(argument="memory_efficiency", value=0.90, source="[LUO24] H100 streaming kernels, about 90 %"),
    Measured(argument="memory_efficiency", value=1558.0 / 2039.0, source="[GPTF23] int8 row less the fixed residual"),
    Measured(
        argument="engine_overhead",
        value=0.611e-3,
        source="[H200DEV] this project's serving loop (bench/device/h200_serve_*.json): host time per decode step, "
        "the largest level's mean (0.15-0.61 ms)",
    ),
    Measured(argument="efficiency", value=138.0 / 312.0, source="[NAR21] Table 1, 138 TFLOP/s per A100"),
    Measured(argument="efficiency", value=163.0 / 312.0, source="[NAR21] Table 1, 163 TFLOP/s per A100"),
    Measured(argument="efficiency", value=0.462, source="[CHOW22] Table 3, PaLM training MFU"),
    Measured(argument="efficiency", value=0.76, source="[POPE22] sec. 5, PaLM-540B prefill MFU"),
)
