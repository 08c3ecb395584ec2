"""The ``mlsysim catalog`` command, provided through the public ``mlsysim_cli_commands`` hook.

A plugin of its own (entry point ``catalog_cli``), so that ``mlsysim catalog`` still lists and
checks another catalog when the default one is disabled (``MLSYSIM_DISABLE_PLUGINS=default_catalog``).
"""

from __future__ import annotations

from mlsysim_core import hookimpl


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim catalog``."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("catalog", "mlsysim_registry.command:catalog_cmd")]
