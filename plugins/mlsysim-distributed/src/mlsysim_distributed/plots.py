"""Pictures of DistributedModel answers: where a training step goes, and scaling (matplotlib, optional)."""

from __future__ import annotations

from typing import Any

__all__ = ["plot_scaling", "plot_step_breakdown"]


def plot_scaling(data: Any, title: str | None = None) -> tuple:
    """Scaling efficiency (and step time) against the number of accelerators of DistributedModel points."""
    from mlsysim_plots import plot_sweep

    fig, axes = plot_sweep(data, "total_accelerators", ["scaling_efficiency", "step_time"], title=title)
    axes[0].set_ylim(0, 1.05)
    return fig, axes


def plot_step_breakdown(result: Any, title: str | None = None) -> tuple:
    """Where one DistributedModel training step goes: compute, bubble, each exposed communication
    term and the optimizer update (their sum is the step time); the legend sits below the bar, inside
    the figure. A banded result (``--bands``) also shows the step time's band as an error bar at the end
    of the bar."""
    from mlsysim_plots import band_errorbar, figure

    def ms(name: str) -> float:
        return float(getattr(result, name).to("ms").magnitude)

    hidden = ("tp_exposed_latency", "ep_exposed_latency", "cp_exposed_latency", "dp_exposed_latency")
    parts = [
        ("compute", ms("compute_latency")),
        ("pipeline bubble", ms("pipeline_bubble_latency")),
        ("tensor parallel (exposed)", ms("tp_exposed_latency")),
        ("pipeline sends (exposed)", ms("exposed_communication_latency") - sum(ms(n) for n in hidden)),
        ("expert all-to-all (exposed)", ms("ep_exposed_latency")),
        ("context parallel (exposed)", ms("cp_exposed_latency")),
        ("data parallel (exposed)", ms("dp_exposed_latency")),
        ("optimizer update", ms("optimizer_time")),
    ]
    fig, ax = figure(size=(7.0, 3.2))
    left = 0.0
    for i, (label, t) in enumerate(parts):
        if t > 1e-9 * ms("step_time"):
            ax.barh([0], [t], left=left, color=f"C{i}", label=f"{label} {t:.4g} ms")
            left += t
    band_errorbar(ax, result, "step_time", "ms", 0.0)
    ax.set_yticks([])
    ax.set_xlabel(f"time per step (ms): {ms('step_time'):.4g} ms")
    ax.set_title(
        title
        or f"Training step: {getattr(result.model, 'name', result.model)}, {result.total_accelerators} accelerators",
        fontsize=10,
    )
    fig.legend(fontsize=7, loc="outside lower center", ncols=3)
    return fig, ax
