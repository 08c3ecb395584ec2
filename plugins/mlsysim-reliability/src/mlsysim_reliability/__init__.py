"""mlsysim-reliability: the ReliabilityModel solver plugin (MTBF, checkpoint interval, goodput).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .solver import (
        DEFAULT_CHECKPOINT_S,
        DEFAULT_RESTART_S,
        ReliabilityModel,
        ReliabilityResult,
        daly_interval,
        goodput,
        young_interval,
    )

_LAZY = {
    "DEFAULT_CHECKPOINT_S": ".solver",
    "DEFAULT_RESTART_S": ".solver",
    "ReliabilityModel": ".solver",
    "ReliabilityResult": ".solver",
    "daly_interval": ".solver",
    "goodput": ".solver",
    "young_interval": ".solver",
}

__all__ = [
    "ReliabilityModel",
    "ReliabilityResult",
    "young_interval",
    "daly_interval",
    "goodput",
    "DEFAULT_CHECKPOINT_S",
    "DEFAULT_RESTART_S",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
