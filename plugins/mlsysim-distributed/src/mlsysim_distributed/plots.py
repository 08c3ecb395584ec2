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
    """Where one DistributedModel training step goes: compute, bubble, exposed communication."""
    from mlsysim_plots import figure

    parts = [
        ("compute", "compute_latency"),
        ("pipeline bubble", "pipeline_bubble_latency"),
        ("tensor parallel", "tp_communication_latency"),
        ("pipeline sends", "pp_communication_latency"),
        ("expert all-to-all", "ep_communication_latency"),
        ("data parallel (exposed)", "dp_exposed_latency"),
    ]
    fig, ax = figure(size=(7.0, 2.6))
    left = 0.0
    for i, (label, name) in enumerate(parts):
        ms = float(getattr(result, name).to("ms").magnitude)
        if ms > 0:
            ax.barh([0], [ms], left=left, color=f"C{i}", label=f"{label} {ms:.4g} ms")
            left += ms
    ax.set_yticks([])
    ax.set_xlabel("time per step (ms)")
    ax.set_title(
        title
        or f"Training step: {getattr(result.model, 'name', result.model)}, {result.total_accelerators} accelerators",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3)
    return fig, ax
