"""What a page answers: result rows with units, the reasons in words, charts and errors per field."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mlsysim

from .forms import one_line


@dataclass
class Row:
    """One result field: name, formatted number, unit, the exact magnitude (in ``unit``) and its doc."""

    name: str
    text: str
    unit: str = ""
    value: float | None = None
    doc: str = ""


@dataclass
class Block:
    """One solver's answer."""

    title: str
    rows: list[Row] = field(default_factory=list)
    more: list[Row] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    table: dict | None = None  # {"columns": [...], "rows": [[...]], "front": [bool]}


@dataclass
class Answer:
    blocks: list[Block] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (field, part name, catalog source)


def number(v: float) -> str:
    """Four significant figures, thousands separated from 10,000 (as the CLI prints)."""
    if not math.isfinite(v):
        return str(v)
    if v != 0 and 1e4 <= abs(v) < 1e15:
        return f"{float(f'{v:.4g}'):,.0f}"
    return f"{v:.4g}"


def _doc(result: Any, name: str) -> str:
    prop = getattr(type(result), name, None)
    return (prop.__doc__ or "") if isinstance(prop, property) else ""


def _band(result: Any, name: str, v: Any) -> str:
    """`` [low, high]`` of field ``name`` in ``v``'s unit where the result has a band for it, else ""."""
    band = getattr(result, "bands", {}).get(name)
    if band is None:
        return ""
    low, high = (float(b.to(v.units).magnitude) if isinstance(v, mlsysim.Quantity) else float(b) for b in band)
    return f" [{number(low)}, {number(high)}]"


def row(result: Any, name: str) -> Row:
    """Field ``name`` of ``result``, a number with its band as the command line shows it: "6.8 [5.9, 8.1]" ms."""
    v = getattr(result, name)
    doc = _doc(result, name)
    if isinstance(v, mlsysim.Quantity) and np.ndim(v.magnitude) == 0:
        m = float(v.magnitude)
        return Row(name, number(m) + _band(result, name, v), f"{v.units:~P}", m, doc)
    if isinstance(v, bool) or v is None:
        return Row(name, "-" if v is None else str(v), doc=doc)
    if isinstance(v, (int, float)):
        return Row(name, number(float(v)) + _band(result, name, v), "", float(v), doc)
    if isinstance(v, dict):
        return Row(name, " ".join(f"{k}={x}" for k, x in v.items()), doc=doc)
    if isinstance(v, (list, tuple)):
        return Row(name, "; ".join(str(x) for x in v) or "-", doc=doc)
    named = getattr(v, "name", None)
    return Row(name, named if isinstance(named, str) and not isinstance(v, str) else str(v), doc=doc)


def why(result: Any, warns: list[str]) -> list[str]:
    """The result's reasons in words: constraint trace, infeasibility reason, the band's model error, where the
    inputs lie outside the calibration set, notes, solver warnings."""
    out = list(getattr(result, "constraint_trace", None) or [])
    reason = getattr(result, "infeasible_reason", "")
    if reason:
        out.append(str(reason))
    out += [f"band: {line}" for line in getattr(getattr(result, "bands", None), "model_error", ())]
    out += [f"out of domain: {line}" for line in getattr(result, "out_of_domain", ())]
    out += [f"note: {n}" for n in (getattr(result, "notes", None) or ())]
    return out + [f"warning: {w}" for w in warns]


def block(title: str, result: Any, key: tuple = (), warns: list[str] | None = None) -> Block:
    names = result.fields()
    first = [n for n in key if n in names] or names
    return Block(
        title,
        [row(result, n) for n in first],
        [row(result, n) for n in names if n not in first],
        why(result, warns or []),
    )


def solving(cls: type) -> Callable[..., Any]:
    """How a page solves with ``cls``: with bands (``mlsysim_uncertainty.banded``) where the solver declares
    ranges or takes a banded input, as every built-in performance and fleet solver does, else ``solve()``.
    A configuration ``solve()`` answers but its bands refuse (ServingModel's ``disagg``: each pool runs at its
    own efficiencies) is answered without bands, with a warning line saying why."""
    if any(getattr(cls, d, None) for d in ("band_arguments", "band_catalog", "band_inputs")):
        from mlsysim_uncertainty import banded

        def answer(**kwargs: Any) -> Any:
            try:
                return banded(cls, **kwargs)
            except mlsysim.MlsysimError as refused:
                result = cls().solve(**kwargs)  # the input's own error, if solve() refuses it too
                warnings.warn(f"no bands: {one_line(refused)}", UserWarning, stacklevel=2)
                return result

        return answer
    return cls().solve


def run(fn: Callable[..., Any], kwargs: dict) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(**kwargs)
    return out, list(dict.fromkeys(one_line(w.message) for w in caught))
