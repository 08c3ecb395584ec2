"""Honest uncertainty: bands from the named efficiency ranges, out-of-domain lines, calibration.

``banded(solver, *args, **kwargs)``: ``solver.solve`` with ``bands`` and ``out_of_domain``
(``docs/accuracy.md``, Bands). ``RANGES``: the ranges bands span. Shipped by ``mlsysim-core``.
"""

from __future__ import annotations

from .bands import banded, corner_arguments, given_arguments
from .ranges import RANGES, Range

__all__ = ["RANGES", "Range", "banded", "corner_arguments", "given_arguments"]
