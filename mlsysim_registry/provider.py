"""Registry provider hooks of the default catalog (data only: the files are parsed, never run)."""

from pathlib import Path

from mlsysim_core import hookimpl
from mlsysim_core.records import CatalogReader

DATA = Path(__file__).with_name("data")
MLSYSIM_CATALOG_PRIORITY = 0


@hookimpl
def mlsysim_catalog_files() -> list:
    """The default catalog's files, in dependency order."""
    return [DATA / f"{stem}.toml" for stem in ("hardware", "models", "systems", "infrastructure")]


@hookimpl
def mlsysim_catalog_readers() -> list[CatalogReader]:
    """The reader of TOML catalog files (every plugin's and the user's, not only this one's)."""

    def read(path: Path) -> list:
        from .toml_files import read_file

        return read_file(path)

    return [CatalogReader(suffix=".toml", read=read)]
