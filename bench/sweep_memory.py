"""Memory a point of ``mlsysim sweep serve`` holds, plain and with ``--bands``: the caps of mlsysim_cli.sweep.

    .venv/bin/python bench/sweep_memory.py [--small N] [--large N] [--out csv|json]

Runs the command (ServingModel: the widest result, 107 fields) in a child process at two batch-size ranges,
reads the child's own peak resident set (``ru_maxrss``) at each, and reports the slope, bytes a point between
them: what a point costs beyond the fixed start-up. Both sizes should exceed the rows turned into Python values at
a time (``_CHUNK``, 65,536 rows; ``_BANDED_CHUNK`` with --bands) for the slope not to count a chunk being filled.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = """import resource, sys
from mlsysim_cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_kib(n: int, bands: bool, out: str) -> int:
    """Peak RSS (KiB) of one ``mlsysim sweep serve`` over batch sizes 1..n, writing ``--out`` to a temp file."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", CHILD, "sweep", "serve", "--model", "Llama3_70B", "--hardware", "H100"]
        cmd += ["--seq-len", "2048", "--batch-size", f"1..{n}", "--tp", "8"]
        cmd += [f"--{out}", os.path.join(tmp, f"points.{out}"), *(["--bands"] if bands else [])]
        done = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return int(done.stderr.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=200_000)
    ap.add_argument("--out", choices=("csv", "json"), default="csv")
    a = ap.parse_args()
    for bands in (False, True):
        lo, hi = peak_kib(a.small, bands, a.out), peak_kib(a.large, bands, a.out)
        per = (hi - lo) * 1024 / (a.large - a.small)
        print(
            f"{'--bands' if bands else 'plain  '} --{a.out}: {a.small:,} points {lo / 1024:,.0f} MiB, "
            f"{a.large:,} points {hi / 1024:,.0f} MiB: {per:,.0f} B a point"
        )


if __name__ == "__main__":
    main()
