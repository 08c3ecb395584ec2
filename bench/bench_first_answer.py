"""Whole-process time to a first answer on the command line (issue 21), median of N fresh processes.

    python bench/bench_first_answer.py [runs] [-- mlsysim args ...]

Default command: ``mlsysim serve Llama3_8B H100 --seq-len 2048`` (the ``mlsysim`` script next to this
interpreter). Wall time from process start to exit, as a person waits for it: interpreter start,
imports, plugin discovery, catalog, solve, printing; and the CPU time (user + system) each process used,
which other processes on a shared machine disturb less than the wall time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = ["serve", "Llama3_8B", "H100", "--seq-len", "2048"]


def measure(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``runs`` fresh processes."""
    exe = str(Path(sys.executable).with_name("mlsysim"))
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), os.times()
        res = subprocess.run([exe, *argv], capture_output=True, text=True, check=False)
        c1 = os.times()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((c1.children_user + c1.children_system - c0.children_user - c0.children_system) * 1e3)
        if res.returncode != 0:
            raise SystemExit(f"mlsysim {' '.join(argv)} failed: {res.stderr.strip()}")
    return wall, cpu


def main() -> None:
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 10
    argv = args[1:] if args[:1] == ["--"] else DEFAULT
    measure(argv, 1)  # warm the file-system cache (and any on-disk catalog cache)
    wall, cpu = measure(argv, runs)
    print(
        f"mlsysim {' '.join(argv)}: median {statistics.median(wall):.0f} ms, min {min(wall):.0f} ms; "
        f"CPU median {statistics.median(cpu):.0f} ms, min {min(cpu):.0f} ms (n={runs})"
    )


if __name__ == "__main__":
    main()
