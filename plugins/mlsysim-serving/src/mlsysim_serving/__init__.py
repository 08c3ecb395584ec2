"""mlsysim-serving: the LLM serving solver ``ServingModel`` (plugin ``serving``).

Names are imported on first use (PEP 562), so plugin discovery, which imports this package to
reach ``plugin.py``, does not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import ServingResult
    from .solver import ServingModel

_LAZY = {
    "ServingResult": ".results",
    "ServingModel": ".solver",
}

__all__ = ["ServingModel", "ServingResult"]
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
