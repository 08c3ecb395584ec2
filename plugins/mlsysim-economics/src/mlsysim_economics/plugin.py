"""Entry point ``economics`` of the ``mlsysim`` group: registers EconomicsModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


@hookimpl
def mlsysim_solvers() -> list:
    from .solver import EconomicsModel

    return [SolverSpec(name="EconomicsModel", factory=EconomicsModel, summary="Total cost of ownership (CapEx, OpEx, cost per GPU-hour and per token) of a fleet",
                       consumes=CONSUMES, produces="EconomicsResult")]


CONSUMES: tuple = ("Fleet", "HasTokenRate", "HasStepTime", "time_to_train")
