"""Catalog tables into typed values: checking a TOML table's fields against the catalog types.

Each section's table becomes the attrs value of :data:`mlsysim_core.catalog.SECTION_TYPES`; unknown or
missing fields, wrong references and invalid values raise a :class:`CatalogError` naming file, line,
entry and field (``mlsysim_registry/SCHEMA.md`` is the format).
"""

from __future__ import annotations

import difflib
import os
from typing import Any

import attrs

from mlsysim_core import types as T
from mlsysim_core.catalog import Entry, key_problem
from mlsysim_core.errors import CatalogError, InvalidInputError
from mlsysim_core.units import SECOND, parse_quantity, to_si
from mlsysim_uncertainty.calibration import CALIBRATION_KEYS, checked
from mlsysim_uncertainty.provenance import STRICT_SECTIONS
from mlsysim_uncertainty.provenance import checked as provenance

from .toml_files import RawEntry

_MODEL_KINDS = {"transformer": T.TransformerWorkload, "cnn": T.CNNWorkload, "workload": T.Workload}
_META = ("category", "aliases")


def _take(raw: RawEntry, allowed: set[str], required: set[str]) -> dict:
    table = dict(raw.table)
    unknown = sorted(set(table) - allowed - set(_META))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise raw.error(unknown[0], f"unknown field{hint}; valid fields: {', '.join(sorted(allowed | set(_META)))}")
    missing = sorted(required - set(table))
    if len(missing) == 1:
        raise raw.error(missing[0], "required field is missing")
    if missing:
        raise raw.error(missing[0], f"required fields are missing: {', '.join(missing)}")
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


def _required(cls: type) -> set[str]:
    """The fields ``cls`` cannot be built without."""
    return {f.alias for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING}


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


#: calibration keys that are times, written as text ("0.5 ms")
_TIMES = ("engine_overhead", "request_overhead")


def _seconds(text: Any, key: str) -> float:
    """A calibrated time ("0.5 ms") in s."""
    return to_si(parse_quantity(text, SECOND, name=f"calibration.{key}"), SECOND, name=key)


def _calibration(table: Any) -> dict:
    """A calibration table with its times (engine and request overheads, "0.5 ms") in s (checked by the caller)."""
    cal = dict(table or {})
    span = dict(cal.get("range", {}))
    for key in _TIMES:
        if key in cal:
            cal[key] = _seconds(cal[key], key)
        if isinstance(span.get(key), list):
            span[key] = [_seconds(x, key) for x in span[key]]
    if span:
        cal["range"] = span
    return cal


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
        kept = {*CALIBRATION_KEYS, "range", "model_error", "source", "points", "engines"}
        cal = _calibration(_sub(raw, t, "calibration", kept))
        if isinstance(cal.get("engines"), dict):
            cal["engines"] = {engine: _calibration(table) for engine, table in cal["engines"].items()}
        t["calibration"] = checked(cal)
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
        t = _take(raw, _fields(cls) | {"kind"}, _required(cls) | {"source"})
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


#: TOML tables whose numbers the built value holds elsewhere (the value's paths are the ones bands move)
_MOVED = {"peak_flops": "compute.precision_flops", "host_link": "interconnect"}
#: a priced number's TOML path -> its name, both in the value and in a provenance table (``unit_cost``)
_PRICED = {"unit_cost.price": "unit_cost", "embodied_carbon.value": "embodied_carbon", "host_cost.price": "host_cost"}
#: fields whose numbers are not catalog numbers with a tier: a calibration's fits carry their own ranges
_UNTIERED = {"provenance", "calibration", *_META}
#: the folder of the default catalog, held to the strict rule: every number has a tier
_DEFAULT_CATALOG = os.path.join(os.path.dirname(__file__), "data")


def _written(table: dict, prefix: str = "") -> dict[str, str]:
    """``{TOML path: path in the built value}`` of every leaf of an entry's ``table`` (a component's
    fields under ``components.PART``; a price or embodied carbon under its own name)."""
    out = {}
    for key, item in table.items():
        path = f"{prefix}{key}"
        if not prefix and key in _UNTIERED:
            continue
        if isinstance(item, dict):
            out.update(_written(item, f"{path}."))
        elif key == "components" and isinstance(item, list):
            for c in item:
                if isinstance(c, dict):
                    out.update(_written({k: v for k, v in c.items() if k != "part"}, f"{path}.{c.get('part')}."))
        elif path in _PRICED:
            out[_PRICED[path]] = _PRICED[path]
        else:
            head = next((m for m in _MOVED if path.startswith(f"{m}.")), None)
            out[path] = _MOVED[head] + path[len(head) :] if head else path
    return out


def _with_provenance(raw: RawEntry, built: dict) -> Any:
    """The entry's value with its checked ``provenance`` table (mlsysim_uncertainty.provenance); in the
    default catalog every number needs a tier."""
    strict = os.path.dirname(os.path.abspath(raw.file)) == _DEFAULT_CATALOG and raw.section in STRICT_SECTIONS
    if "provenance" not in raw.table and not strict:
        return _build_value(raw, built)
    table = {k: v for k, v in raw.table.items() if k != "provenance"}
    value = _build_value(attrs.evolve(raw, table=table), built)
    tiers = provenance(value, raw.table.get("provenance", {}), _written(table), strict)
    return attrs.evolve(value, provenance=tiers)


def build_entry(raw: RawEntry, built: dict, provider: str) -> Entry:
    """Validate one raw table into an :class:`Entry`; errors name file, line, entry and field."""
    try:
        value = _with_provenance(raw, built)
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
