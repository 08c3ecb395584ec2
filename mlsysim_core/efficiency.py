"""Named default efficiencies: the achievable fraction of datasheet peaks (few, documented).

A first-order model is only as good as these; each has its source. Solvers take an explicit
``efficiency=`` override; these are the defaults when the user gives none.
"""

from __future__ import annotations

import attrs

from .validate import fraction


@attrs.frozen(kw_only=True)
class Efficiency:
    """Fractions of peak achieved by real kernels: compute (dense GEMM), memory (streaming), links."""

    compute: float = attrs.field(converter=lambda v: fraction("efficiency.compute", v))
    memory: float = attrs.field(converter=lambda v: fraction("efficiency.memory", v))
    network: float = attrs.field(converter=lambda v: fraction("efficiency.network", v))


#: Defaults (refined against ../shared/calibration by the accuracy work; see docs/accuracy.md).
DEFAULT = Efficiency(compute=0.7, memory=0.8, network=0.8)
