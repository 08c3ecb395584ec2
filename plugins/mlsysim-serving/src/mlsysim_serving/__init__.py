"""mlsysim-serving: the LLM serving solver ``ServingModel`` (plugin ``serving``)."""

from __future__ import annotations

from .results import ServingResult
from .solver import ServingModel

__all__ = ["ServingModel", "ServingResult"]
__version__ = "0.2.0"
