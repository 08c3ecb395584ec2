"""mlsysim-single-node: the roofline solvers ``SingleNodeModel`` and ``Engine`` (plugin ``single_node``).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .results import PerformanceProfile
    from .solver import Engine, SingleNodeModel

_LAZY = {"PerformanceProfile": ".results", "Engine": ".solver", "SingleNodeModel": ".solver"}

__all__ = ["SingleNodeModel", "Engine", "PerformanceProfile"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
