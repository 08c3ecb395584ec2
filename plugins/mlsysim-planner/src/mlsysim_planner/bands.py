"""Which ranked serving configurations meet their SLOs only inside the uncertainty band.

Each of the first :data:`CHECKED` ranked configurations is solved again at the band's slow corner
(``mlsysim_uncertainty``: every efficiency at the low end of its range, every overhead at the high end,
the hardware's calibrated span where it has one, as ``banded()`` does; ServingModel's latencies are
monotone in each, so the slow corner bounds the band from the pessimistic side). A configuration is
robust when it still fits, is not overloaded and meets both SLOs there.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.plugins import get_solver

#: ranked configurations checked across the band (the table's usual ten and as many again)
CHECKED = 20


def slow_corner(kw: dict[str, Any]) -> dict[str, Any]:
    """ServingModel keyword arguments ``kw`` with every band argument the caller left to its default at
    the slow end of its range (``mlsysim_uncertainty.bands.corner_arguments``, as ``banded()`` uses)."""
    from mlsysim_uncertainty.bands import corner_arguments

    solver = get_solver("ServingModel")
    corners = corner_arguments(solver, solver().solve(**kw), kw)
    return kw if corners is None else corners[1]


def across_band(kw: dict[str, Any], p: int, ttft_s: float, itl_s: float) -> tuple[bool, str]:
    """(meets the SLOs at the band's slow corner, what it misses there in words)."""
    with warnings.catch_warnings():  # about the corner's own notes
        warnings.simplefilter("ignore")
        try:
            r = get_solver("ServingModel")().solve(**slow_corner(kw))
        except (InvalidInputError, InfeasibleError) as exc:
            return False, f"the slow corner is not a configuration ({exc})"
    if not r.feasible:
        return False, "does not fit in memory"
    if r.overloaded:
        return False, "is overloaded"
    ttft, itl = r.si(f"ttft_p{p}"), r.si(f"itl_p{p}")
    missed = [
        f"p{p} {name} {value * 1e3:.4g} ms > {slo * 1e3:.4g} ms"
        for name, value, slo in (("TTFT", ttft, ttft_s), ("ITL", itl, itl_s))
        if math.isnan(value) or value > slo * (1 + 1e-12)
    ]
    return not missed, "misses " + " and ".join(missed)


def training_slowdown(point: dict[str, Any]) -> tuple[float, float]:
    """(fast, slow): a training configuration's failure-free time at the band's two corners over its
    nominal time, from DistributedModel's tokens/s band (``banded()``: the TrainingEfficiency shares at the
    ends of their ranges); (1, 1) when nothing moves. Days, cost, energy and carbon scale with it (they are
    linear in the failure-free time on one cluster). The ranges' band (``bands.ranges``), as the serving
    check's slow corner: the model-error interval is a statement about one answer against measurements,
    not about the gap between two configurations ranked against each other."""
    from mlsysim_uncertainty import banded

    with warnings.catch_warnings():  # about the corners' own notes
        warnings.simplefilter("ignore")
        r = banded(get_solver("DistributedModel"), **point)
    band = r.bands.ranges.get("tokens_per_second")
    if band is None:
        return 1.0, 1.0
    low, high = (q.magnitude for q in band)
    nominal = r.tokens_per_second.to(band[0].units).magnitude
    return nominal / high, nominal / low
