"""Every number a serving solve under traffic answers, over 41 configurations, written to a JSON file or
compared with one: the check that a speed change of the traffic kernels leaves the results as they were.

Each configuration contributes every field of its ``ServingModel().solve()`` result (SI values, as the result
stores them), its why lines, the bands and built corners of ``mlsysim_uncertainty.banded`` and, for a few, a
``ServingModel.sweep`` over arrival rates (every column). Open and closed loops, SLOs, prefix cache, token
budgets, length spread (named and sampled), arrival CV, TP, fp8, w4a16, MoE, PP/EP layouts, speculative and
disaggregated serving (dense and MoE pools), the scheduler overlap and the request path.

Run from the repository root:
    .venv/bin/python bench/traffic_fields.py --write before.json    # on the version before a change
    .venv/bin/python bench/traffic_fields.py --compare before.json  # after it: the largest relative difference
                                                                    # per field; fails above 1e-9 (TOLERANCE)
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from typing import Any

import numpy as np

import mlsysim
from mlsysim import ServingModel
from mlsysim_uncertainty import banded


def configurations() -> dict[str, dict[str, Any]]:
    """Name -> solve() keyword arguments (a disaggregated one as its text layout)."""
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    base = dict(model=L.Llama3_8B, hardware=H.H100, seq_len=4000, output_len=500)
    ib = "IB_NDR"
    samples = [(512, 128), (2048, 300), (4000, 500), (900, 40), (7000, 800)]
    moe_pools = dict(disagg="prefill=H100x16:tp8pp2,decode=H100x16:dp16ep16", fabric=ib)  # bench's disaggregated MoE
    c: dict[str, dict[str, Any]] = {
        "bench 3/s": dict(base, arrival_rate=3.0),
        "low 0.2/s": dict(base, arrival_rate=0.2),
        "near saturation": dict(base, arrival_rate=5.5),
        "overloaded": dict(base, arrival_rate=50.0),
        "slos": dict(base, arrival_rate=3.0, slo_ttft=1.0, slo_itl=0.05),
        "slos p90": dict(base, arrival_rate=2.0, slo_ttft=0.8, slo_itl=0.04, slo_percentile=90),
        "slos p50 ttft only": dict(base, arrival_rate=2.0, slo_ttft=0.5, slo_percentile=50),
        "closed 16": dict(base, concurrency=16),
        "closed 4 path": dict(base, concurrency=4, request_overhead=0.047),
        "closed 64 overlap": dict(base, concurrency=64, scheduler_overlap=True),
        "prefix 0.6": dict(base, arrival_rate=4.0, prefix_cache_hit=0.6),
        "budget 2048": dict(base, arrival_rate=2.0, max_num_batched_tokens=2048),
        "budget 512 short": dict(base, seq_len=300, output_len=200, arrival_rate=20.0, max_num_batched_tokens=512),
        "short prompts 30/s": dict(base, seq_len=512, output_len=128, arrival_rate=30.0),
        "short prompts 60/s": dict(base, seq_len=128, output_len=256, arrival_rate=60.0),
        "max seqs 8": dict(base, arrival_rate=1.0, max_num_seqs=8),
        "cv lognormal": dict(base, arrival_rate=3.0, length_cv=0.8),
        "cv gamma": dict(base, arrival_rate=3.0, length_cv=1.2, length_dist="gamma"),
        "samples": dict(base, arrival_rate=3.0, length_samples=samples),
        "arrival cv 2": dict(base, arrival_rate=3.0, arrival_cv=2.0),
        "arrival cv 0": dict(base, arrival_rate=3.0, arrival_cv=0.0),
        "overlap scheduler": dict(base, arrival_rate=3.0, scheduler_overlap=True),
        "request path": dict(base, arrival_rate=3.0, request_overhead=0.03),
        "fp8": dict(base, arrival_rate=3.0, precision="fp8"),
        "70B tp4": dict(base, model=L.Llama3_70B, tp_size=4, seq_len=2048, arrival_rate=4.0),
        "70B tp8 slos": dict(
            base, model=L.Llama3_70B, tp_size=8, seq_len=2048, arrival_rate=4.0, slo_ttft=1.0, slo_itl=0.05
        ),
        "70B w4a16": dict(base, model=L.Llama3_70B, seq_len=2048, weight_precision="int4", tp_size=2, arrival_rate=2.0),
        "70B pp4 ib": dict(base, model=L.Llama3_70B, seq_len=2048, tp_size=4, pp_size=4, fabric=ib, arrival_rate=4.0),
        "mixtral tp2": dict(base, model=L.Mixtral_8x7B, tp_size=2, seq_len=2048, arrival_rate=3.0),
        "dsv3 ep16 dp2": dict(
            base,
            model=L.DeepSeek_V3,
            seq_len=2000,
            precision="fp8",
            tp_size=8,
            dp_attention=2,
            ep_size=16,
            fabric=ib,
            arrival_rate=4.0,
        ),
        "dsv3 nvl72 overlap": dict(
            base,
            model=L.DeepSeek_V3,
            hardware=H.GB200,
            seq_len=4096,
            output_len=1000,
            precision="fp4",
            tp_size=4,
            dp_attention=16,
            ep_size=64,
            ep_overlap=True,
            arrival_rate=20.0,
        ),
        "spec draft": dict(
            base, model=L.Llama3_70B, tp_size=4, seq_len=2048, spec_draft=L.Llama3_1B, spec_accept=0.7, arrival_rate=2.0
        ),
        "spec ngram slos": dict(
            base,
            model=L.Llama3_70B,
            tp_size=4,
            seq_len=2048,
            spec_draft_cost=0.0,
            spec_accept=0.5,
            arrival_rate=2.0,
            slo_ttft=2.0,
            slo_itl=0.05,
        ),
        "disagg": dict(
            base, model=L.Llama3_70B, arrival_rate=4.0, disagg="prefill=H100x8:tp8,decode=H200x8:tp4", fabric=ib
        ),
        "disagg slos": dict(
            base,
            model=L.Llama3_70B,
            arrival_rate=4.0,
            disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
            fabric=ib,
            slo_ttft=2.0,
            slo_itl=0.05,
        ),
        "a100 efficiency": dict(base, hardware=H.A100, arrival_rate=1.0, efficiency=0.5, memory_efficiency=0.8),
        # MoE steps (experts read per token, all-to-all), pipeline stages and draft models beyond the bench's cases
        "mixtral tp2 pp2": dict(base, model=L.Mixtral_8x7B, tp_size=2, pp_size=2, seq_len=2048, arrival_rate=3.0),
        "dsv3 ep16 short prompts": dict(
            base,
            model=L.DeepSeek_V3,
            seq_len=256,
            output_len=200,
            precision="fp8",
            tp_size=8,
            dp_attention=2,
            ep_size=16,
            fabric=ib,
            arrival_rate=30.0,
            prefix_cache_hit=0.3,
            length_cv=0.5,
        ),
        "spec draft prefix slos": dict(
            base,
            model=L.Llama3_70B,
            tp_size=4,
            seq_len=2048,
            spec_draft=L.Llama3_1B,
            spec_accept=0.6,
            prefix_cache_hit=0.5,
            arrival_rate=3.0,
            slo_ttft=1.5,
            slo_itl=0.05,
        ),
        "disagg moe": dict(base, model=L.DeepSeek_V3, seq_len=2000, precision="fp8", arrival_rate=4.0, **moe_pools),
        "disagg moe slos": dict(
            base,
            model=L.DeepSeek_V3,
            seq_len=2000,
            precision="fp8",
            arrival_rate=4.0,
            slo_ttft=2.0,
            slo_itl=0.1,
            **moe_pools,
        ),
    }
    return c


#: configurations also swept over arrival rates (every column compared)
SWEPT = (
    "bench 3/s",
    "prefix 0.6",
    "cv gamma",
    "70B pp4 ib",
    "dsv3 ep16 dp2",
    "spec draft",
    "budget 512 short",
    "mixtral tp2 pp2",
)
#: configurations also banded (disaggregated layouts take no bands)
UNBANDED = ("disagg", "disagg slos", "disagg moe", "disagg moe slos")


def _value(v: Any) -> Any:
    """A field as JSON: numbers as floats (NaN and inf as text), arrays as lists, Quantities by magnitude."""
    if hasattr(v, "magnitude"):
        v = v.magnitude
    if isinstance(v, np.ndarray):
        return [_value(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        return x if math.isfinite(x) else repr(x)
    if isinstance(v, (tuple, list)):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    return None if v is None else str(v)


def collect() -> dict[str, Any]:
    """Configuration/part -> its values."""
    out: dict[str, Any] = {}
    s = ServingModel()
    for name, kw in configurations().items():
        r = s.solve(**kw)
        for field in r.fields():  # every field read (a disaggregated result makes its aggregated comparison then)
            r.si(field)
        out[f"{name}/fields"] = {k: _value(v) for k, v in vars(r).items()}
        out[f"{name}/why"] = list(r.constraint_trace)
        if name not in UNBANDED:
            b = banded(ServingModel, **kw)
            for field in b.fields():  # every field read, as the result's (a later field is answered on its first read)
                b.si(field)
            out[f"{name}/bands"] = {k: [_value(lo), _value(hi)] for k, (lo, hi) in b.bands.items()}
            out[f"{name}/banded fields"] = {k: _value(v) for k, v in vars(b).items() if k != "bands"}
        if name in SWEPT:
            rate = kw["arrival_rate"]
            grid = {k: v for k, v in kw.items() if k != "arrival_rate"}
            sw = ServingModel.sweep(**grid, arrival_rate=np.linspace(0.05, 1.3, 40) * rate)
            out[f"{name}/sweep"] = {k: _value(sw.si(k)) for k in sw.fields()}
    return out


def _leaves(x: Any, path: str = ""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


#: Largest relative difference accepted in a number (a solver tolerance, a closed form for an iteration, an
#: algebraically equivalent reordering: the lead's rule since session 11); text and flags must be equal.
TOLERANCE = 1e-9


def _field(key: str) -> str:
    """The field a value's path names: its last part without list indices ("x/sweep/ttft_p99[3]" -> "ttft_p99")."""
    return re.sub(r"\[\d+\]", "", key).rsplit("/", 1)[-1]


