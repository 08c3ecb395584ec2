"""The public command-line API plugins use (docs/cli.md): declarations and output helpers.

A solver plugin declares its command with :class:`SolverCommand`, :class:`Param` (and :class:`View`,
an extra table behind a flag) and returns it (or a :class:`LazyCommand` naming it, imported on first use)
from the ``mlsysim_cli_commands`` hook; the ``mlsysim`` program (package ``mlsysim_cli``) builds
``mlsysim <name>`` and ``mlsysim sweep <name>`` from it. :func:`lookup` resolves catalog names with
suggestions, :func:`option_names` names options in errors, :class:`CliError` is one-line bad input
(:func:`comma_items`: a comma list's items, an empty one refused);
``table``, ``emit``, ``dumps``, ``csv_text``, ``flatten``, ``value`` and ``save_plot`` write output.
"""

from __future__ import annotations

from mlsysim_core.format import value

from ._out import csv_text, dumps, emit, flatten, table
from .command import PRECISIONS, CliError, Param, SolverCommand, View, comma_items, lookup, option_names, save_plot
from .lazy import LazyCommand, solver_command

__all__ = [
    "Param",
    "SolverCommand",
    "LazyCommand",
    "solver_command",
    "View",
    "CliError",
    "comma_items",
    "lookup",
    "option_names",
    "save_plot",
    "PRECISIONS",
    "table",
    "emit",
    "dumps",
    "csv_text",
    "flatten",
    "value",
]
