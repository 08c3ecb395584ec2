"""Provenance of catalog numbers: where each number comes from (its tier) and, where it is uncertain,
the range it may take; bands move the ranged numbers a solver declares (``band_catalog``).

A catalog entry's ``provenance`` table (``mlsysim_registry/SCHEMA.md``) maps a number's path in the
entry (``tdp``, ``memory.bandwidth``, ``components.gpu.mttf``: the component whose ``part`` is gpu) to
its tier, one of :data:`TIERS` (``datasheet``: the vendor's specification; ``measured``: a measurement
of the quantity itself; ``paper``: derived from a published figure; ``estimate``: a documented
judgement), and optionally ``range = [low, high]`` with the ``range_source`` it comes from. An
estimate must carry a range. The value then holds ``{path: (tier, low, high, unit, value, source)}``
(``low``/``high``/``value`` in ``unit``; no range: None), checked when the catalog is read.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import CATALOG_TYPES
from mlsysim_core.units import DIMENSIONLESS, Q_, parse_quantity

from .ranges import TIERS

#: catalog types a provenance table may describe (the others carry no uncertain number yet)
SECTIONS = ("hardware", "nodes", "grids", "datacenters")
#: relative difference under which a number still is the catalog's own (not replaced by the caller)
_SAME = 1e-9


def _step(obj: Any, name: str) -> Any:
    """Attribute ``name`` of ``obj``; in a tuple of components, the one whose ``part`` is ``name``."""
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


def checked(value: Any, table: Any) -> dict[str, tuple]:
    """The ``provenance`` table of catalog value ``value`` as ``{path: (tier, low, high, unit, value,
    source)}``; an unknown path, an unknown tier, an estimate without a range, a range in another
    dimension, not around the value or without its source is an InvalidInputError naming the path."""
    if not isinstance(table, dict):
        raise InvalidInputError("provenance", table, "a table of path = tier or path = { tier, range, range_source }")
    out: dict[str, tuple] = {}
    for path, spec in table.items():
        name = f"provenance.{path}"
        try:
            number, unit = _number(resolve(value, path))
        except LookupError:
            raise InvalidInputError(name, path, "the path of a number this entry gives (e.g. tdp)") from None
        spec = {"tier": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or set(spec) - {"tier", "range", "range_source"} or "tier" not in spec:
            raise InvalidInputError(name, spec, "a tier or { tier, range = [low, high], range_source }")
        tier, span = spec["tier"], spec.get("range")
        if tier not in TIERS:
            raise InvalidInputError(f"{name}.tier", tier, " | ".join(TIERS))
        if span is None:
            if tier == "estimate" or "range_source" in spec:
                raise InvalidInputError(f"{name}.range", None, "[low, high] (an estimate needs its range)")
            out[path] = (tier, None, None, str(unit), number, "")
            continue
        if not isinstance(span, list) or len(span) != 2:
            raise InvalidInputError(f"{name}.range", span, "[low, high]")
        low, high = (_end(x, unit, f"{name}.range") for x in span)
        if not (low <= number * (1 + _SAME) and number <= high * (1 + _SAME)):
            raise InvalidInputError(f"{name}.range", span, f"low <= the entry's value {number:g} <= high")
        if not isinstance(spec.get("range_source"), str) or not spec["range_source"].strip():
            raise InvalidInputError(f"{name}.range_source", spec.get("range_source"), "where the range comes from")
        out[path] = (tier, low, high, str(unit), number, spec["range_source"])
    return out


def _moved(obj: Any, ends: dict[str, str], which: int) -> Any:
    """``obj`` with each ranged number it describes whose name is in ``ends`` at the end of its range
    paired with corner ``which`` (0 fast, 1 slow): ``ends[name]`` is the end paired with the fast corner."""
    for path, (_tier, low, high, unit, value, _source) in getattr(obj, "provenance", {}).items():
        end = ends.get(path.rpartition(".")[2])
        if end is None or low is None:
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
