"""Generic pictures of mlsysim answers (matplotlib, optional): sweep lines, Pareto fronts, rooflines.

Install with ``pip install "mlsysim-core[plot]"``. Figures are built with matplotlib's
object-oriented API on the Agg canvas (no pyplot, no global backend change), so they work in
scripts, servers and notebooks alike (a ``Figure`` displays itself in Jupyter). Every ``plot_*``
returns ``(fig, ax)`` (``ax`` may be an array of axes); :func:`save` writes a PNG/SVG/PDF.

Sweep plots take the points ``mlsysim sweep ... --json`` writes (``{"inputs", "result", "error",
"pareto"}`` dicts, or the whole JSON document), ``Result`` objects, or flat dicts. Solver-specific
pictures live in their plugins and build on these (``figure``, ``plot_sweep``, ``plot_roofline``).
The figure helpers and the Pareto plot (which ``--plot`` of every sweep uses) are in
:mod:`mlsysim_plots.figures`. The host never imports this package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from .figures import (
    INSTALL_HINT,
    PlotDependencyError,
    axis_label,
    band_errorbar,
    errorbars,
    field_band,
    field_value,
    figure,
    number,
    plot_pareto,
    rate_band,
    save,
    solved,
)

__all__ = [
    "figure",
    "save",
    "solved",
    "field_value",
    "field_band",
    "axis_label",
    "band_errorbar",
    "errorbars",
    "rate_band",
    "number",
    "pick",
    "plot_sweep",
    "plot_pareto",
    "plot_roofline",
    "PlotDependencyError",
    "INSTALL_HINT",
]

X_ROOFLINE = "Arithmetic intensity (FLOP/byte)"
Y_ROOFLINE = "Performance (TFLOP/s)"


def pick(varied: Sequence[str], *preferred: str) -> str:
    """The first of ``preferred`` that a sweep varies, else its first varied input (an x axis)."""
    for p in preferred:
        if p in varied:
            return p
    return varied[0] if varied else preferred[0]


# --------------------------------------------------------------------------- roofline


def plot_roofline(
    hardware: Any,
    points: Iterable[tuple] = (),
    precisions: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> tuple:
    """Roofline of one accelerator (or a list) with points placed on it (Williams et al. 2009).

    ``hardware``: a ``HardwareNode`` or a list of them. ``points``: ``(label, FLOP/byte, FLOP/s)``
    tuples, or ``(label, FLOP/byte, FLOP/s, (low, high) FLOP/s)`` with a band (``rate_band``: a banded
    result's achieved rate), drawn as a vertical error bar. ``precisions``: compute ceilings to draw
    (default: every dense peak of the part). The ridge point (peak / bandwidth) of each ceiling is
    marked. Returns ``(fig, ax)``.
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
        for j, (peak, _p) in enumerate(peaks):
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
    for k, (text, x, y, *band) in enumerate(pts):
        if x > 0 and y > 0:
            on = [i for i, h in enumerate(hws) if h.name.split(" (")[0] in text]
            color = colors[on[0] % len(colors)] if len(hws) > 1 and on else "black"
            ax.plot([x], [y / 1e12], markers[k % len(markers)], color=color, mec="black", ms=7, label=text)
            if band and band[0] is not None:
                low, high = band[0]
                ax.errorbar([x], [y / 1e12], yerr=[[(y - low) / 1e12], [(high - y) / 1e12]], fmt="none", ecolor=color)
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


_MARKERS = ["o", "s", "^", "D", "v", "P"]  # with colours, tells apart lines that print in grey


def plot_sweep(
    data: Any,
    x: str,
    y: str | Sequence[str],
    series: Sequence[str] | None = None,
    logx: bool | None = None,
    logy: bool | None = None,
    title: str | None = None,
) -> tuple:
    """Lines of ``y`` (one field or several, one panel each) against ``x``, one line per combination of
    the ``series`` inputs (e.g. hardware and precision). Points with an error are left out; points that
    do not fit (``feasible`` false) are red crosses without the series marker; points on the sweep's
    Pareto front (``pareto`` true) are ringed. One legend, beside the last panel when it is long.
    ``logx``/``logy`` None: logarithmic when the positive values span 16x (x) or 100x (y)."""
    pts = solved(data)
    ys = [y] if isinstance(y, str) else list(y)
    fig, axes = figure(1, len(ys), size=(5.2 * len(ys), 4.2))
    axes = [axes] if len(ys) == 1 else list(axes)
    series = list(series or [])
    groups: dict[tuple, list] = {}
    for p in pts:
        groups.setdefault(tuple(str(field_value(p, s)[0]) for s in series), []).append(p)
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    n = len(groups)  # distinct colours for every series: tab10, tab20, then evenly over a wide colormap
    palette = colormaps["tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"]
    colours = [palette(i if n <= 20 else i / max(n - 1, 1)) for i in range(n)]
    xunit = ""
    for k, (ax, yname) in enumerate(zip(axes, ys)):
        yunit = ""
        bad: list = []
        front: list = []
        for (key, members), colour, marker in zip(groups.items(), colours, _MARKERS * n):
            xy = []
            for p in members:
                xv, xunit = field_value(p, x)
                yv, u = field_value(p, yname)
                yunit = u or yunit
                if number(xv) is not None and number(yv) is not None:
                    band = field_band(p, yname) or (math.nan, math.nan)  # --bands: shaded around the line
                    xy.append((number(xv), number(yv), field_value(p, "feasible")[0] is not False, *band))
                    if field_value(p, "pareto")[0] is True:
                        front.append(xy[-1][:2])
            xy.sort()
            if any(not math.isnan(lo) for *_, lo, _ in xy):
                ax.fill_between(
                    [a for a, *_ in xy], [lo for *_, lo, _ in xy], [hi for *_, hi in xy], color=colour, alpha=0.2, lw=0
                )
            bad += [(a, b) for a, b, ok, *_ in xy if not ok]
            if xy:
                ax.plot(
                    [a for a, *_ in xy],
                    [b for _, b, *_ in xy],
                    "-",
                    marker=marker,
                    markevery=[i for i, (_, _, ok, *_) in enumerate(xy) if ok],
                    ms=4,
                    color=colour,
                    label=" ".join(key) or None,
                )
        if bad:  # a configuration that does not fit: a red cross instead of the series marker
            ax.scatter(
                [a for a, _ in bad], [b for _, b in bad], marker="x", s=40, color="red", zorder=3, label="infeasible"
            )
        if front:  # the sweep's Pareto front (its two objectives), ringed
            ax.scatter(
                [a for a, _ in front],
                [b for _, b in front],
                s=90,
                facecolors="none",
                edgecolors="black",
                linewidths=1.2,
                zorder=4,
                label="Pareto front",
            )
        ax.set_xlabel(axis_label(x, xunit))
        ax.set_ylabel(axis_label(yname, yunit))
        xs = [v for v in (number(field_value(p, x)[0]) for p in pts) if v]
        integers = bool(xs) and all(float(v).is_integer() for v in xs)
        if logx if logx is not None else (xs and min(xs) > 0 and max(xs) / min(xs) >= 16):
            ax.set_xscale("log", base=2 if integers else 10)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 2, 4 (not 1.0, 2.0)
        elif integers:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        yv_all = [v for v in (number(field_value(p, yname)[0]) for p in pts) if v is not None]
        if logy if logy is not None else (yv_all and min(yv_all) > 0 and max(yv_all) / min(yv_all) >= 100):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        last = k == len(axes) - 1
        if last and ((series and n > 1) or bad or front):  # one legend; many series: beside the axes
            outside = n > 6
            ax.legend(
                fontsize=7,
                ncols=1 + n // 24,
                **({"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if outside else {}),
            )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, (axes[0] if len(axes) == 1 else axes)
