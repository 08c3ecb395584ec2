"""Cost of bands: ``mlsysim_uncertainty.banded`` (one solve + the two corners, on one checked layout:
``ServingModel.solve_corners``) against one ``ServingModel.solve`` on the same configurations; prints
microseconds of this process's CPU time per call (best of 9 rounds: CPU time, not wall time, so that
other processes on a shared machine do not count) and the ratio (target <= 3x, issue 20). Also the
n=2 ``sweep_columns`` call the corners could use."""

from __future__ import annotations

import time
import timeit

import numpy as np

import mlsysim
from mlsysim_uncertainty import banded

LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud
CASES = {
    "Llama3_8B H100 bf16 1x128+256": (LM.Llama3_8B, HW.H100, 128, 1, {"output_len": 256}),
    "Llama3_8B H100 bf16 16x1024+256": (LM.Llama3_8B, HW.H100, 1024, 16, {"output_len": 256}),
    "Llama3_70B H100 fp8 tp4 32x2048": (LM.Llama3_70B, HW.H100, 2048, 32, {"precision": "fp8", "tp_size": 4}),
}


def best_us(fn, number: int = 300) -> float:
    return min(timeit.repeat(fn, number=number, repeat=9, timer=time.process_time)) / number * 1e6


def main() -> None:
    s = mlsysim.ServingModel()
    print(f"{'case':34s} {'solve us':>9s} {'banded us':>10s} {'ratio':>6s} {'sweep_columns(2) us':>20s}")
    vec = {"efficiency": np.array([0.7, 0.4]), "memory_efficiency": np.array([0.9, 0.76])}
    for name, (m, h, seq, batch, kw) in CASES.items():
        a = (m, h, seq, batch)
        args = dict(model=m, hardware=h, seq_len=seq, batch_size=batch, **kw)
        plain = best_us(lambda a=a, kw=kw: s.solve(*a, **kw))
        bands = best_us(lambda a=a, kw=kw: banded(s, *a, **kw))
        cols = best_us(lambda args=args: s.sweep_columns(2, vec, args), number=100)
        print(f"{name:34s} {plain:9.1f} {bands:10.1f} {bands / plain:6.2f} {cols:20.1f}")


if __name__ == "__main__":
    main()
