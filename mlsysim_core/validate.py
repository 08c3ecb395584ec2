"""Argument checks shared by every solver: each raises InvalidInputError naming argument, value, range.

They are cheap (a few isinstance/compare operations) so they run on every ``solve()``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

from .errors import InvalidInputError, did_you_mean

#: Largest count mlsysim accepts for a batch, a sequence length or a GPU count (beyond it the
#: floats lose integer precision long before the physics means anything).
MAX_COUNT = 2**40


def integer(name: str, value: Any, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """An integer in [minimum, maximum] (bools and floats are rejected, numpy integers accepted)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not (minimum <= int(value) <= maximum):
        raise InvalidInputError(name, value, f"an integer in [{minimum}, {maximum}]")
    return int(value)


def number(name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval (bounds open or closed as stated)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lb, hb = "(" if low_open or low == -math.inf else "[", ")" if high_open or high == math.inf else "]"
        raise InvalidInputError(name, value, f"a finite number in {lb}{low}, {high}{hb}")
    return float(value)


def fraction(name: str, value: Any) -> float:
    """An efficiency-like fraction in (0, 1]."""
    return number(name, value, 0.0, 1.0, low_open=True)


def instance(name: str, value: Any, cls: type | tuple, what: str | None = None) -> Any:
    """``value`` must be an instance of ``cls`` (e.g. a HardwareNode, not the string "H100")."""
    if not isinstance(value, cls):
        hint = " (look it up in the catalog, e.g. mlsysim.Hardware.Cloud.H100)" if isinstance(value, str) else ""
        raise InvalidInputError(name, value, (what or f"a {getattr(cls, '__name__', cls)}") + hint)
    return value


def named(name: str, value: Any, *sections: str) -> Any:
    """``value`` itself, or the catalog entry of one of ``sections`` that the string ``value`` names
    (``solve("Llama3_8B", "H100", ...)``): a key or alias, exact first, then ignoring case. An unknown
    name raises InvalidInputError naming the argument, with close matches."""
    if not isinstance(value, str):
        return value
    from .plugins import catalog

    entries = catalog().entries
    names = {n: e.value for s in sections for e in entries[s].values() for n in (e.key, *e.aliases)}
    folded = {n.lower(): v for n, v in reversed(names.items())}  # the first spelling wins a tie
    found = names.get(value, folded.get(value.lower()))
    if found is None:
        hint = did_you_mean(value, list(names))
        raise InvalidInputError(name, value, f"an object or the name of a catalog {' or '.join(sections)} entry{hint}")
    return found


def quantity(
    name: str,
    value: Any,
    unit: Any,
    *,
    low: float = 0.0,
    low_open: bool = True,
    high: float = math.inf,
    optional: bool = False,
) -> float | None:
    """A Quantity of ``unit``'s dimension, returned as an SI float within [low, high]."""
    if value is None and optional:
        return None
    from .units import Quantity, to_si  # a caller passing a Unit has imported pint already

    if not isinstance(value, Quantity):
        raise InvalidInputError(name, value, f"a Quantity in {unit:~P}, e.g. Q_(1, '{unit:~P}')")
    v = to_si(value, unit, name=name)
    if not isinstance(v, Real) or not math.isfinite(v := float(v)) or (v <= low if low_open else v < low) or v > high:
        raise InvalidInputError(name, value, f"a finite quantity {'>' if low_open else '>='} {low} (SI) in {unit:~P}")
    return float(v)


def choice(name: str, value: Any, options: tuple | list | dict) -> Any:
    """One of ``options``."""
    try:
        ok = value in options
    except TypeError:
        ok = False
    if not ok:
        raise InvalidInputError(name, value, "one of " + ", ".join(map(str, options)))
    return value
