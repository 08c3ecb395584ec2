"""Entry point ``reliability`` of the ``mlsysim`` group: registers ReliabilityModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _factory():
    # Imported on first use, not at discovery: the solver module pulls in pint and numpy.
    from .solver import ReliabilityModel

    return ReliabilityModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="ReliabilityModel",
            factory=_factory,
            summary="Fleet MTBF, failure probability, Young/Daly checkpoint interval and goodput",
            consumes=CONSUMES,
            produces="ReliabilityResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim reliability`` (with ``mlsysim sweep reliability``)."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("reliability", "mlsysim_reliability.commands:RELIABILITY")]


CONSUMES: tuple = ("Fleet",)
