"""Lazy package exports (PEP 562), so plugin discovery does not import numpy and pint; numpy on first use.

__getattr__, __dir__ = lazy_exports(__name__, {"MyModel": ".solver"})
np = lazy_numpy(__name__)  # (under ``if not TYPE_CHECKING``)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__``/``__dir__`` importing ``name`` from the relative module ``names[name]``
    on first access (then cached in the package's namespace)."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        sys.modules[package].__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*sys.modules[package].__dict__, *names})

    return __getattr__, __dir__


def lazy_numpy(module: str) -> Any:
    """numpy for ``module``, imported on its first use and then bound as ``module.np`` in its place, so a
    solve on Python floats (a command's first answer) imports no numpy (~250 M instructions)."""

    class Numpy:
        def __getattr__(self, name: str) -> Any:
            if name == "ndarray" and "numpy" not in sys.modules:
                return ()  # isinstance(x, ()) is False: no array exists before numpy is imported
            import numpy

            sys.modules[module].np = numpy  # type: ignore[attr-defined]
            return getattr(numpy, name)

    return Numpy()
