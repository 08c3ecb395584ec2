"""Instructions per call of each budgeted serving solve (issues 15 and 16) and of each plain and banded call of
``bench_bands.py`` (issue 20), counted by callgrind, with the microseconds they stand for at a reference rate
and today's wall median: a figure that does not move with the machine's load or speed.

The calls are those the bench scripts time (``bench_serving_traffic.py``'s solves,
``bench_serving_parallel.py``, ``bench_serving_disagg.py``, ``bench_bands.py``, the fleet solves of
``bench_econ_sustain_rel.py``): each script's ``bench`` is
replaced by a recorder and the script run, so the list is theirs. One ``valgrind --tool=callgrind`` process runs
every call: its warm-up calls (the bench's own count), then N calls and 2N calls, each block one ``sys.call_tracing``
call (which nothing else uses), the only code collected (``--collect-atstart=no --toggle-collect``), with a profile
dumped after each block (``--dump-after``); instructions per call = (block of 2N - block of N)/N, so what a block
costs around its calls cancels. That holds only where every call of both blocks costs the same: Python 3.11 quickens a
function after a few calls and specializes its sites after that, so a cold path's first calls cost more (the
disaggregated MoE call's 4th to 8th 1,594 / 1,246 / 1,239 / 1,229 / 1,300 k, ~1,140 k from the 9th on); after a
warm-up of 3 calls (sessions 11 to 23) the N block held those calls and the difference fell below the cost of any one
call (1,050 k there). Each call now runs the bench script's own warm-up first (10 for the cold topology solves, 2-50
for the others: an SLO search warms on the many solves inside its first call), which leaves the cold solves' blocks
in the steady state the wall median times (session 10's 1,125.6 k, the reference rate's count, came after 30).
``PYTHONHASHSEED=0`` and one BLAS thread make the count repeat to within a few instructions per call.

Run from the repository root:  .venv/bin/python bench/instructions.py [--match TEXT] [--no-wall] [--fresh]
(``--match``: only the calls whose label contains TEXT; ``--no-wall``: no wall medians; ``--fresh``: each call
counted alone in its own callgrind process, not after the others: a call's count moves by a few k instructions
with what ran before it, as Python 3.11 specializes call sites to what they saw.)
Reference rate: 1,125.6 k instructions per plain traffic solve took 114 us on session 10's VM, 9.87 k
instructions per us (bench/README.md): issue 15's 50 us is ~495 k instructions, issue 16's 100 us ~987 k.
"""

from __future__ import annotations

import argparse
import gc
import glob
import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

from _timing import bench

#: Instructions per microsecond on the reference VM (session 10: 1,125.6 k instructions = 114 us).
REFERENCE_RATE = 1_125.6e3 / 114.0
#: bench script -> the function of it that runs its timed calls (and nothing else)
SCRIPTS = {
    "bench_serving_traffic": "solves",
    "bench_serving_parallel": "main",
    "bench_serving_disagg": "main",
    "bench_bands": "timed",
    "bench_econ_sustain_rel": "main",
}

Call = tuple[str, Callable[[], object], int, int]  # label, call, the bench's n and warm-up


def calls() -> list[Call]:
    """Every call the bench scripts time, in their order, with their n and warm-up counts."""
    found: list[Call] = []

    def record(label: str, fn: Callable[[], object], n: int = 5000, warmup: int = 500, width: int = 58) -> float:
        found.append((label, fn, n, warmup))
        return 0.0

    for name, entry in SCRIPTS.items():
        module = importlib.import_module(name)
        module.bench = record  # type: ignore[attr-defined]
        getattr(module, entry)()
    return found


def blocks(n: int) -> int:
    """N, the calls of one counted block: a tenth of the bench's n, 2 to 30 (a cold SLO search costs ~40 M)."""
    return max(2, min(30, n // 10))


def _repeat(fn: Callable[[], object], k: int) -> None:
    """Call ``fn`` k times."""
    for _ in range(k):
        fn()


def count(match: str, only: int | None = None) -> None:
    """Under callgrind: each matching call's warm-up (the bench's own count), then blocks of N and 2N calls (``only``:
    the matching call of that index alone)."""
    chosen = [c for c in calls() if match in c[0]]
    for _, fn, n, warmup in chosen if only is None else chosen[only : only + 1]:
        for _ in range(warmup):
            fn()
        gc.collect()
        gc.disable()
        for k in (blocks(n), 2 * blocks(n)):  # sys.call_tracing runs the k calls: one collected block
            sys.call_tracing(_repeat, (fn, k))
        gc.enable()


def counted(match: str, only: int | None = None) -> list[int]:
    """Instructions of each block, in order, from the profiles callgrind dumped after each (``only``: of the matching
    call of that index, alone in its process)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=sys_call_tracing",
                "--dump-after=sys_call_tracing",
                f"--callgrind-out-file={tmp}/cg",
                sys.executable,
                __file__,
                "--count",
                "--match",
                match,
                *(() if only is None else ("--only", str(only))),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        dumps = sorted(glob.glob(f"{tmp}/cg.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        totals = []
        for path in dumps:
            with open(path) as fh:
                totals.append(int(re.search(r"^summary:\s*(\d+)", fh.read(), re.M).group(1)))  # type: ignore[union-attr]
        return totals


def per_call(match: str, fresh: bool = False) -> list[tuple[Call, float]]:
    """Each call whose label contains ``match`` with its instructions per call: one callgrind run of them all, in order,
    or (``fresh``) one run for each, alone in its process. A call's count moves by a few k instructions with what ran
    before it in the process (Python 3.11 specializes each call site to what it saw: a call after others of other
    paths finds sites specialized for them), so a row's figure is given with the order it was counted in."""
    chosen = [c for c in calls() if match in c[0]]
    totals = [x for i in range(len(chosen)) for x in counted(match, i)] if fresh else counted(match)
    if len(totals) != 2 * len(chosen):
        raise SystemExit(f"callgrind dumped {len(totals)} blocks for {len(chosen)} calls")
    return [(c, (totals[2 * i + 1] - totals[2 * i]) / blocks(c[2])) for i, c in enumerate(chosen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", default="", help="only the calls whose label contains this text")
    parser.add_argument("--no-wall", action="store_true", help="instructions only")
    parser.add_argument("--fresh", action="store_true", help="each call counted alone in its own process")
    parser.add_argument("--only", type=int, default=None, help=argparse.SUPPRESS)  # the one call a fresh run counts
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)  # the process callgrind runs
    args = parser.parse_args()
    if args.count:
        count(args.match, args.only)
        return
    print(f"{'call':86s} {'k instr':>9s} {'ref us':>7s} {'wall us':>8s}")
    for (label, fn, n, warmup), instr in per_call(args.match, args.fresh):
        wall = "" if args.no_wall else f"{bench(label, fn, n=n, warmup=warmup, quiet=True):8.1f}"
        print(f"{label[:86]:86s} {instr / 1e3:9.1f} {instr / REFERENCE_RATE:7.1f} {wall}")


if __name__ == "__main__":
    main()
