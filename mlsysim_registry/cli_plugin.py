"""The ``mlsysim catalog`` command, provided through the public ``mlsysim_cli_commands`` hook.

A plugin of its own (entry point ``catalog_cli``), so that ``mlsysim catalog`` still lists and
checks another catalog when the default one is disabled (``MLSYSIM_DISABLE_PLUGINS=default_catalog``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def mlsysim_cli_commands() -> list[click.Command]:
    """``mlsysim catalog`` (click is imported when the command line starts, not at discovery)."""
    from .command import catalog_cmd

    return [catalog_cmd]
