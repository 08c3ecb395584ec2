"""Entry point ``power_efficiency`` (group ``mlsysim``): registers :class:`PowerEfficiencyModel`."""

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _power_efficiency():
    # Imported on first use, not at discovery: the solver module pulls in pint and numpy.
    from .solver import PowerEfficiencyModel

    return PowerEfficiencyModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="PowerEfficiencyModel",
            factory=_power_efficiency,
            summary="dense peak TFLOP/s per kW of TDP for one accelerator",
            consumes=("HardwareNode",),
            produces="PowerEfficiencyResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim power-efficiency HARDWARE`` and ``mlsysim sweep power-efficiency --hardware A,B,...``."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("power-efficiency", "mlsysim_power_efficiency.commands:POWER_EFFICIENCY")]
