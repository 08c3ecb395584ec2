"""The user's private cache folder: built catalogs (catalog_cache.py), parsed unit definitions (units.py) and
the plugins' entry points (discovery.py); files in it are written atomically and read only if the user's own."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


@functools.cache
def pint_version() -> str:
    """The installed pint's version, which the caches are keyed by: from the name of the
    ``pint-<version>.dist-info`` folder beside the package pint would be imported from, else (another
    layout) from ``importlib.metadata``, whose import alone costs ~60 M instructions of a first answer."""
    from importlib.util import find_spec

    spec = find_spec("pint")
    folder = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else ""
    names = [n for n in (os.listdir(folder) if folder else ()) if n.lower().startswith("pint-")]
    found = [n[5:-10] for n in names if n.endswith(".dist-info")]
    if len(found) == 1:
        return found[0]
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


def read_private(path: Path) -> bytes | None:
    """The content of a cache file; None when it is missing or unreadable, or not the user's own (written by
    someone else, or writable by others: not trusted)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None
            return f.read()
    except OSError:
        return None


def write_private(path: Path, data: bytes, keep: str = "", most: int = 8) -> None:
    """Write a cache file atomically (a concurrent reader never sees half of it), readable by the user only;
    with ``keep`` (a glob) only the ``most`` newest files matching it stay. A read-only or full folder keeps
    nothing (what was computed is correct, only not kept)."""
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        old = sorted(path.parent.glob(keep), key=lambda p: p.stat().st_mtime, reverse=True) if keep else []
        for stale in old[most:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass
