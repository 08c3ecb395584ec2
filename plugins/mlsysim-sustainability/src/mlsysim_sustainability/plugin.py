"""Entry point ``sustainability`` of the ``mlsysim`` group: registers SustainabilityModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _factory():
    # Imported on first use, not at discovery: the solver module pulls in pint and numpy.
    from .solver import SustainabilityModel

    return SustainabilityModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="SustainabilityModel",
            factory=_factory,
            summary="Energy, operational and embodied carbon, and water of a fleet",
            consumes=CONSUMES,
            produces="SustainabilityResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim carbon`` (with ``mlsysim sweep carbon``)."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("carbon", "mlsysim_sustainability.commands:CARBON")]


CONSUMES: tuple = ("Fleet", "HasTokenRate", "HasStepTime", "time_to_train")
