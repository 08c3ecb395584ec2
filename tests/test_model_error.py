"""The model-error interval (mlsysim_uncertainty.model_error) and its hull with the corners' band."""

from __future__ import annotations

import math

import pytest

import mlsysim
from mlsysim_uncertainty import banded, model_error
from mlsysim_uncertainty.model_error import conformal_q, error_class, regimes

LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud
CLUSTER = mlsysim.Systems.Clusters.Research_256


def test_q_is_the_order_statistic_of_rank_ceil_0_8_n_plus_1():
    # n = 4: ceil(0.8 * 5) = 4, the largest; n = 5: ceil(4.8) = 5, the largest; n = 9: ceil(8) = 8, the second
    # largest; n = 3: ceil(3.2) = 4 > 3, no interval
    assert conformal_q([0.3, 0.1, 0.4, 0.2]) == 0.4
    assert conformal_q([0.5, 0.3, 0.1, 0.4, 0.2]) == 0.5
    assert conformal_q([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5]) == 0.8
    assert conformal_q([0.1, 0.2, 0.3]) is None
    # n = 14: ceil(0.8 * 15) = 12 exactly (no floating-point 12.000...1 pushing it to 13)
    assert conformal_q([i / 100 for i in range(14)]) == 0.11


def test_the_table_rounds_sorts_and_reads_q_from_what_it_wrote():
    t = model_error.table({"b": [0.2, 0.1, 0.4, 0.3], "a": [0.1234567891, 0.2, 0.3]})
    assert t["alpha"] == 0.2 and list(t["classes"]) == ["a", "b"]
    assert t["classes"]["a"] == {"n": 3, "q": None, "errors": [0.123457, 0.2, 0.3]}
    assert t["classes"]["b"] == {"n": 4, "q": 0.4, "errors": [0.1, 0.2, 0.3, 0.4]}


def test_classes_follow_the_solver_and_its_regime():
    assert error_class("SingleNodeModel", (), "latency") == error_class("ServingModel", (), "itl")  # pooled
    spec = regimes("ServingModel", {"spec_accept": 0.7})
    assert spec == ("speculative",)
    assert error_class("ServingModel", spec, "spec_itl") == model_error.SPECULATIVE
    assert error_class("ServingModel", spec, "itl") == model_error.NO_TRAFFIC  # the plain answer beside it
    loaded = regimes("ServingModel", {"concurrency": 8})
    assert error_class("ServingModel", loaded, "itl_p99") == model_error.ITL
    assert error_class("ServingModel", loaded, "ttft_mean") == error_class("ServingModel", loaded, "e2e_p99")
    assert error_class("ServingModel", loaded, "ttft_mean") == model_error.TTFT
    opened = regimes("ServingModel", {"arrival_rate": 3.0})
    assert opened == ("traffic", "open loop") and error_class("ServingModel", opened, "ttft_mean") == model_error.TTFT
    # the rate an open loop serves is the rate it was given; a closed loop's is a prediction
    assert error_class("ServingModel", opened, "requests_per_second") is None
    assert error_class("ServingModel", loaded, "requests_per_second") == model_error.TTFT
    assert error_class("MyModel", (), "x") is None and regimes("DistributedModel", {"concurrency": 8}) == ()
    # a bare PyTorch loop (the project's device measurements) has its own class; an engine's call stays pooled
    bare = regimes("ServingModel", {"engine": "torch"})
    assert bare == ("bare loop",) and error_class("ServingModel", bare, "itl") == model_error.BARE_LOOP
    assert regimes("ServingModel", {"engine": "vllm"}) == ()
    assert error_class("ServingModel", regimes("ServingModel", {"engine": "torch", "concurrency": 8}), "itl") == (
        model_error.ITL
    )


def test_the_bare_loop_class_is_apart_from_the_engines_class():
    # group G (58 points of one PyTorch loop, all but one short) would have set the engines' band
    classes = model_error.measured()
    assert classes[model_error.BARE_LOOP]["n"] == 58
    assert classes[model_error.NO_TRAFFIC]["n"] == 26


