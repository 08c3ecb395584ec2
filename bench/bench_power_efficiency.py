"""Median microseconds per PowerEfficiencyModel.solve() (H100, default precision and fp8).

    python bench/bench_power_efficiency.py [calls]
"""

from __future__ import annotations

import statistics
import sys
import time

import mlsysim
from mlsysim import PowerEfficiencyModel


def bench(fn, calls: int) -> float:
    for _ in range(200):
        fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000


if __name__ == "__main__":
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    solver, h100 = PowerEfficiencyModel(), mlsysim.Hardware.Cloud.H100
    print(f"PowerEfficiencyModel.solve(H100)              {bench(lambda: solver.solve(h100), calls):7.2f} us")
    print(f"PowerEfficiencyModel.solve(H100, 'fp8')       {bench(lambda: solver.solve(h100, 'fp8'), calls):7.2f} us")
    print(f"  + reading flops_per_watt (Quantity built)   {bench(lambda: solver.solve(h100).flops_per_watt, calls):7.2f} us")
