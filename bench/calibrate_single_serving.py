"""Check SingleNodeModel and ServingModel against published measurements (measurements.json, groups A and B).

Run from the repository root:  .venv/bin/python bench/calibrate_single_serving.py [--compute X] [--memory Y]

Prints predicted vs measured per point, the signed error, and the median absolute error per group.
One set of default efficiencies (mlsysim_core.efficiency, printed first with their sources) serves
every point; nothing is tuned per point. ``--compute`` / ``--memory`` override them for all points
at once (a sensitivity check, not a fit). Configurations come from each record's ``conditions``;
what a source does not state is an assumption, printed beside the point.

How each measurement is predicted:
  throughput of a CNN (MLPerf Offline)       SingleNodeModel at a large batch (1024), samples/s
  SDXL images/s                               SingleNodeModel(SDXL UNet step) / (20 steps x 2 for CFG)
  LLM tokens/s at max throughput / Offline    ServingModel at the largest batch that fits (<= 8192):
                                              output tokens/s = requests_per_second * output_len
  NIM mean ITL at concurrency c               ServingModel(batch_size=c, output_len).itl_continuous
  vLLM latency test (batch 8 together)        ServingModel(batch_size=8, output_len).e2e_latency
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import mlsysim
from mlsysim import ServingModel, SingleNodeModel
from mlsysim_core import efficiency as E

MEASUREMENTS = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "measurements.json"
if not MEASUREMENTS.exists():
    MEASUREMENTS = Path("/work/shared/calibration/measurements.json")

H = mlsysim.Hardware.Cloud
M = mlsysim.Models
L = M.Language


def max_batch(solve, limit: int = 8192) -> int:
    """Largest batch (<= limit) for which ``solve(batch)`` is feasible: doubling, then bisection."""
    if not solve(1).feasible:
        return 0
    lo, hi = 1, 2
    while hi <= limit and solve(hi).feasible:
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if solve(mid).feasible else (lo, mid)
    return lo


def llm_max_throughput(model, hw, isl, osl, precision, tp=1, beams=1, **kw):
    """Output tokens/s at the largest batch that fits; with ``beams`` each request decodes ``beams``
    sequences (modelled as that many sequences, prompt prefilled per beam: an upper bound on work)."""
    s = ServingModel()

    def solve(b):
        return s.solve(model, hw, isl, b, precision=precision, tp_size=tp, output_len=osl, **kw)

    b = max_batch(solve)
    r = solve(b)
    return (r.requests_per_second.to("1/s").magnitude * osl / beams,
            f"batch {b} sequences (largest that fits), tp {tp}, {precision}")


def predictions(eff: dict) -> dict:
    sn, sv = SingleNodeModel(), ServingModel()
    out = {}

    def cnn(key, model, hw, prec, batch=1024):
        p = sn.solve(model, hw, batch_size=batch, precision=prec, **eff)
        out[key] = (p.throughput.to("1/s").magnitude, f"batch {batch}, {prec}, {p.bottleneck}-bound")

    cnn("A-mlperf40-h100x1-resnet50-offline", M.ResNet50, H.H100, "int8")
    cnn("A-mlperf41-h200x8-resnet50-offline-per-gpu", M.ResNet50, H.H200, "int8")
    step = sn.solve(M.GenerativeVision.SDXL_UNet, H.H200, batch_size=16, precision="fp8", **eff)
    out["A-mlperf41-h200x8-stable-diffusion-xl-offline-per-gpu"] = (
        step.throughput.to("1/s").magnitude / 40, "fp8 UNet, 20 steps x 2 (CFG), text encoders/VAE ignored")
    v, how = llm_max_throughput(L.GPTJ_6B, H.H100, 1024, 128, "fp8", beams=4, **eff)
    out["A-mlperf41-h100x8-gptj-99-offline-per-gpu"] = (v, how + "; assumed ISL 1024, OSL 128, 4 beams per request")
    v, how = llm_max_throughput(L.Llama2_70B, H.H200, 300, 265, "fp8", **eff)
    out["A-mlperf41-h200x8-llama2-70b-99-offline-per-gpu"] = (v, how + "; assumed ISL 300 (OpenOrca), OSL 265 (stated)")
    out["A-mlperf41-h200x8-llama2-70b-99-server-per-gpu"] = (v, "as Offline (latency targets not modelled)")

    for key, isl, osl, c in (("B-nim-llama33-70b-2xh100-isl5000-osl500-c5-itl", 5000, 500, 5),
                             ("B-nim-llama33-70b-2xh100-isl5000-osl500-c25-itl", 5000, 500, 25),
                             ("B-nim-llama33-70b-2xh100-isl500-osl2000-c1-itl", 500, 2000, 1)):
        r = sv.solve(L.Llama3_3_70B, H.H100, isl, c, precision="fp8", tp_size=2, output_len=osl, **eff)
        out[key] = (r.itl_continuous.to("ms").magnitude,
                    f"itl_continuous (decode {r.itl_mean.to('ms').magnitude:.2f} ms + interleaved prefills)")
    for key, model, tp in (("B-vllm-ci-h200-llama-3.1-8B-tp1-e2e", L.Llama3_1_8B, 1),
                           ("B-vllm-ci-h200-llama-3-70B-tp4-e2e", L.Llama3_70B, 4),
                           ("B-vllm-ci-h200-mixtral-8x7B-tp2-e2e", L.Mixtral_8x7B, 2)):
        r = sv.solve(model, H.H200, 32, 8, precision="bf16", tp_size=tp, output_len=128, **eff)
        out[key] = (r.e2e_latency.to("ms").magnitude, f"bf16 assumed (dtype not stated), tp {tp}")
    v, how = llm_max_throughput(L.Llama3_1_8B, H.H100, 128, 128, "fp8", **eff)
    out["B-trtllm-llama-3.1-8b-h100-tp1-fp8-128-128"] = (v, how)
    v, how = llm_max_throughput(L.Llama3_1_405B, H.H100, 1000, 1000, "fp8", tp=8, **eff)
    out["B-trtllm-llama-3.1-405b-h100-tp8-fp8-1000-1000"] = (v, how)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compute", type=float, default=None, help="override compute efficiency for every point")
    ap.add_argument("--memory", type=float, default=None, help="override memory efficiency for every point")
    args = ap.parse_args()
    eff = {}
    if args.compute is not None:
        eff["efficiency"] = args.compute
    if args.memory is not None:
        eff["memory_efficiency"] = args.memory

    print("Default efficiencies (mlsysim_core.efficiency; sources in its docstring):")
    for name, value in E.NAMED_DEFAULTS.items():
        print(f"  {name:24s} {value}")
    if eff:
        print(f"  overridden for this run: {eff}")
    records = {r["id"]: r for r in json.loads(MEASUREMENTS.read_text()) if r["group"] in ("A", "B")}
    preds = predictions(eff)
    errors: dict[str, list[float]] = {"A": [], "B": []}
    print(f"\n{'id':58s} {'predicted':>11s} {'measured':>11s} {'error':>8s}  unit / how")
    for rid, rec in records.items():
        if rid not in preds:
            print(f"{rid:58s} {'-':>11s} {rec['value']:>11.4g} {'-':>8s}  not modelled")
            continue
        value, how = preds[rid]
        measured = rec["value"]
        err = (value - measured) / measured
        errors[rec["group"]].append(abs(err))
        print(f"{rid:58s} {value:>11.4g} {measured:>11.4g} {err:>+8.1%}  {rec['unit']}; {how}")
    print()
    for g, errs in errors.items():
        if errs:
            print(f"group {g}: {len(errs)} points, median |error| {statistics.median(errs):.1%}, max {max(errs):.1%}")


if __name__ == "__main__":
    main()
