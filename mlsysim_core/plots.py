"""Pictures: rooflines with workloads placed on them, and sweep plots (matplotlib, optional).

Install with ``pip install "mlsysim-core[plot]"``. Figures are built with matplotlib's
object-oriented API on the Agg canvas (no pyplot, no global backend change), so they work in
scripts, servers and notebooks alike (a ``Figure`` displays itself in Jupyter). Every ``plot_*``
returns ``(fig, ax)`` (``ax`` may be an array of axes); :func:`save` writes a PNG/SVG/PDF.

Sweep plots take the points ``mlsysim sweep ... --json`` writes (``{"inputs", "result", "error",
"pareto"}`` dicts, or the whole JSON document), ``Result`` objects, or flat dicts.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence

from .errors import MlsysimError

__all__ = ["plot_roofline", "plot_sweep", "plot_pareto", "plot_scaling", "plot_carbon", "plot_step_breakdown",
           "serving_points", "save", "PlotDependencyError"]

INSTALL_HINT = 'pip install "mlsysim-core[plot]"'
X_ROOFLINE = "Arithmetic intensity (FLOP/byte)"
Y_ROOFLINE = "Performance (TFLOP/s)"


class PlotDependencyError(MlsysimError, ImportError):
    """matplotlib is not installed."""


def _figure(nrows: int = 1, ncols: int = 1, size: tuple = (7.0, 4.5)) -> tuple:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotDependencyError(f"plots need matplotlib, which is not installed; install it with: {INSTALL_HINT}") from None
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save(fig: Any, path: str, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the extension); returns the path."""
    fig.savefig(path, dpi=dpi)
    return path


# --------------------------------------------------------------------------- roofline


def _hardware(hw: Any) -> Any:
    if isinstance(hw, str):
        from .plugins import catalog

        return catalog().Hardware.get(hw)
    return hw


def serving_points(result: Any) -> list[tuple[str, float, float]]:
    """(label, FLOP/byte, achieved FLOP/s) of a ServingModel result's decode and prefill phases, per GPU."""
    pts = []
    d_flops, d_bytes, itl = (_si(getattr(result, n)) for n in ("decode_flops", "decode_bytes", "itl"))
    if d_bytes and itl:
        pts.append((f"decode b={result.batch_size}", d_flops / d_bytes, d_flops / itl))
    p_flops, ttft = _si(result.prefill_flops), _si(result.ttft)
    p_bytes = _si(result.prefill_memory_time) * _si(result.bandwidth) * result.memory_efficiency
    if p_bytes and ttft:
        pts.append((f"prefill {result.seq_len} tok", p_flops / p_bytes, p_flops / ttft))
    return pts


def _si(q: Any) -> float:
    if q is None:
        return 0.0
    return float(q.to_base_units().magnitude) if hasattr(q, "to_base_units") else float(q)


def _workload_point(w: Any) -> tuple[str, float, float]:
    if isinstance(w, tuple) and len(w) == 3:
        return w
    if hasattr(w, "arithmetic_intensity") and hasattr(w, "flops") and hasattr(w, "latency"):
        lat = _si(w.latency)
        label = f"{w.model} b={w.batch_size} {w.precision} on {str(w.hardware).split(' (')[0]}"
        return label, _si(w.arithmetic_intensity), (_si(w.flops) / lat if lat and math.isfinite(lat) else 0.0)
    raise TypeError(f"cannot place {w!r} on a roofline: pass SingleNodeModel results, Workloads (with hardware) "
                    f"or (label, FLOP/byte, FLOP/s) tuples")


