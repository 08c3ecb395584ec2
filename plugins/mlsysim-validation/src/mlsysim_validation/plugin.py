"""Hook implementations of mlsysim-validation: the ``mlsysim validate`` and ``mlsysim calibrate`` commands."""

from __future__ import annotations

from mlsysim_core import hookimpl


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim validate`` and ``mlsysim calibrate``."""
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [
        LazyCommand("validate", "mlsysim_validation.command:validate_cmd"),
        LazyCommand("calibrate", "mlsysim_validation.command:calibrate_cmd"),
    ]
