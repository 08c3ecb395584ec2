"""The user's private cache folder: built catalogs (catalog_cache.py) and parsed unit definitions (units.py)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


@functools.cache
def pint_version() -> str:
    """The installed pint's version, which the caches are keyed by (read once: ~1.5 ms a lookup)."""
    from importlib.metadata import version

    return version("pint")


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/mlsysim`` or the platform's cache folder (``~/.cache``, ``~/Library/Caches``,
    ``%LOCALAPPDATA%``), made private (0700) if missing; None when ``MLSYSIM_NO_CATALOG_CACHE`` is set
    or the folder cannot be made (then nothing is cached and everything is built)."""
    if os.environ.get("MLSYSIM_NO_CATALOG_CACHE"):
        return None
    try:
        home = Path.home()
        platform = {"win32": Path(os.environ.get("LOCALAPPDATA") or home / "AppData/Local")}
        platform["darwin"] = home / "Library/Caches"
        folder = Path(os.environ.get("XDG_CACHE_HOME") or platform.get(sys.platform, home / ".cache")) / "mlsysim"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (OSError, RuntimeError, KeyError):  # no home folder, or none can be made: nothing is cached
        return None
    return folder
