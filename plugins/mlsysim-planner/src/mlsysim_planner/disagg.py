"""Disaggregated prefill/decode layouts for plan_serving (``disagg=True``).

For each part and precision, every pair of tensor-parallel degrees (prefill, decode) among those whose
engine holds one request: ServingModel with ``disagg`` (one replica per pool) at the offered rate says how
many replicas each pool needs within the SLOs (``prefill_replicas_needed``, ``decode_replicas_needed``:
the offered rate over the most one replica takes within its SLO); the pools sized so are solved again at
that rate for the p``slo_percentile`` TTFT and ITL the plan ranks and checks. Both pools use the same part.
"""

from __future__ import annotations

import warnings
from typing import Any

from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.plugins import catalog, get_solver


def candidates(
    model: Any,
    engines: dict[tuple[Any, str], list[int]],
    qps: float,
    seq_len: int,
    output_len: int,
    slo: tuple[float, float, int],
    fabric: Any,
) -> list[dict]:
    """One dict per disaggregated layout that some pool sizing serves: ``kw`` the solve() arguments of the
    sized pools, ``result``, ``part``, ``precision``, ``tp`` (prefill, decode), ``replicas`` (prefill,
    decode). ``engines``: (part, precision) -> the tp degrees that hold one request."""
    ttft, itl, p = slo
    common = dict(
        model=model, seq_len=seq_len, output_len=output_len, arrival_rate=qps, fabric=fabric,
        slo_ttft=ttft, slo_itl=itl, slo_percentile=p,
    )  # fmt: skip
    out = []
    for (part, precision), tps in engines.items():
        key = _key(part)
        for tp_p in tps:
            for tp_d in tps:
                kw = dict(common, hardware=part, precision=precision)
                one = _solve(kw, f"prefill={key}x{tp_p}:tp{tp_p},decode={key}x{tp_d}:tp{tp_d}")
                if one is None or not one.prefill_replicas_needed or not one.decode_replicas_needed:
                    continue
                n_p, n_d = one.prefill_replicas_needed, one.decode_replicas_needed
                kw["disagg"] = f"prefill={key}x{n_p * tp_p}:tp{tp_p},decode={key}x{n_d * tp_d}:tp{tp_d}"
                sized = _solve(kw, kw["disagg"])
                if sized is not None:
                    out.append(
                        dict(kw=kw, result=sized, part=part, precision=precision, tp=(tp_p, tp_d), replicas=(n_p, n_d))
                    )
    return out


def note(fabric: Any) -> str:
    """The plan's note on its disaggregated rows."""
    name = getattr(fabric, "name", fabric)
    return (
        f"disagg rows: prefill and decode pools of one part, KV over {name}; each pool sized by ServingModel's "
        "replicas needed within the SLOs at the offered rate, then solved at that size (replicas: prefill + decode)"
    )


def _solve(kw: dict, disagg: str) -> Any:
    """ServingModel with ``disagg``, or None when it is not a configuration (a pool cannot hold the model,
    or the SLOs cannot be met even unloaded)."""
    with warnings.catch_warnings():  # about configurations the search discards
        warnings.simplefilter("ignore")
        try:
            return get_solver("ServingModel")().solve(**{**kw, "disagg": disagg})
        except (InvalidInputError, InfeasibleError):
            return None


def _key(part: Any) -> str:
    """The hardware catalog's key of ``part`` (the pools' text names parts by key)."""
    for key, e in catalog().entries["hardware"].items():
        if e.value is part:
            return key
    raise InvalidInputError("hardware", part.name, "a part of the hardware catalog for disaggregated layouts")
