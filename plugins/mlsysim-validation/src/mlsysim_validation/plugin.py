"""Hook implementations of mlsysim-validation: the ``mlsysim validate`` and ``mlsysim calibrate`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def mlsysim_cli_commands() -> list[click.Command]:
    """``mlsysim validate`` and ``mlsysim calibrate`` (click is imported when the command line starts,
    not at discovery)."""
    from .command import calibrate_cmd, validate_cmd

    return [validate_cmd, calibrate_cmd]
