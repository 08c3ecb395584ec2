"""Hook implementations of mlsysim-validation: the ``mlsysim validate`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def mlsysim_cli_commands() -> list[click.Command]:
    """``mlsysim validate`` (click is imported when the command line starts, not at discovery)."""
    from .command import validate_cmd

    return [validate_cmd]
