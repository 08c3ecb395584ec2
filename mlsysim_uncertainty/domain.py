"""Out of domain: inputs beyond what the calibration set measured, as "why" lines.

``data/domain.json`` lists, per solver, the hardware, precisions, batch sizes and context lengths
(prompt + output tokens) of the calibration points it predicts; ``tools/calibration_domain.py`` writes it from
``mlsysim validate``'s mappings (:func:`recorder`, :func:`spans`) and a test checks it is current. A
result is out of domain when its hardware or precision was never measured, or its batch or context
lies more than ``FAR`` times beyond the measured span: its band then rests on ranges nobody checked
there, and its model-error interval is the class's widest (``model_error.factor``).
"""

from __future__ import annotations

import inspect
import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

#: How far beyond the measured span (a factor either way) a batch or context is still "near".
FAR = 4.0


@cache
def measured() -> dict:
    """The calibration set's domain per solver (``data/domain.json``)."""
    return json.loads(resources.files("mlsysim_uncertainty").joinpath("data", "domain.json").read_text())


def _summary(calls: list[dict]) -> dict:
    contexts = [c["context"] for c in calls if c["context"] is not None]
    return {
        "precisions": sorted({c["precision"] for c in calls}),
        "batch": [min(c["batch"] for c in calls), max(c["batch"] for c in calls)],
        "context": [min(contexts), max(contexts)] if contexts else None,
    }


def spans(calls: list[dict]) -> dict:
    """One solver's domain from the ``calls`` :func:`recorder` made: {"hardware": {name: span}, "all":
    span}, a span the precisions and the batch and context ranges of those calls."""
    by_hw: dict[str, list[dict]] = {}
    for c in calls:
        by_hw.setdefault(c["hardware"], []).append(c)
    return {"hardware": {h: _summary(cs) for h, cs in sorted(by_hw.items())}, "all": _summary(calls)}


def recorder(original: Any, calls: list[dict]) -> Any:
    """``original`` (a solve method) recording the hardware, precision, batch and context of each
    feasible call in ``calls`` (a probe of the largest batch that fits is not a measured point)."""
    signature = inspect.signature(original)

    def record(self: Any, *args: Any, **kw: Any) -> Any:
        result = original(self, *args, **kw)
        if not getattr(result, "feasible", True):
            return result
        a = signature.bind(self, *args, **kw).arguments
        hw = a["hardware"] if "hardware" in a else a["fleet"].accelerator
        seq = getattr(result, "seq_len", None)
        calls.append(
            {
                "hardware": hw.name,
                "precision": a.get("precision") or hw.precision_or_default(None)[0],
                "batch": a.get("batch_size", 1) * a.get("beam_width", 1),
                "context": None if seq is None else seq + (a.get("output_len") or 0),
            }
        )
        return result

    return record


def _span(what: str, value: float, lo: float, hi: float) -> list[str]:
    if lo / FAR <= value <= hi * FAR:
        return []
    return [f"{what} {value:g} is more than {FAR:g}x outside the measured {lo:g}..{hi:g}"]


def query(given: dict[str, Any], result: Any = None) -> tuple[str | None, str | None, int, int | None]:
    """(hardware name, precision, batch (x beams), context) of a call with the arguments ``given`` that gave
    ``result`` (the hardware of a ``fleet`` is its accelerator; the sequence length is the result's where
    none was given; none at all: no context to check)."""
    if given.get("seq_len") is None and getattr(result, "seq_len", None) is not None:
        given = dict(given, seq_len=result.seq_len)
    hardware: Any = given.get("hardware")
    if hardware is None and given.get("fleet") is not None:
        hardware = given["fleet"].accelerator
    precision = given.get("precision")
    if precision is None and hasattr(hardware, "precision_or_default"):
        precision = hardware.precision_or_default(None)[0]
    seq, output = given.get("seq_len"), given.get("output_len")
    context = None if seq is None else seq + (0 if output is None else output)  # no output_len: the prompt only
    batch = given.get("batch_size", 1) * given.get("beam_width", 1)  # sequences in flight, as recorder counts them
    return getattr(hardware, "name", None), precision, batch, context


def out_of_domain(solver: str, given: dict[str, Any], result: Any = None) -> tuple[str, ...]:
    """Why lines for the arguments ``given`` to ``solver`` (that gave ``result``) outside the calibration set."""
    return _lines(solver, *query(given, result))


@lru_cache(maxsize=4096)
def _lines(solver: str, hw: str | None, precision: str | None, batch: int, context: int | None) -> tuple[str, ...]:
    dom = measured().get(solver)
    if dom is None:
        return (f"{solver} has no calibration points",)
    return lines(dom, hw, precision, batch, context)


def lines(dom: dict, hw: str | None, precision: str | None, batch: int, context: int | None) -> tuple[str, ...]:
    """Why lines of a call (:func:`query`) outside the domain ``dom`` of its solver (:func:`spans`)."""
    out = []
    seen = dom["hardware"].get(hw)
    if seen is None:
        out.append(f"hardware {hw} was never measured (calibration set: {', '.join(sorted(dom['hardware']))})")
        seen = dom["all"]
    if precision not in seen["precisions"]:
        out.append(f"precision {precision} was never measured on {hw} (measured: {', '.join(seen['precisions'])})")
    out += _span("batch", batch, *seen["batch"])
    if context is not None and seen["context"] is not None:
        out += _span("context (prompt + output tokens)", context, *seen["context"])
    return tuple(out)
