"""Median microseconds per PowerEfficiencyModel.solve() (H100, default precision and fp8).

python bench/bench_power_efficiency.py [calls]
"""

from __future__ import annotations

import sys

from _timing import bench

import mlsysim
from mlsysim import PowerEfficiencyModel

if __name__ == "__main__":
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    solver, h100 = PowerEfficiencyModel(), mlsysim.Hardware.Cloud.H100
    bench("PowerEfficiencyModel.solve(H100)", lambda: solver.solve(h100), calls, warmup=200, width=46)
    bench("PowerEfficiencyModel.solve(H100, 'fp8')", lambda: solver.solve(h100, "fp8"), calls, warmup=200, width=46)
    bench(
        "  + reading flops_per_watt (Quantity built)",
        lambda: solver.solve(h100).flops_per_watt,
        calls,
        warmup=200,
        width=46,
    )
