"""Registry provider hooks of the default catalog (data only: the files are parsed, never run)."""

import os

from mlsysim_core import hookimpl

DATA = os.path.join(os.path.dirname(__file__), "data")
MLSYSIM_CATALOG_PRIORITY = 0


@hookimpl
def mlsysim_catalog_files() -> list:
    """The default catalog's files, in dependency order (paths as strings: no pathlib on a first answer)."""
    return [os.path.join(DATA, f"{stem}.toml") for stem in ("hardware", "models", "systems", "infrastructure")]


@hookimpl
def mlsysim_domain_checks() -> list:
    """Where a result's inputs lie outside the default calibration set (``mlsysim_uncertainty.domain.check``:
    the hardware, precisions, batches and contexts ``mlsysim validate``'s points measured)."""
    from mlsysim_uncertainty.domain import check

    return [check]
