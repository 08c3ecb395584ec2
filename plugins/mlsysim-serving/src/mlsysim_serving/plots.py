"""Pictures of ServingModel answers: prefill and decode placed on the accelerator's roofline (matplotlib, optional)."""

from __future__ import annotations

from typing import Any

__all__ = ["serving_points", "plot_serving", "draw_slo_lines"]


def _si(q: Any) -> float:
    if q is None:
        return 0.0
    return float(q.to_base_units().magnitude) if hasattr(q, "to_base_units") else float(q)


def serving_points(result: Any) -> list[tuple]:
    """(label, FLOP/byte, achieved FLOP/s, its band or None) of a ServingModel result's decode and
    prefill phases, per GPU: intensity = FLOPs / bytes moved, achieved = FLOPs / phase time (decode: one
    ITL, prefill: TTFT); a banded result (``--bands``) gives the achieved rate's band from the time's."""
    from mlsysim_plots import rate_band

    pts = []
    d_flops, d_bytes, itl = (_si(getattr(result, n)) for n in ("decode_flops", "decode_bytes", "itl"))
    if d_bytes and itl:
        pts.append(
            (f"decode b={result.batch_size}", d_flops / d_bytes, d_flops / itl, rate_band(result, "itl", d_flops))
        )
    p_flops, ttft = _si(result.prefill_flops), _si(result.ttft)
    p_bytes = _si(result.prefill_memory_time) * _si(result.bandwidth) * result.memory_efficiency
    if p_bytes and ttft:
        pts.append(
            (f"prefill {result.seq_len} tok", p_flops / p_bytes, p_flops / ttft, rate_band(result, "ttft", p_flops))
        )
    return pts


def plot_serving(hardware: Any, result: Any) -> tuple:
    """The roofline of ``hardware`` at the result's precision with its prefill and decode phases on it."""
    from mlsysim_plots import plot_roofline

    return plot_roofline(hardware, serving_points(result), precisions=[result.precision])


def draw_slo_lines(points: list, axes: Any) -> None:
    """Dashed SLO lines on a latency-vs-load sweep (TTFT panel first, ITL second) when the sweep gave SLOs."""
    from mlsysim_plots.figures import field_value, number

    for ax, name in zip(axes if isinstance(axes, (list, tuple)) else [axes], ("slo_ttft", "slo_itl")):
        for p in points[:1]:
            raw, _ = field_value(p, name)
            slo = _seconds(raw) if raw is not None else None
            if slo is not None and number(slo) is not None:
                ax.axhline(slo * 1e3, ls="--", color="C3", label=f"SLO {raw}")
                ax.legend(fontsize=7)


def _seconds(raw: Any) -> float | None:
    from mlsysim_core.errors import InvalidInputError

    from .request_path import parse_seconds

    try:
        return parse_seconds(str(raw), name="slo", expected="a time")
    except InvalidInputError:  # an SLO the solver already rejected: no line
        return None