def plot_roofline(hardware: Any, workloads: Optional[Iterable[Any]] = None, precisions: Optional[Sequence[str]] = None,
                  ax: Any = None, title: Optional[str] = None) -> tuple:
    """Roofline of one accelerator (or a list) with workloads placed on it (Williams et al. 2009).

    ``hardware``: a ``HardwareNode``, a catalog key, or a list of them. ``workloads``: SingleNodeModel
    results (placed at their arithmetic intensity and achieved FLOP/s), ``Workload`` objects (solved
    with SingleNodeModel at batch 1 on the first hardware), or ``(label, FLOP/byte, FLOP/s)`` tuples.
    ``precisions``: compute ceilings to draw (default: every dense peak of the part). The ridge point
    (peak / bandwidth) of each ceiling is marked. Returns ``(fig, ax)``.
    """
    hws = [_hardware(h) for h in (hardware if isinstance(hardware, (list, tuple)) else [hardware])]
    if ax is None:
        fig, ax = _figure()
    else:
        fig = ax.figure
    pts = []
    for w in workloads or ():
        if hasattr(w, "parameters") and not hasattr(w, "latency"):  # a Workload: solve it
            from .plugins import get_solver

            w = get_solver("SingleNodeModel")().solve(w, hws[0])
        label, x, y = _workload_point(w)
        if len(hws) == 1:
            label = label.replace(f" on {hws[0].name.split(' (')[0]}", "")
        pts.append((label, x, y))
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
            ax.plot([ridge, hi], [peak / 1e12, peak / 1e12], color=color, ls=styles[j % len(styles)], lw=1.6,
                    label=f"{h.name.split(' (')[0] if len(hws) > 1 else ''} {names} {peak / 1e12:.4g} TFLOP/s".strip())
            ax.plot([ridge], [peak / 1e12], "o", color=color, ms=4)
            if j == 0 or h.compute.default_precision in names.split("/"):
                ax.annotate(f"ridge {ridge:.3g} FLOP/B", (ridge, peak / 1e12), textcoords="offset points",
                            xytext=(4, -12), fontsize=7, color=color)
        ax.text(lo * 1.5, lo * 1.5 * bw / 1e12 * 1.3, f"{bw / 1e12:.3g} TB/s", rotation=0, fontsize=7, color=color)
    markers = ["s", "^", "D", "v", "P", "X", "*"]
    for k, (label, x, y) in enumerate(pts):
        if x > 0 and y > 0:
            on = [i for i, h in enumerate(hws) if h.name.split(" (")[0] in label]
            color = colors[on[0] % len(colors)] if len(hws) > 1 and on else "black"
            ax.plot([x], [y / 1e12], markers[k % len(markers)], color=color, mec="black", ms=7, label=label)
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


def _points(data: Any) -> list:
    if isinstance(data, dict) and "points" in data:
        return list(data["points"])
    return list(data)


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


def _label(name: str, unit: str) -> str:
    return f"{name.replace('_', ' ')} ({unit})" if unit else name.replace("_", " ")


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def plot_sweep(data: Any, x: str, y: str | Sequence[str], series: Optional[Sequence[str]] = None,
               logx: Optional[bool] = None, logy: bool = False, title: Optional[str] = None) -> tuple:
    """Lines of ``y`` (one field or several, one panel each) against ``x``, one line per combination of
    the ``series`` inputs (e.g. hardware and precision). Points with an error are left out."""
    pts = [p for p in _points(data) if not (isinstance(p, dict) and p.get("error"))]
    ys = [y] if isinstance(y, str) else list(y)
    fig, axes = _figure(1, len(ys), size=(5.2 * len(ys), 4.2))
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
                if _num(xv) is not None and _num(yv) is not None:
                    xy.append((_num(xv), _num(yv)))
            xy.sort()
            if xy:
                ax.plot([a for a, _ in xy], [b for _, b in xy], "o-", ms=4, label=" ".join(key) or None)
        ax.set_xlabel(_label(x, xunit))
        ax.set_ylabel(_label(yname, yunit))
        xs = [_num(field_value(p, x)[0]) for p in pts]
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


