"""Pictures of SustainabilityModel answers: carbon per region (matplotlib, optional)."""

from __future__ import annotations

from typing import Any

__all__ = ["plot_carbon"]


def plot_carbon(data: Any, by: str = "datacenter", title: str | None = None) -> tuple:
    """Operational and embodied carbon per region (SustainabilityModel points), as stacked bars."""
    from mlsysim_plots import axis_label, field_band, field_value, figure, number, solved

    pts = solved(data)
    fig, ax = figure(size=(max(5.0, 0.9 * len(pts) + 2), 4.2))
    names, op, emb, unit = [], [], [], ""
    for p in pts:
        names.append(str(field_value(p, by)[0] or field_value(p, "region_name")[0]))
        o, unit = field_value(p, "operational_carbon")
        e, _ = field_value(p, "embodied_carbon")
        op.append(number(o) or 0.0)
        emb.append(number(e) or 0.0)
    xs = list(range(len(names)))
    ax.bar(xs, op, color="C0", label="operational")
    ax.bar(xs, emb, bottom=op, color="C1", label="embodied (amortized)")
    for x, p in zip(xs, pts):  # --bands: the footprint's band (operational + embodied) on each stack
        top, band = number(field_value(p, "carbon_footprint")[0]), field_band(p, "carbon_footprint")
        if top is not None and band is not None:
            ax.errorbar([x], [top], yerr=[[top - band[0]], [band[1] - top]], fmt="none", ecolor="black", capsize=4)
    ax.set_xticks(xs, names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("region")
    ax.set_ylabel(axis_label("carbon", unit + " CO2e" if unit else ""))
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax
