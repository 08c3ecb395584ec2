"""Commands named when the command line starts and imported only when used (docs/cli.md).

``mlsysim serve ...`` needs the serving plugin's declaration, not the validation harness, the web
explorer or the planner: a plugin that returns :class:`LazyCommand` from ``mlsysim_cli_commands``
costs nothing at start-up until its command is looked up by name, listed (``mlsysim --help``) or swept.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import click

from .command import SolverCommand

__all__ = ["LazyCommand", "Declared", "declared", "load", "solver_command"]

_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclass(frozen=True)
class LazyCommand:
    """``mlsysim <name>``, declared by ``target`` (``"package.module:ATTRIBUTE"``, a
    :class:`SolverCommand` or ``click.Command`` named ``name``) and imported on first use."""

    name: str
    target: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"LazyCommand name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.target, str) or not _TARGET.fullmatch(self.target):
            raise ValueError(f"LazyCommand {self.name!r}: target must read 'module:ATTRIBUTE', got {self.target!r}")

    def load(self) -> SolverCommand | click.Command:
        """The declaration ``target`` names; ValueError when it is not a command called ``name``."""
        module, _, attribute = self.target.partition(":")
        item = getattr(importlib.import_module(module), attribute)
        if not isinstance(item, (SolverCommand, click.Command)) or item.name != self.name:
            raise ValueError(f"{self.target} is {item!r}, not the command {self.name!r}")
        return item


Declared = SolverCommand | click.Command | LazyCommand


def declared() -> list[tuple[str, Declared]]:
    """Every plugin's ``mlsysim_cli_commands`` items, [(plugin name, item), ...], none imported."""
    from mlsysim_core.plugins import host

    return host().call_hook("mlsysim_cli_commands", (SolverCommand, click.Command, LazyCommand))


def load(plugin: str, item: Declared) -> SolverCommand | click.Command | None:
    """``item`` itself, or the declaration a LazyCommand names; None when that import fails, which
    marks ``plugin`` failed (one warning; ``mlsysim plugins`` says why) as a raising hook would."""
    if not isinstance(item, LazyCommand):
        return item
    try:
        return item.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin never breaks the host
        from mlsysim_core.plugins import host

        host().mark_failed(plugin, exc, "mlsysim_cli_commands")
        return None


def solver_command(solver: str) -> SolverCommand | None:
    """The command a plugin declared for solver ``solver`` (its inputs rebuild a recorded result)."""
    for plugin, item in declared():
        found: Any = load(plugin, item)
        if isinstance(found, SolverCommand) and found.solver == solver:
            return found
    return None


def solver_commands() -> dict[str, SolverCommand]:
    """Solver name -> the SolverCommand a plugin declares for it (its key fields, Pareto objectives, ...)."""
    found = (load(plugin, item) for plugin, item in declared())
    return {item.solver: item for item in found if isinstance(item, SolverCommand)}
