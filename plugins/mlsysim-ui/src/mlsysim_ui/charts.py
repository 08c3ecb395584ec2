"""Plotly figure specifications (plain dicts, drawn by the plotly.js that ships in the plotly wheel).

Each chart is chosen by the fields a result has (a third-party result with a roofline's fields gets
the roofline), never by the solver's name. Figures are dicts: building ``plotly.graph_objects``
validates every property and costs tens of milliseconds per interaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_LAYOUT = {
    "margin": {"l": 70, "r": 20, "t": 40, "b": 100},
    "height": 360,
    "template": "plotly_white",
    "legend": {"orientation": "h", "y": -0.4, "traceorder": "normal"},
    "font": {"size": 12},
}


def _has(result: Any, *names: str) -> bool:
    fields = set(result.fields())
    return all(n in fields and getattr(result, n) is not None for n in names)


def _mag(result: Any, name: str, unit: str) -> float:
    return float(getattr(result, name).to(unit).magnitude)


def _layout(title: str, **extra: Any) -> dict:
    return {**_LAYOUT, "title": {"text": title, "x": 0.01}, **extra}


def roofline(result: Any) -> dict | None:
    """Attainable FLOP/s = min(peak, bandwidth x intensity) (Williams et al., CACM 2009), at datasheet
    peak and at the achieved efficiencies, with the workload at (its intensity, FLOPs / latency)."""
    if not _has(result, "arithmetic_intensity", "peak_flops", "bandwidth", "flops", "latency"):
        return None
    peak, bw = _mag(result, "peak_flops", "TFLOP/s"), _mag(result, "bandwidth", "TB/s")
    ai = _mag(result, "arithmetic_intensity", "FLOP/B")
    achieved = _mag(result, "flops", "TFLOP") / _mag(result, "latency", "s")
    x = np.logspace(np.log10(min(ai, peak / bw) / 20), np.log10(max(ai, peak / bw) * 20), 60)
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"datasheet roof ({peak:.4g} TFLOP/s, {bw:.4g} TB/s)",
            "x": x.tolist(),
            "y": np.minimum(peak, bw * x).tolist(),
            "line": {"color": "#1f4e79"},
        }
    ]
    if _has(result, "peak_flops_actual", "peak_bw_actual"):
        pa, ba = _mag(result, "peak_flops_actual", "TFLOP/s"), _mag(result, "peak_bw_actual", "TB/s")
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "achievable roof (efficiencies applied)",
                "x": x.tolist(),
                "y": np.minimum(pa, ba * x).tolist(),
                "line": {"color": "#6fa8dc", "dash": "dash"},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "this workload",
            "x": [ai],
            "y": [achieved],
            "text": [f"{ai:.4g} FLOP/B, {achieved:.4g} TFLOP/s"],
            "textposition": "top center",
            "marker": {"size": 12, "color": "#c00000"},
        }
    )
    return {
        "data": traces,
        "layout": _layout(
            "Roofline",
            xaxis={"type": "log", "title": {"text": "arithmetic intensity (FLOP/B)"}},
            yaxis={"type": "log", "title": {"text": "attainable (TFLOP/s)"}},
        ),
    }


def _bars(title: str, unit: str, groups: list[tuple[str, list[tuple[str, float]]]], limit: tuple | None = None) -> dict:
    names = [n for _, parts in groups for n, _ in parts]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": n,
            "y": [g for g, _ in groups],
            "x": [dict(parts).get(n, 0.0) for _, parts in groups],
        }
        for n in dict.fromkeys(names)
    ]
    layout = _layout(title, barmode="stack", xaxis={"title": {"text": unit}}, height=300 if len(groups) < 2 else 340)
    if limit:
        label, value = limit
        layout["shapes"] = [
            {
                "type": "line",
                "x0": value,
                "x1": value,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#c00000", "dash": "dot"},
            }
        ]
        layout["annotations"] = [{"x": value, "yref": "paper", "y": 1.05, "text": label, "showarrow": False}]
    return {"data": traces, "layout": layout}


def training_step(result: Any) -> dict | None:
    """Step time = compute + pipeline bubble + exposed communication + optimizer update (the solver's
    decomposition)."""
    parts = ("compute_latency", "pipeline_bubble_latency", "exposed_communication_latency", "optimizer_time")
    if not _has(result, *parts, "step_time"):
        return None
    return _bars(
        "Training step breakdown",
        "ms",
        [("step", [(p.replace("_latency", "").replace("_time", ""), _mag(result, p, "ms")) for p in parts])],
    )


def training_memory(result: Any) -> dict | None:
    parts = ("weights_memory", "gradients_memory", "optimizer_memory", "activation_memory")
    if not _has(result, *parts, "memory_capacity"):
        return None
    return _bars(
        "Memory per GPU",
        "GB",
        [("per GPU", [(p.replace("_memory", ""), _mag(result, p, "GB")) for p in parts])],
        ("capacity", _mag(result, "memory_capacity", "GB")),
    )


def serving_phases(result: Any) -> dict | None:
    """Prefill and one decode step: compute, memory and communication time of each phase."""
    names = [f"{ph}_{k}_time" for ph in ("prefill", "decode") for k in ("compute", "memory", "communication")]
    if not _has(result, *names):
        return None
    groups = [
        (ph, [(k, _mag(result, f"{ph}_{k}_time", "ms")) for k in ("compute", "memory", "communication")])
        for ph in ("decode", "prefill")
    ]
    fig = _bars("Time per phase (the largest term + overhead)", "ms", groups)
    fig["layout"]["barmode"] = "group"
    fig["layout"]["xaxis"] = {"title": {"text": "ms (log)"}, "type": "log"}
    return fig


def serving_memory(result: Any) -> dict | None:
    parts = ("weights_per_gpu", "kv_cache_per_gpu", "workspace_per_gpu")
    if not _has(result, *parts, "memory_available"):
        return None
    return _bars(
        "Memory per GPU",
        "GB",
        [("per GPU", [(p.replace("_per_gpu", ""), _mag(result, p, "GB")) for p in parts])],
        ("usable", _mag(result, "memory_available", "GB")),
    )


def fleet_cost(result: Any) -> dict | None:
    """TCO = CapEx share for the period + energy OpEx + maintenance OpEx (the solver's decomposition)."""
    parts = ("capex", "opex_energy", "opex_maintenance")
    if not _has(result, *parts, "tco"):
        return None
    return _bars("Cost for the period", "USD", [("TCO", [(p, _mag(result, p, "USD")) for p in parts])])


def fleet_carbon(result: Any) -> dict | None:
    parts = ("operational_carbon", "embodied_carbon")
    if not _has(result, *parts):
        return None
    return _bars("Carbon for the period", "kg CO2e", [("carbon", [(p, _mag(result, p, "kg")) for p in parts])])


CHARTS: tuple[Callable[[Any], dict | None], ...] = (
    roofline,
    serving_phases,
    serving_memory,
    training_step,
    training_memory,
    fleet_cost,
    fleet_carbon,
)


def charts_for(result: Any) -> list[dict]:
    """Every chart whose fields ``result`` has."""
    return [fig for fig in (c(result) for c in CHARTS) if fig is not None]


def pareto_mask(x: np.ndarray, y: np.ndarray, x_min: bool, y_min: bool) -> np.ndarray:
    """Points no other point beats on both objectives (ties kept); NaN points are never on the front."""
    a = np.where(x_min, x, -x)
    b = np.where(y_min, y, -y)
    ok = np.isfinite(a) & np.isfinite(b)
    mask = np.zeros(len(x), dtype=bool)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((b[idx], a[idx]))]
    best = np.inf
    for i in order:
        if b[i] < best:
            mask[i] = True
            best = b[i]
    return mask


def pareto(x: np.ndarray, y: np.ndarray, front: np.ndarray, labels: list[str], xt: str, yt: str) -> dict:
    o = np.flatnonzero(front)
    o = o[np.argsort(x[o])]
    rest = np.flatnonzero(~front & np.isfinite(x) & np.isfinite(y))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "configurations",
                "x": x[rest].tolist(),
                "y": y[rest].tolist(),
                "text": [labels[i] for i in rest],
                "marker": {"color": "#9aa5b1", "size": 7},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Pareto front",
                "x": x[o].tolist(),
                "y": y[o].tolist(),
                "text": [labels[i] for i in o],
                "marker": {"color": "#c00000", "size": 10},
            },
        ],
        "layout": _layout(
            "Sweep and its Pareto front", xaxis={"title": {"text": xt}}, yaxis={"title": {"text": yt}}, height=380
        ),
    }
