"""Cost of bands: ``mlsysim_uncertainty.banded`` (one solve + the two corners) against one plain
``solve`` of the same solver on the same arguments, for a serve (``ServingModel.solve_corners``: one
checked layout, each phase's FLOPs, bytes and memory computed once and combined per corner), a serve
under traffic, a roofline (``SingleNodeModel.solve_corners``: the step's work once, re-timed per
corner) and a training step (``DistributedModel``).

Prints, per case, the instructions of one plain and one banded call and their ratio (callgrind, through
bench/instructions.py: the deterministic figure, target <= 3x, issue 20), then microseconds of this
process's CPU time per call (``time.process_time``, so other processes on a shared machine do not count):
the plain and the banded call alternating call by call (A/B, so a change in the machine's load hits both),
the median and the best of the rounds, and the ratio of the medians. ``--rounds N`` (default 15; 0:
instructions only)."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from _timing import bench

import mlsysim
from mlsysim_uncertainty import banded

LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud
CLUSTER = mlsysim.Systems.Clusters.Research_256
#: label -> (solver, positional arguments, keyword arguments, calls per round)
CASES = {
    "serve Llama3_8B H100 bf16 1x128+256": (
        mlsysim.ServingModel,
        (LM.Llama3_8B, HW.H100, 128, 1),
        {"output_len": 256},
        300,
    ),
    "serve Llama3_8B H100 bf16 16x1024+256": (
        mlsysim.ServingModel,
        (LM.Llama3_8B, HW.H100, 1024, 16),
        {"output_len": 256},
        300,
    ),
    "serve Llama3_70B H100 fp8 tp4 32x2048": (
        mlsysim.ServingModel,
        (LM.Llama3_70B, HW.H100, 2048, 32),
        {"precision": "fp8", "tp_size": 4},
        300,
    ),
    "serve under traffic Llama3_8B H100 4000+500 @3/s": (
        mlsysim.ServingModel,
        (LM.Llama3_8B, HW.H100, 4000),
        {"output_len": 500, "arrival_rate": 3.0},
        30,
    ),
    "roofline Llama3_8B H100 bs32": (mlsysim.SingleNodeModel, (LM.Llama3_8B, HW.H100, 32), {}, 300),
    "train Llama3_70B Research_256 tp8 pp4": (
        mlsysim.DistributedModel,
        (LM.Llama3_70B, CLUSTER, 256),
        {"tp_size": 8, "pp_size": 4, "microbatch_count": 32, "seq_len": 8192},
        100,
    ),
}


def _nothing() -> None:
    return None


def _us(plain, bands, number: int) -> tuple[float, float]:
    """CPU microseconds per call of ``plain`` and of ``bands``, the two alternating call by call (a
    change in the machine's load hits both alike), less the cost of reading the clock around a call
    (timed on a call that does nothing)."""
    clock = time.process_time
    a = b = 0.0
    for _ in range(number):
        t0 = clock()
        plain()
        t1 = clock()
        bands()
        t2 = clock()
        a += t1 - t0
        b += t2 - t1
    empty = 0.0
    for _ in range(number):
        t0 = clock()
        _nothing()
        empty += clock() - t0
    return (a - empty) / number * 1e6, (b - empty) / number * 1e6


#: what the labels of :func:`timed`'s calls start with (bench/instructions.py's ``--match``)
LABEL = "bands: "


def calls() -> list[tuple[str, Callable[[], object], Callable[[], object], int]]:
    """Each case's label, its plain and its banded call (the solver made once), and its calls per round."""
    found = []
    for name, (cls, args, kw, number) in CASES.items():
        solver = cls()
        found.append((name, partial(solver.solve, *args, **kw), partial(banded, solver, *args, **kw), number))
    return found


def timed() -> None:
    """Each case's plain and banded call through the bench loop: the calls bench/instructions.py counts."""
    for name, plain, bands, number in calls():
        bench(f"{LABEL}{name}: solve", plain, n=number, warmup=3)
        bench(f"{LABEL}{name}: banded", bands, n=number, warmup=3)


def instructions() -> None:
    """Instructions per plain and per banded call of each case (callgrind) and their ratio."""
    from instructions import per_call

    counts = [k for _, k in per_call(LABEL)]
    print(f"{'case':50s} {'solve k instr':>14s} {'banded k instr':>15s} {'ratio':>6s}")
    for name, a, b in zip(CASES, counts[::2], counts[1::2]):
        print(f"{name:50s} {a / 1e3:14.1f} {b / 1e3:15.1f} {b / a:6.2f}")


def main(rounds: int) -> None:
    instructions()
    if rounds == 0:
        return
    print(f"CPU us per call, {rounds} rounds of alternating calls: median (best)")
    print(f"{'case':50s} {'solve':>15s} {'banded':>15s} {'ratio':>6s}")
    for name, plain, bands, number in calls():
        plain(), bands()  # warm: imports, caches
        a, b = [], []
        for _ in range(rounds):
            x, y = _us(plain, bands, number)
            a.append(x)
            b.append(y)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:50s} {ma:8.1f} ({min(a):5.1f}) {mb:8.1f} ({min(b):5.1f}) {mb / ma:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 15)
