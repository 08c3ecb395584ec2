"""The installed plugins' entry points: scanned with ``importlib.metadata``, or read from a list kept in
the cache folder (the scan reads every installed distribution: a sixth of a command's first answer).

The list is keyed as the standard library's own ``FastPath`` cache is: by each ``sys.path`` folder and its
modification time (installing or removing a distribution adds or removes an entry in one), plus the Python
version and the list's format; it also records the size and time of the files it was read from (each
plugin's ``entry_points.txt`` and ``METADATA``). Anything different, or a missing, corrupt or foreign file:
the scan runs. A list is written only when no folder or file it depends on changed in the 2 s before
(a change within a file system's timestamp granularity would otherwise go unseen). Off with the cache
folder (``MLSYSIM_NO_CATALOG_CACHE``).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .cache import cache_dir, hasher, read_private, write_private

FORMAT = 1
#: A folder or file changed this recently (ns) is not trusted to show every change in its time.
RACY_NS = 2_000_000_000


class Found(NamedTuple):
    """An entry point as the host reads it: name, ``module[:attr]``, distribution, version, loader."""

    name: str
    value: str
    distribution: str
    version: str
    load: Callable[[], Any]

    @classmethod
    def of(cls, ep: Any) -> Found:
        """From an ``importlib.metadata`` entry point (or any object with its ``name``, ``value``,
        ``dist`` and ``load``)."""
        return cls(ep.name, ep.value, *name_version(getattr(ep, "dist", None)), ep.load)


def _import(value: str) -> Any:
    """What an entry point's ``module:attr.attr`` value names (as ``EntryPoint.load``)."""
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module.strip())
    for part in filter(None, attr.split("[")[0].strip().split(".")):
        obj = getattr(obj, part)
    return obj


def entry_points(group: str) -> list[Found]:
    """The entry points of ``group`` of every installed distribution, from the cached list when valid."""
    folder, now = cache_dir(), time.time_ns()
    folders = _folders() if folder else None
    key = hasher(repr((FORMAT, group, sys.version, folders)).encode()).hexdigest()[:40]
    path = os.path.join(folder, f"plugins-{key}.json") if folder and folders is not None else None
    found = _read(path) if path else None
    if found is not None:
        return found
    from importlib.metadata import entry_points as scan

    eps = list(scan(group=group))
    found = [Found.of(ep) for ep in eps]
    files = [_stat(p) for ep in eps for p in _dist_files(ep)]
    recent = [m for _, m, *_ in (*(folders or ()), *files) if m is not None and m >= now - RACY_NS]
    if path and "" not in (f[0] for f in files) and not recent:
        data = {"entry_points": [list(f[:4]) for f in found], "files": files}
        write_private(path, json.dumps(data).encode(), keep="plugins-*.json")
    return found


def _folders() -> list[tuple[str, int | None]] | None:
    """Each ``sys.path`` folder with its modification time (None if it is missing); None when a finder
    other than the standard one can report distributions (nothing to key on)."""
    from importlib.machinery import PathFinder

    if [f for f in sys.meta_path if hasattr(f, "find_distributions")] != [PathFinder]:
        return None
    return [_stat(p)[:2] for p in map(os.path.abspath, (e or "." for e in sys.path))]


def _stat(path: str) -> tuple[str, int | None, int | None]:
    """(path, modification time in ns, size); the times are None for a missing file."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return path, None, None
    return path, st.st_mtime_ns, st.st_size


def _dist_files(ep: Any) -> list[str]:
    """The metadata files an entry point is read from (a wheel's or an egg's); "" when its distribution
    is not a folder (nothing to check: not cached)."""
    folder = getattr(getattr(ep, "dist", None), "_path", None)
    return [os.path.join(folder, n) for n in ("entry_points.txt", "METADATA", "PKG-INFO")] if folder else [""]


def _read(path: str) -> list[Found] | None:
    data = read_private(path)
    try:
        got = json.loads(data) if data is not None else None
        eps, files = (got["entry_points"], got["files"]) if got else ((), ())
        if not got or any(type(p) is not str or _stat(p) != (p, *rest) for p, *rest in files):
            return None
        if any(type(x) is not str for ep in eps for x in ep):
            return None
        return [
            Found(name, value, dist, version, functools.partial(_import, value)) for name, value, dist, version in eps
        ]
    except Exception:  # noqa: BLE001 - a corrupt list: scanned again
        return None


def name_version(dist: Any) -> tuple[str, str]:
    """Name and version of a distribution from the header of its METADATA file.

    ``dist.name`` / ``dist.version`` parse the whole file with the ``email`` package, whose import
    alone costs ~20 ms of every first solver lookup; the two header lines are all we need."""
    if dist is None:
        return "", ""
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        head = dict(line.split(": ", 1) for line in text.split("\n\n", 1)[0].splitlines() if ": " in line)
        return head["Name"].strip(), head["Version"].strip()
    except Exception:  # noqa: BLE001 - an odd metadata file: let importlib.metadata parse it
        return getattr(dist, "name", "") or "", getattr(dist, "version", "") or ""
