"""Registry provider hooks of the default catalog (data only: the files are parsed, never run)."""

from pathlib import Path

from mlsysim_core import hookimpl

DATA = Path(__file__).with_name("data")
MLSYSIM_CATALOG_PRIORITY = 0


@hookimpl
def mlsysim_catalog_files() -> list:
    """The default catalog's files, in dependency order."""
    return [DATA / f"{stem}.toml" for stem in ("hardware", "models", "systems", "infrastructure")]
