"""mlsysim-power-efficiency: dense peak FLOP/s per kW of TDP (a third-party style solver plugin).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .solver import PowerEfficiencyModel, PowerEfficiencyResult

_LAZY = {"PowerEfficiencyModel": ".solver", "PowerEfficiencyResult": ".solver"}

__all__ = ["PowerEfficiencyModel", "PowerEfficiencyResult"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
