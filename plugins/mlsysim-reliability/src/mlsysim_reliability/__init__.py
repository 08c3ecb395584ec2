"""mlsysim-reliability: the ReliabilityModel solver plugin (MTBF, checkpoint interval, goodput).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .solver import DEFAULT_CHECKPOINT_S, DEFAULT_RESTART_S, ReliabilityModel, ReliabilityResult, daly_interval, goodput, young_interval

_LAZY = {
    "DEFAULT_CHECKPOINT_S": ".solver",
    "DEFAULT_RESTART_S": ".solver",
    "ReliabilityModel": ".solver",
    "ReliabilityResult": ".solver",
    "daly_interval": ".solver",
    "goodput": ".solver",
    "young_interval": ".solver",
}

__all__ = ["ReliabilityModel", "ReliabilityResult", "young_interval", "daly_interval", "goodput", "DEFAULT_CHECKPOINT_S", "DEFAULT_RESTART_S"]
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
