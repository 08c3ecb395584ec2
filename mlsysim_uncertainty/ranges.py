"""Ranges of the named efficiencies and overheads (``mlsysim_physics.efficiency``) that bands span.

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
        high=0.90,
        faster="high",
        tier="paper",
        source="[LUO24] ~90 % of HBM3 peak on H100 (high); [GPTF23] int8 Llama-2-7B on A100: 6.87 GB per token in "
        "6.43 ms less the 2.02 ms fixed residual = 1,558 GB/s, 0.76 of 2,039 GB/s (low)",
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
        "scheduling behind the GPU step (low: 0); [VLLM060] before that work the host took 62 % of serving time "
        "(high: 2 ms, twice the default, an estimate)",
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
