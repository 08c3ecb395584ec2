"""The one pint unit registry of the process, and fast conversion where values enter and leave the API.

Built from our own small definitions file (``units.txt``) in which information (bit), computation
(FLOP) and currency (dollar) are distinct dimensions: ``Q_(1, "TFLOP/s").to("B/s")`` raises.
Solvers convert Quantities to SI floats once, with :func:`to_si` (base units: s, m, kg, B, FLOP,
USD, so J, W, m**3 follow), whose conversion factors are cached per (unit, target) pair.
"""

from __future__ import annotations

import copyreg
import functools
import re
from pathlib import Path
from typing import Any

from .errors import InvalidInputError


def _import_pint() -> Any:
    """Import pint without its dask integration: when dask is installed (the ``[dask]`` extra),
    ``import pint`` imports ``dask.base`` at once (~80-200 ms on every first use of mlsysim) only to
    support Quantities wrapping dask arrays, which mlsysim never builds (sweeps hand dask plain
    chunks). A None entry in sys.modules makes pint's ``find_spec("dask")`` answer "absent"; it is
    removed right after. If dask is already imported, nothing changes."""
    import sys

    hide = "dask" not in sys.modules
    if hide:
        sys.modules["dask"] = None  # type: ignore[assignment]
    try:
        import pint as _pint
    finally:
        if hide and sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return _pint


pint = _import_pint()


