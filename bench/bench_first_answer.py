"""Whole-process time to a first answer on the command line (issue 21), median of N fresh processes.

    python bench/bench_first_answer.py [runs] [-- mlsysim args ...]

Default command: ``mlsysim serve Llama3_8B H100 --seq-len 2048`` (the ``mlsysim`` script next to this
interpreter). Wall time from process start to exit, as a person waits for it: interpreter start,
imports, plugin discovery, catalog, solve, printing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = ["serve", "Llama3_8B", "H100", "--seq-len", "2048"]


def measure(argv: list[str], runs: int) -> list[float]:
    exe = str(Path(sys.executable).with_name("mlsysim"))
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run([exe, *argv], capture_output=True, text=True, check=False)
        out.append((time.perf_counter() - t0) * 1e3)
        if res.returncode != 0:
            raise SystemExit(f"mlsysim {' '.join(argv)} failed: {res.stderr.strip()}")
    return out


def main() -> None:
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 10
    argv = args[1:] if args[:1] == ["--"] else DEFAULT
    measure(argv, 1)  # warm the file-system cache (and any on-disk catalog cache)
    times = measure(argv, runs)
    print(f"mlsysim {' '.join(argv)}: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms (n={runs})")


if __name__ == "__main__":
    main()
