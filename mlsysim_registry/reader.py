"""The reader of TOML catalog files (entry point ``catalog_reader``): every plugin's files and the
user's are read with it, so it stays when the default catalog's data is disabled
(``MLSYSIM_DISABLE_PLUGINS=default_catalog``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core import hookimpl
from mlsysim_core.records import CatalogReader

if TYPE_CHECKING:
    from pathlib import Path


def _read(path: Path) -> list:
    from .toml_files import read_file  # imports the catalog types (pint): only when a file is read

    return read_file(path)


@hookimpl
def mlsysim_catalog_readers() -> list[CatalogReader]:
    """Catalog files ending in ``.toml`` (format: ``mlsysim_registry/SCHEMA.md``)."""
    return [CatalogReader(suffix=".toml", read=_read)]
