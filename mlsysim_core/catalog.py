"""The catalog: entries from every registry provider, merged by priority, as attribute namespaces.

``mlsysim.Hardware.Cloud.H100``, ``mlsysim.Models.Language.Llama3_8B``,
``mlsysim.Systems.Clusters.Frontier_8K``, ``mlsysim.Infra.Grids.Quebec`` are built here on first
use from the plugins' ``mlsysim_catalog_files`` (TOML) and ``mlsysim_catalog_entries`` (Python
:class:`Entry` objects, each routed to its ``section``) hooks. The plugin host owns the built catalog
(:meth:`mlsysim_core.plugins.PluginHost.catalog`); this module builds it and holds no state.

Precedence: each provider has a priority (default catalog 0, other plugins 100, a plugin's
``MLSYSIM_CATALOG_PRIORITY`` attribute, or the user's ``MLSYSIM_CATALOG_PRIORITY="name=300"``; files loaded
with ``mlsysim.load_catalog`` rank above all). For a key given twice the higher priority wins (ties: the
first provider in plugin order) and a :class:`PluginConflictWarning` names both (not for a user's file).
References (a node's accelerator, a cluster's node) resolve against the merged catalog, so an
override of ``H100`` also changes ``DGX_H100``. A provider whose data is invalid is marked failed
and contributes nothing (never half a catalog); the error names file, line, entry and field.
"""

from __future__ import annotations

import builtins
import keyword
import os
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from . import types as T
from .errors import CatalogError, InvalidInputError, PluginConflictWarning, UnknownEntryError
from .records import CatalogReader, PluginRecord

if TYPE_CHECKING:
    from pathlib import Path

SECTIONS = ("hardware", "models", "fabrics", "nodes", "clusters", "grids", "datacenters", "storage")
USER = "<user>"
USER_PRIORITY = 10**9

#: Python types each section holds.
SECTION_TYPES = {
    "hardware": T.HardwareNode,
    "models": T.Workload,
    "fabrics": T.NetworkFabric,
    "nodes": T.Node,
    "clusters": T.Fleet,
    "grids": T.GridProfile,
    "datacenters": T.Datacenter,
    "storage": T.StorageTier,
}
_BUILD_ORDER = ("hardware", "models", "fabrics", "grids", "datacenters", "nodes", "clusters", "storage")
#: (priority, plugin order, provider, PendingEntry or Entry): one provider's offer of one catalog key.
Contribution = tuple[int, int, str, Any]
#: Names a catalog key may not take: Namespace methods (``Hardware.get`` would hide the entry).
RESERVED_KEYS = frozenset({"get", "keys", "list"})
MAX_KEY = 100


def key_problem(key: object) -> str:
    """Why ``key`` cannot be a catalog key or alias ("" if it can): an ASCII identifier of at most
    ``MAX_KEY`` characters, not a Python keyword, not starting with "_", not a Namespace method."""
    if not isinstance(key, str) or not key.isascii() or not key.isidentifier():
        return "keys must be ASCII Python identifiers (letters, digits, underscores)"
    if len(key) > MAX_KEY:
        return f"keys are limited to {MAX_KEY} characters"
    if keyword.iskeyword(key) or key.startswith("_") or key in RESERVED_KEYS:
        return f"{key!r} is reserved (Python keywords, names starting with '_', and {', '.join(sorted(RESERVED_KEYS))})"
    return ""


class PendingEntry(Protocol):
    """An entry read from a catalog file (what a :class:`CatalogReader` returns): built into an
    :class:`Entry` once the entries it refers to are built (``built``: section -> key -> Entry)."""

    section: str
    key: str

    def build(self, built: dict[str, dict[str, Entry]], provider: str) -> Entry: ...


@attrs.frozen(kw_only=True)
class Entry:
    """A catalog value with its key, category and provenance (what ``mlsysim_catalog_entries`` returns)."""

    section: str = attrs.field(validator=attrs.validators.in_(SECTIONS))
    key: str
    value: Any
    category: str = ""
    aliases: tuple = attrs.field(default=(), converter=T.as_tuple)
    provider: str = ""
    file: str = ""
    line: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, SECTION_TYPES[self.section]):
            raise InvalidInputError(
                "value", self.value, f"a {SECTION_TYPES[self.section].__name__} for section {self.section!r}"
            )
        for name, key in (("key", self.key), *(("aliases", a) for a in self.aliases)):
            why = key_problem(key)
            if why:
                raise InvalidInputError(name, key, "a catalog key", why)

    @property
    def origin(self) -> str:
        return f"{self.provider} ({self.file}:{self.line})" if self.file else self.provider


# --------------------------------------------------------------------------- namespaces


