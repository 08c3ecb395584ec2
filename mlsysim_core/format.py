"""Numbers and result values as people read them: one format for tables, ``explain()`` and notebooks.

Standard library only (a Quantity is recognised by its ``magnitude`` and ``units``, pint is never imported)."""

from __future__ import annotations

import math
import sys
from typing import Any


def is_quantity(v: Any) -> bool:
    """Whether ``v`` is a pint Quantity (False at once while pint is not imported: none can exist)."""
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(v, pint.Quantity)


def number(x: float) -> str:
    """A number for people: 4 significant figures, thousands separators instead of exponents."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    a = abs(x)
    if a == 0:
        return "0"
    if 1e4 <= a < 1e15:
        digits = int(math.floor(math.log10(a))) - 3
        return f"{round(x, -digits):,.0f}"
    return f"{x:.4g}"


def measured(magnitude: Any, symbol: str) -> str:
    """A measured scalar as tables show it: its number ("-" when unknown), then its unit's symbol."""
    return f"{'-' if magnitude is None else number(magnitude)} {symbol}".strip()


def value(v: Any) -> str:
    """Render one result value (a Quantity, a number, a name, None) for a table cell."""
    if v is None:
        return "-"
    mag = getattr(v, "magnitude", None)
    if mag is not None and hasattr(v, "units"):
        if getattr(mag, "ndim", 0):
            return f"{v:~}"
        return measured(float(mag), f"{v.units:~P}")
    if isinstance(v, float):
        return number(v)
    if isinstance(v, dict):
        return " ".join(f"{k}={value(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "; ".join(value(x) for x in v) or "-"
    name = getattr(v, "name", None)
    if isinstance(name, str) and not isinstance(v, str):
        return name
    return str(v)
