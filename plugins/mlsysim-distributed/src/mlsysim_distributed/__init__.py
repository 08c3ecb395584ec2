"""mlsysim-distributed: the DistributedModel solver plugin (3D/4D-parallel training steps).

``from mlsysim import DistributedModel`` finds it through the ``mlsysim`` entry point ``distributed``.

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

__all__ = ["DistributedModel", "DistributedResult", "DistributedWarning", "MicrobatchWarning", "TensorParallelAcrossNodesWarning", "TrainingEfficiency", "TRAINING"]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
