# mypy: disable-error-code="empty-body"
"""Hook specifications of the ``mlsysim`` plugin system (pluggy project ``mlsysim``): every hook takes no
argument and returns a list; the host calls each plugin's implementation on its own, once, on first use, in a fixed
order, and a name provided twice warns (``PluginConflictWarning``). docs/hooks.md is the guide (a test keeps them
in step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    import click

    from mlsysim_cli.api.command import SolverCommand
    from mlsysim_cli.api.lazy import LazyCommand

    from .catalog import Entry
    from .records import CatalogReader, SolverSpec
    from .results import Result

hookspec = pluggy.HookspecMarker("mlsysim")
hookimpl = pluggy.HookimplMarker("mlsysim")


@hookspec
def mlsysim_solvers() -> list[SolverSpec]:
    """Return the solvers this plugin provides (:class:`mlsysim_core.records.SolverSpec`).

    Called once, on the first solver lookup (``mlsysim.SomeModel``, ``mlsysim plugins``).
    Uniqueness: solver names are unique; the first plugin in order keeps a name and a later one
    claiming it is ignored with a warning naming both distributions.
    """


@hookspec
def mlsysim_catalog_files() -> list[str | os.PathLike[str]]:
    """Return paths of TOML catalog files (format: ``mlsysim_registry/SCHEMA.md``).

    Called once, when the catalog is first used (``mlsysim.Hardware`` ...). Files are data: they are
    parsed with ``tomllib`` and validated, never executed. Uniqueness: see
    :func:`mlsysim_catalog_entries`.
    """


@hookspec
def mlsysim_catalog_readers() -> list[CatalogReader]:
    """Return readers of catalog files (:class:`mlsysim_core.records.CatalogReader`: a suffix such as
    ``".toml"`` and a function reading one file into entries); the host reads no file format itself.

    Called once, when the catalog is first used, before any file is read. Uniqueness: the first
    plugin in order that reads a suffix reads every file with it (the default catalog reads ``.toml``).
    """


@hookspec
def mlsysim_catalog_entries() -> list[Entry]:
    """Return catalog values built in Python, as :class:`mlsysim_core.catalog.Entry` objects; each
    goes to the section it names (``hardware``, ``models``, ``fabrics``, ``nodes``, ``clusters``,
    ``grids``, ``datacenters``), whose type it must hold.

    Called once, when the catalog is first used. Uniqueness: a (section, key) pair is unique across
    providers; the provider with the higher catalog priority wins (default catalog 0, other
    plugins 100, ``MLSYSIM_CATALOG_PRIORITY="name=300,..."`` overrides), ties go to the first in
    order, and every conflict warns naming both providers.
    """


@hookspec
def mlsysim_cli_commands() -> list[SolverCommand | click.Command | LazyCommand]:
    """Return the plugin's commands: :class:`mlsysim_cli.api.SolverCommand` declarations (the host
    builds ``mlsysim <name>`` and ``mlsysim sweep <name>`` from each; docs/cli.md), plain
    ``click.Command`` objects (or groups), or a :class:`mlsysim_cli.api.LazyCommand` naming either.

    Called once, when the ``mlsysim`` command lists or looks up its subcommands: return LazyCommands,
    whose modules are imported only when their command is used. Uniqueness: a command name already taken (by the host or
    an earlier plugin) is skipped with a warning naming the plugin.
    """


@hookspec
def mlsysim_domain_checks() -> list[Callable[[Result], tuple[str, ...]]]:
    """Return checks of a result's inputs against what a calibration set measured: each takes a result and
    returns why its inputs lie outside (no line: inside); mlsysim-core's default catalog gives its set's.

    Called once, on the first ``out_of_domain`` read; a check that raises gives a line and a PluginWarning.
    """
