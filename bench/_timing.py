"""The timing loop the per-solver benchmarks share (imported as ``from _timing import bench``).

The scripts run as ``python bench/bench_x.py``; Python puts ``bench/`` on ``sys.path``, so no package is needed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def bench(
    label: str, fn: Callable[[], object], n: int = 5000, warmup: int = 500, width: int = 58, quiet: bool = False
) -> float:
    """Call ``fn`` ``warmup`` times, then time ``n`` calls; print the wall median, p10 and p90
    (perf_counter_ns) and the CPU median (process_time_ns: on a shared machine the wall time also counts
    the time slices other processes take) unless ``quiet``, and return the wall median in us."""
    for _ in range(warmup):
        fn()
    samples, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
        cpu.append(time.process_time_ns() - c0)
    samples.sort()
    med = statistics.median(samples) / 1e3
    if quiet:
        return med
    print(
        f"{label:{width}s} median {med:6.2f} us  p10 {samples[n // 10] / 1e3:6.2f}  "
        f"p90 {samples[9 * n // 10] / 1e3:6.2f}  CPU median {statistics.median(cpu) / 1e3:6.2f} us  (n={n})"
    )
    return med
