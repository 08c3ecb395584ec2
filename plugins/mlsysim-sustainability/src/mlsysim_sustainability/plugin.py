"""Entry point ``sustainability`` of the ``mlsysim`` group: registers SustainabilityModel with the host."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


@hookimpl
def mlsysim_solvers() -> list:
    from .solver import SustainabilityModel

    return [SolverSpec(name="SustainabilityModel", factory=SustainabilityModel, summary="Energy, operational and embodied carbon, and water of a fleet",
                       consumes=CONSUMES, produces="SustainabilityResult")]


CONSUMES: tuple = ("Fleet", "HasTokenRate", "HasStepTime", "time_to_train")
