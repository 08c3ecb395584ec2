"""mlsysim-serving: the LLM serving solver ``ServingModel`` (plugin ``serving``).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .results import ServingResult
    from .solver import ServingModel

_LAZY = {"ServingResult": ".results", "ServingModel": ".solver"}

__all__ = ["ServingModel", "ServingResult"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