def test_an_overloaded_open_loop_serves_its_saturation_rate_a_prediction_with_its_band():
    args = (mlsysim.ServingModel, LM.Llama3_8B, HW.H100, 1024, 16)
    over = banded(*args, output_len=256, arrival_rate=500.0)  # far beyond the ~25 req/s it sustains
    assert over.overloaded and over.requests_per_second == over.saturation_rate
    assert regimes("ServingModel", {"arrival_rate": 500.0}, over) == ("traffic",)
    assert over.bands["requests_per_second"] == over.bands["saturation_rate"]  # the TTFT-like class's interval
    low, high = (q.m_as("1/s") for q in over.bands["requests_per_second"])
    rate, f = over.requests_per_second.m_as("1/s"), _factor(model_error.TTFT)
    assert low <= rate / f * (1 + 1e-12) and high >= rate * f * (1 - 1e-12)
    under = banded(*args, output_len=256, arrival_rate=3.0)  # served as given: an input, no band
    assert not under.overloaded and "requests_per_second" not in under.bands


def _factor(name):
    return math.exp(model_error.measured()[name]["q"])


def test_with_the_ranges_held_the_band_is_the_interval():
    held = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, tp_size=8, pp_size=4, efficiency=0.6)
    f = _factor("DistributedModel")
    assert held.bands.ranges == {} and held.bands.corners is None
    low, high = held.bands["step_time"]
    mid = held.step_time.m_as("s")
    assert (low.m_as("s"), high.m_as("s")) == pytest.approx((mid / f, mid * f), rel=1e-12)
    assert any(line.startswith("model error, DistributedModel: x0.") for line in held.bands.model_error)


def test_the_model_error_lines_show_in_explain_why_and_the_notebook_table():
    held = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, tp_size=8, pp_size=4, efficiency=0.6)
    (line,) = held.bands.model_error
    assert f"  band: {line}" in held.explain().splitlines()
    assert held.why()[-1 - len(held.out_of_domain)] == line  # after the infeasibility lines, before out of domain
    assert f"<li>{line}</li>" in held._repr_html_()
    plain = mlsysim.DistributedModel().solve(LM.Llama3_70B, CLUSTER, 256, tp_size=8, pp_size=4, efficiency=0.6)
    assert "band:" not in plain.explain() and line not in plain.why()  # no band, no line


def test_the_band_is_the_hull_of_the_corners_and_the_interval():
    r = banded(mlsysim.ServingModel, LM.Llama3_8B, HW.H100, 1024, 16, output_len=256, concurrency=16)
    for name, cls in (("ttft_mean", model_error.TTFT), ("itl_p99", model_error.ITL), ("e2e_p99", model_error.TTFT)):
        f = _factor(cls)
        mid = getattr(r, name).m_as("s")
        low, high = (q.m_as("s") for q in r.bands[name])
        r_low, r_high = (q.m_as("s") for q in r.bands.ranges[name])
        assert (low, high) == pytest.approx((min(r_low, mid / f), max(r_high, mid * f)), rel=1e-12)
    assert len(r.bands.model_error) == 2 and "TTFT-like" in r.bands.model_error[1] + r.bands.model_error[0]
    n = model_error.measured()[model_error.TTFT]["n"]
    assert any(f"on {n} measured points, 80% conformal" in line for line in r.bands.model_error)


def test_speculative_fields_get_their_class_and_the_plain_fields_theirs():
    r = banded(
        mlsysim.ServingModel, LM.Llama3_8B, HW.H100, 512, 1, output_len=128, spec_draft_cost=0.05, spec_accept=0.7
    )
    for name, cls in (("spec_itl", model_error.SPECULATIVE), ("itl", model_error.NO_TRAFFIC)):
        f, mid = _factor(cls), getattr(r, name).m_as("s")
        low, high = (q.m_as("s") for q in r.bands[name])
        assert low <= mid / f * (1 + 1e-12) and high >= mid * f * (1 - 1e-12)


