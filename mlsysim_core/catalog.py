"""The catalog: entries from every registry provider, merged by priority, as attribute namespaces.

``mlsysim.Hardware.Cloud.H100``, ``mlsysim.Models.Language.Llama3_8B``,
``mlsysim.Systems.Clusters.Frontier_8K``, ``mlsysim.Infra.Grids.Quebec`` are built here on first
use from the plugins' ``mlsysim_catalog_files`` (TOML) and ``mlsysim_catalog_entries`` (Python
:class:`Entry` objects, each routed to its ``section``) hooks. The plugin host owns the built catalog
(:meth:`mlsysim_core.plugins.PluginHost.catalog`); this module builds it and holds no state.

Precedence: each provider has a priority (default catalog 0, other plugins 100, a plugin's
``MLSYSIM_CATALOG_PRIORITY`` attribute, or the user's ``MLSYSIM_CATALOG_PRIORITY="name=300"``;
files loaded with ``mlsysim.load_catalog`` rank above all). For a key given twice the higher priority
wins (ties: the first provider in plugin order) and a :class:`PluginConflictWarning` names both.
References (a node's accelerator, a cluster's node) resolve against the merged catalog, so an
override of ``H100`` also changes ``DGX_H100``. A provider whose data is invalid is marked failed
and contributes nothing (never half a catalog); the error names file, line, entry and field.
"""

from __future__ import annotations

import builtins
import difflib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import attrs

from . import types as T
from .catalog_files import SECTIONS, RawEntry, key_problem, read_file
from .errors import CatalogError, InvalidInputError, PluginConflictWarning, UnknownEntryError
from .records import PluginRecord
from .units import SECOND, parse_quantity, to_si

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
_MODEL_KINDS = {"transformer": T.TransformerWorkload, "cnn": T.CNNWorkload, "workload": T.Workload}
_META = ("category", "aliases")
#: (priority, plugin order, provider, RawEntry or Entry): one provider's offer of one catalog key.
Contribution = tuple[int, int, str, Any]


@attrs.frozen(kw_only=True)
class Entry:
    """A catalog value with its key, category and provenance (what ``mlsysim_catalog_entries`` returns)."""

    section: str = attrs.field(validator=attrs.validators.in_(SECTIONS))
    key: str
    value: Any
    category: str = ""
    aliases: tuple = attrs.field(default=(), converter=tuple)
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


# --------------------------------------------------------------------------- building from tables


def _take(raw: RawEntry, allowed: set[str], required: set[str]) -> dict:
    table = dict(raw.table)
    unknown = sorted(set(table) - allowed - set(_META))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise raw.error(unknown[0], f"unknown field{hint}; valid fields: {', '.join(sorted(allowed | set(_META)))}")
    missing = sorted(required - set(table))
    if missing:
        raise raw.error(missing[0], "required field is missing")
    for meta in _META:
        table.pop(meta, None)
    return table


def _sub(raw: RawEntry, table: dict, name: str, allowed: set[str]) -> dict | None:
    sub = table.get(name)
    if sub is None:
        return None
    if not isinstance(sub, dict):
        raise raw.error(name, "must be a table, e.g. { name = ..., bandwidth = ... }")
    unknown = sorted(set(sub) - allowed)
    if unknown:
        raise raw.error(name, f"unknown field {unknown[0]!r}; valid: {', '.join(sorted(allowed))}")
    return sub


def _fields(cls: type) -> set[str]:
    return {f.alias for f in attrs.fields(cls) if f.init}


def _priced(raw: RawEntry, table: dict, name: str, sources: dict, value_key: str) -> Any:
    sub = _sub(raw, table, name, {value_key, "date", "source"})
    if sub is None:
        return None
    if value_key not in sub:
        raise raw.error(name, f"needs {value_key!r}")
    if "source" in sub or "date" in sub:
        sources[name] = " ".join(str(sub[k]) for k in ("source", "date") if k in sub)
    return sub[value_key]


