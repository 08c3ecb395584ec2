"""Guide examples 1 (single-node roofline) and 4 (the sweep loop), copied verbatim from
shared/spec/which-solver.qmd, run as written (each in a fresh namespace, stdout captured)."""

from __future__ import annotations

import contextlib
import io
import re

GUIDE_SINGLE_NODE = """\
import mlsysim
from mlsysim import SingleNodeModel

solver = SingleNodeModel()
profile = solver.solve(
    model=mlsysim.Models.ResNet50,
    hardware=mlsysim.Hardware.Cloud.A100,
    batch_size=1
)
print(f"Bottleneck: {profile.bottleneck}") # → Memory
print(f"Latency: {profile.latency.to('ms'):~.2f}")
print(f"MFU: {profile.mfu:.1%}")
"""

GUIDE_SWEEP = """\
import mlsysim
from mlsysim import SingleNodeModel

solver = SingleNodeModel()
targets = [
    mlsysim.Hardware.Cloud.T4,
    mlsysim.Hardware.Cloud.A100,
    mlsysim.Hardware.Cloud.H100,
    mlsysim.Hardware.Cloud.B200,
]

for hw in targets:
    p = solver.solve(model=mlsysim.Models.ResNet50, hardware=hw, batch_size=32)
    print(f"{hw.name:20s} {p.latency.to('ms'):>8.2f~} {p.bottleneck}")
"""


def run(code: str) -> tuple[str, dict]:
    ns: dict = {"__name__": "__guide__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<guide>", "exec"), ns)
    return out.getvalue(), ns


def test_blocks_are_verbatim_in_the_guide():
    from pathlib import Path

    for base in Path(__file__).resolve().parents:
        guide = base / "shared" / "spec" / "which-solver.qmd"
        copy = base / "tests" / "data" / "which-solver.qmd"
        for f in (guide, copy):
            if f.exists():
                text = f.read_text()
                assert GUIDE_SINGLE_NODE in text and GUIDE_SWEEP in text
                return


def test_guide_single_node_example():
    out, ns = run(GUIDE_SINGLE_NODE)
    lines = out.splitlines()
    assert lines[0] == "Bottleneck: Memory"
    latency = float(re.match(r"Latency: ([0-9.]+) ms", lines[1]).group(1))
    # ResNet-50 at batch 1 is paced by its fixed per-layer cost: 50 x 63 us = 3.15 ms (+ 0.04 ms streaming)
    assert 0.05 < latency < 5.0
    assert re.match(r"MFU: [0-9.]+%", lines[2])
    p = ns["profile"]
    assert p.bottleneck == "Memory" and p.feasible and 0 < p.mfu < 0.5


def test_guide_sweep_loop_runs_and_prints():
    out, ns = run(GUIDE_SWEEP)
    lines = out.splitlines()
    assert len(lines) == 4
    names = [hw.name for hw in ns["targets"]]
    times = []
    for line, name in zip(lines, names):
        assert line.startswith(name)
        m = re.search(r"([0-9.]+) ms (Memory|Compute)$", line)
        assert m, line
        times.append(float(m.group(1)))
    # T4 -> A100 -> H100 -> B200: each generation is faster on the same batch
    assert times == sorted(times, reverse=True)
