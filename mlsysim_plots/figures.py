"""The pictures the command line draws itself (matplotlib, optional): figures and the Pareto front.

Install with ``pip install "mlsysim-core[plot]"``. Figures use matplotlib's object-oriented API on
the Agg canvas (no pyplot, no global backend change). Sweep points are the ``{"inputs", "result",
"error", "pareto"}`` dicts ``mlsysim sweep ... --json`` writes (or the whole document), ``Result``
objects, or flat dicts. More pictures build on these in ``mlsysim_plots`` and in the solver plugins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "figure",
    "save",
    "solved",
    "field_value",
    "field_band",
    "axis_label",
    "number",
    "plot_pareto",
    "PlotDependencyError",
    "INSTALL_HINT",
]

INSTALL_HINT = 'pip install "mlsysim-core[plot]"'


class PlotDependencyError(ImportError):
    """matplotlib is not installed."""


def figure(nrows: int = 1, ncols: int = 1, size: tuple = (7.0, 4.5)) -> tuple:
    """A new ``(fig, axes)`` on the Agg canvas; PlotDependencyError without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotDependencyError(
            f"plots need matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save(fig: Any, path: str, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the extension); returns the path."""
    fig.savefig(path, dpi=dpi)
    return path


def solved(data: Any) -> list:
    """The points of ``data`` (a sweep JSON document or a list) without those that have an error."""
    pts = list(data["points"]) if isinstance(data, dict) and "points" in data else list(data)
    return [p for p in pts if not (isinstance(p, dict) and p.get("error"))]


def field_value(point: Any, name: str) -> tuple[Any, str]:
    """(value, unit) of ``name`` in a sweep point (inputs first, then the result), a Result or a dict."""
    if isinstance(point, dict) and ("inputs" in point or "result" in point):
        if name in (point.get("inputs") or {}):
            return point["inputs"][name], ""
        if name == "pareto":
            return point.get("pareto"), ""
        res = point.get("result") or {}
        v = res.get(name)
    elif isinstance(point, dict):
        v = point.get(name)
    else:
        v = getattr(point, name, None)
        if v is not None and hasattr(v, "units"):
            return float(v.magnitude), f"{v.units:~P}"
    if isinstance(v, dict) and set(v) == {"value", "unit"}:
        return v["value"], v["unit"]
    return v, ""


def field_band(point: Any, name: str) -> tuple[float, float] | None:
    """(low, high) of result field ``name``'s band in a sweep point (``--bands``: as ``to_dict()`` writes
    it, in the unit :func:`field_value` gives) or a banded Result (in the field's unit); None without one."""
    if isinstance(point, dict):
        band = ((point.get("result") if "result" in point else point) or {}).get("bands", {}).get(name)
        if band is None:
            return None
        low, high = (b["value"] if isinstance(b, dict) else b for b in (band["low"], band["high"]))
        return number(low), number(high)  # type: ignore[return-value]
    band = getattr(point, "bands", {}).get(name)
    if band is None:
        return None
    v = getattr(point, name)
    return tuple(float(b.to(v.units).magnitude) if hasattr(b, "units") else float(b) for b in band)  # type: ignore[return-value]


def errorbars(ax: Any, pts: list, x: str, y: str, **style: Any) -> bool:
    """Error bars of the bands of ``x`` and ``y`` (:func:`field_band`) on the points ``pts`` that have one;
    False (nothing drawn) when none has."""
    rows = []
    for p in pts:
        xv, yv = number(field_value(p, x)[0]), number(field_value(p, y)[0])
        bx, by = field_band(p, x), field_band(p, y)
        if xv is not None and yv is not None and (bx or by):
            (xl, xh), (yl, yh) = bx or (xv, xv), by or (yv, yv)
            rows.append((xv, yv, xv - xl, xh - xv, yv - yl, yh - yv))
    if rows:
        cols = list(zip(*rows))
        ax.errorbar(cols[0], cols[1], xerr=[cols[2], cols[3]], yerr=[cols[4], cols[5]], fmt="none", **style)
    return bool(rows)


def axis_label(name: str, unit: str) -> str:
    """An axis label: ``batch_size``, ``ms`` -> ``batch size (ms)``."""
    return f"{name.replace('_', ' ')} ({unit})" if unit else name.replace("_", " ")


def number(v: Any) -> float | None:
    """``v`` as a float, None unless a finite number."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def plot_pareto(
    data: Any,
    x: str,
    y: str,
    label: Sequence[str] | None = None,
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
) -> tuple:
    """Every point of ``y`` against ``x``, with the Pareto front (points whose ``pareto`` is true) drawn
    as a line; e.g. latency vs throughput, cost vs latency. Points that do not fit (``feasible``
    false) are red crosses."""
    pts = solved(data)
    fig, ax = figure()
    xu = yu = ""
    fits: list = []
    bad: list = []
    front = []
    for p in pts:
        xv, xu2 = field_value(p, x)
        yv, yu2 = field_value(p, y)
        xu, yu = xu2 or xu, yu2 or yu
        if number(xv) is None or number(yv) is None:
            continue
        (bad if field_value(p, "feasible")[0] is False else fits).append((number(xv), number(yv)))
        if field_value(p, "pareto")[0]:
            names = (field_value(p, n)[0] for n in (label or ()))
            front.append((number(xv), number(yv), " ".join(f"{v:g}" if number(v) else str(v) for v in names)))
    ax.scatter([a for a, _ in fits], [b for _, b in fits], s=16, color="C0", alpha=0.5, label="points")
    errorbars(ax, pts, x, y, ecolor="C0", elinewidth=0.8, alpha=0.4, label="band")  # --bands
    if bad:
        ax.scatter([a for a, _ in bad], [b for _, b in bad], s=30, marker="x", color="red", label="infeasible")
    front.sort()
    if front:
        fx, fy = [a for a, _, _ in front], [b for _, b, _ in front]
        ax.plot(fx, fy, "o-", color="C1", mec="black", ms=6, label="Pareto front")
        for a, b, text in front:
            if text:
                ax.annotate(text, (a, b), textcoords="offset points", xytext=(4, 4), fontsize=6)
    ax.set_xlabel(axis_label(x, xu))
    ax.set_ylabel(axis_label(y, yu))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def rate_band(result: Any, field: str, amount: float) -> tuple[float, float] | None:
    """(low, high) of the rate ``amount / result.field`` over the band of the time ``field`` (SI: per
    second), None when the result has no band for it: the achieved FLOP/s of a roofline point."""
    band = getattr(result, "bands", {}).get(field)
    if band is None:
        return None
    fastest, slowest = (q.to_base_units().magnitude for q in band)
    return amount / slowest, amount / fastest


def band_errorbar(ax: Any, result: Any, field: str, unit: str, at: float, horizontal: bool = True) -> bool:
    """Draw the band of ``result.field`` (``result.bands``, mlsysim_uncertainty.banded) as an error bar
    around its value, in ``unit``, at position ``at`` on the other axis; False (nothing drawn) when the
    result has no band for the field."""
    band = getattr(result, "bands", {}).get(field)
    if band is None:
        return False
    value = getattr(result, field).to(unit).magnitude
    low, high = (q.to(unit).magnitude for q in band)
    spread = [[value - low], [high - value]]
    label = f"band [{low:.4g}, {high:.4g}] {unit}"
    if horizontal:
        ax.errorbar([value], [at], xerr=spread, fmt="none", ecolor="black", capsize=8, label=label)
    else:
        ax.errorbar([at], [value], yerr=spread, fmt="none", ecolor="black", capsize=8, label=label)
    return True