def relative(x: Any, y: Any) -> float:
    """|x - y| / max(|x|, |y|) of two numbers (0 when equal); inf for anything else that differs."""
    if x == y:
        return 0.0
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) / max(abs(x), abs(y))
    return math.inf


def compare(before: dict[str, Any], after: dict[str, Any], tolerance: float = TOLERANCE) -> int:
    """Print the largest relative difference per field (and each value above ``tolerance``); return the number
    of values above it."""
    a, b = dict(_leaves(before)), dict(_leaves(after))
    worst: dict[str, tuple[float, str]] = {}
    differ = above = 0
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key, "<missing>"), b.get(key, "<missing>")
        rel = relative(x, y)
        if rel == 0.0:
            continue
        differ += 1
        field = _field(key)
        if rel > worst.get(field, (0.0, ""))[0]:
            worst[field] = (rel, key)
        if rel > tolerance:
            above += 1
            print(f"{key}: {x!r} -> {y!r} (relative {rel:.3g})")
    for field, (rel, key) in sorted(worst.items(), key=lambda kv: -kv[1][0]):
        print(f"{field:32s} largest relative difference {rel:.3g}  ({key})")
    print(f"{len(a)} values; {differ} differ; {above} by more than {tolerance:g} relative")
    return above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE")
    group.add_argument("--compare", metavar="FILE")
    args = parser.parse_args()
    values = collect()
    if args.write:
        with open(args.write, "w") as fh:
            json.dump(values, fh, indent=0, sort_keys=True)
        print(f"{sum(1 for _ in _leaves(values))} values of {len(configurations())} configurations -> {args.write}")
        return
    with open(args.compare) as fh:
        before = json.load(fh)
    sys.exit(1 if compare(before, values) else 0)


if __name__ == "__main__":
    main()
