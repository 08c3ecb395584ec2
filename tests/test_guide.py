"""Every fenced ```python block of the user guide (which-solver.qmd) runs as written.

Blocks run in order in ONE namespace, as a reader pasting them into one session would (blocks 2-3
use ``mlsysim.`` after ``from mlsysim import ...``). The guide lives at ``../shared/spec/`` beside
the repository; CI may run without it, so ``tests/data/which-solver.qmd`` is a verbatim copy used
when it is absent (and checked against the original when both exist).

Warnings are errors, except exactly one: the distributed example (2048 sequences over dp=256
replicas in 16 micro-batches, i.e. half a sequence per micro-batch) must emit the distributed
plugin's ``MicrobatchWarning``, and only in that block.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings
from pathlib import Path

import pytest

import mlsysim

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO.parent / "shared" / "spec" / "which-solver.qmd"
COPY = REPO / "tests" / "data" / "which-solver.qmd"


def guide_text() -> str:
    return (GUIDE if GUIDE.exists() else COPY).read_text()


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.S | re.M)


def test_copy_is_verbatim():
    if not GUIDE.exists():
        pytest.skip(f"{GUIDE} is not beside this checkout; using the copy")
    assert COPY.read_text() == GUIDE.read_text(), "refresh tests/data/which-solver.qmd (see tests/data/README.md)"


def test_guide_has_the_expected_blocks():
    blocks = python_blocks(guide_text())
    assert len(blocks) == 5
    assert [("SingleNodeModel" in b, "ServingModel" in b, "DistributedModel" in b) for b in blocks[:3]] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]


def _microbatch_warning() -> type:
    """The distributed plugin's MicrobatchWarning, found through the solver (no plugin import here)."""
    return sys.modules[mlsysim.DistributedModel.__module__].MicrobatchWarning


def test_every_python_block_runs_in_one_namespace():
    namespace: dict = {"__name__": "__guide__"}
    outputs = []
    for i, block in enumerate(python_blocks(guide_text()), start=1):
        code = compile(block, f"which-solver.qmd[python block {i}]", "exec")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if "DistributedModel" in block:
                category = _microbatch_warning()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    exec(code, namespace)
                kinds = {w.category for w in caught}
                assert kinds == {category}, [f"{w.category.__name__}: {w.message}" for w in caught]
            else:
                exec(code, namespace)
        outputs.append(out.getvalue())
    single, serving, distributed, sweep, custom = outputs
    assert "Bottleneck: Memory" in single  # the guide's "# → Memory"
    for label in ("Latency:", "MFU:"):
        assert label in single
    for label in ("TTFT:", "ITL:", "KV:", "Fits: True"):
        assert label in serving
    for label in ("Scaling efficiency:", "Bubble fraction:", "DP comm latency:"):
        assert label in distributed
    assert len(sweep.splitlines()) == 4
    assert len(custom.splitlines()) == 4 and "TFLOP" in custom
