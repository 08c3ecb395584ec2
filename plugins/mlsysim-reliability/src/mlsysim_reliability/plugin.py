"""Entry point ``reliability`` of the ``mlsysim`` group: registers ReliabilityModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


@hookimpl
def mlsysim_solvers() -> list:
    from .solver import ReliabilityModel

    return [SolverSpec(name="ReliabilityModel", factory=ReliabilityModel, summary="Fleet MTBF, failure probability, Young/Daly checkpoint interval and goodput",
                       consumes=CONSUMES, produces="ReliabilityResult")]


CONSUMES: tuple = ("Fleet",)
