"""Configurations per second of vectorized sweeps (mlsysim.sweep / Solver.sweep).

    .venv/bin/python bench/bench_sweep.py [--dask]

Each grid has ~1,000,000 points; the figure is the median of 3 timed runs after one warm-up, the
whole call (grid, checks, kernels, columns), not reading the columns. Targets on the 2-core dev
machine: >= 1,000,000 configurations per second for SingleNodeModel and ServingModel, >= 100,000
for DistributedModel, EconomicsModel, SustainabilityModel and ReliabilityModel (the grids of
``mlsysim sweep train|cost|carbon|reliability``).
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
    C, G = mlsysim.Systems.Clusters, mlsysim.Infra.Grids
    gpus = [H.H100, H.A100, H.B200, H.MI300X]
    return [
        (
            "SingleNodeModel: 4 models x 4 GPUs x 2 prec x 512 batch x 64 seq",
            mlsysim.SingleNodeModel,
            dict(
                model=[L.Llama3_8B, L.Llama3_70B, L.Mixtral_8x7B, M.ResNet50],
                hardware=gpus,
                precision=["fp16", "fp8"],
                batch_size=np.arange(1, 513),
                seq_len=np.arange(1, 65) * 256,
            ),
        ),
        (
            "ServingModel: 2 models x 4 GPUs x 4 tp x 256 batch x 32 seq x 4 out",
            mlsysim.ServingModel,
            dict(
                model=[L.Llama3_8B, L.Llama3_70B],
                hardware=gpus,
                tp_size=[1, 2, 4, 8],
                batch_size=np.arange(1, 257),
                seq_len=np.arange(1, 33) * 512,
                output_len=[128, 256, 512, 1024],
            ),
        ),
        (
            "DistributedModel (sweep train): 2 models x 2 fleets x 3 tp x 2 pp x 512 batch x 4 m x 8 seq",
            mlsysim.DistributedModel,
            dict(
                model=[L.Llama3_8B, L.Llama3_70B],
                fleet=[C.Frontier_8K, C.Research_256],
                tp_size=[2, 4, 8],
                pp_size=[1, 4],
                batch_size=np.arange(1, 513) * 64,
                microbatch_count=[1, 4, 8, 16],
                seq_len=np.arange(1, 9) * 1024,
            ),
        ),
        (
            "EconomicsModel (sweep cost): 2 fleets x 3 grids x 1000 days x 40 util x 4 price",
            mlsysim.EconomicsModel,
            dict(
                fleet=[C.Frontier_8K, C.Research_256],
                datacenter=[G.Quebec, G.Poland, G.US_Avg],
                host_cost=0,
                duration_days=np.arange(1, 1001),
                utilization=np.linspace(0.1, 1.0, 40),
                kwh_price=[0.05, 0.08, 0.12, 0.2],
            ),
        ),
        (
            "SustainabilityModel (sweep carbon): 2 fleets x 3 grids x 2000 days x 80 util",
            mlsysim.SustainabilityModel,
            dict(
                fleet=[C.Frontier_8K, C.Research_256],
                datacenter=[G.Quebec, G.Poland, G.US_Avg],
                duration_days=np.arange(1, 2001),
                utilization=np.linspace(0.0125, 1.0, 80),
            ),
        ),
        (
            "ReliabilityModel (sweep reliability): 2 fleets x 5000 hours x 100 checkpoint s",
            mlsysim.ReliabilityModel,
            dict(
                fleet=[C.Frontier_8K, C.Research_256],
                job_duration_hours=np.arange(1, 5001) * 1.0,
                checkpoint_time_s=np.arange(1, 101) * 6.0,
            ),
        ),
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
    import warnings

    warnings.simplefilter("ignore")  # fractional micro-batches in the training grid
    print(f"{'grid':70s} {'points':>10s} {'valid':>7s} {'seconds':>8s} {'configs/s':>12s}")
    for label, solver, grid in grids():
        sec, r = timed(lambda solver=solver, grid=grid: solver.sweep(**grid))
        print(f"{label:70s} {len(r):10,d} {r.valid.mean():7.1%} {sec:8.3f} {len(r) / sec:12,.0f}")
    if "--dask" in sys.argv:
        from dask.distributed import Client, LocalCluster

        label, solver, grid = grids()[0]
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            sec, r = timed(lambda: solver.sweep(client=client, **grid), runs=1)
        print(
            f"{'dask LocalCluster (2 processes): ' + label[:37]:70s} {len(r):10,d} {r.valid.mean():7.1%} "
            f"{sec:8.3f} {len(r) / sec:12,.0f}"
        )


if __name__ == "__main__":
    main()
