"""Median microseconds per ServingModel.solve() with disaggregated prefill/decode pools and with
speculative decoding.

Run from the repository root:  .venv/bin/python bench/bench_serving_disagg.py
Budget (issue 16): <= 100 us per analytic solve, any topology. A disaggregated solve runs each pool's
traffic model once at the offered rate and the aggregated layouts' capacities; with SLOs it adds six
rate searches (the deployment's max rate, one prefill and one decode replica's SLO rate, each aggregated
layout's max rate that can win), each Brent's method on scalar analytic solves (~7 per search), so it is
timed with and without SLOs. Each replica's engine, its SLO rates and the trial rates its searches solved
are set up once per configuration and reused: "repeated" calls reuse them (the offered rate is solved
anew each call), "a new SLO" (1e-12 s apart) reuses the trials that do not depend on it and lands on the rates
the last search solved (the searches' rates lie on a fixed grid), "from 1.5-3 s" starts each search from the
rates earlier ones solved (a sweep over SLOs), "cold" ones change the efficiency by 1e-15 per call so that
nothing is reused. A disaggregated result compares the aggregated layouts on the first read of one of that
comparison's fields (aggregated_goodput_per_gpu, aggregated_layout, disagg_gain, notes): the "every field read" calls
read them all (``r.si``), the others none.
"""

from __future__ import annotations

import itertools

from _timing import bench

import mlsysim
from mlsysim import ServingModel


def read(r) -> list:
    """Every field of the result ``r`` as stored (``r.si``): what a caller reading them all pays, the aggregated
    comparison included (a disaggregated result makes it on the first read of one of its fields)."""
    return [r.si(name) for name in r.fields()]


def main() -> None:
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    s = ServingModel()
    layout = "prefill=H100x8:tp8,decode=H200x8:tp4"
    case = dict(
        model=L.Llama3_70B,
        hardware=H.H100,
        seq_len=4000,
        output_len=500,
        arrival_rate=4.0,
        disagg=layout,
        fabric="IB_NDR",
    )
    slos = dict(slo_ttft=2.0, slo_itl=0.05)
    fresh = itertools.count(1)  # a new efficiency each call: nothing set up before is reused (same work)
    bench(
        "disagg: Llama3_70B, prefill H100x8 tp8 -> decode H200x8 tp4 over IB NDR, 4 req/s, no SLO",
        lambda: s.solve(**case),
        n=200,
        warmup=20,
    )
    bench(
        "disagg, no SLO, cold: a new layout each call (no memo hit)",
        lambda: s.solve(**case, efficiency=0.6 + next(fresh) * 1e-15),
        n=100,
        warmup=10,
    )
    bench(
        "disagg, no SLO, cold, every field read (r.si of each: the aggregated comparison too)",
        lambda: read(s.solve(**case, efficiency=0.6 + next(fresh) * 1e-15)),
        n=100,
        warmup=10,
    )
    bench(
        "disagg with SLOs (TTFT 2 s, ITL 50 ms), repeated: searches found once",
        lambda: s.solve(**case, **slos),
        n=200,
        warmup=20,
    )
    bench(
        "disagg with SLOs, a new TTFT SLO each call (every search but the decode pool's)",
        lambda: s.solve(**case, slo_ttft=2.0 + next(fresh) * 1e-12, slo_itl=0.05),
        n=20,
        warmup=2,
    )
    spread = itertools.count(1)  # TTFT SLOs spread over 1.5-3 s (golden-ratio steps): each a new search
    bench(
        "disagg with SLOs, a TTFT SLO from 1.5-3 s each call (searches start from earlier trials)",
        lambda: s.solve(**case, slo_ttft=1.5 + 1.5 * (next(spread) * 0.6180339887498949 % 1.0), slo_itl=0.05),
        n=20,
        warmup=2,
    )
    bench(
        "disagg with SLOs, a new TTFT and ITL SLO each call (every search)",
        lambda: s.solve(**case, slo_ttft=2.0 + next(fresh) * 1e-12, slo_itl=0.05 + next(fresh) * 1e-12),
        n=20,
        warmup=2,
    )
    bench(
        "disagg with SLOs, cold: a new layout each call (every search)",
        lambda: s.solve(**case, **slos, efficiency=0.6 + next(fresh) * 1e-15),
        n=20,
        warmup=2,
    )
    bench(
        "disagg with SLOs, cold, every field read (r.si of each: the aggregated comparison's searches too)",
        lambda: read(s.solve(**case, **slos, efficiency=0.6 + next(fresh) * 1e-15)),
        n=20,
        warmup=2,
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
    spec = dict(tp_size=4, spec_draft=L.Llama3_1B, spec_accept=0.7, output_len=500, arrival_rate=2.0)
    bench(
        "speculative under traffic: Llama3_70B + Llama3_1B draft, H100 tp4, 2 req/s",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, **spec),
    )
    bench(
        "speculative under traffic with SLOs (TTFT 2 s, ITL 50 ms), a new TTFT SLO each call",
        lambda: s.solve(L.Llama3_70B, H.H100, 2048, **spec, slo_ttft=2.0 + next(fresh) * 1e-12, slo_itl=0.05),
        n=50,
        warmup=5,
    )
    bench(
        "speculative under traffic with SLOs, a TTFT SLO from 0.3-1.2 s each call (searches start from earlier trials)",
        lambda: s.solve(
            L.Llama3_70B,
            H.H100,
            2048,
            **spec,
            slo_ttft=0.3 + 0.9 * (next(spread) * 0.6180339887498949 % 1.0),
            slo_itl=0.05,
        ),
        n=50,
        warmup=5,
    )


if __name__ == "__main__":
    main()