class _Registry(pint.UnitRegistry):  # type: ignore[name-defined]  # pint is imported by _import_pint()
    """pint's registry with a memo of parsed unit strings.

    pint re-parses a string such as ``"ms"`` or ``"TB/s"`` on every call (its own cache only keeps
    strings that are canonical unit names), ~30 us each: ``result.latency.to("ms")`` spent most of
    its time there. Parsing depends only on the definitions, so the memo is exact; ``define()``
    clears it.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self._parsed: dict[tuple, Any] = {}
        super().__init__(*args, **kwargs)

    def parse_units_as_container(self, input_string: str, as_delta: Any = None, case_sensitive: Any = None) -> Any:
        key = (input_string, as_delta, case_sensitive)
        container = self._parsed.get(key)
        if container is None:
            container = super().parse_units_as_container(input_string, as_delta, case_sensitive)
            if len(self._parsed) > 4096:
                self._parsed.clear()
            self._parsed[key] = container
        return container

    def define(self, definition: Any) -> None:
        self._parsed.clear()
        super().define(definition)


def _definitions_cache() -> Path | None:
    """pint's cache of parsed ``units.txt``, keyed by its content and pint's version (~50 ms a start)."""
    from .cache import cache_dir

    folder = cache_dir()
    return None if folder is None else Path(folder) / "pint"


def _registry() -> _Registry:
    """The registry, from pint's disk cache when it is readable. pint's cache (flexcache) writes its pickle
    in place, so a process starting while another writes it reads half a file (``EOFError``, seen with
    pytest-xdist on a cold cache): that cache is removed and the definitions parsed again (a genuine error
    in ``units.txt`` is raised by the second attempt)."""
    definitions, folder = str(Path(__file__).with_name("units.txt")), _definitions_cache()
    try:
        return _Registry(definitions, cache_folder=folder)
    except Exception:
        if folder is None:
            raise
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        return _Registry(definitions, cache_folder=None)


ureg = _registry()
ureg.formatter.default_format, ureg.formatter.default_sort_func = "~P", None  # as written: TFLOP/s/kW, not /kW/s
pint.set_application_registry(ureg)
Q_ = ureg.Quantity
Quantity = pint.Quantity
DimensionalityError = pint.DimensionalityError

# Pre-built units (parsing a unit string costs ~30 us; a Unit object costs nothing).
Unit = ureg.Unit
U = Unit
SECOND, MS, HOUR, DAY = U("s"), U("ms"), U("h"), U("day")
BYTE, GB = U("B"), U("GB")
BYTE_PER_S = U("B/s")
FLOP, FLOP_PER_S, TFLOP_PER_S = U("FLOP"), U("FLOP/s"), U("TFLOP/s")
WATT, KW, JOULE, KWH = U("W"), U("kW"), U("J"), U("kWh")
USD, USD_PER_KWH, USD_PER_HOUR = U("USD"), U("USD/kWh"), U("USD/h")
KG, L, L_PER_KWH, G_PER_KWH = U("kg"), U("L"), U("L/kWh"), U("g/kWh")
PER_S, FLOP_PER_BYTE = U("1/s"), U("FLOP/B")
DIMENSIONLESS = U("")


def _rebuild(magnitude: Any, units: Any) -> Any:
    """A Quantity of this registry built without pint's constructor, which checks its arguments again
    (~8 us, 50x this). ``units``: a UnitsContainer, or a pickled Quantity's string, parsed once per
    process (pint's own unpickling re-parses every unit of every Quantity: most of loading a cached catalog)."""
    q = object.__new__(Q_)
    q._magnitude = magnitude
    q._units = ureg.parse_units_as_container(units) if isinstance(units, str) else units
    return q


copyreg.pickle(Q_, lambda q: (_rebuild, (q._magnitude, str(q._units))))


@functools.cache
def unit_and_factor(unit: str) -> tuple[Any, float]:
    """A result field's unit (:func:`mlsysim_core.results.measure`) and the factor from its SI float to it."""
    u = ureg.Unit(unit)
    return u, 1.0 / ureg.Quantity(1.0, u).to_base_units().magnitude


def from_si(value: Any, unit: str) -> Any:
    """SI float (or ndarray) ``value`` as a Quantity in ``unit`` (a result field view: :func:`.results.measure`)."""
    u, factor = unit_and_factor(unit)
    return _rebuild(value * factor, u._units)


_factors: dict[tuple[Any, Any], float] = {}


def _factor(units: Any, target: Any) -> float:
    key = (units, target)
    f = _factors.get(key)
    if f is None:
        f = float(Q_(1.0, units).to(target).magnitude)
        _factors[key] = f
    return f


def to_si(value: Any, unit: Any, *, name: str) -> Any:
    """Magnitude of Quantity ``value`` in base units (s, m, kg, B, FLOP, USD and their products),
    after checking it has ``unit``'s dimension. This is the one place Quantities become floats."""
    if isinstance(value, pint.Quantity):
        target = _base.get(unit)
        if target is None:
            target = _base[unit] = Q_(1.0, unit).to_base_units().units
        if value._units == target._units:
            return value.magnitude
    else:
        target = _base.get(unit) or Q_(1.0, unit).to_base_units().units
    return magnitude(value, target, name=name, expected=unit)


_base: dict[Any, Any] = {}


def magnitude(value: Any, target: Any, *, name: str, expected: Any = None) -> Any:
    """Magnitude of Quantity ``value`` in ``target`` units; a wrong dimension names ``name`` and ``expected``
    (the unit as the caller wrote it, e.g. USD/kWh, not its base units USD·s²/kg/m²; default ``target``).
    Plain numbers are rejected (the unit would be a guess) unless ``target`` is dimensionless."""
    shown = expected if isinstance(expected, str) else f"{target if expected is None else expected:~P}"
    if isinstance(value, pint.Quantity):
        try:
            return value.magnitude * _factor(value._units, target)
        except pint.DimensionalityError:
            raise InvalidInputError(name, value, f"a quantity convertible to {shown}") from None
    if target == DIMENSIONLESS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise InvalidInputError(name, value, f"a pint Quantity in {shown} (e.g. Q_(1, '{shown}'))")


#: "VALUE UNIT": a decimal number (no nan/inf/hex/underscores) and a unit made of up to four names
#: joined by "/" ("989.5 TFLOP/s", "20 g/kWh", "300ms"); anything else (parentheses, powers, numbers inside
#: the unit, "* 10**100") is refused before pint's expression parser (minutes on "9 s*9**9**9") sees it.
_UNIT_NAME = r"[A-Za-z\u00b5\u03bc%]+"
_VALUE_UNIT = re.compile(
    rf"\s*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rf"(?:\s*({_UNIT_NAME}(?:\s*/\s*{_UNIT_NAME}){{0,3}}))?\s*",
    re.ASCII,
)


def parse_strict(text: Any, *, name: str, expected: str) -> Any:
    """``"VALUE UNIT"`` or a bare ``"VALUE"`` (dimensionless) as a Quantity (no expressions: :data:`_VALUE_UNIT`)."""
    m = _VALUE_UNIT.fullmatch(text) if isinstance(text, str) and len(text) <= 200 else None
    try:
        return Q_(float(m.group(1)), _parse_units(m.group(2)) if m.group(2) else DIMENSIONLESS)  # type: ignore[union-attr]
    except Exception as exc:  # no match, or pint's parser, which raises several types, even AssertionError
        raise InvalidInputError(name, text, expected) from exc


def parse_quantity(text: str, target: Any, *, name: str) -> Any:
    """Parse ``"VALUE UNIT"`` strictly (no expressions) and check its dimension against ``target``."""
    q = parse_strict(text, name=name, expected=_expected(target))
    if _dimensionality(q._units) != _dimensionality(target):
        raise InvalidInputError(name, text, f"a quantity convertible to {target:~P}")
    return q


def _expected(target: Any) -> str:
    return f'"VALUE UNIT" with a unit convertible to {target:~P}'


# A catalog repeats a few dozen unit strings hundreds of times: parse each once (pint's own parse
# costs ~100 us a call, most of a catalog build). Bounded: cleared past 4096 distinct strings.
_units_cache: dict[str, Any] = {}
_dims_cache: dict[Any, Any] = {}


def _parse_units(text: str) -> Any:
    u = _units_cache.get(text)
    if u is None:
        if len(_units_cache) > 4096:
            _units_cache.clear()
        u = _units_cache[text] = ureg.parse_units(text)
    return u


def _dimensionality(units: Any) -> Any:
    d = _dims_cache.get(units)
    if d is None:
        if len(_dims_cache) > 4096:
            _dims_cache.clear()
        d = _dims_cache[units] = Q_(1, units).dimensionality
    return d
