"""Bands on every point of a sweep: the solver's own sweep at the corners of the efficiency ranges.

:func:`banded_sweep` solves the grid (``mlsysim_core.sweep``), then evaluates each block of points the
sweep engine solves at once (one value of each looped argument, the vector arguments as arrays) twice
more through the solver's own ``sweep_columns``: with the declared efficiencies, overheads, banded
inputs and ranged catalog numbers the caller left out at their fast and at their slow corner. The
corner values are :func:`.bands.corner_arguments`'s, asked once per distinct set of values the block's
points used (the points sharing them share one corner call). Each point's band is then what
:func:`.bands.banded` gives its ``solve()``: the hull of the nominal, the two corners and the
model-error interval of the field's class in the point's regime, the class's widest where the point is
out of domain (:func:`.sweep_domain.sweep_lines`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.sweep import DEFAULT_CHUNK, SweepResult, _Plan, _solver_class, solve_each, sweep

from .bands import _SAME, _declared, _measured, _solver_name, _with_error, corner_arguments
from .domain import input_lines
from .model_error import CALIBRATED, calibrated, regimes
from .sweep_domain import sweep_lines

#: what :func:`.model_error.regimes` reads of an overloaded point's result
_OVERLOADED = SimpleNamespace(overloaded=True)


class SweepBands(Mapping):
    """field -> (low, high) Quantity arrays over a sweep's points, in its row order (NaN where a point has
    no band: not solved, or no width); ``si(field)``: the SI arrays; ``out_of_domain[i]``: point i's why
    lines (as its ``solve()`` result answers them); ``point(i)``: point i's bands, ``{field: (low, high)}``
    in SI, only the fields with a band (as a banded ``solve()``'s ``bands`` holds them)."""

    def __init__(self, result: SweepResult, si: dict[str, tuple[Any, Any]], lines: tuple[list, Any]):
        self._result, self._si = result, si
        self.lines = lines  # (the distinct tuples of lines, each point's index into them): sweep_lines's

    @functools.cached_property
    def out_of_domain(self) -> list[tuple[str, ...]]:
        distinct, which = self.lines
        return [distinct[k] for k in which.tolist()]

    def si(self, name: str) -> tuple[Any, Any]:
        return self._si[name]

    def magnitude(self, name: str, rows: Any = slice(None)) -> tuple[Any, Any]:
        """(low, high) of ``name`` at ``rows`` as plain numbers in its column's unit (``SweepResult.unit``)."""
        lo, hi = self._si[name]
        if self._result.unit(name) is None:  # a plain number (a fraction a solver names in band_fields)
            return lo[rows], hi[rows]
        f = self._result._units[name][1]  # the factor from SI to the column's unit
        return lo[rows] * f, hi[rows] * f

    def __getitem__(self, name: str) -> tuple[Any, Any]:
        from mlsysim_core.units import Q_

        lo, hi = self.magnitude(name)
        unit = self._result.unit(name)
        return (lo, hi) if unit is None else (Q_(lo, unit), Q_(hi, unit))

    def __iter__(self) -> Iterator[str]:
        return iter(self._si)

    def __len__(self) -> int:
        return len(self._si)

    def point(self, i: int) -> dict[str, tuple[float, float]]:
        return {k: (float(lo[i]), float(hi[i])) for k, (lo, hi) in self._si.items() if lo[i] == lo[i]}


def banded_sweep(solver: Any, /, *, chunk_size: int | None = None, progress: Any = None, **grid: Any) -> SweepResult:
    """``mlsysim_core.sweep.sweep(solver, **grid)`` with ``bands`` (:class:`SweepBands`): each point's band
    as :func:`.bands.banded` gives its ``solve()``, through the solver's own sweep at the corners
    (``progress``: the nominal sweep's)."""
    cls = _solver_class(solver)
    arguments, inputs, ends, _ = _declared(cls)
    if not (arguments or inputs or ends):
        raise InvalidInputError(
            "solver", cls.__name__, "a solver declaring band_arguments, band_inputs or band_catalog (e.g. ServingModel)"
        )
    nominal = sweep(cls, chunk_size=chunk_size, progress=progress, **grid)
    distinct, which = sweep_lines(nominal, carried(cls, grid))
    # a solver taking banded inputs states their lines: its own interval stays in domain (as banded's)
    outside = np.array([bool(lines) and not inputs for lines in distinct], dtype=bool)[which]
    produces = getattr(cls, "produces", None)
    measured = _measured(cls, produces)
    n = len(nominal)
    lo = {name: np.full(n, np.nan) for name, _, _ in measured}
    hi = {name: np.full(n, np.nan) for name, _, _ in measured}
    mids = {name: _floats(nominal.si(name)) for name, _, _ in measured if name in nominal.fields()}
    over = nominal.si("overloaded").astype(bool) if "overloaded" in nominal.fields() else np.zeros(n, dtype=bool)
    solver_obj, name_ = cls(), _solver_name(cls)
    for first, size, args, vec, given in _blocks(_Plan(cls, grid), chunk_size or DEFAULT_CHUNK, grid):
        span = slice(first, first + size)
        for idx, fast, slow in _corners(cls, produces, nominal, span, given):
            one, other = (_solve(solver_obj, produces, idx, size, vec, args, moved, mids) for moved in (fast, slow))
            at = first + idx
            kind = outside[at] * 2 + over[at]  # out of domain, overloaded
            for k in np.unique(kind).tolist():
                sub, out, ovl = kind == k, k >= 2, k % 2 == 1
                regime = regimes(name_, given, _OVERLOADED if ovl else None)
                fit = calibrated(given) if CALIBRATED in regime else None
                for name, _, unit, f, floor in _with_error(cls, produces, regime, out, fit)[0]:
                    if name in mids:
                        base = 0.0 if floor is None else floor if floor.__class__ is float else mids[floor[0]][at[sub]]
                        _hull(
                            lo[name],
                            hi[name],
                            at[sub],
                            mids[name][at[sub]],
                            one[name][sub],
                            other[name][sub],
                            f,
                            unit,
                            base,
                        )
    si = {}
    for name in lo:
        width = hi[name] - lo[name] > _SAME * np.abs(hi[name])
        if width.any():
            si[name] = (np.where(width, lo[name], np.nan), np.where(width, hi[name], np.nan))
    nominal.bands = SweepBands(nominal, si, (distinct, which))  # type: ignore[attr-defined]
    return nominal


def carried(solver: Any, grid: dict[str, Any]) -> list[tuple[slice, tuple[str, ...]]]:
    """(rows, the out-of-domain lines of the input results they were solved from) per block of a sweep of
    ``solver`` over ``grid``, for a solver taking banded inputs (``band_inputs``: a fleet solver's workload,
    which no column of the sweep holds; :func:`.domain.input_lines`); [] for any other."""
    cls = _solver_class(solver)
    inputs = _declared(cls)[1]
    if not inputs:
        return []
    return [
        (slice(first, first + size), input_lines({arg: args.get(arg) for arg in inputs}))
        for first, size, args, _, _ in _blocks(_Plan(cls, grid), DEFAULT_CHUNK, grid)
    ]


def _blocks(plan: _Plan, chunk: int, grid: dict[str, Any]) -> Iterator[tuple[int, int, dict, dict, dict]]:
    """(first point, points, arguments, vector arguments, the arguments the caller gave) of each block the
    sweep engine solves at once (``mlsysim_core.sweep``'s order: the looped arguments slowest); a vector
    argument the caller gave stands in ``given`` as its block's first value (given: held, never moved)."""
    nv = plan.n_vector
    for g in range(math.prod(plan.group_shape)):
        for lo in range(0, nv, chunk):
            hi = min(lo + chunk, nv)
            args, vec = plan.block(g, lo, hi)
            given = {k: args[k] for k in grid if k in args} | {k: v[0].item() for k, v in vec.items() if k in grid}
            yield g * nv + lo, hi - lo, args, vec, given


def _corners(cls: Any, produces: Any, nominal: SweepResult, span: slice, given: dict) -> Iterator[tuple]:
    """(indices in the block, fast moves, slow moves) per distinct set of values the block's solved points
    used (``band_arguments``' result fields, and ``band_sources``' fields naming where they came from): the arguments
    :func:`.bands.corner_arguments` moves for a result holding those values, as ``{argument: value}`` (None: nothing
    moves)."""
    stored = {f.alias: f.name for f in _attrs_fields(produces)}
    heads = [head for _, _, _, head, _, _ in _declared(cls)[0]]
    heads += list(getattr(cls, "band_sources", {}).values())  # where a value used came from (a band input: held)
    ok = np.flatnonzero(nominal.valid[span])
    for key, idx in _distinct([nominal.si(head)[span][ok] for head in heads], ok):
        held = object.__new__(produces)  # a result holding only the values used: what corner_arguments reads
        held.__dict__.update({stored[h]: v for h, v in zip(heads, key)})
        moves = corner_arguments(cls, held, given)
        fast, slow = (None, None) if moves is None else (_moved(m, given) for m in moves)
        yield idx, fast, slow


def _distinct(columns: list, rows: Any) -> list[tuple[tuple, Any]]:
    """(values, the ``rows`` holding them) per distinct row of ``columns`` (the values used at ``rows``)."""
    if not len(rows):
        return []
    if all(len(c) and (c == c[0]).all() for c in columns):  # one set of values (a block of one hardware)
        return [(tuple(c[0] for c in columns), rows)]
    try:
        values, inverse = np.unique(np.stack([c.astype(float) for c in columns], axis=1), axis=0, return_inverse=True)
    except (TypeError, ValueError):  # an efficiency object: grouped by its value
        groups: dict[tuple, list[int]] = {}
        for i, key in zip(rows.tolist(), zip(*(c.tolist() for c in columns))):
            groups.setdefault(key, []).append(i)
        return [(key, np.asarray(idx, dtype=np.intp)) for key, idx in groups.items()]
    inverse = inverse.ravel()
    return [(tuple(v.tolist()), rows[inverse == k]) for k, v in enumerate(values)]


def _moved(arguments: dict, given: dict) -> dict:
    """The entries of ``arguments`` (given, some moved to a corner) that differ from ``given``."""
    return {k: v for k, v in arguments.items() if k not in given or v is not given[k]}


def _solve(
    solver: Any, produces: Any, idx: Any, size: int, vec: dict, args: dict, moved: dict | None, mids: dict
) -> dict:
    """The band fields (SI floats, NaN where a point is not solved) of the block's points ``idx`` solved by the
    solver's own ``sweep_columns`` with ``moved`` replacing their arguments (None: the nominal's values)."""
    m = len(idx)
    if moved is None:
        return {name: np.full(m, np.nan) for name in mids}
    sub = vec if m == size else {k: v[idx] for k, v in vec.items()}
    columns = getattr(solver, "sweep_columns", None)
    try:
        with np.errstate(all="ignore"):
            cols = (
                columns(m, sub, args | moved)
                if callable(columns)
                else solve_each(solver, produces, args | moved, sub, m)[0]
            )
    except InvalidInputError:
        return {name: np.full(m, np.nan) for name in mids}
    valid = np.broadcast_to(np.asarray(cols.get("valid", True), dtype=bool), (m,))
    return {name: np.where(valid, np.broadcast_to(_floats(np.asarray(cols.get(name))), (m,)), np.nan) for name in mids}


def _hull(lo: Any, hi: Any, at: Any, mid: Any, a: Any, b: Any, f: float | None, unit: str, base: Any = 0.0) -> None:
    """Points ``at``'s bands into ``lo``/``hi``: :func:`.bands._spans` on arrays, the hull of the nominal ``mid``
    and the corners ``a``, ``b`` (a corner not solved: none) and, with ``f``, [mid / f, mid * f] (of the distance
    d from ``base``, the row's floor: [base + d / f, base + d * f]); a plain-number field (a fraction) stays in
    [0, 1]."""
    none = np.isnan(a) | np.isnan(b)
    a, b = np.where(none, mid, a), np.where(none, mid, b)
    low, high = np.minimum(np.minimum(mid, a), b), np.maximum(np.maximum(mid, a), b)
    if f is not None:
        d = mid - base
        up = d > 0.0
        low = np.minimum(low, base + np.where(up, d / f, d * f))
        high = np.maximum(high, base + np.where(up, d * f, d / f))
        if unit == "":  # a fraction: within [0, 1]
            high = np.where((high > 1.0) & (mid <= 1.0), 1.0, high)
            low = np.where((low < 0.0) & (mid >= 0.0), 0.0, low)
    lo[at], hi[at] = low, high


def _floats(column: Any) -> Any:
    """A column as float64, NaN for None."""
    column = np.asarray(column)
    if column.dtype.kind in "biuf":
        return column.astype(float)
    return np.array([np.nan if v is None else v for v in column.ravel().tolist()], dtype=float).reshape(column.shape)


def _attrs_fields(produces: Any) -> Any:
    import attrs

    return attrs.fields(produces)
