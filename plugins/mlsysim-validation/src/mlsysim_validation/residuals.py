"""Group L's residuals (issue 15): the TTFT each loaded row misses (measured - modelled, ms), grouped by source and
engine version and set against what could produce it.

Each row's gap is compared with three scales the model itself gives for that row: the lone prefill (``ttft`` of the
same prompt at batch 1 on an idle engine: a prefill cost the model misses by a fraction f adds f lone prefills),
the modelled token gap at the row's load (``itl_mean``: a scheduler that holds a new request for k more steps adds
k of them) and the number of requests in the engine (``concurrency_mean``: a frontend that handles every running
request's streamed chunk, serially, before the new request's first chunk adds time proportional to it). A time
fixed per request (HTTP, chat template, tokenization) is the same at every load of one source. Group G's static
prefills on one H200 (same cost model, measured in this project, no frontend) bound the prefill-cost hypothesis:
:func:`prefill_shortfall`.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable

import attrs

from .serving_call import ServingCall

#: (family, test on the row id without its "L-" prefix), the first that matches; the families are the sources'
#: runs with one engine version and one client each (docs/accuracy.md, "Serving under load (issue 15)")
FAMILIES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("NIM 1.8.0, 200-1,000 tok, closed", lambda i: i.startswith("nim-") and int(_isl(i)) <= 1000),
    ("NIM 1.8.0, 5,000 tok, closed", lambda i: i.startswith("nim-") and int(_isl(i)) <= 5000),
    ("NIM 1.8.0, 20,000 tok, closed", lambda i: i.startswith("nim-")),
    ("GPUStack vLLM 0.11.0, closed", lambda i: i.startswith("gpustack-") and "-vllm-" in i),
    ("GPUStack SGLang/TRT-LLM, closed", lambda i: i.startswith("gpustack-")),
    ("vLLM 0.6.0 multi-step, open", lambda i: i.startswith("vllm060-")),
    ("SGLang 0.3.0, open", lambda i: i.startswith("sglang030-")),
    ("SGLang >= 0.3.6 on H200, open", lambda i: i.startswith("datacrunch-")),
    ("vLLM 0.5.4 on one core, open", lambda i: i.startswith("phala-")),
)


def _isl(row_id: str) -> str:
    found = re.search(r"-isl(\d+)-", row_id)
    if found is None:
        raise ValueError(f"{row_id}: no -islN- in the id")
    return found.group(1)


@attrs.frozen
class Residual:
    """One group L row: measured and modelled TTFT, the model's lone prefill and token gap (ms) at the row's load,
    its mean requests in the engine and its utilization."""

    id: str
    family: str
    measured: float
    modelled: float
    alone: float
    step: float
    in_engine: float
    utilization: float

    @property
    def gap(self) -> float:
        """Measured - modelled TTFT, ms."""
        return self.measured - self.modelled


def family(row_id: str) -> str:
    """The family of a group L row id (``L-...``)."""
    short = row_id.removeprefix("L-")
    for name, test in FAMILIES:
        if test(short):
            return name
    raise ValueError(f"{row_id}: no family in residuals.FAMILIES")


def alone(call: ServingCall) -> float:
    """The same prompt alone on an idle engine: ServingModel's TTFT at batch 1, no traffic (ms)."""
    settings = {k: v for k, v in call.arguments.items() if k not in ("concurrency", "arrival_rate", "length_cv")}
    return ServingCall(call.model, call.hardware, call.seq_len, "ttft", call.engine, settings, batch_size=1)()


def residuals() -> list[Residual]:
    """Every group L row's residual, in id order."""
    import mlsysim

    from . import points
    from .harness import added_measurements

    measured = {r["id"]: r["value"] for r in added_measurements() if r["group"] == "L"}
    maps = points.mappings()
    out = []
    for pid in sorted(measured):
        call = maps[pid].fn
        if not isinstance(call, ServingCall):
            raise TypeError(f"{pid}: its mapping is not a ServingCall")
        r = mlsysim.ServingModel().solve(
            getattr(mlsysim.Models.Language, call.model),
            getattr(mlsysim.Hardware.Cloud, call.hardware),
            call.seq_len,
            engine=call.engine,
            **call.arguments,
        )
        out.append(
            Residual(
                id=pid,
                family=family(pid),
                measured=measured[pid],
                modelled=float(getattr(r, call.field).to("ms").magnitude),
                alone=alone(call),
                step=float(r.itl_mean.to("ms").magnitude),
                in_engine=float(r.concurrency_mean),
                utilization=float(r.utilization),
            )
        )
    return out


