"""Guide example 2 (LLM serving), copied verbatim from shared/spec/which-solver.qmd and run as
written. In the guide it follows example 1, which imported ``mlsysim``; the namespace provides that."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

GUIDE_SERVING = """\
from mlsysim import ServingModel

serving = ServingModel()
result = serving.solve(
    model=mlsysim.Models.Language.Llama3_8B,
    hardware=mlsysim.Hardware.Cloud.H100,
    seq_len=2048,
    batch_size=1
)
print(f"TTFT: {result.ttft.to('ms'):~.1f}")
print(f"ITL: {result.itl.to('ms'):~.2f}")
print(f"KV: {result.kv_cache_size:~.2f}")
print(f"Fits: {result.feasible}")
"""


def test_block_is_verbatim_in_the_guide():
    for base in Path(__file__).resolve().parents:
        for f in (base / "shared" / "spec" / "which-solver.qmd", base / "tests" / "data" / "which-solver.qmd"):
            if f.exists():
                assert GUIDE_SERVING in f.read_text()
                return


def test_guide_serving_example():
    import mlsysim

    ns: dict = {"__name__": "__guide__", "mlsysim": mlsysim}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(GUIDE_SERVING, "<guide>", "exec"), ns)
    lines = out.getvalue().splitlines()
    ttft = float(re.match(r"TTFT: ([0-9.]+) ms$", lines[0]).group(1))
    itl = float(re.match(r"ITL: ([0-9.]+) ms$", lines[1]).group(1))
    kv = float(re.match(r"KV: ([0-9.]+) GB$", lines[2]).group(1))
    assert 15 <= ttft <= 200 and 5 <= itl <= 9 and kv == 0.27
    assert lines[3] == "Fits: True"
