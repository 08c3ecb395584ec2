"""Entry point ``economics`` of the ``mlsysim`` group: registers EconomicsModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _factory():
    # Imported on first use, not at discovery: the solver module pulls in pint and numpy.
    from .solver import EconomicsModel

    return EconomicsModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="EconomicsModel",
            factory=_factory,
            summary="Total cost of ownership (CapEx, OpEx, cost per GPU-hour and per token) of a fleet",
            consumes=CONSUMES,
            produces="EconomicsResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim cost`` (with ``mlsysim sweep cost``)."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("cost", "mlsysim_economics.commands:COST")]


CONSUMES: tuple = ("Fleet", "HasTokenRate", "HasStepTime", "time_to_train")
