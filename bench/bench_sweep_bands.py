"""Points per second of a banded sweep (``mlsysim_uncertainty.banded_sweep``: the plain sweep, then the
solver's own ``sweep_columns`` at the two corners per block, the hull and model error, and each point's
out-of-domain lines) against the plain sweep of the same grid (``Solver.sweep``).

    .venv/bin/python bench/bench_sweep_bands.py [--rounds N]

Per grid: the median of N rounds (default 5) of this process's CPU time (``time.process_time``: other
processes on a shared machine do not count), plain and banded alternating round by round (A/B), after
one warm-up of each; points/s of each and the ratio banded / plain (three sweeps' work: ~3x is the floor).
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial

import numpy as np

import mlsysim
from mlsysim_uncertainty import banded_sweep

LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud
#: label -> (solver, grid)
GRIDS = {
    "ServingModel static: 2 GPUs x 2 seq x 256 batch x 4 tp": (
        mlsysim.ServingModel,
        dict(
            model=LM.Llama3_70B,
            hardware=[HW.H100, HW.H200],
            seq_len=[512, 2048],
            batch_size=np.arange(1, 257),
            tp_size=[1, 2, 4, 8],
            output_len=256,
        ),
    ),
    "ServingModel under traffic: 100,000 arrival rates": (
        mlsysim.ServingModel,
        dict(
            model=LM.Llama3_8B,
            hardware=HW.H100,
            seq_len=1024,
            output_len=256,
            arrival_rate=np.linspace(0.5, 40, 100_000),
        ),
    ),
    "SingleNodeModel: 2 GPUs x 2 prec x 512 batch x 16 seq": (
        mlsysim.SingleNodeModel,
        dict(
            model=LM.Llama3_8B,
            hardware=[HW.H100, HW.A100],
            precision=["fp16", "fp8"],
            batch_size=np.arange(1, 513),
            seq_len=np.arange(128, 2049, 128),
        ),
    ),
    "DistributedModel: 64 batch x 4 tp x 4 pp": (
        mlsysim.DistributedModel,
        dict(
            model=LM.Llama3_70B,
            fleet=mlsysim.Systems.Clusters.Research_256,
            batch_size=np.arange(64, 4097, 64),
            tp_size=[1, 2, 4, 8],
            pp_size=[1, 2, 4, 8],
            seq_len=4096,
        ),
    ),
}


def main(rounds: int) -> None:
    for label, (solver, grid) in GRIDS.items():
        plain, banded = partial(solver.sweep, **grid), partial(banded_sweep, solver, **grid)
        n = len(plain())
        banded()
        times: dict[str, list[float]] = {"plain": [], "banded": []}
        for _ in range(rounds):
            for name, fn in (("plain", plain), ("banded", banded)):
                t = time.process_time()
                fn()
                times[name].append(time.process_time() - t)
        p, b = (statistics.median(times[k]) for k in ("plain", "banded"))
        print(f"{label:58s} {n:>7,} points  plain {n / p:>10,.0f}/s  banded {n / b:>10,.0f}/s  ratio {b / p:4.2f}")


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5)