def _link(raw: RawEntry, table: dict, name: str, cls: type, source: str) -> Any:
    sub = _sub(raw, table, name, {"name", "bandwidth", "latency"} | ({"domain"} if cls is T.IOInterconnect else set()))
    if sub is None:
        return None
    missing = sorted({"name", "bandwidth"} - set(sub))
    if missing:
        raise raw.error(name, f"needs {missing[0]!r}")
    kwargs = dict(sub)
    if cls is T.NetworkFabric:
        kwargs["source"] = source
    return cls(**kwargs)


def _ref(raw: RawEntry, table: dict, name: str, section: str, built: dict, optional: bool = False) -> Any:
    key = table.get(name)
    if key is None:
        if optional:
            return None
        raise raw.error(name, "required field is missing")
    if not isinstance(key, str) or key not in built[section]:
        candidates = list(built[section])
        close = difflib.get_close_matches(str(key), candidates, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise raw.error(name, f"refers to {section} entry {key!r}, which does not exist{hint}")
    return built[section][key].value


def _seconds(text: Any) -> float:
    """A calibrated engine overhead ("0.5 ms") in s."""
    return to_si(parse_quantity(text, SECOND, name="calibration.engine_overhead"), SECOND, name="engine_overhead")


def _build_value(raw: RawEntry, built: dict) -> Any:
    s = raw.section
    if s == "hardware":
        t = _take(
            raw,
            {
                "name",
                "vendor",
                "release_year",
                "default_precision",
                "peak_flops",
                "memory",
                "scale_up",
                "host_link",
                "tdp",
                "dispatch_tax",
                "unit_cost",
                "embodied_carbon",
                "calibration",
                "source",
                "notes",
            },
            {"name", "peak_flops", "memory", "source"},
        )
        cal = dict(_sub(raw, t, "calibration", {*T.CALIBRATION_KEYS, "range", "source", "points"}) or {})
        span = dict(cal.get("range", {}))
        if "engine_overhead" in cal:
            cal["engine_overhead"] = _seconds(cal["engine_overhead"])
        if isinstance(span.get("engine_overhead"), list):
            cal["range"] = dict(span, engine_overhead=[_seconds(x) for x in span["engine_overhead"]])
        t["calibration"] = cal
        sources: dict = {}
        peaks = t.pop("peak_flops")
        if not isinstance(peaks, dict):
            raise raw.error("peak_flops", 'must be a table of precision = "VALUE FLOP/s"')
        compute = T.ComputeCore(precision_flops=peaks, default_precision=t.pop("default_precision", None))
        mem = dict(
            _sub(raw, t, "memory", {"capacity", "capacity_stated", "capacity_source", "bandwidth", "type"}) or {}
        )
        if "capacity_source" in mem:
            sources["memory.capacity"] = str(mem.pop("capacity_source"))
        t["memory"] = T.MemoryHierarchy(**mem)
        t["scale_up"] = _link(raw, t, "scale_up", T.IOInterconnect, "")
        t["interconnect"] = _link(raw, t, "host_link", T.IOInterconnect, "")
        t.pop("host_link", None)
        t["unit_cost"] = _priced(raw, t, "unit_cost", sources, "price")
        t["embodied_carbon"] = _priced(raw, t, "embodied_carbon", sources, "value")
        return T.HardwareNode(compute=compute, field_sources=sources, **t)
    if s == "models":
        kind = raw.table.get("kind", "transformer")
        cls = _MODEL_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise raw.error("kind", f"{kind!r} is not one of {', '.join(_MODEL_KINDS)}")
        t = _take(raw, _fields(cls) | {"kind"}, {"name", "parameters", "source"})
        t.pop("kind", None)
        return cls(**t)
    if s == "fabrics":
        return T.NetworkFabric(**_take(raw, _fields(T.NetworkFabric), {"name", "bandwidth", "source"}))
    if s == "storage":
        return T.StorageTier(**_take(raw, _fields(T.StorageTier), {"name", "source"}))
    if s == "grids":
        return T.GridProfile(**_take(raw, _fields(T.GridProfile), {"name", "carbon_intensity", "source"}))
    if s == "datacenters":
        t = _take(raw, _fields(T.Datacenter), {"name", "grid", "pue", "wue", "source"})
        t["grid"] = _ref(raw, t, "grid", "grids", built)
        return T.Datacenter(**t)
    if s == "nodes":
        t = _take(raw, _fields(T.Node), {"name", "accelerator", "accelerators_per_node", "source"})
        sources = {}
        t["accelerator"] = _ref(raw, t, "accelerator", "hardware", built)
        t["intra_node"] = _link(raw, t, "intra_node", T.NetworkFabric, t.get("source", ""))
        t["host_cost"] = _priced(raw, t, "host_cost", sources, "price")
        comps = t.get("components", [])
        if not isinstance(comps, list):
            raise raw.error("components", "must be an array of { part, count, mttf, source } tables")
        parts = []
        optional = {"source", "kind", "measured_on"}
        for c in comps:
            if (
                not isinstance(c, dict)
                or set(c) - {"part", "count", "mttf"} - optional
                or {"part", "count", "mttf"} - set(c)
            ):
                raise raw.error(
                    "components",
                    f"each item needs part, count, mttf (and optionally kind, measured_on, source); got {c!r}",
                )
            parts.append(T.Component(**c))
        t["components"] = tuple(parts)
        return T.Node(field_sources=sources, **t)
    if s == "clusters":
        t = _take(raw, _fields(T.Fleet), {"name", "node", "count", "source"})
        t["node"] = _ref(raw, t, "node", "nodes", built)
        t["fabric"] = _ref(raw, t, "fabric", "fabrics", built, optional=True)
        t["datacenter"] = _ref(raw, t, "datacenter", "datacenters", built, optional=True)
        return T.Fleet(**t)
    raise raw.error("", f"unknown section {s!r}")  # pragma: no cover - read_file checks sections


def build_entry(raw: RawEntry, built: dict, provider: str) -> Entry:
    """Validate one raw table into an :class:`Entry`; errors name file, line, entry and field."""
    try:
        value = _build_value(raw, built)
    except CatalogError:
        raise
    except InvalidInputError as exc:
        field_name = exc.argument.replace("precision_flops", "peak_flops")
        raise raw.error(field_name, str(exc).replace("precision_flops", "peak_flops")) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        # e.g. a wrong type TOML value for an attrs field: still a CatalogError naming the entry
        raise raw.error("", f"{type(exc).__name__}: {exc}") from None
    category = raw.table.get("category", "")
    aliases = raw.table.get("aliases", [])
    if not isinstance(category, str) or not (category == "" or not key_problem(category)):
        raise raw.error("category", "must be an identifier such as Cloud or Language")
    if not isinstance(aliases, list):
        raise raw.error("aliases", "must be a list of identifiers")
    for a in aliases:
        if key_problem(a):
            raise raw.error("aliases", f"{a!r}: {key_problem(a)}")
    return Entry(
        section=raw.section,
        key=raw.key,
        value=value,
        category=category,
        aliases=tuple(aliases),
        provider=provider,
        file=raw.file,
        line=raw.line,
    )


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


def _collect(host: CatalogHost, user_files: list[Path]) -> tuple[list[Contribution], list[tuple[str, Exception]]]:
    """(priority, order, provider, RawEntry | Entry) for every contribution; plus provider errors."""
    contributions: list[Contribution] = []
    errors: list[tuple[str, Exception]] = []
    order = {r.name: i for i, r in enumerate(host.records())}
    per_provider: dict[str, list] = {}
    for plugin, path in host.call_hook("mlsysim_catalog_files", (str, Path)):
        try:
            per_provider.setdefault(plugin, []).extend(read_file(path))
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
        contributions.extend((USER_PRIORITY + i, -1, USER, raw) for raw in read_file(path))
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
                    built[section][key] = build_entry(item, built, c[2])
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
        wi = win[3]
        warnings.warn(
            f"catalog {wi.section} entry {wi.key!r} is provided by {_label(host, win[2])} and {_label(host, lose[2])}; "
            f"using the one from {_label(host, win[2])} (higher priority or earlier in plugin order)",
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