def test_a_fraction_stops_at_one_and_too_few_points_say_so(monkeypatch):
    r = banded(mlsysim.ReliabilityModel, CLUSTER, 24 * 30, 60, fleet_mtbf=100)
    low, high = r.bands["goodput"]
    # the interval scales the loss 1 - goodput (model_error.FLOORS), within [0, 1]
    assert high <= 1.0 and low == pytest.approx(max(0.0, 1 - (1 - r.goodput) * _factor("ReliabilityModel")))
    assert high == pytest.approx(1 - (1 - r.goodput) / _factor("ReliabilityModel"))
    short = banded(mlsysim.ReliabilityModel, CLUSTER, 24 * 30, 3600, fleet_mtbf=2)  # loss x q beyond 1
    assert short.bands["goodput"][0] == 0.0 < short.goodput
    monkeypatch.setattr(model_error, "measured", lambda: {"ReliabilityModel": {"n": 3, "q": None, "errors": []}})
    assert model_error.why("ReliabilityModel", "ReliabilityModel") == (
        "no model-error band: 3 calibration points of this kind (ReliabilityModel), 4 needed"
    )
    assert model_error.factor("ReliabilityModel") is None
    assert model_error.why(None, "MyModel") == "no model-error band: MyModel has no calibration points"


def test_cli_shows_the_model_error_line_in_the_table_and_json():
    from click.testing import CliRunner

    from mlsysim_cli import main

    out = CliRunner().invoke(main, ["serve", "Llama3_8B", "H100", "--seq-len", "1024", "--bands"])
    assert out.exit_code == 0 and "model error, SingleNodeModel and ServingModel without traffic: x0." in out.output, (
        out.output
    )
    js = CliRunner().invoke(main, ["serve", "Llama3_8B", "H100", "--seq-len", "1024", "--bands", "--json"])
    assert '"model_error": [' in js.output


def test_out_of_domain_the_interval_is_the_class_largest_error():
    # SingleNodeModel's calibration points are int8 (ResNet-50) and fp8 (SDXL): fp16 on an H100 is out of domain
    c = model_error.measured()[model_error.NO_TRAFFIC]
    out = banded(mlsysim.SingleNodeModel, mlsysim.Models.ResNet50, HW.H100, batch_size=1024, precision="fp16")
    inside = banded(mlsysim.SingleNodeModel, mlsysim.Models.ResNet50, HW.H100, batch_size=1024, precision="int8")
    assert any("precision fp16 was never measured" in line for line in out.out_of_domain) and not inside.out_of_domain
    for r, q, how in ((out, c["errors"][-1], "out of domain: the largest error"), (inside, c["q"], "80% conformal")):
        f, mid = math.exp(q), r.latency.m_as("s")
        low, high = (x.m_as("s") for x in r.bands["latency"])
        assert low <= mid / f * (1 + 1e-12) and high >= mid * f * (1 - 1e-12)
        assert any(line.endswith(how) for line in r.bands.model_error)
    # every class with an interval is at least as wide out of domain (its largest error is >= its 80 % rank)
    for name, k in model_error.measured().items():
        inner, outer = model_error.factor(name), model_error.factor(name, outside=True)
        assert inner is None or (outer == pytest.approx(math.exp(k["errors"][-1])) and outer >= inner)
    assert c["errors"][-1] > c["q"]


def test_a_beam_search_call_counts_its_sequences_in_flight_against_the_measured_batch():
    # the calibration set's GPT-J rows run 4 beams, recorded as batch x beams: so is a call's batch
    from mlsysim_uncertainty.domain import query

    lm = mlsysim.Models.Language.Llama3_8B
    beams = mlsysim.ServingModel().solve(lm, HW.H100, 100, batch_size=8, beam_width=4, output_len=28, precision="fp8")
    assert query(beams) == ("NVIDIA H100 SXM5 80GB", "fp8", 32, 128)
    assert query(mlsysim.ServingModel().solve(lm, HW.H100, 100, batch_size=8))[2:] == (8, 100)  # no output: prompt
