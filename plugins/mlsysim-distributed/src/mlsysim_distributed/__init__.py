"""mlsysim-distributed: the DistributedModel solver plugin (3D/4D-parallel training steps).

``from mlsysim import DistributedModel`` finds it through the ``mlsysim`` entry point ``distributed``.

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .defaults import TRAINING, TrainingEfficiency
    from .results import DistributedResult
    from .solver import DistributedModel, DistributedWarning, MicrobatchWarning, TensorParallelAcrossNodesWarning

_LAZY = {
    "TRAINING": ".defaults",
    "TrainingEfficiency": ".defaults",
    "DistributedResult": ".results",
    "DistributedModel": ".solver",
    "DistributedWarning": ".solver",
    "MicrobatchWarning": ".solver",
    "TensorParallelAcrossNodesWarning": ".solver",
}

__all__ = [
    "DistributedModel",
    "DistributedResult",
    "DistributedWarning",
    "MicrobatchWarning",
    "TensorParallelAcrossNodesWarning",
    "TrainingEfficiency",
    "TRAINING",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
