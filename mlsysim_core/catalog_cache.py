"""The built catalog cached on disk, so a command's first answer does not rebuild it (issue 21).

The cache file is named by a BLAKE2b key over everything the build reads: the content of every
catalog file (the plugins' and the user's), every installed plugin (name, distribution, version,
status, hooks), the catalog priorities, the source files of the host and of the plugins that read
catalog files (an edited checkout counts), and the Python and pint versions. A different input is a
different file, so a stale cache is never read. Only a clean build is stored: no warning, no failed
plugin, and no plugin building values in Python (``mlsysim_catalog_entries``: code, not data, so
nothing to key on). A file that cannot be read back (corrupt, truncated, a class outside the catalog
types, not owned by the user) is ignored and rebuilt. Location: :func:`mlsysim_core.cache.cache_dir`.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import sys
import warnings
from typing import TYPE_CHECKING, Any

from .cache import cache_dir, hasher, pint_version, read_private, write_private

if TYPE_CHECKING:
    from pathlib import Path

    from .catalog import Catalog, CatalogHost

FORMAT = 2
KEEP = 8
_CATALOG_HOOKS = {"mlsysim_catalog_files", "mlsysim_catalog_readers"}
#: globals a cached catalog may name outside mlsysim_core and pint
_ALLOWED = {("builtins", "float"), ("builtins", "int"), ("types", "SimpleNamespace")}


def _key(host: CatalogHost, user_files: list[Path]) -> str | None:
    """The cache key of this build, or None when it cannot be cached."""
    records = host.records()
    active = [r for r in records if r.status == "active"]
    if any("mlsysim_catalog_entries" in r.provides for r in active):
        return None
    h = hasher(repr((FORMAT, sys.version, pint_version())).encode())
    h.update(repr([(r.name, r.distribution, r.version, r.status, r.module, r.provides) for r in records]).encode())
    folders = {os.path.dirname(__file__)}
    for r in active:
        if _CATALOG_HOOKS & set(r.provides):
            h.update(repr((r.name, host.plugin_priority(r.name))).encode())
            file = getattr(sys.modules.get(r.module.split(":")[0]), "__file__", None)
            folders.add(os.path.dirname(file) if file else ".")
    for source in sorted(os.path.join(d, f) for d in folders for f in os.listdir(d) if f.endswith(".py")):
        st = os.stat(source)
        h.update(f"{source}:{st.st_mtime_ns}:{st.st_size}".encode())
    files = [p for _, p in host.call_hook("mlsysim_catalog_files", (str, os.PathLike))] + list(user_files)
    for path in files:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None  # a FIFO would block here; the reader refuses what is not a regular file
            with open(path, "rb") as f:
                h.update(f"\0{os.fspath(path)}\0".encode() + f.read())
        except (OSError, ValueError):
            return None  # the build reports the unreadable file
    return h.hexdigest()[:40]


class _Pickler(pickle.Pickler):
    """Quantities of catalog fields and maps stored as :class:`~mlsysim_core.types.Deferred` (no pint to load)."""

    def reducer_override(self, obj: Any) -> Any:
        from .types import Deferred, FrozenMap
        from .units import Quantity

        def defer(v: Any) -> Any:
            return Deferred((v._magnitude, str(v._units))) if isinstance(v, Quantity) else v

        if obj.__class__ is FrozenMap:
            return FrozenMap, ({k: defer(v) for k, v in obj.items()},)
        lazy = getattr(obj.__class__, "_lazy_quantities", None)
        if not lazy:
            return NotImplemented
        fn, args, state, *rest = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        return (fn, args, {k: defer(v) if k in lazy else v for k, v in state.items()}, *rest)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in ("mlsysim_core", "pint") or (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a catalog type")


def _load(path: str) -> Catalog | None:
    from .catalog import Catalog

    data = read_private(path)
    try:
        found = _Unpickler(io.BytesIO(data)).load() if data is not None else None
    except Exception:  # noqa: BLE001 - corrupt or truncated: rebuilt by the caller
        return None
    return found if isinstance(found, Catalog) else None


def _store(path: str, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(catalog)
    write_private(path, buffer.getvalue(), keep="catalog-*.pickle", most=KEEP)


def cached_build(host: CatalogHost, user_files: list[Path]) -> Catalog:
    """The catalog of ``host`` plus ``user_files``: read from the cache when its key matches, else built
    (and stored when the build was clean). Warnings of a build reach the caller as they were raised."""
    from .catalog import build

    folder = cache_dir()
    key = _key(host, user_files) if folder else None
    if folder is None or key is None:
        return build(host, user_files)
    path = os.path.join(folder, f"catalog-{key}.pickle")
    found = _load(path)
    if found is not None:
        return found
    before = [r.status for r in host.records()]
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:  # to know whether the build was clean
            warnings.simplefilter("always")
            catalog = build(host, user_files)
    finally:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if not caught and [r.status for r in host.records()] == before:
        _store(path, catalog)
    return catalog
