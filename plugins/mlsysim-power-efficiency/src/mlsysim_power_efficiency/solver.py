"""PowerEfficiencyModel: how many dense TFLOP/s an accelerator delivers per kW of its TDP, at its datasheet
peak and at the fraction of it a real workload reaches (a named efficiency with a range: bands)."""

from __future__ import annotations

from typing import Any

import attrs

from mlsysim_core import validate
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import Solver
from mlsysim_core.types import HardwareNode
from mlsysim_physics.efficiency import COMPUTE_WIDE


def flops_per_watt(peak_flops: Any, tdp: Any) -> Any:
    """Compute efficiency = dense peak FLOP/s / TDP in W, i.e. FLOP per joule at peak (datasheet ratio).

    Plain floats or numpy arrays (SI: FLOP/s and W); 1 FLOP/s/W = 1e-9 TFLOP/s per kW.
    """
    return peak_flops / tdp


def achieved_flops_per_watt(peak_flops: Any, efficiency: Any, tdp: Any) -> Any:
    """Achieved compute per watt = efficiency x dense peak / TDP: the FLOP/s a workload reaches (a fraction of
    the peak, ``COMPUTE_WIDE``'s sources: 44-76 % end to end) per watt of board power, the draw taken at the TDP
    (an upper bound on power while the GEMMs run, so this is the lower end of what the part delivers per watt)."""
    return efficiency * peak_flops / tdp


@result("PowerEfficiencyModel")
class PowerEfficiencyResult(Result):
    """Dense peak compute per kW of TDP for one accelerator at one precision."""

    device: str = attrs.field()
    precision: str = attrs.field()
    peak_flops = measure("TFLOP/s", doc="dense peak at `precision`")
    tdp = measure("W", doc="thermal design power from the datasheet")
    flops_per_watt = measure("TFLOPs/s/kW", doc="peak_flops / tdp")
    efficiency: float = attrs.field(metadata={"doc": "achieved fraction of the dense peak assumed"})
    achieved_flops_per_watt = measure("TFLOPs/s/kW", doc="efficiency * peak_flops / tdp (drawing the TDP)")


class PowerEfficiencyModel(Solver):
    """Compare accelerators on datasheet performance per watt (dense peak / TDP).

    ``solve(hardware, precision=None, efficiency=None)``: ``precision`` defaults to the hardware's default
    precision (the one behind ``hardware.compute.peak_flops``); ``efficiency``, the achieved fraction of
    that peak, to ``COMPUTE_WIDE`` (0.60, ``mlsysim_physics.efficiency``). An unsupported precision, an
    efficiency outside (0, 1] or a part without a TDP raises :class:`~mlsysim_core.errors.InvalidInputError`.

    Bands (``mlsysim_uncertainty.banded``, ``--bands``) come the way a built-in solver's do: the class
    declares the ``solve()`` argument that takes a named efficiency and the result field holding the
    value used (``band_arguments``: ``efficiency``'s range is ``COMPUTE_WIDE``'s, 0.44-0.76 as factors of
    the value used) and the fields that get a band (``band_fields``); the datasheet ratio has none.
    """

    name = "PowerEfficiencyModel"
    consumes = (HardwareNode,)
    produces = PowerEfficiencyResult
    band_arguments = {"efficiency": "efficiency"}
    band_fields = ("achieved_flops_per_watt",)

    def solve(
        self, hardware: HardwareNode, precision: str | None = None, efficiency: float | None = None
    ) -> PowerEfficiencyResult:
        hardware = validate.named("hardware", hardware, "hardware")  # a catalog name such as "H100" too
        validate.instance("hardware", hardware, HardwareNode)
        if precision is None:
            precision = hardware.compute.default_precision
            assert precision is not None  # ComputeCore sets its default precision when it is built
        peak = hardware.compute.peak(precision)  # raises naming the precisions this part supports
        eff = COMPUTE_WIDE if efficiency is None else validate.fraction("efficiency", efficiency)
        tdp = hardware.si.tdp
        if tdp is None:
            raise InvalidInputError(
                "hardware",
                hardware.name,
                "hardware with a TDP (hardware.tdp is None for this part)",
                detail="add one with attrs.evolve(hardware, tdp='700 W') or a catalog file",
            )
        return PowerEfficiencyResult(
            device=hardware.name,
            precision=precision,
            peak_flops=peak,
            tdp=tdp,
            flops_per_watt=flops_per_watt(peak, tdp),
            efficiency=eff,
            achieved_flops_per_watt=achieved_flops_per_watt(peak, eff, tdp),
        )
