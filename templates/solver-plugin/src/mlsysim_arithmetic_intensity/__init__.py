"""mlsysim-arithmetic-intensity: where one kernel sits on an accelerator's roofline.

Names are imported on first use (PEP 562): plugin discovery imports this package to reach
``plugin.py``, and should not pay for numpy and pint (``import mlsysim`` stays fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .solver import ArithmeticIntensityModel, ArithmeticIntensityResult

__all__ = ["ArithmeticIntensityModel", "ArithmeticIntensityResult"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import solver

    return getattr(solver, name)
