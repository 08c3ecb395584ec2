"""Generic pictures of mlsysim answers (matplotlib, optional): sweep lines, Pareto fronts, rooflines.

Install with ``pip install "mlsysim-core[plot]"``. Figures are built with matplotlib's
object-oriented API on the Agg canvas (no pyplot, no global backend change), so they work in
scripts, servers and notebooks alike (a ``Figure`` displays itself in Jupyter). Every ``plot_*``
returns ``(fig, ax)`` (``ax`` may be an array of axes); :func:`save` writes a PNG/SVG/PDF.

Sweep plots take the points ``mlsysim sweep ... --json`` writes (``{"inputs", "result", "error",
"pareto"}`` dicts, or the whole JSON document), ``Result`` objects, or flat dicts. Solver-specific
pictures live in their plugins and build on these (``figure``, ``plot_sweep``, ``plot_roofline``).
This package imports nothing of ``mlsysim_core``: the host's command line and every plugin may use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "figure",
    "save",
    "solved",
    "field_value",
    "axis_label",
    "number",
    "pick",
    "plot_sweep",
    "plot_pareto",
    "plot_roofline",
    "PlotDependencyError",
    "INSTALL_HINT",
]

INSTALL_HINT = 'pip install "mlsysim-core[plot]"'
X_ROOFLINE = "Arithmetic intensity (FLOP/byte)"
Y_ROOFLINE = "Performance (TFLOP/s)"


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


def pick(varied: Sequence[str], *preferred: str) -> str:
    """The first of ``preferred`` that a sweep varies, else its first varied input (an x axis)."""
    for p in preferred:
        if p in varied:
            return p
    return varied[0] if varied else preferred[0]


# --------------------------------------------------------------------------- roofline


def plot_roofline(
    hardware: Any,
    points: Iterable[tuple[str, float, float]] = (),
    precisions: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> tuple:
    """Roofline of one accelerator (or a list) with points placed on it (Williams et al. 2009).

    ``hardware``: a ``HardwareNode`` or a list of them. ``points``: ``(label, FLOP/byte, FLOP/s)``
    tuples. ``precisions``: compute ceilings to draw (default: every dense peak of the part). The ridge
    point (peak / bandwidth) of each ceiling is marked. Returns ``(fig, ax)``.
    """
    hws = list(hardware) if isinstance(hardware, (list, tuple)) else [hardware]
    if ax is None:
        fig, ax = figure()
    else:
        fig = ax.figure
    pts = list(points)
    ridges = [h.compute.peak(p) / h.si.bandwidth for h in hws for p in (precisions or h.compute.si.peaks)]
    xs_pts = [p[1] for p in pts if p[1] > 0]
    lo = 10 ** math.floor(math.log10(min([*ridges, *xs_pts]) / 30))
    hi = 10 ** math.ceil(math.log10(max([*ridges, *xs_pts]) * 30))
    colors = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3))]
    for i, h in enumerate(hws):
        bw = h.si.bandwidth
        color = colors[i % len(colors)]
        precs = [p for p in (precisions or h.compute.si.peaks) if p in h.compute.si.peaks]
        if precisions and not precs:
            h.compute.peak(precisions[0])  # raises naming what the part supports
        peaks = sorted({h.compute.peak(p): p for p in precs}.items(), reverse=True)  # one line per distinct peak
        top = peaks[0][0]
        ax.plot([lo, top / bw], [lo * bw / 1e12, top / 1e12], color=color, lw=2)
        for j, (peak, p) in enumerate(peaks):
            names = "/".join(q for q in precs if h.compute.peak(q) == peak)
            ridge = peak / bw
            ax.plot(
                [ridge, hi],
                [peak / 1e12, peak / 1e12],
                color=color,
                ls=styles[j % len(styles)],
                lw=1.6,
                label=f"{h.name.split(' (')[0] if len(hws) > 1 else ''} {names} {peak / 1e12:.4g} TFLOP/s".strip(),
            )
            ax.plot([ridge], [peak / 1e12], "o", color=color, ms=4)
            if j == 0 or h.compute.default_precision in names.split("/"):
                ax.annotate(
                    f"ridge {ridge:.3g} FLOP/B",
                    (ridge, peak / 1e12),
                    textcoords="offset points",
                    xytext=(4, -12),
                    fontsize=7,
                    color=color,
                )
        ax.text(lo * 1.5, lo * 1.5 * bw / 1e12 * 1.3, f"{bw / 1e12:.3g} TB/s", rotation=0, fontsize=7, color=color)
    markers = ["s", "^", "D", "v", "P", "X", "*"]
    for k, (text, x, y) in enumerate(pts):
        if x > 0 and y > 0:
            on = [i for i, h in enumerate(hws) if h.name.split(" (")[0] in text]
            color = colors[on[0] % len(colors)] if len(hws) > 1 and on else "black"
            ax.plot([x], [y / 1e12], markers[k % len(markers)], color=color, mec="black", ms=7, label=text)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(X_ROOFLINE)
    ax.set_ylabel(Y_ROOFLINE)
    ax.set_title(title or ("Roofline: " + ", ".join(h.name.split(" (")[0] for h in hws)), fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="lower right")
    return fig, ax


# --------------------------------------------------------------------------- sweeps


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


def axis_label(name: str, unit: str) -> str:
    """An axis label: ``batch_size``, ``ms`` -> ``batch size (ms)``."""
    return f"{name.replace('_', ' ')} ({unit})" if unit else name.replace("_", " ")


def number(v: Any) -> float | None:
    """``v`` as a float, None unless a finite number."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def plot_sweep(
    data: Any,
    x: str,
    y: str | Sequence[str],
    series: Sequence[str] | None = None,
    logx: bool | None = None,
    logy: bool = False,
    title: str | None = None,
) -> tuple:
    """Lines of ``y`` (one field or several, one panel each) against ``x``, one line per combination of
    the ``series`` inputs (e.g. hardware and precision). Points with an error are left out."""
    pts = solved(data)
    ys = [y] if isinstance(y, str) else list(y)
    fig, axes = figure(1, len(ys), size=(5.2 * len(ys), 4.2))
    axes = [axes] if len(ys) == 1 else list(axes)
    series = list(series or [])
    groups: dict[tuple, list] = {}
    for p in pts:
        groups.setdefault(tuple(str(field_value(p, s)[0]) for s in series), []).append(p)
    xunit = ""
    for ax, yname in zip(axes, ys):
        yunit = ""
        for key, members in groups.items():
            xy = []
            for p in members:
                xv, xunit = field_value(p, x)
                yv, u = field_value(p, yname)
                yunit = u or yunit
                if number(xv) is not None and number(yv) is not None:
                    xy.append((number(xv), number(yv)))
            xy.sort()
            if xy:
                ax.plot([a for a, _ in xy], [b for _, b in xy], "o-", ms=4, label=" ".join(key) or None)
        ax.set_xlabel(axis_label(x, xunit))
        ax.set_ylabel(axis_label(yname, yunit))
        xs = [number(field_value(p, x)[0]) for p in pts]
        xs = [v for v in xs if v]
        if logx if logx is not None else (xs and min(xs) > 0 and max(xs) / min(xs) >= 16):
            ax.set_xscale("log", base=2 if all(float(v).is_integer() for v in xs) else 10)
            from matplotlib.ticker import ScalarFormatter

            ax.xaxis.set_major_formatter(ScalarFormatter())
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if series and len(groups) > 1:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, (axes[0] if len(axes) == 1 else axes)


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
    as a line; e.g. latency vs throughput, cost vs latency."""
    pts = solved(data)
    fig, ax = figure()
    xu = yu = ""
    allx, ally, front = [], [], []
    for p in pts:
        xv, xu2 = field_value(p, x)
        yv, yu2 = field_value(p, y)
        xu, yu = xu2 or xu, yu2 or yu
        if number(xv) is None or number(yv) is None:
            continue
        allx.append(number(xv))
        ally.append(number(yv))
        if field_value(p, "pareto")[0]:
            front.append((number(xv), number(yv), " ".join(str(field_value(p, n)[0]) for n in (label or ()))))
    ax.scatter(allx, ally, s=14, color="0.6", label="all points")
    front.sort()
    if front:
        ax.plot([a for a, _, _ in front], [b for _, b, _ in front], "o-", color="C3", ms=5, label="Pareto front")
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
