"""The user's private cache folder: built catalogs (catalog_cache.py), parsed unit definitions (units.py) and
the plugins' entry points (discovery.py); files in it are written atomically and read only if the user's own."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Any


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


def hasher(data: bytes = b"") -> Any:
    """A BLAKE2b hash for the cache files' keys: ``hashlib.blake2b``, from ``_blake2`` (``import hashlib`` loads
    OpenSSL for its other hashes: ~10 M instructions of a command's first answer, issue 21)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # a Python built without it: hashlib's (the same hash)
        from hashlib import blake2b

    return blake2b(data)


def cache_dir() -> str | None:
    """``$XDG_CACHE_HOME/mlsysim`` or the platform's cache folder (``~/.cache``, ``~/Library/Caches``,
    ``%LOCALAPPDATA%``), made private (0700) if missing; None when ``MLSYSIM_NO_CATALOG_CACHE`` is set
    or the folder cannot be made (then nothing is cached and everything is built). A string: no pathlib."""
    if os.environ.get("MLSYSIM_NO_CATALOG_CACHE"):
        return None
    home = os.path.expanduser("~")
    if home.startswith("~"):  # no home folder: nothing is cached
        return None
    platform = {"win32": os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")}
    platform["darwin"] = os.path.join(home, "Library", "Caches")
    folder = os.path.join(os.environ.get("XDG_CACHE_HOME") or platform.get(sys.platform, f"{home}/.cache"), "mlsysim")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:  # none can be made: nothing is cached
        return None
    return folder


def read_private(path: str) -> bytes | None:
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


def write_private(path: str, data: bytes, keep: str = "", most: int = 8) -> None:
    """Write a cache file atomically (a concurrent reader never sees half of it), readable by the user only;
    with ``keep`` (a glob) only the ``most`` newest files matching it stay. A read-only or full folder keeps
    nothing (what was computed is correct, only not kept)."""
    import glob

    try:
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        old = glob.glob(os.path.join(glob.escape(folder), keep)) if keep else []
        for stale in sorted(old, key=os.path.getmtime, reverse=True)[most:]:
            with contextlib.suppress(FileNotFoundError):  # removed by another process meanwhile
                os.remove(stale)
    except OSError:
        pass
