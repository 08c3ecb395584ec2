"""Honest uncertainty: bands from the named efficiency ranges, out-of-domain lines, calibration.

``banded(solver, *args, **kwargs)``: ``solver.solve`` with ``bands`` and ``out_of_domain``
(``docs/accuracy.md``, Bands); ``banded_sweep(solver, **grid)``: a sweep with each point's bands.
``RANGES``: the ranges bands span. Shipped by ``mlsysim-core``.
Exports load on first use: a solver reading its calibration (``.calibration``) does not import the bands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .bands import OWN_RANGES, banded, corner_arguments, declaring, given_arguments
    from .ranges import RANGES, Range
    from .sweep_bands import banded_sweep

__all__ = [
    "OWN_RANGES",
    "RANGES",
    "Range",
    "banded",
    "banded_sweep",
    "corner_arguments",
    "declaring",
    "given_arguments",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "OWN_RANGES": ".bands",
        "banded": ".bands",
        "banded_sweep": ".sweep_bands",
        "declaring": ".bands",
        "corner_arguments": ".bands",
        "given_arguments": ".bands",
        "RANGES": ".ranges",
        "Range": ".ranges",
    },
)
