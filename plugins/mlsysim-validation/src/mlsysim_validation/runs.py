"""The user's measurements for ``mlsysim calibrate``: CSV or JSON rows read into :class:`Point` (solver
arguments and a value in SI), each refused with its row number and field when it cannot be one.

A row: ``model, hardware, seq_len, quantity, value, unit``; ``batch_size`` for a static batch; optionally
``output_len, precision, tp, engine``; the load it was measured under, ``concurrency`` (a closed loop of N
clients, each sending its next request when one finishes) or ``arrival_rate`` (requests/s, an open loop of
Poisson arrivals); and the engine's settings as ``ServingModel`` takes them (``SETTINGS``). A
quantity of the loaded answers (``LOADED``) without a load column is measured with a closed loop of
``batch_size`` clients.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

#: fields of ServingModel a measurement may give, with a unit of their dimension
QUANTITIES = {
    "ttft": "ms",
    "itl": "ms",
    "itl_mean": "ms",
    "itl_continuous": "ms",
    "e2e_latency": "ms",
    "tokens_per_second": "1/s",
    "output_tokens_per_second": "1/s",
    "requests_per_second": "1/s",
    "ttft_mean": "ms",
    "ttft_p50": "ms",
    "ttft_p90": "ms",
    "ttft_p99": "ms",
    "itl_p50": "ms",
    "itl_p90": "ms",
    "itl_p99": "ms",
    "e2e_mean": "ms",
    "e2e_p90": "ms",
    "e2e_p99": "ms",
    "queue_wait_mean": "ms",
}
#: answers of a static batch of ``batch_size`` prompts only: no load goes with them
STATIC = ("ttft", "itl", "itl_continuous", "e2e_latency", "tokens_per_second")
#: answers under traffic only (ServingModel with ``concurrency`` or ``arrival_rate``)
LOADED = tuple(q for q in QUANTITIES if q.endswith(("_mean", "_p50", "_p90", "_p99")) and q != "itl_mean")
#: the columns that give a row's load (ServingModel arguments), one per row
LOADS = {"concurrency": int, "arrival_rate": float}


def _flag(text: str) -> bool:
    word = str(text).strip().lower()
    if word not in ("true", "false", "1", "0"):
        raise ValueError(text)
    return word in ("true", "1")


#: the engine's settings a row may state (ServingModel arguments, checked by ServingModel)
SETTINGS: dict[str, Callable[[Any], Any]] = {
    "weight_precision": str,
    "kv_precision": str,
    "length_cv": float,
    "arrival_cv": float,
    "max_num_batched_tokens": int,
    "max_num_seqs": int,
    "memory_fraction": float,
    "prefix_cache_hit": float,
    "prefill_steps": str,
    "scheduler_steps": int,
    "scheduler_overlap": _flag,
}
#: overheads a row may state as known (a time with its unit, e.g. "4 ms"): not fitted then
KNOWN = ("engine_overhead", "request_overhead")
_REQUIRED = ("model", "hardware", "seq_len", "quantity", "value", "unit")


@attrs.frozen
class Point:
    """One measurement of the user's, as solver arguments and a value in SI."""

    number: int  # the row's, from 1
    model: str
    hardware: str
    seq_len: int
    batch_size: int | None
    output_len: int | None
    precision: str | None
    tp: int
    engine: str | None
    quantity: str
    value: float  # SI
    load: dict  # {"concurrency": N} or {"arrival_rate": requests/s}; {} for a static batch
    settings: dict  # ServingModel arguments: SETTINGS and KNOWN overheads (s)
    row: dict

    def shown_load(self) -> str:
        """The load as the report shows it: "N 25" (closed loop), "3 /s" (open loop), "-" (static)."""
        if "concurrency" in self.load:
            return f"N {self.load['concurrency']}"
        return f"{self.load['arrival_rate']:g} /s" if self.load else "-"


