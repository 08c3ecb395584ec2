"""mlsysim-single-node: the roofline solvers ``SingleNodeModel`` and ``Engine`` (plugin ``single_node``)."""

from __future__ import annotations

from .results import PerformanceProfile
from .solver import Engine, SingleNodeModel

__all__ = ["SingleNodeModel", "Engine", "PerformanceProfile"]
__version__ = "0.2.0"
