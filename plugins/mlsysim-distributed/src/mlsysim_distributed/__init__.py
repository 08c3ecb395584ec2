"""mlsysim-distributed: the DistributedModel solver plugin (3D/4D-parallel training steps).

``from mlsysim import DistributedModel`` finds it through the ``mlsysim`` entry point ``distributed``.
"""

from .defaults import TRAINING, TrainingEfficiency
from .results import DistributedResult
from .solver import (
    DistributedModel,
    DistributedWarning,
    MicrobatchWarning,
    TensorParallelAcrossNodesWarning,
)

__all__ = [
    "DistributedModel", "DistributedResult", "DistributedWarning", "MicrobatchWarning",
    "TensorParallelAcrossNodesWarning", "TrainingEfficiency", "TRAINING",
]
__version__ = "0.2.0"
