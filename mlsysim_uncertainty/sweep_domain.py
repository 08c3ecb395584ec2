"""Out of domain on every point of a sweep: the lines each point's ``solve()`` result answers
(``Result.out_of_domain``: the host's ``mlsysim_domain_checks``), found without asking per point.

:func:`sweep_lines` asks the checks of a row read as a result (:class:`_Reading`, which records the
fields a check reads). A check's lines are a function of what it reads, so the points agreeing on every
field read at one point share its lines: the checks run once per distinct value of what they read. The
default catalog's check (:func:`.domain.check`) is asked once per distinct hardware, precision and
out-of-span batch or context instead (:func:`_by_query`): a batch or context inside its measured span
adds no line, so every such value reads as the span's low end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .domain import _carried, _lines, _span, check, measured


def sweep_lines(
    result: Any, carried: Sequence[tuple[slice, tuple[str, ...]]] = ()
) -> tuple[list[tuple[str, ...]], Any]:
    """The ``out_of_domain`` lines of every point of ``result`` (a ``mlsysim_core.sweep.SweepResult``) as each
    point's ``solve()`` result answers them: (the distinct tuples of lines, the index into them of each
    point; a point not solved: ``()``, index 0). ``carried``: (rows, lines) of the input results the rows
    were solved from (a fleet solver's workload, which no column holds: :func:`.sweep_bands.carried`)."""
    from mlsysim_core.plugins import host

    distinct: list[tuple[str, ...]] = [()]
    which = np.zeros(len(result), dtype=np.intp)
    found: dict[tuple[str, ...], int] = {(): 0}

    def keep(rows: Any, lines: tuple[str, ...]) -> None:
        k = found.get(lines)
        if k is None:
            k = found[lines] = len(distinct)
            distinct.append(lines)
        which[rows] = k

    def resolve(rows: Any, known: frozenset) -> None:
        reading = _Reading(result, int(rows[0]))
        lines = host().out_of_domain(reading)
        keys = known | reading.read
        if keys == known:  # every point here agrees on what the checks read
            keep(rows, lines)
            return
        for group in _groups(rows, [result.si(name)[rows] for name in sorted(keys)]):
            resolve(group, keys)

    valid = np.flatnonzero(result.valid)
    if not valid.size:
        return distinct, which
    checks = [c for _, c in host().call_hook("mlsysim_domain_checks")]
    queried = _by_query(result, valid) if checks == [check] else None
    if queried is None:
        resolve(valid, frozenset())
    else:
        for rows, lines in queried:
            keep(rows, lines)
    for span, lines in carried:  # after the rows' own lines, as a solve() result states them
        rows = span.start + np.flatnonzero(result.valid[span])
        for k in np.unique(which[rows]).tolist() if lines else ():
            keep(rows[which[rows] == k], distinct[k] + lines)
    return distinct, which


class _Reading:
    """Row ``row`` of a sweep read as a result by a domain check: ``solver`` and each field as stored (SI
    floats, plain values), the names read kept in ``read`` (a field the sweep has no column of: absent)."""

    def __init__(self, result: Any, row: int):
        self.solver, self._result, self._row = result.solver, result, row
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            column = self._result.si(name)
        except KeyError:
            raise AttributeError(name) from None
        self.read.add(name)
        value = column[self._row]
        return value.item() if hasattr(value, "item") else value


def _by_query(result: Any, rows: Any) -> list[tuple[Any, tuple[str, ...]]] | None:
    """(rows, lines) of :func:`.domain.check` at ``rows``, read from the columns :func:`.domain.query` reads;
    None where the check reads more (a fleet solver's, a disaggregated point's pools): ask it per row."""
    solver = result.solver
    if _carried(solver) or not (_column(result, "prefill_hardware", rows) == None).all():  # noqa: E711 (arrays)
        return None
    hw = _column(result, "hardware", rows)
    fleet = _column(result, "fleet", rows)
    if (hw == None).any():  # noqa: E711 (arrays)
        names = {id(f): None if f is None else f.accelerator.name for f in fleet.tolist()}
        hw = np.array([names[id(f)] if h is None else h for h, f in zip(hw.tolist(), fleet.tolist())], dtype=object)
    batch = _number(result, "batch_size", rows, 0.0)
    batch = np.where(batch != 0, batch, _number(result, "global_batch_size", rows, 0.0))
    batch = np.where(batch != 0, batch, 1.0) * _number(result, "beam_width", rows, 1.0)
    seq = _number(result, "seq_len", rows, np.nan)
    context = seq + np.where(np.isnan(out := _number(result, "output_len", rows, np.nan)), 0.0, out)
    precision = _column(result, "precision", rows)
    dom = measured().get(solver)
    found = []
    for group in _groups(np.arange(len(rows)), [hw, precision]):
        h, p = hw[group[0]], precision[group[0]]
        seen = None if dom is None else dom["hardware"].get(h, dom["all"])
        b, c = batch[group], context[group]
        if seen is not None:  # a value inside its span adds no line: each reads as the span's low end
            b = _inside(b, "batch", seen["batch"])
            if seen["context"] is not None:
                c = _inside(c, "context (prompt + output tokens)", seen["context"])
        for same in _groups(group, [b, c]):
            at = np.searchsorted(group, same[0])
            lines = _lines(solver, h, p, _plain(b[at]), None if np.isnan(c[at]) else _plain(c[at]))
            found.append((rows[same], lines))
    return found


def _inside(values: Any, what: str, span: list) -> Any:
    """``values`` with each one inside the measured ``span`` (no line: :func:`.domain._span`) read as its low end."""
    distinct, inverse = np.unique(values, return_inverse=True)
    inside = np.array([not _span(what, v, *span) for v in distinct.tolist()], dtype=bool)
    return np.where(inside[inverse.ravel()], float(span[0]), values)


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _column(result: Any, name: str, rows: Any) -> Any:
    """Column ``name`` at ``rows`` as Python values (None throughout where the sweep has no such column)."""
    try:
        return result.si(name)[rows].astype(object)
    except KeyError:
        return np.full(len(rows), None, dtype=object)


def _number(result: Any, name: str, rows: Any, missing: float) -> Any:
    """Column ``name`` at ``rows`` as floats, ``missing`` where a value is None (NaN) or the sweep has no such
    column."""
    try:
        column = result.si(name)[rows]
    except KeyError:
        return np.full(len(rows), missing)
    if column.dtype.kind in "biu":
        return column.astype(float)
    if column.dtype.kind == "f":
        return np.where(np.isnan(column), missing, column)
    return np.array([missing if v is None else v for v in column.tolist()], dtype=float)


def _groups(rows: Any, columns: list) -> list[Any]:
    """``rows`` split by the values of ``columns`` (each at ``rows``; each group's rows in order)."""
    key = np.zeros(len(rows), dtype=np.intp)
    for column in columns:
        code = _codes(column)
        key = np.unique(key * (int(code.max()) + 1) + code, return_inverse=True)[1].ravel()
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    return [rows[g] for g in np.split(order, starts[1:])]


def _codes(column: Any) -> Any:
    """A code per value of ``column``, equal where the values are: numpy's sort where they compare (numbers,
    strings), else a dictionary of the values (their identity where they cannot be hashed)."""
    if column.dtype.kind == "O" and len(column) and (column == column[0]).all():  # one value (a catalog name)
        return np.zeros(len(column), dtype=np.intp)
    if column.dtype.kind == "f":
        column = np.where(np.isnan(column), -np.inf, column)  # NaN (None): one value
    try:
        return np.unique(column, return_inverse=True)[1].ravel()
    except TypeError:  # values that do not compare (None beside a name, catalog objects)
        codes: dict = {}
        return np.fromiter((codes.setdefault(_hashable(v), len(codes)) for v in column), np.intp, len(column))


def _hashable(value: Any) -> Any:
    """``value`` as a dictionary key: itself, or its identity where it cannot be hashed."""
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value
