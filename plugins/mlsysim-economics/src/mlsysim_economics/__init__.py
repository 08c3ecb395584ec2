"""mlsysim-economics: the EconomicsModel solver plugin (total cost of ownership of a fleet).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .solver import DEFAULT_AMORTIZATION_YEARS, DEFAULT_MAINTENANCE_RATE, EconomicsModel, EconomicsResult

_LAZY = {
    "DEFAULT_AMORTIZATION_YEARS": ".solver",
    "DEFAULT_MAINTENANCE_RATE": ".solver",
    "EconomicsModel": ".solver",
    "EconomicsResult": ".solver",
}

__all__ = ["EconomicsModel", "EconomicsResult", "DEFAULT_AMORTIZATION_YEARS", "DEFAULT_MAINTENANCE_RATE"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
