"""mlsysim-power-efficiency: dense peak FLOP/s per kW of TDP (a third-party style solver plugin).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .solver import PowerEfficiencyModel, PowerEfficiencyResult

_LAZY = {
    "PowerEfficiencyModel": ".solver",
    "PowerEfficiencyResult": ".solver",
}

__all__ = ["PowerEfficiencyModel", "PowerEfficiencyResult"]


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
