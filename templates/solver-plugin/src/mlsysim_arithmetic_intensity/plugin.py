"""Entry point ``arithmetic_intensity`` (group ``mlsysim``).

The host imports this module and calls the ``@hookimpl`` functions it finds. A function whose name
is not a known hook (e.g. ``mlsysim_solver`` without the s) is reported by ``mlsysim plugins``.
Import only ``mlsysim_core`` and your own package here, never another plugin.
"""

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _factory():
    # Imported on first use (`mlsysim.ArithmeticIntensityModel`), not at discovery: the solver
    # module pulls in numpy and pint.
    from .solver import ArithmeticIntensityModel

    return ArithmeticIntensityModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="ArithmeticIntensityModel",  # `from mlsysim import ArithmeticIntensityModel`
            factory=_factory,  # the class, or a zero-argument callable returning it
            summary="roofline position (intensity vs ridge point) of one kernel on one accelerator",
            consumes=("HardwareNode",),
            produces="ArithmeticIntensityResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    # Commands are declarations (mlsysim_cli.api.SolverCommand); the host builds `mlsysim <name>` and
    # `mlsysim sweep <name>` from each. A plain click.Command works too, for anything else. LazyCommand
    # names the declaration without importing it: `mlsysim <another command>` never loads this module.
    from mlsysim_cli.api import LazyCommand

    return [LazyCommand("arithmetic-intensity", "mlsysim_arithmetic_intensity.commands:ARITHMETIC_INTENSITY")]
