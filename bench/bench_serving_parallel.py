"""Median microseconds per ServingModel.solve() for layouts beyond one tensor-parallel group:
weight-only quantization, pipeline stages, expert and attention data parallelism, groups larger than
one scale-up domain (over InfiniBand), static and under traffic (each an analytic solve at the offered
rate; the layout, engine and static fields set up once, as the same call again reuses them).

Run from the repository root:  .venv/bin/python bench/bench_serving_parallel.py
Budget (issue 16): <= 100 us per analytic solve, any topology.
"""

from __future__ import annotations

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
    traffic = dict(output_len=500, arrival_rate=4.0)
    bench(
        "under traffic: w4a16 Llama3_70B, H100 x2, 2 req/s, out=500",
        lambda: s.solve(
            L.Llama3_70B, H.H100, 2048, weight_precision="int4", tp_size=2, **dict(traffic, arrival_rate=2.0)
        ),
    )
    bench(
        "under traffic: PP Llama3_70B, H100 tp4 x pp4 over IB, 4 req/s",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, tp_size=4, pp_size=4, fabric=ib, **traffic),
    )
    bench(
        "under traffic: NVL72 DeepSeek_V3 fp4, GB200 tp4 x dp16 x ep64, 20 req/s",
        lambda: s.solve(
            L.DeepSeek_V3,
            H.GB200,
            4096,
            precision="fp4",
            tp_size=4,
            dp_attention=16,
            ep_size=64,
            output_len=1000,
            arrival_rate=20.0,
        ),
    )
    bench(
        "under traffic: DeepSeek_V3 fp8, H100 tp8 x dp2 x ep16 over IB, 4 req/s, out=500",
        lambda: s.solve(
            L.DeepSeek_V3,
            H.H100,
            2000,
            precision="fp8",
            tp_size=8,
            dp_attention=2,
            ep_size=16,
            fabric=ib,
            output_len=500,
            arrival_rate=4.0,
        ),
    )


if __name__ == "__main__":
    main()
