"""Median microseconds per ServingModel.solve() with disaggregated prefill/decode pools and with
speculative decoding.

Run from the repository root:  .venv/bin/python bench/bench_serving_disagg.py
Budget (issue 16): <= 100 us per analytic solve, any topology. A disaggregated solve runs each pool's
traffic model once at the offered rate and the aggregated layouts' capacities; with SLOs it adds six
rate searches (the deployment's max rate, one prefill and one decode replica's SLO rate, each aggregated
layout's max rate), each Brent's method on scalar analytic solves (~8 per search), so it is timed with
and without SLOs.
"""

from __future__ import annotations

from _timing import bench

import mlsysim
from mlsysim import ServingModel


def main() -> None:
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    s = ServingModel()
    layout = "prefill=H100x8:tp8,decode=H200x8:tp4"
    bench(
        "disagg: Llama3_70B, prefill H100x8 tp8 -> decode H200x8 tp4 over IB NDR, 4 req/s, no SLO",
        lambda: s.solve(L.Llama3_70B, H.H100, 4000, output_len=500, arrival_rate=4.0, disagg=layout, fabric="IB_NDR"),
        n=20,
        warmup=2,
    )
    bench(
        "disagg: the same with SLOs (TTFT 2 s, ITL 50 ms: max rate, balance, aggregated comparison)",
        lambda: s.solve(
            L.Llama3_70B,
            H.H100,
            4000,
            output_len=500,
            arrival_rate=4.0,
            disagg=layout,
            fabric="IB_NDR",
            slo_ttft=2.0,
            slo_itl=0.05,
        ),
        n=10,
        warmup=1,
    )
    bench(
        "speculative: Llama3_70B + Llama3_1B draft, H100 tp4, k=4, alpha=0.7, bs=16",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, 16, tp_size=4, spec_draft=L.Llama3_1B, spec_accept=0.7),
        n=500,
        warmup=50,
    )
    bench(
        "speculative: Llama3_70B + n-gram (cost 0), H100 tp4, k=4, alpha=0.5, bs=1",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, 1, tp_size=4, spec_draft_cost=0.0, spec_accept=0.5),
        n=500,
        warmup=50,
    )


if __name__ == "__main__":
    main()
