"""Pictures of SingleNodeModel answers: the roofline with model steps placed on it (matplotlib, optional)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from mlsysim_plots import plot_roofline as _roofline

__all__ = ["plot_roofline", "roofline_point"]


def _si(q: Any) -> float:
    return float(q.to_base_units().magnitude) if hasattr(q, "to_base_units") else float(q)


def roofline_point(r: Any) -> tuple:
    """(label, FLOP/byte, achieved FLOP/s, its band or None) of a SingleNodeModel result: achieved =
    FLOPs / latency; a banded result (``--bands``) gives the achieved rate's band from the latency's."""
    from mlsysim_plots import rate_band

    lat, flops = _si(r.latency), _si(r.flops)
    label = f"{r.model} b={r.batch_size} {r.precision} on {str(r.hardware).split(' (')[0]}"
    finite = lat and math.isfinite(lat)
    return label, _si(r.arithmetic_intensity), (flops / lat if finite else 0.0), rate_band(r, "latency", flops)


def _point(w: Any, hardware: Any) -> tuple:
    if isinstance(w, tuple) and len(w) in (3, 4):
        return w
    if hasattr(w, "parameters") and not hasattr(w, "latency"):  # a Workload: solve it on the first part
        from .solver import SingleNodeModel

        w = SingleNodeModel().solve(w, hardware)
    if hasattr(w, "arithmetic_intensity") and hasattr(w, "flops") and hasattr(w, "latency"):
        return roofline_point(w)
    raise TypeError(
        f"cannot place {w!r} on a roofline: pass SingleNodeModel results, Workloads (with hardware) "
        f"or (label, FLOP/byte, FLOP/s) tuples"
    )


def plot_roofline(
    hardware: Any,
    workloads: Iterable[Any] | None = None,
    precisions: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> tuple:
    """Roofline of one accelerator (or a list) with workloads placed on it (Williams et al. 2009).

    ``hardware``: a ``HardwareNode``, a catalog key, or a list of them. ``workloads``: SingleNodeModel
    results (placed at their arithmetic intensity and achieved FLOP/s), ``Workload`` objects (solved
    with SingleNodeModel at batch 1 on the first hardware), or ``(label, FLOP/byte, FLOP/s)`` tuples
    (a fourth element, ``(low, high)`` FLOP/s, draws a band; banded results carry theirs).
    ``precisions``: compute ceilings to draw (default: every dense peak of the part). Returns ``(fig, ax)``.
    """
    from mlsysim_core.plugins import catalog

    hws = [
        catalog().Hardware.get(h) if isinstance(h, str) else h
        for h in (hardware if isinstance(hardware, (list, tuple)) else [hardware])
    ]
    pts = []
    for w in workloads or ():
        text, *rest = _point(w, hws[0])
        if len(hws) == 1:
            text = text.replace(f" on {hws[0].name.split(' (')[0]}", "")
        pts.append((text, *rest))
    return _roofline(hws, pts, precisions=precisions, ax=ax, title=title)
