"""ServingModel under traffic: analytic solve (median us), a sweep over 1e5 arrival rates (points/s) and
the simulator on 10,000 requests (s; open loop, and a closed loop with and without a request path).

Run from the repository root:  .venv/bin/python bench/bench_serving_traffic.py
Budgets (issue 15): analytic solve <= 50 us; sweep >= 1e5 points/s; simulate 10,000 requests <= 1 s on 2 cores.
What does not depend on the arrival rate (the checked layout and mix, the engine's capacity, the SLO rate
searches) is set up once per configuration and reused: "repeated" calls reuse it, "cold" ones change the
efficiency by 1e-15 per call so that nothing is reused, "a new SLO" reruns only the search (1e-12 s apart: it lands
on the rates the last search solved), "from 0.2-0.5 s" starts each search from the rates earlier ones solved (a
sweep over SLOs where the TTFT SLO binds).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from _timing import bench

import mlsysim
from mlsysim import ServingModel


def _case() -> dict:
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    return dict(model=L.Llama3_8B, hardware=H.H100, seq_len=4000, output_len=500)


def solves() -> None:
    """The analytic solves (median us; ``bench/instructions.py`` counts the same calls)."""
    s, case = ServingModel(), _case()
    bench(
        "analytic: Llama3_8B, H100, 4000/500 tokens, 3 req/s",
        lambda: s.solve(**case, arrival_rate=3.0),
        n=300,
        warmup=30,
    )
    fresh = itertools.count(1)  # a new efficiency each call: nothing set up before is reused (same work)
    bench(
        "analytic, cold: a new layout each call (no memo hit)",
        lambda: s.solve(**case, arrival_rate=3.0, efficiency=0.6 + next(fresh) * 1e-15),
        n=300,
        warmup=30,
    )
    bench(
        "analytic with SLOs, repeated (the max-rate search found once)",
        lambda: s.solve(**case, arrival_rate=3.0, slo_ttft=1.0, slo_itl=0.05),
        n=300,
        warmup=30,
    )
    bench(
        "analytic with SLOs, a new TTFT SLO each call (a search each)",
        lambda: s.solve(**case, arrival_rate=3.0, slo_ttft=1.0 + next(fresh) * 1e-12, slo_itl=0.05),
        n=30,
        warmup=3,
    )
    # TTFT SLOs spread over 0.2-0.5 s (golden-ratio steps), where the TTFT SLO binds: each call a new search
    spread = itertools.count(1)
    bench(
        "analytic with SLOs, a TTFT SLO from 0.2-0.5 s each call (searches start from earlier trials)",
        lambda: s.solve(
            **case, arrival_rate=3.0, slo_ttft=0.2 + 0.3 * (next(spread) * 0.6180339887498949 % 1.0), slo_itl=0.05
        ),
        n=30,
        warmup=3,
    )
    bench(
        "analytic with SLOs, cold: a new layout each call (a search each)",
        lambda: s.solve(**case, arrival_rate=3.0, slo_ttft=1.0, slo_itl=0.05, efficiency=0.6 + next(fresh) * 1e-15),
        n=30,
        warmup=3,
    )


def main() -> None:
    solves()
    s, case = ServingModel(), _case()
    rates = np.linspace(0.05, 6.0, 100_000)
    t0 = time.perf_counter()
    ServingModel.sweep(**case, arrival_rate=rates)
    dt = time.perf_counter() - t0
    print(f"{'sweep: 1e5 arrival rates':58s} {dt:6.2f} s  = {len(rates) / dt:,.0f} points/s")
    for rate in (1.0, 3.0):
        t0 = time.perf_counter()
        s.solve(**case, arrival_rate=rate, method="simulate", num_requests=10_000)
        dt = time.perf_counter() - t0
        print(f"{f'simulate: 10,000 requests at {rate} req/s':58s} {dt:6.2f} s")
    for path in (0.0, 0.047):  # a closed loop, its clients away 0 or 47 ms per request (request_overhead)
        t0, c0 = time.perf_counter(), time.process_time()
        s.solve(**case, concurrency=16, request_overhead=path, method="simulate", num_requests=10_000)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{f'simulate: 10,000 requests, 16 clients, path {path * 1e3:g} ms':58s} {dt:6.2f} s  (CPU {cpu:.2f} s)")


if __name__ == "__main__":
    main()
