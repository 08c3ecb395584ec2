"""Out of domain: inputs beyond what the calibration set measured, as "why" lines.

``data/domain.json`` lists, per solver, the hardware, precisions, batch sizes and context lengths
(prompt + output tokens) of the calibration points it predicts; ``tools/calibration_domain.py`` writes it from
``mlsysim validate``'s mappings (:func:`recorder`, :func:`spans`) and a test checks it is current. A
result is out of domain when its hardware or precision was never measured, or its batch or context
lies more than ``FAR`` times beyond the measured span: its band then rests on ranges nobody checked
there, and its model-error interval is the class's widest (``model_error.factor``). Every result asks
:func:`check` on its first ``out_of_domain`` read (the host's ``mlsysim_domain_checks`` hook, which the
default catalog's provider answers), with bands or without; the check and the recorder read the same
fields of a result (:func:`query`).
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
    """``original`` (a solve method) recording the hardware, precision, batch and context (:func:`query`)
    of each feasible call's result in ``calls`` (a probe of the largest batch that fits is not a measured point)."""

    def record(self: Any, *args: Any, **kw: Any) -> Any:
        result = original(self, *args, **kw)
        if getattr(result, "feasible", True):
            hw, precision, batch, context = query(result)
            calls.append({"hardware": hw, "precision": precision, "batch": batch, "context": context})
        return result

    return record


def _span(what: str, value: float, lo: float, hi: float) -> list[str]:
    if lo / FAR <= value <= hi * FAR:
        return []
    return [f"{what} {value:g} is more than {FAR:g}x outside the measured {lo:g}..{hi:g}"]


def query(result: Any) -> tuple[str | None, str | None, int, int | None]:
    """(hardware name, precision, batch, context) of the call that gave ``result``, read from its fields: its
    ``hardware`` (a name) or its ``fleet``'s accelerator, the weights' ``precision``, the sequences in flight
    (``batch_size`` x ``beam_width``; a training step's ``global_batch_size``) and the context
    (``seq_len`` + ``output_len``; no sequence: None, nothing to check)."""
    hw = getattr(result, "hardware", None)
    if hw is None and getattr(result, "fleet", None) is not None:
        hw = result.fleet.accelerator.name
    batch = getattr(result, "batch_size", None) or getattr(result, "global_batch_size", None) or 1
    seq, output = getattr(result, "seq_len", None), getattr(result, "output_len", None)
    context = None if seq is None else seq + (output or 0)  # no output_len: the prompt only
    return hw, getattr(result, "precision", None), batch * getattr(result, "beam_width", 1), context


def check(result: Any) -> tuple[str, ...]:
    """Why lines of ``result`` (a solver's answer) outside the calibration set: its solver's own domain
    (:func:`query` against ``data/domain.json``); "no calibration points" for a solver that has none; for a
    solver whose domain is its input results' (``band_inputs``), their lines ("workload: ..."), from the
    inputs the result keeps (``mlsysim_fleet.inputs.carrying``). Read on a result's first ``out_of_domain``
    (the ``mlsysim_domain_checks`` hook)."""
    solver = result.solver
    if _carried(solver):
        return input_lines(getattr(result, "_inputs", {}))
    if getattr(result, "prefill_hardware", None) is not None:  # disaggregated: the lines of each pool
        return tuple(
            f"{pool} pool: {line}"
            for pool in ("prefill", "decode")
            for line in _lines(solver, getattr(result, f"{pool}_hardware"), *query(result)[1:])
        )
    return _lines(solver, *query(result))


def input_lines(inputs: dict[str, Any]) -> tuple[str, ...]:
    """The out-of-domain lines of the input results ``inputs`` (argument -> result), each after its argument."""
    return tuple(f"{arg}: {line}" for arg, given in inputs.items() for line in getattr(given, "out_of_domain", ()))


@lru_cache(maxsize=64)
def _carried(solver: str) -> bool:
    """Whether the installed solver called ``solver`` takes its domain from its input results (``band_inputs``)."""
    from mlsysim_core import plugins

    return solver in plugins.solvers() and bool(getattr(plugins.get_solver(solver), "band_inputs", None))


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
