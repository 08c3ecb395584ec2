"""Bands on a result: the solver's own kernels evaluated at the corners of the efficiency ranges.

A solver opts in by declaring ``band_arguments`` on its class: ``{solve() argument: result field
holding the value used}`` for each named efficiency or overhead it takes (``ServingModel``:
efficiency, memory_efficiency, engine_overhead), and optionally ``band_fields``, the headline fields
that get bands (default: every measured field). :func:`banded` solves once, then evaluates the two
extreme corners of the ranges (``ranges.RANGES``: every efficiency at its high end and every
overhead at its low end, then the reverse) with two more ``solve()`` calls: the same kernels (a
``sweep_columns`` call of two points costs ~16 scalar solves in numpy overhead, bench/bench_bands.py).
Every field
of these models is monotone in each efficiency and overhead (a sum or max of terms each falling with
an efficiency and growing with an overhead), so the two corners bound the whole box of ranges.
An argument the caller gives explicitly is held at that value.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result
from mlsysim_core.units import Q_

from .domain import out_of_domain
from .ranges import RANGES


@cache
def _layout(solver_cls: Any, result_cls: type) -> tuple[list[str], list[tuple[str, str, Any, float]]]:
    """The names of solve()'s parameters in order and (field, stored attribute, unit, SI -> unit factor)
    of the solver's ``band_fields`` (every measured field if it declares none)."""
    wanted = getattr(solver_cls, "band_fields", None)
    measured = [
        (f.alias, f.name, f.metadata["mlsysim_unit"], f.metadata["si_factor"])
        for f in attrs.fields(result_cls)
        if "mlsysim_unit" in (f.metadata or {}) and (wanted is None or f.alias in wanted)
    ]
    return list(inspect.signature(solver_cls.solve).parameters)[1:], measured  # without self


class Bands(Mapping):
    """field -> (low, high) Quantities in the field's unit, built on access from SI floats."""

    def __init__(self, si: dict[str, tuple[float, float, Any, float]]):
        self._si = si

    def __getitem__(self, name: str) -> tuple[Any, Any]:
        lo, hi, unit, factor = self._si[name]
        return Q_(lo * factor, unit), Q_(hi * factor, unit)

    def __iter__(self) -> Iterator[str]:
        return iter(self._si)

    def __len__(self) -> int:
        return len(self._si)


def banded(solver: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``solver.solve(*args, **kwargs)`` with ``bands`` (field -> (low, high) Quantities, every
    measured field the ranges move) and ``out_of_domain`` (why lines) filled in."""
    solver = solver() if isinstance(solver, type) else solver
    declared = getattr(type(solver), "band_arguments", None)
    if not declared:
        raise InvalidInputError(
            "solver", type(solver).__name__, "a solver declaring band_arguments (e.g. ServingModel)"
        )
    nominal: Result = solver.solve(*args, **kwargs)
    names, measured = _layout(type(solver), type(nominal))  # type: ignore[arg-type]  # classes are hashable
    given = dict(zip(names, args), **kwargs)  # solve() accepted them: no name twice
    fast, slow = dict(given), dict(given)
    calibration = getattr(given.get("hardware"), "calibration", None)
    for arg, field in declared.items():
        if given.get(arg) is None:
            fast[arg], slow[arg] = RANGES[arg].corners(nominal.si(field), calibration)
    one, other = solver.solve(**fast), solver.solve(**slow)
    si = {}
    mids, ones, others = vars(nominal), vars(one), vars(other)  # @result classes store fields in __dict__
    for name, stored, unit, factor in measured:
        mid = mids[stored]
        if mid is not None and not mid == ones[stored] == others[stored]:
            si[name] = (min(mid, ones[stored], others[stored]), max(mid, ones[stored], others[stored]), unit, factor)
    return nominal.with_bands(Bands(si), out_of_domain(type(solver).__name__, given))
