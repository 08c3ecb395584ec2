"""Entry point ``power_efficiency`` (group ``mlsysim``): registers :class:`PowerEfficiencyModel`."""

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec

from .solver import PowerEfficiencyModel


@hookimpl
def mlsysim_solvers() -> list:
    return [SolverSpec(
        name="PowerEfficiencyModel",
        factory=PowerEfficiencyModel,
        summary="dense peak TFLOP/s per kW of TDP for one accelerator",
        consumes=("HardwareNode",),
        produces="PowerEfficiencyResult",
    )]
