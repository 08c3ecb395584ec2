"""Bad input: every error is an InvalidInputError naming argument, value and valid range."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from mlsysim_single_node import Engine, SingleNodeModel

from mlsysim_core.errors import InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_sn import H100, LLAMA8, NO_FLOPS, RESNET  # noqa: E402

solver = SingleNodeModel()


def check(argument: str, fragment: str, **kw):
    base = dict(model=RESNET, hardware=H100)
    base.update(kw)
    with pytest.raises(InvalidInputError) as err:
        solver.solve(**base)
    assert err.value.argument == argument, str(err.value)
    assert fragment in str(err.value), str(err.value)
    return err.value


@pytest.mark.parametrize("bad", [0, -4, 2.5, "8", True, None, 2**41, float("nan")])
def test_batch_size(bad):
    check("batch_size", "[1, 1099511627776]", batch_size=bad)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan"), float("inf"), "0.5", True])
def test_efficiency(bad):
    check("efficiency", "(0.0, 1.0]", efficiency=bad)


@pytest.mark.parametrize("bad", [0.0, 2, float("nan")])
def test_memory_efficiency(bad):
    check("memory_efficiency", "(0.0, 1.0]", memory_efficiency=bad)


@pytest.mark.parametrize("bad", ["FP16", "fp12", 16])
def test_unknown_precision_lists_all(bad):
    e = check("precision", "fp16", precision=bad)
    assert "int4" in str(e)


@pytest.mark.parametrize("bad", ["fp64", "int4", "fp32"])
def test_precision_the_part_lacks_lists_what_it_has(bad):
    e = check("precision", "bf16, fp16, fp8", precision=bad)
    assert bad in str(e)


@pytest.mark.parametrize("bad", [0, -1, 2.0, "2048", 131073, 2**41])
def test_seq_len(bad):
    check("seq_len", "131072", model=LLAMA8, seq_len=bad)


def test_strings_instead_of_objects():
    e = check("model", "catalog models entry", model="ResNet5")  # a name is looked up: this one is unknown
    assert "did you mean ResNet50" in str(e)
    check("hardware", "catalog hardware entry", hardware="H1000")
    check("model", "Workload", model=None)
    check("hardware", "HardwareNode", hardware=None)


def test_workload_without_flops():
    check("model", "flops_per_sample", model=NO_FLOPS)


def test_flags_and_training_options():
    check("raise_errors", "True or False", raise_errors="yes")
    check("is_training", "True or False", is_training=1)
    check("zero_stage", "[0, 3]", is_training=True, zero_stage=4)
    check("dp_size", "[1,", is_training=True, dp_size=0)
    for bad in ("flash", 1, None, ["full"]):
        check(
            "activation_recomputation",
            "one of 'selective', 'full', 'none'",
            is_training=True,
            activation_recomputation=bad,
        )


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        solver.solve(RESNET, H100, foo=1)
    with pytest.raises(TypeError):
        Engine.solve(RESNET, H100, foo=1)


def test_numpy_integers_are_accepted():
    import numpy as np

    p = solver.solve(RESNET, H100, batch_size=np.int64(8))
    assert p.batch_size == 8 and math.isfinite(p.latency.magnitude)


@pytest.mark.parametrize("seq_len", [100, 0, "x"])
def test_a_seq_len_for_a_cnn_is_refused_not_ignored(seq_len):
    """ResNet-50 with seq_len=100 answered the seq_len=None latency (3.193 ms on H100) as if it were not given."""
    check("seq_len", f"None: {RESNET.name} is a fixed-shape network (no sequence)", seq_len=seq_len)
    r = SingleNodeModel.sweep(model=RESNET, hardware=H100, seq_len=[100, 200])
    assert not r.valid.any() and all("fixed-shape network (no sequence)" in e for e in r.error)
    for training in (True, False):
        with pytest.raises(InvalidInputError, match="fixed-shape"):
            solver.solve(RESNET, H100, seq_len=100, is_training=training)
