"""mlsysim-sustainability: the SustainabilityModel solver plugin (energy, carbon, water of a fleet).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .solver import DEFAULT_SERVICE_LIFE_YEARS, SustainabilityModel, SustainabilityResult

_LAZY = {"DEFAULT_SERVICE_LIFE_YEARS": ".solver", "SustainabilityModel": ".solver", "SustainabilityResult": ".solver"}

__all__ = ["SustainabilityModel", "SustainabilityResult", "DEFAULT_SERVICE_LIFE_YEARS"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
