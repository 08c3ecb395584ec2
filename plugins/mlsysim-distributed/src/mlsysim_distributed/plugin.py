"""Entry point ``distributed`` of the ``mlsysim`` group: provides the DistributedModel solver."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _factory():
    from .solver import DistributedModel

    return DistributedModel


@hookimpl
def mlsysim_solvers() -> list:
    """DistributedModel: one training step of a 3D/4D-parallel (DP x TP x PP, EP, ZeRO) job on a fleet."""
    return [
        SolverSpec(
            name="DistributedModel",
            factory=_factory,
            summary="Training step on a fleet with data/tensor/pipeline/expert parallelism and ZeRO: "
            "step time, communication per dimension, pipeline bubble, memory per GPU, MFU.",
            consumes=("TransformerWorkload", "Workload", "Fleet"),
            produces="DistributedResult (HasStepTime, HasLatency)",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim train`` (with ``mlsysim sweep train``)."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("train", "mlsysim_distributed.commands:TRAIN")]
