"""Provenance of catalog numbers: where each number comes from (its tier) and, where it is uncertain, the range it may
take; bands move the ranged numbers a solver declares (``band_catalog``). A catalog entry's ``provenance`` table
(``mlsysim_registry/SCHEMA.md``) maps a number's path in the entry (``tdp``, ``memory.bandwidth``,
``components.gpu.mttf``: the component whose ``part`` is gpu) to its tier, one of :data:`TIERS` (``datasheet``: the
vendor's specification; ``measured``: a measurement of the quantity itself; ``paper``: derived from a published
figure; ``estimate``: a documented judgement), and optionally ``range = [low, high]`` with the ``range_source`` it
comes from. An estimate must carry a range. A key naming a sub-table (``peak_flops``) or ``"*"`` (the whole entry)
gives the tier of every number under it that no longer key names (not an estimate: each estimate needs its own
range). A ``range_source`` written ``"@NAME"`` cites a text shared by many numbers, written once in
``data/range_sources.toml`` (:func:`shared_sources`). The value then holds ``{path: (tier, low, high, unit, value,
source)}`` for every number with a tier (``low``/``high``/``value`` in ``unit``; no range: None), checked when the
catalog is read; in a strict catalog (the default one) a number without a tier is an error.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import CATALOG_TYPES
from mlsysim_core.units import DIMENSIONLESS, Q_, parse_quantity

from .ranges import TIERS

#: sections of the default catalog whose every number has a tier
STRICT_SECTIONS = ("hardware", "models", "fabrics", "nodes", "clusters", "grids", "datacenters", "storage")
#: the key of an entry's default tier (every number no other key names)
EVERY = "*"
#: relative difference under which a number still is the catalog's own (not replaced by the caller)
_SAME = 1e-9


def _step(obj: Any, name: str) -> Any:
    """Attribute ``name`` of ``obj``; in a tuple of components, the one whose ``part`` is ``name``; in a
    mapping (a part's peaks per precision), the value of key ``name``."""
    if isinstance(obj, Mapping):
        return obj[name]
    if isinstance(obj, tuple):
        found = [c for c in obj if getattr(c, "part", None) == name]
        if len(found) != 1:
            raise LookupError(name)
        return found[0]
    if not attrs.has(type(obj)) or name not in attrs.fields_dict(type(obj)):
        raise LookupError(name)
    return getattr(obj, name)


def resolve(obj: Any, path: str) -> Any:
    """The number at ``path`` in catalog value ``obj`` (LookupError when there is none)."""
    for name in path.split("."):
        obj = _step(obj, name)
    return obj


def replaced(obj: Any, path: str, value: Any) -> Any:
    """``obj`` with the number at ``path`` replaced by ``value`` (the objects on the way evolved)."""
    head, _, rest = path.partition(".")
    if isinstance(obj, tuple):
        return tuple(replaced(c, rest, value) if c.part == head else c for c in obj)
    if isinstance(obj, Mapping):
        return {**obj, head: replaced(obj[head], rest, value) if rest else value}
    return attrs.evolve(obj, **{head: replaced(getattr(obj, head), rest, value) if rest else value})


def _number(value: Any) -> tuple[float, Any]:
    """(magnitude, unit) of a catalog number: a Quantity or a plain ratio (PUE)."""
    if hasattr(value, "magnitude"):
        return float(value.magnitude), value.units
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), DIMENSIONLESS
    raise LookupError(value)


def _end(text: Any, unit: Any, name: str) -> float:
    if unit == DIMENSIONLESS and isinstance(text, (int, float)) and not isinstance(text, bool):
        x = float(text)
    else:
        x = float(parse_quantity(text, unit, name=name).to(unit).magnitude)
    if not math.isfinite(x) or x <= 0:
        raise InvalidInputError(name, text, "a positive finite number in the field's unit")
    return x


def _spec(name: str, spec: Any) -> dict:
    """One key's ``tier`` or ``{ tier, range, range_source }`` as a dict with a known tier."""
    spec = {"tier": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, dict) or set(spec) - {"tier", "range", "range_source"} or "tier" not in spec:
        raise InvalidInputError(name, spec, "a tier or { tier, range = [low, high], range_source }")
    if spec["tier"] not in TIERS:
        raise InvalidInputError(f"{name}.tier", spec["tier"], " | ".join(TIERS))
    return spec


