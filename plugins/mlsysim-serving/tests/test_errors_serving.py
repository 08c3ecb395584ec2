"""Bad input to ServingModel: InvalidInputError naming argument, value and valid range."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving.request_path import parse_seconds

from mlsysim_core.errors import InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70, MLA, NO_LINK, RESNET  # noqa: E402

serving = ServingModel()


def check(argument: str, fragment: str, **kw):
    base = dict(model=LLAMA8, hardware=H100, seq_len=1024)
    base.update(kw)
    with pytest.raises(InvalidInputError) as err:
        serving.solve(**base)
    assert err.value.argument == argument, str(err.value)
    assert fragment in str(err.value), str(err.value)
    return err.value


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2048", True, None, 131073, 2**41])
def test_seq_len(bad):
    check("seq_len", "[1, 131072]", seq_len=bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", False, 2**41])
def test_batch_size(bad):
    check("batch_size", "[1, 1099511627776]", batch_size=bad)


@pytest.mark.parametrize("bad", [0, 1.0, "1"])
def test_output_len(bad):
    check("output_len", "[1,", output_len=bad)


def test_output_len_past_context():
    check("output_len", "max_seq_len=131072", seq_len=131000, output_len=100)


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.01, float("nan"), "0.5"])
def test_efficiency(bad):
    check("efficiency", "(0.0, 1.0]", efficiency=bad)


def test_precisions():
    check("precision", "int4", precision="FP16")
    check("precision", "bf16, fp16, fp8", precision="fp32")
    check("kv_precision", "fp16", kv_precision="half")


def test_cnn_is_rejected():
    e = check("model", "TransformerWorkload", model=RESNET)
    assert "SingleNodeModel" in str(e)
    check("model", "catalog models entry", model="Llama3_8B_x")  # a name is looked up: this one is unknown
    check("hardware", "catalog hardware entry", hardware="H1000")


@pytest.mark.parametrize("tp,fragment", [(3, "divisor of heads=32"), (0, "[1, 8]"), (16, "[1, 8]"), (2.0, "[1, 8]")])
def test_tp_size(tp, fragment):
    check("tp_size", fragment, tp_size=tp)


def test_tp_against_kv_heads_and_node():
    from mlsysim_core.types import TransformerWorkload

    odd = TransformerWorkload(name="kv6", parameters=10**9, layers=4, hidden_dim=3072, heads=24, kv_heads=6)
    check("tp_size", "kv_heads=6", model=odd, tp_size=4)  # 4 neither divides nor is a multiple of 6
    check("tp_size", "[1, 1]", hardware=NO_LINK, tp_size=2)
    check("tp_size", "neither a scale-up nor a host link", hardware=NO_LINK, tp_size=2, gpus_per_node=2)
    check("gpus_per_node", "[1,", gpus_per_node=0)
    assert serving.solve(LLAMA70, H100, 1024, tp_size=16, gpus_per_node=16).tp_size == 16
    assert serving.solve(MLA, H100, 1024, tp_size=16, gpus_per_node=16).tp_size == 16


TIME_ARGUMENTS = [("slo_ttft", dict(arrival_rate=1.0, output_len=8)), ("engine_overhead", {}), ("request_overhead", {})]


@pytest.mark.parametrize("argument, extra", TIME_ARGUMENTS)
@pytest.mark.parametrize("text", ["9 s*9**9**9", "2**3 ms", "1..3", "ms", "1 ms + 2 s", "(1+1) ms", "1_000 us", "3 GB"])
def test_time_texts_are_parsed_strictly(argument, extra, text):
    """A time text is "VALUE UNIT" or a number of seconds: pint's expression parser evaluated "2**3 ms" to 8 ms,
    "ms" to 1 ms, "1..3" to 0.3 and ran for minutes on "9 s*9**9**9"; the error shows the text as given."""
    err = check(argument, repr(text), **{argument: text}, **extra)
    assert "Quantity" not in str(err)


def test_time_texts_with_and_without_a_space():
    base = dict(model=LLAMA8, hardware=H100, seq_len=1024)
    itl = serving.solve(**base, engine_overhead="4ms").itl
    assert itl == serving.solve(**base, engine_overhead="4 ms").itl == serving.solve(**base, engine_overhead=0.004).itl


@pytest.mark.parametrize("text, seconds", [("40 ms", 0.04), ("300ms", 0.3), ("1s", 1), (" 0.05 ", 0.05), ("1 h", 3600)])
def test_parse_seconds(text, seconds):
    assert parse_seconds(text, name="t", expected="a time") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2**3 ms", "ms", "1..3", "1 ms + 2 s", "9 s*9**9**9", "nan ms", "5 %", "3 GB", ""])
def test_parse_seconds_rejects_expressions_and_other_dimensions(text):
    with pytest.raises(InvalidInputError, match="t=") as err:
        parse_seconds(text, name="t", expected="a time")
    assert repr(text) in str(err.value)


def test_an_engine_without_a_scoped_fit_is_named_in_the_notes():
    """engine='vlm' (a typo of a fitted 'vllm') took the unscoped calibration without a word; now a note says so.
    The unscoped fit still applies (the documented fallback): the same TTFT as engine=None."""
    import attrs

    hw = attrs.evolve(H100, calibration={"compute": 0.5, "source": "lab", "engines": {"vllm": {"compute": 0.45}}})
    typo = serving.solve(LLAMA8, hw, 512, engine="vlm")
    assert f"engine 'vlm': {H100.name} has no fit scoped to it (engines: vllm)" in typo.notes
    assert typo.ttft == serving.solve(LLAMA8, hw, 512).ttft != serving.solve(LLAMA8, hw, 512, engine="vllm").ttft
    assert not any("engine 'vllm'" in n for n in serving.solve(LLAMA8, hw, 512, engine="vllm").notes)


@pytest.mark.parametrize(
    "kw, argument, fragment",
    [
        (dict(kv_layerwise=False), "kv_layerwise", "True (the default) without disagg"),
        (dict(spec_k=8), "spec_k", "4 (the default) without spec_draft or spec_draft_cost"),
        (dict(spec_k=8, arrival_rate=1.0, output_len=8), "spec_k", "4 (the default)"),
    ],
)
def test_a_qualifier_without_what_it_qualifies_is_refused(kw, argument, fragment):
    """--kv-layerwise off without --disagg and --spec-k 8 without a draft were ignored (the same result)."""
    check(argument, fragment, **kw)
    swept = ServingModel.sweep(model=LLAMA8, hardware=H100, seq_len=1024, **{argument: [kw[argument]]})
    assert not swept.valid.any() and fragment in swept.error[0]
