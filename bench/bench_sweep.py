"""Configurations per second of vectorized sweeps (mlsysim.sweep / Solver.sweep).

    .venv/bin/python bench/bench_sweep.py [--dask]

Each grid has ~1,000,000 points; the figure is the median of 3 timed runs after one warm-up, the
whole call (grid, checks, kernels, columns), not reading the columns. Target: >= 1,000,000
configurations per second for SingleNodeModel and ServingModel on the 2-core dev machine.
--dask also runs the single-node grid through a dask LocalCluster (2 worker processes).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import mlsysim


def grids() -> list:
    H, L, M = mlsysim.Hardware.Cloud, mlsysim.Models.Language, mlsysim.Models
    gpus = [H.H100, H.A100, H.B200, H.MI300X]
    return [
        ("SingleNodeModel: 4 models x 4 GPUs x 2 prec x 512 batch x 64 seq", mlsysim.SingleNodeModel, dict(
            model=[L.Llama3_8B, L.Llama3_70B, L.Mixtral_8x7B, M.ResNet50], hardware=gpus, precision=["fp16", "fp8"],
            batch_size=np.arange(1, 513), seq_len=np.arange(1, 65) * 256)),
        ("ServingModel: 2 models x 4 GPUs x 4 tp x 256 batch x 32 seq x 4 out", mlsysim.ServingModel, dict(
            model=[L.Llama3_8B, L.Llama3_70B], hardware=gpus, tp_size=[1, 2, 4, 8],
            batch_size=np.arange(1, 257), seq_len=np.arange(1, 33) * 512, output_len=[128, 256, 512, 1024])),
    ]


def timed(fn, runs: int = 3) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    print(f"{'grid':70s} {'points':>10s} {'valid':>7s} {'seconds':>8s} {'configs/s':>12s}")
    for label, solver, grid in grids():
        sec, r = timed(lambda: solver.sweep(**grid))
        print(f"{label:70s} {len(r):10,d} {r.valid.mean():7.1%} {sec:8.3f} {len(r) / sec:12,.0f}")
    if "--dask" in sys.argv:
        from dask.distributed import Client, LocalCluster

        label, solver, grid = grids()[0]
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            sec, r = timed(lambda: solver.sweep(client=client, **grid), runs=1)
        print(f"{'dask LocalCluster (2 processes): ' + label[:37]:70s} {len(r):10,d} {r.valid.mean():7.1%} "
              f"{sec:8.3f} {len(r) / sec:12,.0f}")


if __name__ == "__main__":
    main()
