"""Many layouts in one sweep block: the distinct layouts among a block's points, each prepared once, and
their per-layout values (degrees, links, model-state memory) stacked into per-point arrays so that one
call of the step kernel evaluates the points of every layout that takes the same branches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: _Group slots that are not numbers the step kernel reads (texts, dicts, tuples, band corner layouts): never stacked
_NOT_STACKED = frozenset({"notes", "warning", "parallelism", "fields", "acc_name", "corners"})
_UNSET = object()


def distinct(vectors: dict[str, np.ndarray], names: Sequence[str], n: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The distinct combinations of the arguments ``names`` found in ``vectors`` (each a dict of plain
    Python values, as solve() would get them) and, per point, the index of its combination."""
    present = [k for k in names if k in vectors]
    if not present:
        return [{}], np.zeros(n, dtype=np.intp)
    values, index = [], []
    for k in present:
        u, i = np.unique(vectors[k], return_inverse=True)
        values.append(u.tolist())
        index.append(i.ravel())
    dims = tuple(len(u) for u in values)
    codes, combo = np.unique(np.ravel_multi_index(index, dims), return_inverse=True)
    per_axis = [[u[j] for j in a.tolist()] for u, a in zip(values, np.unravel_index(codes, dims))]
    return [dict(zip(present, row)) for row in zip(*per_axis)], combo.ravel()


def stack(groups: Sequence[Any], rows: np.ndarray) -> Any:
    """One group object for the points whose layouts are ``rows`` (indices into ``groups``): a number that
    all those layouts share stays one number, one that differs becomes an array with a value per point."""
    used, inverse = np.unique(rows, return_inverse=True)
    members = [groups[j] for j in used.tolist()]
    out = type(members[0])()
    for slot in type(out).__slots__:
        if slot in _NOT_STACKED:
            continue
        values = [getattr(g, slot, _UNSET) for g in members]
        first = values[0]
        if first is _UNSET:  # a slot this kind of workload does not use (e.g. layers of a CNN)
            continue
        if all(v is first or v == first for v in values):
            setattr(out, slot, first)
        else:
            setattr(out, slot, np.asarray(values)[inverse.ravel()])
    return out


def column(values: list[Any], combo: np.ndarray) -> Any:
    """A per-layout value as a result column: one value when every prepared layout (not None) has the
    same, else one per point: floats (NaN for the layouts that failed their checks) when the values are
    numbers, else objects (None for those)."""
    known = [v for v in values if v is not None]
    first = known[0]
    if all(v is first or (type(v) is type(first) and v == first) for v in known):
        return first
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in known):
        return np.array([np.nan if v is None else v for v in values], dtype=float)[combo]
    return objects(values)[combo]


def objects(values: list[Any]) -> np.ndarray:
    """An object array holding each of ``values`` as one element (tuples and dicts included)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def per_pair(layout: np.ndarray, x: np.ndarray, fn: Callable[[int, float], Any]) -> np.ndarray:
    """``fn(layout, x)`` at every point, computed once per distinct (layout, x) pair."""
    memo: dict[tuple[int, float], Any] = {}
    out = []
    for key in zip(layout.tolist(), x.tolist()):
        v = memo.get(key)
        if v is None:
            v = memo[key] = fn(*key)
        out.append(v)
    return objects(out)


def take(x: Any, rows: np.ndarray) -> Any:
    """``x`` at ``rows`` when it has a value per point, else ``x``."""
    return x[rows] if isinstance(x, np.ndarray) else x


def scatter(columns: dict[str, Any], values: dict[str, Any], rows: np.ndarray, n: int) -> None:
    """Write the kernel's answers at ``rows`` into ``columns`` (n points each: NaN, or False for flags,
    where nothing was written); an answer that is None (not computed for this group) stays None."""
    for name, v in values.items():
        if v is None:
            columns.setdefault(name, None)
            continue
        col = columns.get(name)
        if col is None:
            kind = np.asarray(v).dtype.kind
            col = columns[name] = np.zeros(n, dtype=bool) if kind == "b" else np.full(n, np.nan)
        col[rows] = v
