"""A band's corner under traffic (``ServingModel.solve_corners``): the fields its band reads now, the whole
result when something asks for it (``Bands.corners``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsysim_uncertainty.bands import Pending


class Corner(Pending):
    """A corner result not built yet: ``fields`` holds the band's fields (the latency percentiles of
    ``band_fields`` only, no SLO attainment); :meth:`build` answers ``answer(*args)``, the whole result
    from the same kernels (every percentile)."""

    __slots__ = ("answer", "args")

    def __init__(self, cls: type, fields: dict[str, Any], answer: Callable[..., Any], *args: Any):
        super().__init__(cls, fields)
        self.answer, self.args = answer, args

    def build(self) -> Any:
        return self.answer(*self.args)