def plot_pareto(data: Any, x: str, y: str, label: Optional[Sequence[str]] = None, logx: bool = False,
                logy: bool = False, title: Optional[str] = None) -> tuple:
    """Every point of ``y`` against ``x``, with the Pareto front (points whose ``pareto`` is true) drawn
    as a line; e.g. latency vs throughput, cost vs latency."""
    pts = [p for p in _points(data) if not (isinstance(p, dict) and p.get("error"))]
    fig, ax = _figure()
    xu = yu = ""
    allx, ally, front = [], [], []
    for p in pts:
        xv, xu2 = field_value(p, x)
        yv, yu2 = field_value(p, y)
        xu, yu = xu2 or xu, yu2 or yu
        if _num(xv) is None or _num(yv) is None:
            continue
        allx.append(_num(xv))
        ally.append(_num(yv))
        if field_value(p, "pareto")[0]:
            front.append((_num(xv), _num(yv), " ".join(str(field_value(p, n)[0]) for n in (label or ()))))
    ax.scatter(allx, ally, s=14, color="0.6", label="all points")
    front.sort()
    if front:
        ax.plot([a for a, _, _ in front], [b for _, b, _ in front], "o-", color="C3", ms=5, label="Pareto front")
        for a, b, text in front:
            if text:
                ax.annotate(text, (a, b), textcoords="offset points", xytext=(4, 4), fontsize=6)
    ax.set_xlabel(_label(x, xu))
    ax.set_ylabel(_label(y, yu))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def plot_scaling(data: Any, title: Optional[str] = None) -> tuple:
    """Scaling efficiency (and step time) against the number of accelerators of DistributedModel points."""
    fig, axes = plot_sweep(data, "total_accelerators", ["scaling_efficiency", "step_time"], title=title)
    axes[0].set_ylim(0, 1.05)
    return fig, axes


def plot_carbon(data: Any, by: str = "datacenter", title: Optional[str] = None) -> tuple:
    """Operational and embodied carbon per region (SustainabilityModel points), as stacked bars."""
    pts = [p for p in _points(data) if not (isinstance(p, dict) and p.get("error"))]
    fig, ax = _figure(size=(max(5.0, 0.9 * len(pts) + 2), 4.2))
    names, op, emb, unit = [], [], [], ""
    for p in pts:
        names.append(str(field_value(p, by)[0] or field_value(p, "region_name")[0]))
        o, unit = field_value(p, "operational_carbon")
        e, _ = field_value(p, "embodied_carbon")
        op.append(_num(o) or 0.0)
        emb.append(_num(e) or 0.0)
    xs = list(range(len(names)))
    ax.bar(xs, op, color="C0", label="operational")
    ax.bar(xs, emb, bottom=op, color="C1", label="embodied (amortized)")
    ax.set_xticks(xs, names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("region")
    ax.set_ylabel(_label("carbon", unit + " CO2e" if unit else ""))
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def plot_step_breakdown(result: Any, title: Optional[str] = None) -> tuple:
    """Where one DistributedModel training step goes: compute, bubble, exposed communication."""
    parts = [("compute", "compute_latency"), ("pipeline bubble", "pipeline_bubble_latency"),
             ("tensor parallel", "tp_communication_latency"), ("pipeline sends", "pp_communication_latency"),
             ("expert all-to-all", "ep_communication_latency"), ("data parallel (exposed)", "dp_exposed_latency")]
    fig, ax = _figure(size=(7.0, 2.6))
    left = 0.0
    for i, (label, name) in enumerate(parts):
        v = getattr(result, name)
        ms = float(v.to("ms").magnitude)
        if ms > 0:
            ax.barh([0], [ms], left=left, color=f"C{i}", label=f"{label} {ms:.4g} ms")
            left += ms
    ax.set_yticks([])
    ax.set_xlabel("time per step (ms)")
    ax.set_title(title or f"Training step: {getattr(result.model, 'name', result.model)}, "
                 f"{result.total_accelerators} accelerators", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3)
    return fig, ax
