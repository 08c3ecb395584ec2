"""Entry point ``serving`` of the ``mlsysim`` group: provides ServingModel."""

from __future__ import annotations

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _serving():
    from .solver import ServingModel

    return ServingModel


@hookimpl
def mlsysim_solvers() -> list:
    return [
        SolverSpec(
            name="ServingModel",
            factory=_serving,
            summary="LLM serving: prefill TTFT, decode ITL, KV cache, memory fit, tokens/s, tensor parallel in a node",
            consumes=("TransformerWorkload", "HardwareNode"),
            produces="ServingResult",
        )
    ]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim serve`` (with ``mlsysim sweep serve``)."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("serve", "mlsysim_serving.commands:SERVE")]
