"""Out of domain: inputs beyond what the calibration set measured, as "why" lines.

``data/domain.json`` lists, per solver, the hardware, precisions, batch sizes and context lengths
(prompt + output tokens) of the calibration points it predicts; ``tools/domain.py`` writes it from
``mlsysim validate``'s mappings and a test checks it is current. A result is out of domain when its
hardware or precision was never measured, or its batch or context lies more than ``FAR`` times
beyond the measured span: its band then rests on ranges nobody checked there.
"""

from __future__ import annotations

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


def _span(what: str, value: float, lo: float, hi: float) -> list[str]:
    if lo / FAR <= value <= hi * FAR:
        return []
    return [f"{what} {value:g} is more than {FAR:g}x outside the measured {lo:g}..{hi:g}"]


def out_of_domain(solver: str, given: dict[str, Any]) -> tuple[str, ...]:
    """Why lines for the arguments ``given`` to ``solver`` that lie outside the calibration set (the
    hardware of a ``fleet`` is its accelerator; no ``seq_len``: no context to check)."""
    hardware: Any = given.get("hardware")
    if hardware is None and given.get("fleet") is not None:
        hardware = given["fleet"].accelerator
    precision = given.get("precision")
    if precision is None and hasattr(hardware, "precision_or_default"):
        precision = hardware.precision_or_default(None)[0]
    seq, output = given.get("seq_len"), given.get("output_len")
    context = None if seq is None else seq + (0 if output is None else output)  # no output_len: the prompt only
    return _lines(solver, getattr(hardware, "name", None), precision, given.get("batch_size", 1), context)


@lru_cache(maxsize=4096)
def _lines(solver: str, hw: str | None, precision: str | None, batch: int, context: int | None) -> tuple[str, ...]:
    dom = measured().get(solver)
    if dom is None:
        return (f"{solver} has no calibration points",)
    lines = []
    seen = dom["hardware"].get(hw)
    if seen is None:
        lines.append(f"hardware {hw} was never measured (calibration set: {', '.join(sorted(dom['hardware']))})")
        seen = dom["all"]
    if precision not in seen["precisions"]:
        lines.append(f"precision {precision} was never measured on {hw} (measured: {', '.join(seen['precisions'])})")
    lines += _span("batch", batch, *seen["batch"])
    if context is not None and seen["context"] is not None:
        lines += _span("context (prompt + output tokens)", context, *seen["context"])
    return tuple(lines)
