"""Plugin discovery with fault isolation, and the one object that owns what plugins provide.

We load entry points ourselves (not ``pm.load_setuptools_entrypoints``, which stops at the first
exception): each plugin that fails to import, implements an unknown hook, or whose hook raises or
returns the wrong type is recorded as ``failed`` with its error and one :class:`PluginWarning`;
everything else keeps working. ``MLSYSIM_DISABLE_PLUGINS=name,...`` (entry-point or distribution
names) turns plugins off.

:class:`PluginHost` owns the plugin manager, the records, the solvers, the merged catalog and the
user's catalog files; the process-wide one is built lazily by :func:`host` and replaced by
:func:`reset`. Nobody outside this module touches ``pm.hook``.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from . import discovery, hookspecs
from .discovery import Found
from .errors import InvalidInputError, PluginConflictWarning, PluginError, PluginWarning, SolverNotInstalledError
from .exports import RESERVED
from .records import PluginRecord, SolverSpec

if TYPE_CHECKING:  # the catalog needs pint and numpy: imported on first use, not at discovery
    from pathlib import Path

    from .catalog import Catalog, Entry

__all__ = ["PluginHost", "PluginRecord", "SolverSpec", "PluginWarning", "PluginConflictWarning", "host", "reset"]
__all__ += ["records", "solvers", "get_solver", "catalog", "load_catalog"]

GROUP = "mlsysim"
#: This repository's plugins first, in this order, then others by entry-point name (none takes their names or keys).
BUILTIN_ORDER = (
    "default_catalog",
    "single_node",
    "serving",
    "distributed",
    "economics",
    "sustainability",
    "reliability",
)
HOOK_NAMES = frozenset(n for n in dir(hookspecs) if n.startswith("mlsysim_"))


def install_hint(distribution: str) -> str:
    """How to install a distribution of this repository (they are not published on a package index yet)."""
    return f"pip install -e plugins/{distribution} (run in the mlsysim repository; not on PyPI yet)"


class PluginHost:
    """Loads every ``mlsysim`` entry point once, answers hook calls with fault isolation, and owns
    what the plugins provide: solvers, the merged catalog and the catalog files the user loaded."""

    def __init__(self, entry_points: Iterable[Any] | None = None):
        import pluggy

        self.pm = pluggy.PluginManager("mlsysim")
        self.pm.add_hookspecs(hookspecs)
        self._records: dict[str, PluginRecord] = {}
        self._cache: dict[str, list[tuple[str, Any]]] = {}
        self._solvers: dict[str, SolverSpec] | None = None
        self._classes: dict[str, type] = {}  # solver name -> class checked on first use (lazy factories)
        self._catalog: Catalog | None = None
        self._user_files: list[Path] = []
        self._lock = threading.RLock()
        self._load(discovery.entry_points(GROUP) if entry_points is None else list(map(Found.of, entry_points)))

    # ----------------------------------------------------------------- discovery
    @staticmethod
    def _order(ep: Found) -> tuple[int, int, str]:
        name = ep.name
        return (0, BUILTIN_ORDER.index(name), "") if name in BUILTIN_ORDER else (1, 0, name)

    def _fail(self, rec: dict[str, Any], error: BaseException | str) -> None:
        msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._records[rec["name"]] = PluginRecord(status="failed", error=msg, **rec)
        warnings.warn(
            f"mlsysim plugin {rec['name']!r} ({rec['distribution']}) failed: {msg}", PluginWarning, stacklevel=4
        )

    def _load(self, eps: list[Found]) -> None:
        disabled = {s.strip() for s in os.environ.get("MLSYSIM_DISABLE_PLUGINS", "").split(",") if s.strip()}
        seen: dict[str, str] = {}
        for ep in sorted(eps, key=self._order):
            rec: dict[str, Any] = {"name": ep.name, "distribution": ep.distribution, "version": ep.version}
            rec["module"] = ep.value
            if ep.name in seen:
                warnings.warn(
                    f"mlsysim plugin name {ep.name!r} is claimed by {seen[ep.name]} and "
                    f"{rec['distribution']}; keeping {seen[ep.name]}",
                    PluginConflictWarning,
                    stacklevel=3,
                )
                continue
            seen[ep.name] = rec["distribution"]
            if ep.name in disabled or rec["distribution"] in disabled:
                self._records[ep.name] = PluginRecord(status="disabled", **rec)
                continue
            t0 = time.perf_counter()
            try:
                module = ep.load()
            except BaseException as exc:  # noqa: BLE001 - a plugin must never break the host
                if isinstance(exc, KeyboardInterrupt):
                    raise
                rec["import_seconds"] = round(time.perf_counter() - t0, 6)
                self._fail(rec, exc)  # SystemExit too: a plugin calling sys.exit() must not end the host
                continue
            rec["import_seconds"] = round(time.perf_counter() - t0, 6)
            impls = {n for n in dir(module) if getattr(getattr(module, n, None), "mlsysim_impl", None) is not None}
            unknown = sorted(impls - HOOK_NAMES)
            if unknown:
                self._fail(
                    rec,
                    f"implements unknown hook(s) {', '.join(unknown)}; known hooks: {', '.join(sorted(HOOK_NAMES))}",
                )
                continue
            odd = sorted(n for n in impls if _odd_impl(getattr(module, n)))
            if odd:
                self._fail(
                    rec,
                    f"hook {odd[0]} must be a plain function taking no arguments and returning a list "
                    f"(not a wrapper, a coroutine or another callable)",
                )
                continue
            try:
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - e.g. a hookimpl whose signature does not match
                self._fail(rec, exc)
                continue
            self._records[ep.name] = PluginRecord(status="active", provides=tuple(sorted(impls)), **rec)

    # ----------------------------------------------------------------- calling hooks
    def call_hook(self, hook: str, expect: type | tuple[type, ...] = object) -> list[tuple[str, Any]]:
        """Call ``hook`` on each active plugin in order; returns [(plugin name, item), ...].

        A plugin whose implementation raises, or returns something that is not a list of
        ``expect``, is marked failed (with one warning) and contributes nothing.
        """
        with self._lock:
            if hook in self._cache:
                return self._cache[hook]
            out: list[tuple[str, Any]] = []
            caller = getattr(self.pm.hook, hook)
            impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
            for name, rec in self._records.items():
                impl = impls.get(name)
                if impl is None or rec.status != "active":
                    continue
                what = expect.__name__ if isinstance(expect, type) else " or ".join(t.__name__ for t in expect)
                try:
                    items = impl.function()
                    if items is None or isinstance(items, (str, bytes, Mapping)) or not hasattr(items, "__iter__"):
                        raise PluginError(f"{hook} returned {type(items).__name__}, expected a list of {what}")
                    items = list(items)  # a generator that raises midway fails the whole plugin
                    bad = [i for i in items if not isinstance(i, expect)]
                    if bad:
                        raise PluginError(f"{hook} returned {type(bad[0]).__name__}, expected {what}")
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin must never break the host
                    self.mark_failed(name, exc, hook)
                    continue
                out.extend((name, item) for item in items)
            self._cache[hook] = out
            return out

    def mark_failed(self, name: str, error: BaseException | str, hook: str = "") -> None:
        """Record plugin ``name`` as failed (e.g. its catalog data is invalid) and unregister it."""
        rec = self._records[name]
        where = f" in {hook}" if hook else ""
        msg = error if isinstance(error, str) else f"{type(error).__name__}{where}: {error}"
        self._records[name] = attrs.evolve(rec, status="failed", error=msg)
        warnings.warn(f"mlsysim plugin {name!r} ({rec.distribution}) failed: {msg}", PluginWarning, stacklevel=3)
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self._cache = {}
        self._solvers = None
        self._classes = {}
        self._catalog = None

    def records(self) -> list[PluginRecord]:
        return list(self._records.values())

    def out_of_domain(self, result: Any) -> tuple[str, ...]:
        """Every ``mlsysim_domain_checks`` check's why lines for ``result`` (one that raises: a line and a warning)."""
        checks = self.call_hook("mlsysim_domain_checks")  # a check that is not callable fails when called
        lines = [] if checks else ["no calibration domain check is installed (hook mlsysim_domain_checks)"]
        for name, check in checks:
            try:
                lines += check(result)
            except Exception as exc:  # noqa: BLE001 - a plugin must never break the host
                lines.append(f"the domain check of plugin {name} failed: {type(exc).__name__}: {exc}")
                warnings.warn(f"mlsysim plugin {name!r}: {lines[-1]}", PluginWarning, stacklevel=3)
        return tuple(lines)

    def solvers(self) -> dict[str, SolverSpec]:
        with self._lock:
            if self._solvers is None:
                found: dict[str, SolverSpec] = {}
                specs = self.call_hook("mlsysim_solvers", SolverSpec)
                broken: dict[str, str] = {}
                for plugin, spec in specs:
                    why = _spec_problem(spec)
                    if why and plugin not in broken:
                        broken[plugin] = why
                for plugin, why in broken.items():
                    self.mark_failed(plugin, PluginError(why), "mlsysim_solvers")
                for plugin, spec in specs:
                    if plugin in broken:
                        continue
                    dist = self._records[plugin].distribution
                    spec = attrs.evolve(spec, distribution=dist)
                    if spec.name in found:
                        kept = found[spec.name].distribution
                        warnings.warn(
                            f"solver {spec.name!r} is provided by {kept} and {dist}; keeping {kept}",
                            PluginConflictWarning,
                            stacklevel=3,
                        )
                        continue
                    found[spec.name] = spec
                self._solvers = found
            return self._solvers

    def plugin_priority(self, name: str) -> int:
        """Catalog priority of a plugin: default catalog 0, others 100, or the user's setting."""
        user = dict(
            (k.strip(), int(v))
            for k, v in (
                item.split("=", 1) for item in os.environ.get("MLSYSIM_CATALOG_PRIORITY", "").split(",") if "=" in item
            )
        )
        rec = self._records.get(name)
        for key in (name, rec.distribution if rec else None):
            if key in user:
                return user[key]
        module = self.pm.get_plugin(name)
        return int(getattr(module, "MLSYSIM_CATALOG_PRIORITY", 0 if name == "default_catalog" else 100))

    def get_solver(self, name: str) -> type:
        """The solver class called ``name``; a :class:`SolverNotInstalledError` if no plugin provides it."""
        spec = self.solvers().get(name)
        if spec is None:
            from .errors import did_you_mean

            known = ", ".join(sorted(self.solvers())) or "none"
            off = did_you_mean(name, [*self.solvers()]) + "".join(
                f"; plugin {r.name} ({r.distribution}) is {r.status}: "
                + (
                    "enable it by removing it from MLSYSIM_DISABLE_PLUGINS"
                    if r.status == "disabled"
                    else f"{r.error}; reinstall it from this repository: {install_hint(r.distribution)}"
                )
                for r in self.records()
                if r.status != "active"
            )
            raise SolverNotInstalledError(f"no solver named {name!r} is installed (installed solvers: {known}){off}")
        factory = spec.factory
        if isinstance(factory, type):
            return factory
        hit = self._classes.get(name)
        if hit is not None:
            return hit
        plugin = next((p for p, s in self.call_hook("mlsysim_solvers", SolverSpec) if s.name == name), "")
        try:
            cls = factory()
            why = _solver_class_problem(cls, f"the factory of solver {name!r} returned")
        except Exception as exc:  # noqa: BLE001 - a lazy factory is plugin code
            why = f"the factory of solver {name!r} raised {type(exc).__name__}: {exc}"
        if why:
            if plugin:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PluginWarning)  # the error below says it
                    self.mark_failed(plugin, PluginError(why), "mlsysim_solvers")
            raise SolverNotInstalledError(f"{name} from {spec.distribution or 'a plugin'} cannot be used: {why}")
        self._classes[name] = cls
        return cls

    def not_installed(self, name: str, distribution: str) -> SolverNotInstalledError:
        """The error for solver ``name`` whose ``distribution`` is not active: what to install, and why
        its plugin is not active if it is installed."""
        failed = [r for r in self.records() if r.status != "active" and r.distribution == distribution]
        if failed and failed[0].status == "disabled":
            return SolverNotInstalledError(
                f"{name} is provided by the distribution {distribution!r}, whose plugin {failed[0].name!r} is "
                "disabled by MLSYSIM_DISABLE_PLUGINS; enable it by removing it from MLSYSIM_DISABLE_PLUGINS"
            )
        why = f" (plugin {failed[0].name!r} is {failed[0].status}: {failed[0].error})" if failed else ""
        return SolverNotInstalledError(
            f"{name} is provided by the distribution {distribution!r}, which is not active{why}; install it from "
            f"this repository: {install_hint(distribution)}"
        )

    # ----------------------------------------------------------------- catalog
    def catalog(self) -> Catalog:
        """The merged catalog of every provider plus the user's files, built on first use, then read lock-free."""
        if (catalog := self._catalog) is None:  # read once, lock-free (~2 k instructions less); a reset between 2 reads
            with self._lock:  # could return None. Built under the lock, unless another thread built it meanwhile
                from .catalog_cache import cached_build

                catalog = self._catalog = self._catalog or cached_build(self, list(self._user_files))
        return catalog

    def load_catalog(self, path: str | os.PathLike[str]) -> list[Entry]:
        """Add a TOML catalog file of the user's (highest priority); returns its entries.

        The file is validated completely before anything changes: on error nothing is loaded and a
        :class:`~mlsysim_core.errors.CatalogError` names file, line, entry and field.
        """
        from .catalog import USER
        from .catalog_cache import cached_build

        if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
            raise InvalidInputError("path", path, "the path of a TOML catalog file (str or pathlib.Path)")
        from pathlib import Path  # not at import: ~20 M instructions of every command's first answer

        p = Path(path)
        with self._lock:
            new = cached_build(self, [*self._user_files, p])
            self._user_files.append(p)
            self._catalog = new
        return [e for e in new.all_entries() if e.provider == USER and e.file == str(p)]