def read_points(path: str | Path) -> list[Point]:
    """Rows of a CSV or JSON file (a list of objects) as points; a missing field or unit is an error."""
    path = Path(path)
    valid = "a UTF-8 CSV file or a JSON list of measurement objects"
    try:
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text) if path.suffix.lower() == ".json" else list(csv.DictReader(text.splitlines()))
    except (OSError, ValueError, csv.Error) as exc:  # unreadable, not UTF-8, not JSON (ValueError), a bad CSV
        raise InvalidInputError("runs", str(path), valid, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInputError("runs", str(path), valid)
    if not rows:
        raise InvalidInputError("runs", str(path), valid, "it holds no measurement rows")
    return [point(i + 1, dict(r)) for i, r in enumerate(rows)]


def _given(r: dict, k: str) -> bool:
    return r.get(k) not in (None, "")


def _typed(n: int, r: dict, k: str, kind: Callable[[Any], Any], valid: str) -> Any:
    try:
        return kind(r[k]) if kind is str else kind(str(r[k]).strip())
    except ValueError:
        raise InvalidInputError(f"row {n}.{k}", r[k], valid) from None


def _si(n: int, k: str, value: Any, unit: str, shown: Any) -> float:
    """``value`` (a number with its unit, e.g. "4 ms") in SI, checked to have ``unit``'s dimension."""
    from mlsysim_core.units import Q_

    try:
        return float(Q_(str(value)).to(unit).to_base_units().magnitude)
    except Exception:
        raise InvalidInputError(f"row {n}.{k}", shown, f"a unit convertible to {unit}") from None


def _load(n: int, r: dict, q: str) -> dict:
    """The row's load: its ``concurrency`` or ``arrival_rate`` column, else for a LOADED quantity a closed
    loop of ``batch_size`` clients; {} for a static batch."""
    given = [k for k in LOADS if _given(r, k)]
    if len(given) > 1:
        raise InvalidInputError(f"row {n}.arrival_rate", r["arrival_rate"], "empty when concurrency is given")
    if given:
        k = given[0]
        if q in STATIC:
            raise InvalidInputError(
                f"row {n}.quantity",
                q,
                f"one of {', '.join(x for x in QUANTITIES if x not in STATIC)} under a load "
                f"({k} given; {q} is a static batch's answer)",
            )
        if _given(r, "batch_size"):
            raise InvalidInputError(f"row {n}.batch_size", r["batch_size"], f"empty when {k} is given")
        return {k: _typed(n, r, k, LOADS[k], "an integer" if k == "concurrency" else "a number (requests/s)")}
    if not _given(r, "batch_size"):
        raise InvalidInputError(f"row {n}.batch_size", None, "an integer (or a concurrency or arrival_rate column)")
    return {"concurrency": _typed(n, r, "batch_size", int, "an integer")} if q in LOADED else {}


def point(n: int, r: dict) -> Point:
    """Row ``n`` (from 1) as a point."""
    for k in _REQUIRED:
        if not _given(r, k):
            raise InvalidInputError(f"row {n}.{k}", None, f"a value (every row needs {', '.join(_REQUIRED)})")
    q = str(r["quantity"]).strip()
    if q not in QUANTITIES:
        raise InvalidInputError(f"row {n}.quantity", q, "one of " + ", ".join(QUANTITIES))
    magnitude = _typed(n, r, "value", float, "a number")
    value = _si(n, "unit", f"{magnitude!r} {str(r['unit']).strip()}", QUANTITIES[q], r["unit"])
    if not value > 0:
        raise InvalidInputError(f"row {n}.value", r["value"], "a positive number")
    load = _load(n, r, q)
    if load and not _given(r, "output_len"):
        raise InvalidInputError(f"row {n}.output_len", None, f"an integer >= 1 for {q} under a load (its requests)")
    settings = {k: _typed(n, r, k, kind, f"a value of {kind.__name__}") for k, kind in SETTINGS.items() if _given(r, k)}
    settings |= {k: _si(n, k, r[k], "s", r[k]) for k in KNOWN if _given(r, k)}

    def whole(k: str) -> Any:
        return _typed(n, r, k, int, "an integer") if _given(r, k) else None

    return Point(
        number=n,
        model=str(r["model"]).strip(),
        hardware=str(r["hardware"]).strip(),
        seq_len=whole("seq_len"),
        batch_size=None if load else whole("batch_size"),
        output_len=whole("output_len"),
        precision=str(r["precision"]).strip() if _given(r, "precision") else None,
        tp=whole("tp") or 1,
        engine=str(r["engine"]).strip() if _given(r, "engine") else None,
        quantity=q,
        value=value,
        load=load,
        settings=settings,
        row={k: v for k, v in r.items() if v not in (None, "")},
    )
