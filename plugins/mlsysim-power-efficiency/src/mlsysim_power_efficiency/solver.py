"""PowerEfficiencyModel: how many dense TFLOP/s an accelerator delivers per kW of its TDP."""

from __future__ import annotations

from typing import Any

import attrs

from mlsysim_core import validate
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import Solver
from mlsysim_core.types import HardwareNode


def flops_per_watt(peak_flops: Any, tdp: Any) -> Any:
    """Compute efficiency = dense peak FLOP/s / TDP in W, i.e. FLOP per joule at peak (datasheet ratio).

    Plain floats or numpy arrays (SI: FLOP/s and W); 1 FLOP/s/W = 1e-9 TFLOP/s per kW.
    """
    return peak_flops / tdp


@result("PowerEfficiencyModel")
class PowerEfficiencyResult(Result):
    """Dense peak compute per kW of TDP for one accelerator at one precision."""

    device: str = attrs.field()
    precision: str = attrs.field()
    peak_flops = measure("TFLOP/s", doc="dense peak at `precision`")
    tdp = measure("W", doc="thermal design power from the datasheet")
    flops_per_watt = measure("TFLOPs/s/kW", doc="peak_flops / tdp")


class PowerEfficiencyModel(Solver):
    """Compare accelerators on datasheet performance per watt (dense peak / TDP).

    ``solve(hardware, precision=None)``: ``precision`` defaults to the hardware's default precision
    (the one behind ``hardware.compute.peak_flops``); an unsupported precision or a part without a
    TDP raises :class:`~mlsysim_core.errors.InvalidInputError`.
    """

    name = "PowerEfficiencyModel"
    consumes = (HardwareNode,)
    produces = PowerEfficiencyResult

    def solve(self, hardware: HardwareNode, precision: str | None = None) -> PowerEfficiencyResult:
        hardware = validate.named("hardware", hardware, "hardware")  # a catalog name such as "H100" too
        validate.instance("hardware", hardware, HardwareNode)
        if precision is None:
            precision = hardware.compute.default_precision
            assert precision is not None  # ComputeCore sets its default precision when it is built
        peak = hardware.compute.peak(precision)  # raises naming the precisions this part supports
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
        )