def series(row_id: str) -> str:
    """The row's series: its id without the load (``-cN``, ``-rpsN``, ``-qpsN``), so one model, hardware, engine
    and length distribution at several loads."""
    return re.sub(r"-(?:c|rps|qps)\d+(?=-)", "", row_id)


def slopes(rows: Iterable[Residual]) -> list[tuple[float, Residual]]:
    """Per series of ``rows`` measured at two loads or more: the least-squares ms of gap per request in the engine,
    and the series' row at its largest load."""
    by_series: dict[str, list[Residual]] = {}
    for r in rows:
        by_series.setdefault(series(r.id), []).append(r)
    out = []
    for members in by_series.values():
        if len(members) >= 2:
            fit = statistics.linear_regression([r.in_engine for r in members], [r.gap for r in members])
            out.append((float(fit.slope), max(members, key=lambda r: r.in_engine)))
    return out


def chunk_load(slope: float, row: Residual) -> float:
    """The load a serial frontend stage would carry at ``row`` if ``slope`` came from it: a stage that handles every
    running request's streamed chunk once a step, c ms each, FIFO, makes a new request's first chunk wait half a
    step's chunks, N c / 2, so c = 2 slope; its load is then N c / step (above 1 it could not keep up, and the
    token gap the clients see would be its N c, not the engine's step)."""
    return row.in_engine * 2 * slope / row.step


def prefill_shortfall() -> float:
    """The largest share by which group G's measured static prefills (one H200, bare PyTorch) exceed the model's:
    max over the ``-prefill-`` TTFT rows of measured / modelled - 1."""
    from .harness import run

    rows = [r for r in run(groups=["G"]).rows if "-prefill-" in r.id and r.id.endswith("-ttft") and r.counted]
    return max(r.measured / r.predicted - 1 for r in rows)


def _span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}..{hi:{fmt}}"


def table(rows: list[Residual] | None = None) -> str:
    """One line per family: rows, error, requests in the engine, utilization, gap (ms) over all rows and at the
    least load, gap in lone prefills and in modelled steps, the slopes s of the gap per request in the engine (one
    per series) and the load N 2s / step a serial per-chunk frontend stage would need to give them
    (:func:`chunk_load`, at each series' largest load)."""
    rows = residuals() if rows is None else rows
    head = (
        f"{'family':34} {'rows':>4} {'error %':>9} {'in engine':>9} {'util':>9} {'gap ms':>11} {'least':>5} "
        f"{'/ prefill':>9} {'/ step':>10} {'ms/request':>10} {'N 2s / step':>11}"
    )
    out = [head]
    for name, _ in FAMILIES:
        fam = [r for r in rows if r.family == name]
        if not fam:
            continue
        s = slopes(fam)
        least = min(fam, key=lambda r: r.in_engine)
        out.append(
            f"{name:34} {len(fam):4} {_span([100 * (r.modelled / r.measured - 1) for r in fam], '+.0f'):>9} "
            f"{_span([r.in_engine for r in fam], '.0f'):>9} {_span([r.utilization for r in fam], '.2f'):>9} "
            f"{_span([r.gap for r in fam], '.0f'):>11} {least.gap:5.0f} "
            f"{_span([r.gap / r.alone for r in fam], '.1f'):>9} "
            f"{_span([r.gap / r.step for r in fam], '.1f'):>10} {_span([x for x, _ in s], '.1f') if s else '-':>10} "
            f"{_span([chunk_load(x, r) for x, r in s], '.1f') if s else '-':>11}"
        )
    return "\n".join(out)
