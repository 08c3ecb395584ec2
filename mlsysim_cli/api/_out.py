"""Output of the command line: plain aligned tables, JSON with a stable schema, CSV rows.

Nothing here imports more than the standard library and click: the CLI starts fast.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import click


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    rows = [[" ".join(str(c).splitlines()) for c in r] for r in rows]  # one line per row
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([line, rule, *body])


_units_shown: dict[str, list] = {}  # unit -> [SI -> unit factor, symbol], as pint computed them


def cell(result: Any, name: str) -> str:
    """Field ``name`` of ``result`` as tables show it (:func:`mlsysim_core.results.shown`). A measured
    scalar without a band is printed from its SI float, with its unit's factor and symbol computed by
    pint once and kept in the cache folder (named by the unit definitions and pint's version), so a
    command's first answer imports no pint (issue 21)."""
    import attrs

    from mlsysim_core.format import measured
    from mlsysim_core.results import shown

    f = attrs.fields_dict(type(result)).get("_" + name) if attrs.has(type(result)) else None
    unit = f.metadata.get("mlsysim_unit") if f is not None else None
    si = getattr(result, "_" + name) if unit and name not in getattr(result, "bands", {}) else None
    if unit is None or not isinstance(si, (int, float)) or isinstance(si, bool):
        return shown(result, name)
    if not _units_shown:
        _units_shown.update(_read_units(_units_file()))
    found = _units_shown.get(unit)
    if found is None:
        from mlsysim_core.units import unit_and_factor

        u, factor = unit_and_factor(unit)
        found = _units_shown[unit] = [factor, f"{u:~P}"]
        _write_units(_units_file(), _units_shown)
    return measured(float(si * found[0]), found[1])


def _units_file() -> Any:
    import mlsysim_core
    from mlsysim_core.cache import cache_dir, hasher, pint_version

    folder = cache_dir()
    with open(os.path.join(os.path.dirname(mlsysim_core.__file__), "units.txt"), "rb") as f:
        defs = f.read() + pint_version().encode()
    return None if folder is None else os.path.join(folder, f"units-shown-{hasher(defs).hexdigest()[:20]}.json")


def _read_units(path: Any) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
        ok = all(type(v) is list and [type(x) for x in v] == [float, str] for v in found.values())
        return found if ok else {}
    except Exception:  # noqa: BLE001 - none yet, or corrupt: computed again with pint
        return {}


def _write_units(path: Any, data: dict) -> None:
    if path is None:  # the cache is off or has no folder: nothing is kept
        return
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:  # read-only or full: computed next time
        pass


def finite(data: Any) -> Any:
    """``data`` with every non-finite float replaced by None (JSON has no inf/nan)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def dumps(data: Any) -> str:
    return json.dumps(finite(data), indent=2, default=str, allow_nan=False)


def emit(data: Any, as_json: bool, render: Any) -> None:
    """Print ``data`` as JSON or through ``render`` (a function returning text)."""
    if as_json:
        click.echo(dumps(data))
    else:
        click.echo(render(data))


def result_units(result: Any, prefix: str = "result") -> dict[str, str]:
    """``{"result.field": unit}`` of a result's measured fields (so empty optional ones keep their unit)."""
    import attrs

    from mlsysim_core.units import unit_and_factor

    out = {}
    for f in attrs.fields(type(result)):
        u = (f.metadata or {}).get("mlsysim_unit")
        if u is not None:
            out[f"{prefix}.{f.alias}"] = f"{unit_and_factor(u)[0]:~P}"
    return out


def flatten(prefix: str, data: Any, out: dict, units: dict | None = None) -> dict:
    """Flatten a to_dict() tree into CSV columns: ``name [unit]`` for quantities, ``a.b`` for nesting."""
    if data is None and units and prefix in units:
        out[f"{prefix} [{units[prefix]}]"] = None
    elif isinstance(data, dict) and set(data) == {"value", "unit"}:
        out[f"{prefix} [{data['unit']}]" if data["unit"] else prefix] = data["value"]
    elif isinstance(data, dict):
        for k, v in data.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out, units)
    elif isinstance(data, (list, tuple)):
        out[prefix] = json.dumps(finite(list(data)), default=str)
    else:
        out[prefix] = data
    return out


def csv_text(rows: list[dict]) -> str:
    """CSV of dict rows; columns in first-seen order across all rows."""
    import csv  # only for --csv output

    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(cols), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` ("-" is standard output)."""
    if path == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