_host: PluginHost | None = None
_host_lock = threading.Lock()


def host() -> PluginHost:
    """The process-wide plugin host, discovered on first use."""
    global _host
    if _host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
    return _host


def reset(new: PluginHost | None = None) -> None:
    """Forget discovery, the catalog and loaded catalog files (tests; after installing a plugin
    in-process), or install ``new`` as the process-wide host."""
    global _host
    _host = new


def records() -> list[PluginRecord]:
    """Every plugin seen, with status, distribution, version, what it provides and its error."""
    return host().records()


def solvers() -> dict[str, SolverSpec]:
    """Solver name -> :class:`SolverSpec` for every active plugin."""
    return host().solvers()


def get_solver(name: str) -> type:
    """The solver class called ``name`` (see :meth:`PluginHost.get_solver`)."""
    return host().get_solver(name)


def catalog() -> Catalog:
    """The process-wide catalog (``mlsysim.Hardware`` ... are its namespaces)."""
    return host().catalog()


def load_catalog(path: str | os.PathLike[str]) -> list[Entry]:
    """Add a TOML catalog file to the process-wide catalog (see :meth:`PluginHost.load_catalog`)."""
    return host().load_catalog(path)


def _odd_impl(fn: Any) -> bool:
    """A hook implementation the host cannot call as ``fn()`` -> list: wrappers and coroutines."""
    opts = getattr(fn, "mlsysim_impl", None) or {}
    return (
        bool(opts.get("hookwrapper") or opts.get("wrapper"))
        or not inspect.isfunction(fn)
        or inspect.iscoroutinefunction(fn)
        or inspect.isasyncgenfunction(fn)
    )


def _solver_class_problem(cls: Any, what: str) -> str:
    if not isinstance(cls, type):
        return f"{what} {type(cls).__name__}, not a class"
    if not callable(getattr(cls, "solve", None)):
        return f"{what} class {cls.__name__} without a callable solve()"
    return ""


def _spec_problem(spec: SolverSpec) -> str:
    """Why a SolverSpec cannot be served ("" if it can). A lazy (non-class) factory is checked on use."""
    name = spec.name
    if not isinstance(name, str) or not name.isascii() or not name.isidentifier() or not name[:1].isupper():
        return (
            f"solver name {name!r} is not an ASCII identifier starting with a capital letter "
            f"(mlsysim.{name!s} must work)"
        )
    if name in RESERVED:
        return f"solver name {name!r} is taken by mlsysim itself (mlsysim.{name} is not a solver)"
    factory = spec.factory
    if isinstance(factory, type):
        return _solver_class_problem(factory, f"solver {name!r} has factory")
    if not callable(factory):
        return (
            f"solver {name!r} has factory {type(factory).__name__}: "
            "expected a class with solve() or a callable returning one"
        )
    return ""
