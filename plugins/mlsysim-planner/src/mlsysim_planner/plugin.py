"""Entry point ``planner`` (group ``mlsysim``): the ``mlsysim plan`` command group."""

from __future__ import annotations

from typing import Any

from mlsysim_core import hookimpl


@hookimpl
def mlsysim_cli_commands() -> list[Any]:
    from .commands import PLAN

    return [PLAN]
