"""Every result field of ServingModel.solve() over serving topologies, static and under traffic, solved in
several call orders: the check that a speed change leaves every answer as it was (to 1e-9 relative).

Run from the repository root:
    .venv/bin/python bench/dump_topologies.py --write /tmp/before.json   # before the change
    .venv/bin/python bench/dump_topologies.py --check /tmp/before.json   # after: the largest move per field
    (add --search-moved where the max-rate search itself changed: the fields it answers, SEARCHED, may move by
    SEARCH_TOLERANCE against the file; the orders must still agree to TOLERANCE)

Each call order runs in a fresh interpreter (the memos start empty): ``forward`` (the list once), ``reverse``
and ``repeat`` (a fixed shuffle of the list twice, each configuration's second solve answered from the memos
the others left). Every order's answers are compared with the first order's and the file's: a float (written
as its ``float.hex``, an array element by element) by its relative difference |a - b| / max(|a|, |b|), anything
else (text, integers, flags, errors) by equality. The check prints the largest relative difference of each field
that moved and fails where one exceeds TOLERANCE or anything else differs (the lead's rule for speed work:
a solver tolerance, a closed form for an iteration, a vectorized search or an algebraically equivalent
reordering may move an answer by rounding, up to 1e-9; more is an equation change).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
from typing import Any

import numpy as np

ORDERS = ("forward", "reverse", "repeat")
#: Largest relative difference accepted in a float field (bit-identity is not required of speed work).
TOLERANCE = 1e-9
#: The fields the max-rate searches answer (:mod:`mlsysim_serving.roots`) and their ratios, and how far they may move
#: with ``--search-moved`` (a change of the search itself): 1.5e-6 between two answers each within 1e-6 of the
#: crossing, twice that for a ratio of two of them.
SEARCHED = (
    "_max_arrival_rate",
    "_goodput_per_gpu",
    "_prefill_replica_rate",
    "_decode_replica_rate",
    "_aggregated_goodput_per_gpu",
    "_balanced_goodput_per_gpu",
    "balanced_prefill_share",
    "disagg_gain",
)
SEARCH_TOLERANCE = 3e-6


def cases() -> list[tuple[str, dict]]:
    """(label, solve() keyword arguments) of the configurations compared: >= 40 topologies."""
    import mlsysim

    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    ib = "IB_NDR"
    out: list[tuple[str, dict]] = []
    d70 = dict(model=L.Llama3_70B, hardware=H.H100, seq_len=4000, output_len=500, fabric=ib)
    layouts = (
        "prefill=H100x8:tp8,decode=H200x8:tp4",
        "prefill=H100x16:tp8pp2,decode=H200x8:tp4",
        "prefill=H100x8:tp4,decode=H100x8:tp8",
    )
    slos: tuple[dict, ...] = ({}, dict(slo_ttft=2.0, slo_itl=0.05), dict(slo_ttft=1.5), dict(slo_itl=0.04))
    for layout in layouts:
        for slo in slos:
            out.append((f"disagg {layout} {slo}", dict(d70, disagg=layout, arrival_rate=4.0, **slo)))
    out.append(("disagg pct90 rate 2", dict(d70, disagg=layouts[0], arrival_rate=2.0, slo_ttft=2.0, slo_percentile=90)))
    out.append(("disagg not layerwise", dict(d70, disagg=layouts[0], arrival_rate=4.0, kv_layerwise=False)))
    out.append(("disagg overloaded", dict(d70, disagg=layouts[0], arrival_rate=400.0, slo_itl=0.05)))
    out.append(("disagg cv 2 cache hit", dict(d70, disagg=layouts[0], arrival_rate=3.0, arrival_cv=2.0, length_cv=0.5)))
    spec_ngram = dict(spec_draft_cost=0.05, spec_k=3, spec_accept=0.6)
    out.append(("disagg speculative", dict(d70, disagg=layouts[0], arrival_rate=4.0, slo_itl=0.03, **spec_ngram)))
    ds = dict(model=L.DeepSeek_V3, hardware=H.H100, seq_len=2000, output_len=100, precision="fp8", fabric=ib)
    out.append(
        ("disagg DSv3 EP", dict(ds, arrival_rate=20.0, disagg="prefill=H100x32:dp32ep32,decode=H100x32:dp32ep32"))
    )
    out.append(
        (
            "disagg DSv3 redundant experts SLO",
            dict(ds, arrival_rate=20.0, slo_itl=0.1, disagg="prefill=H100x32:dp32ep32,decode=H100x72:dp72ep72r32"),
        )
    )
    # aggregated layouts, static (batch) and under traffic (with and without SLOs)
    l70 = dict(model=L.Llama3_70B, hardware=H.H100, seq_len=2048)
    ep = {k: v for k, v in ds.items() if k not in ("output_len", "fabric")}
    layouts_agg: tuple[tuple[str, dict], ...] = (
        ("plain tp4", dict(l70, tp_size=4)),
        ("w4a16", dict(l70, weight_precision="int4", tp_size=2)),
        ("fp8", dict(l70, precision="fp8", tp_size=2)),
        ("PP over IB", dict(l70, tp_size=4, pp_size=4, fabric=ib)),
        ("EP+DP", dict(ep, dp_attention=16, ep_size=16, fabric=ib)),
        ("EP+DP tp8", dict(ep, tp_size=8, dp_attention=2, ep_size=16, fabric=ib)),
        ("NVL72", dict(ep, hardware=H.GB200, seq_len=4096, precision="fp4", tp_size=4, dp_attention=16, ep_size=64)),
        ("spec draft", dict(l70, tp_size=4, spec_draft=L.Llama3_1B, spec_accept=0.7)),
        ("spec n-gram", dict(l70, tp_size=4, spec_draft_cost=0.0, spec_accept=0.5)),
    )
    for label, a in layouts_agg:
        big = a["model"] is L.DeepSeek_V3
        out.append((f"{label} static bs", dict(a, batch_size=256 if big else 16)))
        out.append((f"{label} static bs=1", dict(a, batch_size=1, output_len=200)))
        rate = 20.0 if big else 2.0
        traffic = dict(a, output_len=1000 if big else 500, arrival_rate=rate)
        out.append((f"{label} traffic", traffic))
        out.append((f"{label} traffic SLOs", dict(traffic, slo_ttft=2.0, slo_itl=0.08)))
        out.append((f"{label} traffic rate x3", dict(traffic, arrival_rate=3 * rate)))
    out.append(("spec draft traffic pct90", dict(layouts_agg[7][1], output_len=500, arrival_rate=2.0, slo_ttft=1.0)))
    out.append(("w4a16 traffic cv", dict(layouts_agg[1][1], output_len=500, arrival_rate=1.5, arrival_cv=1.5)))
    return out


def _value(v: Any) -> Any:
    """A field as JSON, floats by their hex (bit-identical comparison)."""
    if isinstance(v, float):
        return float.hex(v)
    if isinstance(v, np.ndarray):
        return [_value(float(x)) for x in v.ravel()]
    if isinstance(v, (tuple, list)):
        return [_value(x) for x in v]
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, np.generic):
        return _value(v.item())
    return repr(v)


def _fields(r: Any) -> dict:
    """Every field of a result: its attrs fields (a frozen attrs class), or its items, each as :func:`_value`."""
    import attrs

    if attrs.has(type(r)):
        return {f.name: _value(getattr(r, f.name)) for f in attrs.fields(type(r))}
    return {k: _value(v) for k, v in dict(r).items()}


def run(order: str) -> dict:
    """{label: fields} of every case solved in ``order`` (in this interpreter)."""
    from mlsysim import ServingModel

    s = ServingModel()
    todo = cases()
    if order == "reverse":
        todo = todo[::-1]
    elif order == "repeat":
        random.Random(16).shuffle(todo)
        todo = todo + todo
    out: dict[str, Any] = {}
    for label, kwargs in todo:
        try:
            fields = _fields(s.solve(**kwargs))
        except Exception as exc:  # an error is an answer too: its type and text must not move
            fields = {"error": f"{type(exc).__name__}: {exc}"}
        if label in out and out[label] != fields:
            out[label + " (again)"] = fields
        out[label] = out.get(label, fields)
    return out


def _relative(a: Any, b: Any) -> float | None:
    """|a - b| / max(|a|, |b|) of two dumped floats (hex texts), 0 where equal (NaN and NaN, inf and inf); inf
    where one is NaN or they differ in sign of infinity; None where either is not a float."""
    if a == b:
        return 0.0
    try:
        x, y = float.fromhex(a), float.fromhex(b)
    except (TypeError, ValueError):
        return None
    if x != x or y != y or math.isinf(x) or math.isinf(y):
        return math.inf
    return abs(x - y) / max(abs(x), abs(y))


def _moves(fa: Any, fb: Any) -> float | None:
    """Largest relative difference between two dumped fields (lists element by element), None where they
    differ otherwise than as floats (a text, a flag, a length)."""
    if isinstance(fa, list) and isinstance(fb, list):
        if len(fa) != len(fb):
            return None
        worst = 0.0
        for x, y in zip(fa, fb):
            d = _moves(x, y)
            if d is None:
                return None
            worst = max(worst, d)
        return worst
    if fa == fb:
        return 0.0
    return _relative(fa, fb) if isinstance(fa, str) and isinstance(fb, str) else None


def _diff(a: dict, b: dict, what: str, worst: dict[str, tuple[float, str]], searched: float) -> list[str]:
    """The differences of ``b`` from ``a`` that fail (:data:`TOLERANCE`, ``searched`` for the :data:`SEARCHED`
    fields); each float field's largest relative difference kept in ``worst`` (field -> (difference, where))."""
    bad = []
    for label in sorted(set(a) | set(b)):
        fa, fb = a.get(label), b.get(label)
        if fa == fb:
            continue
        if fa is None or fb is None:
            bad.append(f"{what}: {label}: only in one")
            continue
        for k in sorted(set(fa) | set(fb)):
            d = _moves(fa.get(k), fb.get(k))
            if d is None:
                bad.append(f"{what}: {label}: {k}: {fa.get(k)} != {fb.get(k)}")
                continue
            if d > worst.get(k, (0.0, ""))[0]:
                worst[k] = (d, f"{what}: {label}")
            limit = searched if k in SEARCHED else TOLERANCE
            if d > limit:
                bad.append(f"{what}: {label}: {k}: relative difference {d:.3g} > {limit:g}")
    return bad


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", metavar="FILE")
    g.add_argument("--check", metavar="FILE")
    g.add_argument("--order", choices=ORDERS, help=argparse.SUPPRESS)  # one order, in this interpreter
    p.add_argument("--search-moved", action="store_true", help=f"the SEARCHED fields may move by {SEARCH_TOLERANCE:g}")
    a = p.parse_args()
    searched = SEARCH_TOLERANCE if a.search_moved else TOLERANCE
    if a.order:
        json.dump(run(a.order), sys.stdout)
        return
    got = {
        o: json.loads(subprocess.run([sys.executable, __file__, "--order", o], check=True, capture_output=True).stdout)
        for o in ORDERS
    }
    worst: dict[str, tuple[float, str]] = {}
    bad = [line for o in ORDERS[1:] for line in _diff(got[ORDERS[0]], got[o], f"{ORDERS[0]} vs {o}", worst, TOLERANCE)]
    n = len(got[ORDERS[0]])
    if a.write:
        with open(a.write, "w") as fh:
            json.dump(got[ORDERS[0]], fh, indent=0, sort_keys=True)
    else:
        with open(a.check) as fh:
            ref = json.load(fh)
        bad += [line for o in ORDERS for line in _diff(ref, got[o], f"file vs {o}", worst, searched)]
    for k, (d, where) in sorted(worst.items(), key=lambda item: -item[1][0]):
        print(f"{k}: largest relative difference {d:.3g} ({where})")
    moved = f", the searched ones within {searched:g} of the file" if a.search_moved else ""
    print("\n".join(bad[:50]) or f"{n} configurations x {len(ORDERS)} orders: every field within {TOLERANCE:g}{moved}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