def _ranged(name: str, spec: dict, number: float, unit: Any) -> tuple:
    """(tier, low, high, source) of one number's spec: an estimate needs a range around the number."""
    tier, span = spec["tier"], spec.get("range")
    if span is None:
        if tier == "estimate" or "range_source" in spec:
            raise InvalidInputError(f"{name}.range", None, "[low, high] (an estimate needs its range)")
        return tier, None, None, ""
    if not isinstance(span, list) or len(span) != 2:
        raise InvalidInputError(f"{name}.range", span, "[low, high]")
    low, high = (_end(x, unit, f"{name}.range") for x in span)
    if not (low <= number * (1 + _SAME) and number <= high * (1 + _SAME)):
        raise InvalidInputError(f"{name}.range", span, f"low <= the entry's value {number:g} <= high")
    source = spec.get("range_source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(f"{name}.range_source", source, "where the range comes from")
    if source.startswith("@"):
        shared = shared_sources()
        if source[1:] not in shared:
            raise InvalidInputError(f"{name}.range_source", source, f"a text or @NAME, NAME one of {', '.join(shared)}")
        source = shared[source[1:]]
    return tier, low, high, source


@cache
def shared_sources() -> dict[str, str]:
    """``{NAME: text}`` of the range sources many catalog numbers share (``data/range_sources.toml``)."""
    text = resources.files("mlsysim_uncertainty").joinpath("data", "range_sources.toml").read_text()
    return tomllib.loads(text)


def numbers(value: Any, paths: Mapping[str, str]) -> dict[str, tuple[str, float, Any]]:
    """``{path as written: (path in value, magnitude, unit)}`` of the ``paths`` (written path -> path in
    catalog value ``value``) that lead to a number (the others: text, references, tables)."""
    out = {}
    for written, path in paths.items():
        try:
            out[written] = (path, *_number(resolve(value, path)))
        except LookupError:
            continue
    return out


def checked(value: Any, table: Any, paths: Mapping[str, str], strict: bool = False) -> dict[str, tuple]:
    """The ``provenance`` table of catalog value ``value`` as ``{path: (tier, low, high, unit, value,
    source)}`` (paths in ``value``) for every number the entry gives (``paths``: each TOML path the
    entry writes -> its path in ``value``) that has a tier. An unknown path or tier, a default that is an
    estimate, an estimate without a range, a range in another dimension, not around the value or without
    its source, and in a ``strict`` catalog a number without a tier, is an InvalidInputError naming the
    path."""
    if not isinstance(table, dict):
        raise InvalidInputError("provenance", table, "a table of path = tier or path = { tier, range, range_source }")
    given = numbers(value, paths)
    specs = {key: _spec(f"provenance.{key}", spec) for key, spec in _flat(table)}
    for key, spec in specs.items():
        if key in given:
            continue
        if key != EVERY and not any(p.startswith(f"{key}.") for p in given):
            raise InvalidInputError(f"provenance.{key}", key, "the path of a number this entry gives (e.g. tdp)")
        if spec["tier"] == "estimate" or set(spec) != {"tier"}:
            raise InvalidInputError(f"provenance.{key}", spec, "a tier other than estimate (each estimate: its range)")
    out: dict[str, tuple] = {}
    for written, (path, number, unit) in given.items():
        found = next((k for k in _keys(written) if k in specs), None)
        if found is None:
            if strict:
                raise InvalidInputError(f"provenance.{written}", None, "a tier (every number of this catalog has one)")
            continue
        tier, low, high, source = _ranged(f"provenance.{written}", specs[found], number, unit)
        out[path] = (tier, low, high, str(unit), number, source)
    return out


def _flat(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, spec) of a provenance table whose keys may be dotted (``memory.capacity = "measured"``,
    which TOML reads as a table ``memory = { capacity = ... }``)."""
    out = []
    for key, spec in table.items():
        if isinstance(spec, dict) and spec and not set(spec) & {"tier", "range", "range_source"}:
            out += _flat(spec, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", spec))
    return out


def _keys(written: str) -> list[str]:
    """The keys that may give ``written``'s tier, most specific first: the path, each table it is in, "*"."""
    parts = written.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)] + [EVERY]


def _moved(obj: Any, ends: dict[str, str], which: int) -> Any:
    """``obj`` with each ranged number it describes whose name is in ``ends`` at the end of its range
    paired with corner ``which`` (0 fast, 1 slow): ``ends[name]`` is the end paired with the fast corner."""
    for path, (_tier, low, high, unit, value, _source) in getattr(obj, "provenance", {}).items():
        if low is None:
            continue
        end = ends.get(path.rpartition(".")[2])
        if end is None:
            continue
        current, current_unit = _number(resolve(obj, path))
        if str(current_unit) != unit or abs(current - value) > _SAME * abs(value):
            continue  # the caller replaced the catalog's number: held at theirs
        x = low if (end == "low") == (which == 0) else high
        obj = replaced(obj, path, x if unit == str(DIMENSIONLESS) else Q_(x, unit))
    return obj


def at_corner(obj: Any, ends: dict[str, str], which: int) -> Any:
    """Catalog value ``obj`` (and the catalog values inside it: a fleet's node, a node's accelerator, a
    datacenter's grid) with its ranged numbers at corner ``which``; anything else unchanged."""
    if not isinstance(obj, CATALOG_TYPES):
        return obj
    inner = {
        f.name: at_corner(getattr(obj, f.name), ends, which)
        for f in attrs.fields(type(obj))
        if f.init and isinstance(getattr(obj, f.name), CATALOG_TYPES)
    }
    changed = {k: v for k, v in inner.items() if v is not getattr(obj, k)}
    return _moved(attrs.evolve(obj, **changed) if changed else obj, ends, which)
