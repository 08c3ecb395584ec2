"""Median microseconds per ServingModel.solve() for layouts beyond one tensor-parallel group:
weight-only quantization, pipeline stages, expert and attention data parallelism, groups larger than
one scale-up domain (over InfiniBand), static and under traffic (each an analytic solve at the offered
rate; the layout, engine and static fields set up once, as the same call again reuses them), and each topology
under traffic "cold": its efficiency moved by 1e-15 each call, so that nothing set up before is reused (what a
call on a new configuration pays: a sweep over layouts, parts or models).

Run from the repository root:  .venv/bin/python bench/bench_serving_parallel.py
Budget (issue 16): <= 100 us per analytic solve, any topology.
"""

from __future__ import annotations

import itertools
from functools import partial

from _timing import bench

import mlsysim
from mlsysim import ServingModel


def main() -> None:
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    ib = mlsysim.Systems.Fabrics.InfiniBand_NDR
    s = ServingModel()
    bench(
        "w4a16: Llama3_70B int4 weights, H100 x2, seq=2048, bs=16",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, 16, weight_precision="int4", tp_size=2),
    )
    bench(
        "PP: Llama3_70B, H100 tp4 x pp4 over IB, seq=2048, bs=32",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, 32, tp_size=4, pp_size=4, fabric=ib),
    )
    bench(
        "EP+DP attention: DeepSeek_V3 fp8, H100 dp16 x ep16 over IB, seq=2000, bs=256",
        lambda: s.solve(L.DeepSeek_V3, H.H100, 2000, 256, precision="fp8", dp_attention=16, ep_size=16, fabric=ib),
    )
    bench(
        "NVL72: DeepSeek_V3 fp4, GB200 tp4 x dp16 x ep64, seq=4096, bs=512",
        lambda: s.solve(L.DeepSeek_V3, H.GB200, 4096, 512, precision="fp4", tp_size=4, dp_attention=16, ep_size=64),
    )
    for label, args, kw in loaded_cases():
        bench(label, partial(s.solve, *args, **kw))
    cold(s)


def loaded_cases() -> list[tuple[str, tuple, dict]]:
    """(label, solve()'s positional and keyword arguments) of each layout under traffic: weight-only quantization,
    pipeline stages, an NVL72 domain, expert and attention data parallelism over InfiniBand."""
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    ib = mlsysim.Systems.Fabrics.InfiniBand_NDR
    traffic = dict(output_len=500, arrival_rate=4.0)
    return [
        (
            "under traffic: w4a16 Llama3_70B, H100 x2, 2 req/s, out=500",
            (L.Llama3_70B, H.H100, 2048),
            dict(weight_precision="int4", tp_size=2, output_len=500, arrival_rate=2.0),
        ),
        (
            "under traffic: PP Llama3_70B, H100 tp4 x pp4 over IB, 4 req/s",
            (L.Llama3_70B, H.H100, 2048),
            dict(tp_size=4, pp_size=4, fabric=ib, **traffic),
        ),
        (
            "under traffic: NVL72 DeepSeek_V3 fp4, GB200 tp4 x dp16 x ep64, 20 req/s",
            (L.DeepSeek_V3, H.GB200, 4096),
            dict(precision="fp4", tp_size=4, dp_attention=16, ep_size=64, output_len=1000, arrival_rate=20.0),
        ),
        (
            "under traffic: DeepSeek_V3 fp8, H100 tp8 x dp2 x ep16 over IB, 4 req/s, out=500",
            (L.DeepSeek_V3, H.H100, 2000),
            dict(precision="fp8", tp_size=8, dp_attention=2, ep_size=16, fabric=ib, **traffic),
        ),
    ]


def cold(s: ServingModel) -> None:
    """Each layout under traffic (:func:`loaded_cases`, speculative decoding, a disaggregated MoE) with a new efficiency
    each call (1e-15 apart): a cold solve, every layout, engine and plan set up anew."""
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    fresh = itertools.count(1)
    spec = dict(tp_size=4, output_len=500, arrival_rate=2.0)
    disagg = dict(disagg="prefill=H100x16:tp8pp2,decode=H100x16:dp16ep16", fabric="IB_NDR")
    cases = [(f"cold, {label.rsplit(', out=', 1)[0]}", args, kw) for label, args, kw in loaded_cases()] + [
        (
            "cold, under traffic: speculative Llama3_70B + Llama3_1B draft, H100 tp4, 2 req/s",
            (L.Llama3_70B, H.H100, 2048),
            dict(spec_draft=L.Llama3_1B, spec_accept=0.7, **spec),
        ),
        (
            "cold, under traffic: speculative Llama3_70B + n-gram (cost 0), H100 tp4, 2 req/s",
            (L.Llama3_70B, H.H100, 2048),
            dict(spec_draft_cost=0.0, spec_accept=0.5, **spec),
        ),
        (
            "cold, disaggregated: DeepSeek_V3 fp8, prefill H100x16 tp8 pp2 -> decode H100x16 dp16 ep16, 4 req/s",
            (L.DeepSeek_V3, H.H100, 2000),
            dict(precision="fp8", output_len=500, arrival_rate=4.0, **disagg),
        ),
    ]
    for label, args, kw in cases:
        bench(label, partial(_anew, s, fresh, args, kw), n=100, warmup=10)


def _anew(s: ServingModel, fresh: itertools.count, args: tuple, kw: dict) -> object:
    """``s.solve(*args, **kw)`` at an efficiency no call used before (0.6 + 1e-15 x the next count)."""
    return s.solve(*args, **kw, efficiency=0.6 + next(fresh) * 1e-15)


if __name__ == "__main__":
    main()
