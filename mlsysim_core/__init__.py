"""mlsysim host: hook specifications, plugin loading, units, types, results, catalog.

This package imports no plugin. See ``hookspecs`` for the hooks a plugin implements.
"""

from .hookspecs import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
__version__ = "0.2.0"