class Namespace:
    """Attribute access to catalog entries: ``ns.H100``, ``ns.Cloud.H100``, iteration, ``list()``."""

    def __init__(self, kind: str, entries: dict[str, Any], children: dict[str, Namespace] | None = None):
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_entries", entries)
        object.__setattr__(self, "_children", children or {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._children:
            return self._children[name]
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownEntryError(self._kind, name, list(self._entries) + list(self._children)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the {self._kind} catalog is read-only; use attrs.evolve() for a variant")

    def get(self, name: str) -> Any:
        """Case-insensitive lookup; unknown names raise with close matches."""
        if name in self._entries:
            return self._entries[name]
        low = {k.lower(): v for k, v in self._entries.items()}
        if name.lower() in low:
            return low[name.lower()]
        raise UnknownEntryError(self._kind, name, list(self._entries))

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._children

    def keys(self) -> list[str]:
        return list(self._entries)

    def __iter__(self) -> Iterator[Any]:
        seen: set[int] = set()
        for v in self._entries.values():
            if id(v) not in seen:
                seen.add(id(v))
                yield v

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def list(self, sort_by: str | None = None, reverse: bool = False) -> builtins.list[Any]:
        """Unique entries, optionally sorted by a dotted attribute path (``"memory.bandwidth"``)."""
        items = list(self)
        if sort_by:

            def key(v: Any) -> float:
                for part in sort_by.split("."):
                    v = getattr(v, part, None)
                m = getattr(v, "magnitude", v)
                return float(m) if isinstance(m, (int, float)) else float("-inf")

            items.sort(key=key, reverse=reverse)
        return items

    def __dir__(self) -> builtins.list[str]:
        return sorted(set(self._entries) | set(self._children))

    def __repr__(self) -> str:
        sub = f", categories: {', '.join(self._children)}" if self._children else ""
        return f"<{self._kind} catalog: {len(self)} entries{sub}>"


# --------------------------------------------------------------------------- the catalog


class Catalog:
    """The merged catalog and the namespaces built from it."""

    def __init__(self, entries: dict[str, dict[str, Entry]], shadowed: list[tuple[Entry, Contribution]]):
        self.entries = entries
        self.shadowed = shadowed

        def flat(section: str) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for e in entries[section].values():
                out[e.key] = e.value
            for e in entries[section].values():
                for a in e.aliases:
                    out.setdefault(a, e.value)
            return out

        def categorized(section: str, kind: str) -> Namespace:
            cats: dict[str, dict[str, Any]] = {}
            for e in entries[section].values():
                for name in (e.key, *e.aliases):
                    cats.setdefault(e.category or "Other", {}).setdefault(name, e.value)
            return Namespace(kind, flat(section), {c: Namespace(f"{kind}.{c}", d) for c, d in cats.items()})

        fabrics = Namespace("fabric", flat("fabrics"))
        self.Hardware = categorized("hardware", "hardware")
        object.__getattribute__(self.Hardware, "_children")["Networks"] = fabrics
        self.Models = categorized("models", "model")
        self.Systems = Namespace(
            "system",
            {},
            {
                "Nodes": Namespace("node", flat("nodes")),
                "Fabrics": fabrics,
                "Clusters": Namespace("cluster", flat("clusters")),
                "Storage": Namespace("storage", flat("storage")),
            },
        )
        grids = Namespace("grid", flat("grids"))
        self.Infra = Namespace(
            "infrastructure",
            flat("grids"),
            {"Grids": grids, "Datacenters": Namespace("datacenter", flat("datacenters"))},
        )

    def entry(self, section: str, key: str) -> Entry:
        """The winning entry for ``key`` (or an alias) with its provenance."""
        for e in self.entries[section].values():
            if key == e.key or key in e.aliases:
                return e
        raise UnknownEntryError(section, key, list(self.entries[section]))

    def all_entries(self) -> list[Entry]:
        return [e for s in SECTIONS for e in self.entries[s].values()]


class CatalogHost(Protocol):
    """What building a catalog needs from the plugin host."""

    def call_hook(self, hook: str, expect: type | tuple[type, ...] = object) -> list[tuple[str, Any]]: ...

    def records(self) -> list[PluginRecord]: ...

    def mark_failed(self, name: str, error: BaseException | str, hook: str = "") -> None: ...

    def plugin_priority(self, name: str) -> int: ...


def _reader(host: CatalogHost) -> Callable[[Path], list[Any]]:
    """Read one catalog file with the reader a plugin registered for its suffix (the first in plugin
    order wins); a suffix no plugin reads is a :class:`CatalogError` naming the file."""
    readers: dict[str, Callable[[Path], list[Any]]] = {}
    for _, reader in host.call_hook("mlsysim_catalog_readers", CatalogReader):
        readers.setdefault(reader.suffix, reader.read)

    def read(path: str | os.PathLike[str]) -> list[Any]:
        from pathlib import Path  # catalog files are read only on a build (a cached catalog needs no pathlib)

        path = Path(path)
        if path.suffix not in readers:
            known = ", ".join(sorted(readers)) or "none (is the plugin catalog_reader of mlsysim-core disabled?)"
            raise CatalogError(
                f"{path}: no plugin reads {path.suffix or 'suffix-less'} catalog files (readers: {known})"
            )
        return readers[path.suffix](path)

    return read


def _collect(host: CatalogHost, user_files: list[Path]) -> tuple[list[Contribution], list[tuple[str, Exception]]]:
    """(priority, order, provider, PendingEntry | Entry) for every contribution; plus provider errors."""
    contributions: list[Contribution] = []
    errors: list[tuple[str, Exception]] = []
    order = {r.name: i for i, r in enumerate(host.records())}
    per_provider: dict[str, list] = {}
    read = _reader(host)
    for plugin, path in host.call_hook("mlsysim_catalog_files", (str, os.PathLike)):
        try:
            per_provider.setdefault(plugin, []).extend(read(path))
        except CatalogError as exc:
            errors.append((plugin, exc))
    for plugin, entry in host.call_hook("mlsysim_catalog_entries", Entry):
        per_provider.setdefault(plugin, []).append(attrs.evolve(entry, provider=plugin))
    bad = {p for p, _ in errors}
    errors = list({p: e for p, e in reversed(errors)}.items())  # first error of each provider
    for plugin, items in per_provider.items():
        if plugin in bad:
            continue
        prio = host.plugin_priority(plugin)
        contributions.extend((prio, order.get(plugin, 0), plugin, it) for it in items)
    for i, path in enumerate(user_files):
        contributions.extend((USER_PRIORITY + i, -1, USER, pending) for pending in read(path))
    return contributions, errors


def _label(host: CatalogHost, provider: str) -> str:
    if provider == USER:
        return "a catalog file loaded with mlsysim.load_catalog"
    rec = {r.name: r for r in host.records()}.get(provider)
    return f"plugin {provider!r} ({rec.distribution})" if rec and rec.distribution else f"plugin {provider!r}"


def build(host: CatalogHost, user_files: list[Path]) -> Catalog:
    """Merge every provider's contributions by priority and validate them into a :class:`Catalog`."""
    contributions, errors = _collect(host, user_files)
    for plugin, exc in errors:
        host.mark_failed(plugin, exc)
    while True:
        winners: dict[tuple[str, str], tuple] = {}
        shadow_pairs = []
        position = {id(c): i for i, c in enumerate(contributions)}
        for c in sorted(contributions, key=lambda c: (-c[0], c[1])):
            item = c[3]
            k = (item.section, item.key)
            if k in winners:
                shadow_pairs.append((winners[k], c))
            else:
                winners[k] = c
        built: dict[str, dict[str, Entry]] = {s: {} for s in SECTIONS}
        failed: tuple[str, Exception] | None = None
        for section in _BUILD_ORDER:
            # stable order: plugin order (user files last), then order within the provider
            for (sec, key), c in sorted(winners.items(), key=lambda kv: (kv[1][1] < 0, kv[1][1], position[id(kv[1])])):
                if sec != section:
                    continue
                item = c[3]
                if isinstance(item, Entry):
                    built[section][key] = item
                    continue
                try:
                    built[section][key] = item.build(built, c[2])
                except CatalogError as exc:
                    failed = (c[2], exc)
                    break
            if failed:
                break
        if failed is None:
            break
        provider, error = failed
        if provider == USER:
            raise error
        host.mark_failed(provider, error)
        contributions = [c for c in contributions if c[2] != provider]
    shadowed: list[tuple[Entry, Contribution]] = []
    for win, lose in shadow_pairs:
        wi, who = win[3], _label(host, win[2])
        if win[2] != USER:  # the user's own file replacing an entry (calibrate's overlay) is intended: no warning
            warnings.warn(
                f"catalog {wi.section} entry {wi.key!r} is provided by {who} and {_label(host, lose[2])}; "
                f"using the one from {who} (higher priority or earlier in plugin order)",
                PluginConflictWarning,
                stacklevel=4,
            )
        shadowed.append((built[wi.section][wi.key], lose))
    for section, entries in built.items():
        owner = {key: e for key, e in entries.items()}
        for e in entries.values():
            for a in e.aliases:
                other = owner.setdefault(a, e)
                if other is not e:
                    warnings.warn(
                        f"catalog {section} alias {a!r} of {e.key!r} ({_label(host, e.provider)}) is already the "
                        "name of "
                        f"{other.key!r} ({_label(host, other.provider)}); {a!r} stays {other.key!r}",
                        PluginConflictWarning,
                        stacklevel=4,
                    )
    return Catalog(built, shadowed)
