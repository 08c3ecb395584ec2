"""Entry point ``single_node`` of the ``mlsysim`` group: provides SingleNodeModel and Engine."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _single_node():
    from .solver import SingleNodeModel

    return SingleNodeModel


def _engine():
    from .solver import Engine

    return Engine


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="SingleNodeModel",
            factory=_single_node,
            summary="Roofline of one model step on one accelerator: latency, throughput, bottleneck, MFU, memory, "
            "energy",
            consumes=("Workload", "HardwareNode"),
            produces="PerformanceProfile",
        ),
        SolverSpec(
            name="Engine",
            factory=_engine,
            summary="Engine.solve(...): shortcut identical to SingleNodeModel().solve(...)",
            consumes=("Workload", "HardwareNode"),
            produces="PerformanceProfile",
        ),
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim roofline`` (with ``mlsysim sweep roofline``) and ``mlsysim compare``."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [
        LazyCommand("roofline", "mlsysim_single_node.commands:ROOFLINE"),
        LazyCommand("compare", "mlsysim_single_node.commands:compare"),
    ]
