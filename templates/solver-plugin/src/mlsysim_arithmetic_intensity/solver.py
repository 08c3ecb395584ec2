"""ArithmeticIntensityModel: where one kernel (FLOPs, bytes moved) sits on an accelerator's roofline.

Pattern every mlsysim solver follows: validate the arguments (errors name argument, value and valid
range), convert Quantities to SI floats once, run a kernel of plain float/numpy equations, wrap the
floats in a typed result (which builds Quantities only when a field is read).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from mlsysim_core import validate
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import Solver
from mlsysim_core.types import HardwareNode
from mlsysim_core.units import BYTE, FLOP


def roofline_point(flops: Any, bytes_moved: Any, peak: float, bandwidth: float) -> tuple:
    """Roofline (Williams, Waterman & Patterson, CACM 2009), SI floats or numpy arrays:
    I = FLOPs / bytes; I* = peak / bandwidth; attainable = min(peak, I * bandwidth);
    t = max(FLOPs / peak, bytes / bandwidth).
    """
    intensity = flops / bytes_moved
    ridge = peak / bandwidth
    attainable = np.minimum(peak, intensity * bandwidth)
    time = np.maximum(flops / peak, bytes_moved / bandwidth)
    return intensity, ridge, attainable, time


@result("ArithmeticIntensityModel")
class ArithmeticIntensityResult(Result):
    """One kernel on one accelerator. Physical fields are stored as SI floats, read as Quantities."""

    device: str = attrs.field()
    precision: str = attrs.field()
    intensity = measure("FLOP/B", doc="arithmetic intensity of the kernel")
    ridge_point = measure("FLOP/B", doc="peak / bandwidth: intensity above which compute bounds")
    attainable_flops = measure("TFLOP/s", doc="min(peak, intensity x bandwidth)")
    latency = measure("ms", doc="max(FLOPs / peak, bytes / bandwidth): ideal time of the kernel")
    bottleneck: str = attrs.field()  # 'Compute' or 'Memory'


class ArithmeticIntensityModel(Solver):
    """Place a kernel on the roofline: is it compute- or memory-bound on this hardware?

    Subclassing :class:`~mlsysim_core.solver.Solver` with these three declarations is all a solver
    needs: ``ArithmeticIntensityModel.sweep(hardware=[...], flops=[...], ...)`` then works (the
    default ``sweep_columns`` calls ``solve()`` once per point)."""

    name = "ArithmeticIntensityModel"
    consumes = (HardwareNode,)
    produces = ArithmeticIntensityResult

    def solve(
        self, hardware: HardwareNode, flops: Any, bytes_moved: Any, precision: str | None = None
    ) -> ArithmeticIntensityResult:
        """``flops`` as a Quantity of FLOP, ``bytes_moved`` of bytes; ``precision`` defaults to the
        hardware's default precision."""
        hardware = validate.named("hardware", hardware, "hardware")  # a catalog name such as "H100" too
        validate.instance("hardware", hardware, HardwareNode)
        f = validate.quantity("flops", flops, FLOP)
        b = validate.quantity("bytes_moved", bytes_moved, BYTE)
        precision = hardware.compute.default_precision if precision is None else precision
        peak = hardware.compute.peak(precision)  # raises listing the supported precisions
        intensity, ridge, attainable, time = roofline_point(f, b, peak, hardware.si.bandwidth)
        return ArithmeticIntensityResult(
            device=hardware.name,
            precision=precision,
            intensity=intensity,
            ridge_point=ridge,
            attainable_flops=float(attainable),
            latency=float(time),
            bottleneck="Compute" if intensity >= ridge else "Memory",
        )
