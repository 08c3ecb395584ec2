"""mlsysim host: hook specifications, plugin loading, units, types, results, catalog.

This package imports no plugin and not the public face ``mlsysim``. See ``hookspecs`` for the hooks
a plugin implements (``docs/hooks.md``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["hookimpl", "hookspec"]


def __getattr__(name: str) -> Any:
    """``hookimpl``/``hookspec`` (pluggy) and ``__version__`` on first use, so ``import mlsysim`` stays cheap."""
    if name in __all__:
        from . import hookspecs

        return getattr(hookspecs, name)
    if name == "__version__":
        from importlib.metadata import version

        return version("mlsysim-core")
    raise AttributeError(f"module 'mlsysim_core' has no attribute {name!r}")
