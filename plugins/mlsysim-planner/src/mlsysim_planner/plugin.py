"""Entry point ``planner`` (group ``mlsysim``): the ``mlsysim plan`` command group."""

from __future__ import annotations

from mlsysim_core import hookimpl


@hookimpl
def mlsysim_cli_commands() -> list:
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("plan", "mlsysim_planner.commands:PLAN")]
