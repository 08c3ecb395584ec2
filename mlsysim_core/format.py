"""Numbers and result values as people read them: one format for tables, ``explain()`` and notebooks.

Standard library only (a Quantity is recognised by its ``magnitude`` and ``units``, pint is never imported
here: a command's first answer is printed without it, issue 21).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

_units_shown: dict[str, list] = {}  # unit -> [SI -> unit factor, symbol], as pint computed them


def is_quantity(v: Any) -> bool:
    """Whether ``v`` is a pint Quantity (False at once while pint is not imported: none can exist)."""
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(v, pint.Quantity)


def measured(si: float, unit: str) -> str:
    """An SI base-unit float as a table shows it in ``unit``: "8.268 ms". The unit's factor and symbol
    come from pint (:func:`mlsysim_core.units.unit_and_factor`) once, then from a file in the cache
    folder named by the unit definitions and pint's version, so printing an answer imports no pint."""
    if not _units_shown:
        _units_shown.update(_read(_units_file()))
    found = _units_shown.get(unit)
    if found is None:
        from .units import unit_and_factor

        u, factor = unit_and_factor(unit)
        found = _units_shown[unit] = [factor, f"{u:~P}"]
        _write(_units_file(), _units_shown)
    return f"{number(float(si * found[0]))} {found[1]}".strip()


def _units_file() -> Any:
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    from .cache import cache_dir

    folder = cache_dir()
    defs = Path(__file__).with_name("units.txt").read_bytes() + version("pint").encode()
    return None if folder is None else folder / f"units-shown-{hashlib.sha256(defs).hexdigest()[:20]}.json"


def _read(path: Any) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
        ok = all(type(v) is list and [type(x) for x in v] == [float, str] for v in found.values())
        return found if ok else {}
    except Exception:  # noqa: BLE001 - missing or corrupt: recomputed with pint
        return {}


def _write(path: Any, data: dict) -> None:
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except (OSError, TypeError):  # no cache folder (path None), read-only or full: recomputed next time
        pass


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


def value(v: Any) -> str:
    """Render one result value (a Quantity, a number, a name, None) for a table cell."""
    if v is None:
        return "-"
    mag = getattr(v, "magnitude", None)
    if mag is not None and hasattr(v, "units"):
        if getattr(mag, "ndim", 0):
            return f"{v:~}"
        return f"{number(float(mag))} {v.units:~P}".strip()
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
