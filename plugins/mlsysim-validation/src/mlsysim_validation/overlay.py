"""The catalog overlay ``mlsysim calibrate`` writes: the hardware's own catalog entry with the fit as its
``calibration`` table (or ``calibration.engines.<engine>``), and the rows an earlier overlay was fitted on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlsysim_core.errors import InvalidInputError

from .calibrate import TIMES, Calibration, median_abs


def _bare(key: str) -> str:
    """A TOML key: bare where TOML allows it, else quoted (a provenance table's ``"*"``, ``"memory.capacity"``)."""
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_bare(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _stored(name: str, value: float) -> Any:
    """A calibrated value as the catalog writes it: "0.5 ms" for the overheads, else a fraction."""
    return f"{value * 1e3:.4g} ms" if name in TIMES else round(value, 4)


def overlay(cal: Calibration, earlier: Path | None = None) -> str:
    """The overlay TOML: the hardware's catalog table as it is now, with the fit as its ``calibration``
    table, or as ``calibration.engines.<engine>`` for a fit scoped to an engine; the other scopes kept as the
    ``earlier`` overlay (the file written over, where it exists) has them, else as the catalog has them. A fit that
    kept the defaults (a refinement of an earlier one: ``mlsysim calibrate``) is its source and points only, no
    values: solves of that scope use the defaults, and a later call refits every row."""
    from mlsysim_core.plugins import catalog
    from mlsysim_registry.toml_files import read_file

    entry = catalog().entry("hardware", cal.hardware_key)
    table = next(r.table for r in read_file(entry.file) if r.section == "hardware" and r.key == cal.hardware_key)
    old = dict(_earlier(earlier, cal.hardware_key) or table.get("calibration", {}))
    engines = dict(old.pop("engines", {}))
    fitted = {
        **{k: _stored(k, x) for k, x in cal.values.items()},
        **({"range": {k: [_stored(k, x) for x in pair] for k, pair in cal.spread.items()}} if cal.spread else {}),
        **({"model_error": {k: round(q, 4) for k, q in cal.model_error.items()}} if cal.model_error else {}),
        "source": f"mlsysim calibrate: {len(cal.points)} measurements"
        + (f" of engine {cal.engine}" if cal.engine else "")
        + f", {cal.fit.chosen} chosen by leave-one-out, its median |error| {median_abs(cal.fit.loo):.1%}",
        "points": [p.row for p in cal.points],
    }
    if cal.engine is not None:
        engines[cal.engine] = fitted
        fitted = old
    table = {k: v for k, v in table.items() if k != "calibration"}
    calibration = {**fitted, **({"engines": engines} if engines else {})}
    if calibration:
        table["calibration"] = calibration
    lines = [
        "# Catalog overlay written by mlsysim calibrate: load with mlsysim --catalog FILE or load_catalog(FILE).",
        f"[hardware.{cal.hardware_key}]",
    ]
    lines += [f"{k} = {_toml(val)}" for k, val in table.items()]
    return "\n".join(lines) + "\n"


def _earlier(path: Path | None, key: str) -> dict | None:
    """The ``calibration`` table of hardware ``key`` in the overlay at ``path`` (None: no such file or table)."""
    if path is None or not path.exists():
        return None
    return _read(path).get("hardware", {}).get(key, {}).get("calibration")


def _read(path: Path) -> dict:
    """The TOML of the overlay at ``path``, refused in one line before anything is written where writing the
    overlay would lose what the file holds: not TOML (``-o`` naming the runs, say), or not shaped as calibrate
    writes it (only ``hardware`` tables, each with a ``calibration`` table: a user's own catalog, say)."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInputError("output", str(path), f"{_EXPECTED} (not TOML: {e})") from None
    hardware, other = data.get("hardware", {}), sorted(k for k in data if k != "hardware")
    if other or not isinstance(hardware, dict):
        held = ", ".join(other) if other else "hardware that is not a table"
        raise InvalidInputError("output", str(path), f"{_EXPECTED} (it holds {held}, which writing would drop)")
    bare = sorted(
        k for k, t in hardware.items() if not (isinstance(t, dict) and isinstance(t.get("calibration"), dict))
    )
    if bare:
        raise InvalidInputError(
            "output", str(path), f"{_EXPECTED} (hardware {', '.join(bare)} without a calibration: a catalog of yours?)"
        )
    return data


_EXPECTED = "a new file or a catalog overlay mlsysim calibrate wrote"


def previous_points(path: Path) -> list[dict]:
    """The points an earlier overlay at ``path`` was fitted on (none if it does not exist)."""
    if not path.exists():
        return []
    data = _read(path)
    tables = [t.get("calibration", {}) for t in data.get("hardware", {}).values()]
    tables += [e for t in list(tables) for e in t.get("engines", {}).values()]  # each row names its engine
    return [dict(p) for t in tables for p in t.get("points", [])]
