"""The elementwise operations of the traffic kernels (:mod:`.traffic`), picked once per kernel call.

A kernel body is written once, with arithmetic operators (which work on floats and numpy arrays alike) and
the few operations here, taken from the namespace :func:`pick` returns for its inputs: :data:`SCALAR` on
floats (a single solve: plain comparisons and the math module, ~10x cheaper than a numpy ufunc on one
float; a value the math function refuses, log(0) or floor(inf), goes to numpy, which answers -inf or inf)
or :data:`ARRAY` (sweeps: numpy's ufuncs). Both keep NaN as numpy does (max/min propagate it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


class Ops:
    """max, min, where, ratio, top (np.max), all (np.all) and the math functions for one kind of operand."""

    __slots__ = (
        "max",
        "min",
        "where",
        "ratio",
        "top",
        "all",
        "exp",
        "expm1",
        "log",
        "log1p",
        "sqrt",
        "floor",
        "ceil",
        "isfinite",
        "erf",
    )

    def __init__(self, max, min, where, ratio, top, all, **math_functions: Callable[[Any], Any]):
        self.max: Callable[[Any, Any], Any] = max
        self.min: Callable[[Any, Any], Any] = min
        self.where: Callable[[Any, Any, Any], Any] = where
        self.ratio: Callable[[Any, Any, Any], Any] = ratio
        self.top: Callable[[Any], Any] = top
        self.all: Callable[[Any], Any] = all
        names = ("exp", "expm1", "log", "log1p", "sqrt", "floor", "ceil", "isfinite", "erf")
        self.exp, self.expm1, self.log, self.log1p, self.sqrt, self.floor, self.ceil, self.isfinite, self.erf = (
            math_functions[k] for k in names
        )


def _max(a, b):
    """np.maximum(a, b) of two floats."""
    return a if a >= b or a != a else b


def _min(a, b):
    """np.minimum(a, b) of two floats."""
    return a if a <= b or a != a else b


def _where(cond, a, b):
    """np.where(cond, a, b) of a bool and two floats."""
    return a if cond else b


def _ratio(a, b, default):
    """a/b of two floats, ``default`` where b = 0 (:func:`_array_ratio`)."""
    return a / b if b != 0.0 else default


def _array_ratio(a, b, default):
    """a/b elementwise, ``default`` where b = 0 (one call where a kernel would take two np.where)."""
    nonzero = b != 0.0
    return np.where(nonzero, a / np.where(nonzero, b, 1.0), default)


def _on_float(scalar: Callable[[float], Any], ufunc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``scalar`` (the math module's) on a float in its domain, numpy's ``ufunc`` on one it refuses."""

    def call(x):
        try:
            return scalar(x)
        except (ValueError, OverflowError):
            return ufunc(x)

    return call


def _rounded(scalar: Callable[[float], int], ufunc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """:func:`_on_float` of math.floor or math.ceil, as a float like numpy's (one call, not two)."""

    def call(x):
        try:
            return float(scalar(x))
        except (ValueError, OverflowError):
            return ufunc(x)

    return call


_UFUNCS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "exp": (math.exp, np.exp),
    "expm1": (math.expm1, np.expm1),
    "log": (math.log, np.log),
    "log1p": (math.log1p, np.log1p),
    "sqrt": (math.sqrt, np.sqrt),
    "floor": (math.floor, np.floor),
    "ceil": (math.ceil, np.ceil),
    "isfinite": (math.isfinite, np.isfinite),
    "erf": (math.erf, np.vectorize(math.erf, otypes=[float])),  # numpy has no erf ufunc
}

#: Operations on floats (Python's or numpy's float64 scalars): np.max and np.all of one value are that value as
#: a float and as a bool (C calls: the kernels ask for them ~70 times a solve).
SCALAR = Ops(
    _max,
    _min,
    _where,
    _ratio,
    float,
    bool,
    **{k: (_rounded if k in ("floor", "ceil") else _on_float)(s, u) for k, (s, u) in _UFUNCS.items()},
)
#: Operations on numpy arrays (and anything else numpy takes).
ARRAY = Ops(np.maximum, np.minimum, np.where, _array_ratio, np.max, np.all, **{k: u for k, (_, u) in _UFUNCS.items()})


def pick(*values: Any) -> Ops:
    """:data:`SCALAR` when every value is a float (or an int), else :data:`ARRAY`."""
    # exactly a float (a solve's case) or an int by identity tests, a subclass (numpy.float64, bool) by isinstance
    for v in values:
        if v.__class__ is not float and v.__class__ is not int and not isinstance(v, (float, int)):
            return ARRAY
    return SCALAR
