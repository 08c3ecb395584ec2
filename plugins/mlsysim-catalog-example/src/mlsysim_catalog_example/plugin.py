"""Entry point ``catalog_example`` (group ``mlsysim``): a catalog provider, no code, only data.

Priority: plugins rank 100 by default, above the default catalog (0), so this catalog's ``H100``
replaces the default one. Users choose otherwise without touching this file, e.g.
``MLSYSIM_CATALOG_PRIORITY="default_catalog=300"`` (the default catalog wins again) or
``MLSYSIM_DISABLE_PLUGINS=catalog_example``. See docs/catalogs.md.
"""

from mlsysim_core import hookimpl

from . import DATA_FILE

#: Catalog priority of this provider (the host reads this attribute; the env var overrides it).
MLSYSIM_CATALOG_PRIORITY = 100


@hookimpl
def mlsysim_catalog_files() -> list:
    """The lab's catalog file (parsed with tomllib and validated by the host, never executed)."""
    return [DATA_FILE]
