"""What plugins tell the host and what the host records about them (values, no behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from pathlib import Path


@attrs.frozen(kw_only=True)
class SolverSpec:
    """One solver a plugin provides (returned by ``mlsysim_solvers``).

    ``factory`` is the solver class (or a zero-argument callable returning it, so discovery does not
    import the solver); ``consumes`` and ``produces`` name what it takes and returns, for
    ``mlsysim plugins``; ``distribution`` is filled in by the host.
    """

    name: str
    factory: Callable[[], Any]
    summary: str = ""
    consumes: tuple[str, ...] = ()
    produces: str = ""
    distribution: str = ""


@attrs.frozen(kw_only=True)
class CatalogReader:
    """Reads catalog files whose name ends in ``suffix`` (returned by ``mlsysim_catalog_readers``).

    ``read(path)`` returns the file's entries, each with ``section``, ``key`` and
    ``build(built, provider) -> Entry`` (:class:`mlsysim_core.catalog.PendingEntry`), or raises
    :class:`~mlsysim_core.errors.CatalogError` naming the file.
    """

    suffix: str
    read: Callable[[Path], list[Any]]


@attrs.frozen(kw_only=True)
class PluginRecord:
    """One entry point as the host saw it: status is ``active``, ``failed`` or ``disabled``."""

    name: str
    distribution: str
    version: str
    status: str
    provides: tuple[str, ...] = ()
    error: str = ""
    module: str = ""
    #: Seconds ``import`` of the plugin module took (a slow plugin slows every ``import mlsysim`` user).
    import_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)
