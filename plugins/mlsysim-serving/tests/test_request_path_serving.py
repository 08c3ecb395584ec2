"""The request path outside the engine's steps (``request_overhead``, :mod:`mlsysim_serving.request_path`):
client TTFT = engine TTFT + t_req, a closed loop's clients spend t_req outside the engine, an engine's
calibration supplies it, bad values are named; the command line takes it and a step's host time as times."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import pytest
from mlsysim_serving import ServingModel

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.units import ureg

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import ONE_GPU_POOLS  # noqa: E402

LM, HW = mlsysim.Models.Language, mlsysim.Hardware
#: Qwen3-8B on one H100 at the GPUStack ShareGPT means (233 in, 221 out)
BASE = dict(seq_len=233, output_len=221, precision="bf16")


def _solve(**kw):
    return ServingModel().solve(LM.Qwen3_8B, kw.pop("hardware", HW.H100), **{**BASE, **kw})


def test_open_loop_shifts_every_client_latency_by_the_request_path():
    # at a fixed arrival rate the engine sees the same traffic: each TTFT/e2e field moves by exactly 47 ms
    plain, slow = _solve(arrival_rate=2.0), _solve(arrival_rate=2.0, request_overhead=0.047)
    for k in ("ttft_mean", "ttft_p50", "ttft_p90", "ttft_p99", "e2e_mean", "e2e_p90", "e2e_p99"):
        assert getattr(slow, k).m_as("s") - getattr(plain, k).m_as("s") == pytest.approx(0.047, abs=1e-12)
    for k in ("itl_mean", "itl_p99", "queue_wait_mean", "utilization"):
        assert slow.si(k) == pytest.approx(plain.si(k), rel=1e-12)
    assert slow.request_overhead.m_as("ms") == pytest.approx(47.0)
    assert plain.request_overhead.m_as("ms") == 0.0
    assert "request path 47 ms" in "\n".join(slow.constraint_trace)


def test_closed_loop_clients_spend_the_request_path_outside_the_engine():
    # Little's law over a client's cycle: rate * (engine e2e + t_req) = N, and e2e_mean is the client's
    n, t = 8, 0.047
    r, plain = _solve(concurrency=n, request_overhead=t), _solve(concurrency=n)
    assert r.arrival_rate.m_as("1/s") * r.e2e_mean.m_as("s") == pytest.approx(n, rel=1e-3)
    assert r.arrival_rate.m_as("1/s") < plain.arrival_rate.m_as("1/s")  # fewer requests reach the engine
    assert r.ttft_mean.m_as("s") - t < plain.ttft_mean.m_as("s")  # ... so its own TTFT is a little lower


def test_a_time_quantity_and_a_text_are_accepted():
    a = _solve(arrival_rate=2.0, request_overhead=ureg.Quantity(47, "ms"))
    b = _solve(arrival_rate=2.0, request_overhead=0.047)
    c = _solve(arrival_rate=2.0, request_overhead="47 ms")
    assert a.ttft_mean.m_as("s") == pytest.approx(b.ttft_mean.m_as("s"), rel=1e-12) == c.ttft_mean.m_as("s")


@pytest.mark.parametrize(
    "option, given, field, grown",
    [
        ("request_overhead", "47ms", "ttft_mean", 47.0),  # the request path: TTFT 47 ms longer
        ("engine_overhead", "4ms", "itl", 3.0),  # a step's host time: 4 ms in place of the default 1 ms
    ],
)
def test_the_command_line_takes_host_times(option, given, field, grown):
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["serve", "Qwen3_8B", "H100", "--seq-len", "233", "--output-len", "221", "--precision", "bf16"]
    args += ["--qps", "2", "--json"]
    flag = "--" + option.replace("_", "-")
    plain = CliRunner().invoke(main, args)
    slow = CliRunner().invoke(main, [*args, flag, given])
    assert plain.exit_code == 0 == slow.exit_code, slow.output
    t0, t1 = (json.loads(r.output)["result"][field] for r in (plain, slow))
    assert t0["unit"] == t1["unit"] == "ms"
    assert t1["value"] - t0["value"] == pytest.approx(grown, abs=1e-6)
    bad = CliRunner().invoke(main, [*args, flag, "soon"])
    assert bad.exit_code == 1 and option in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("bad", [-0.001, 11.0, "fast", "3 GB", ureg.Quantity(3, "GB")])
def test_bad_request_overhead_is_named(bad):
    with pytest.raises(InvalidInputError) as e:
        _solve(arrival_rate=2.0, request_overhead=bad)
    assert e.value.argument == "request_overhead"


def test_ttft_slo_below_one_prefill_plus_the_request_path_is_refused():
    one = _solve(arrival_rate=1.0).one_prefill_time.m_as("s")
    _solve(arrival_rate=1.0, slo_ttft=one + 0.001)  # meets the floor without a request path
    with pytest.raises(InvalidInputError, match="request path") as e:
        _solve(arrival_rate=1.0, slo_ttft=one + 0.001, request_overhead=0.010)
    assert e.value.argument == "slo_ttft"


def test_slo_attainment_and_max_rate_count_the_request_path():
    plain = _solve(arrival_rate=2.0, slo_ttft=0.060)
    slow = _solve(arrival_rate=2.0, slo_ttft=0.060, request_overhead=0.047)
    assert plain.slo_attainment > 0.99 > slow.slo_attainment  # engine p99 ~14 ms + 47 ms crosses 60 ms
    assert slow.max_arrival_rate.m_as("1/s") < plain.max_arrival_rate.m_as("1/s")


def test_an_engine_calibration_supplies_it_and_other_engines_are_told_it_is_not_modelled():
    hw = attrs.evolve(HW.H100, calibration={"engines": {"vllm": {"request_overhead": 0.047}}})
    vllm = _solve(hardware=hw, arrival_rate=2.0, engine="vllm")
    other = _solve(hardware=hw, arrival_rate=2.0, engine="sglang")
    assert vllm.request_overhead.m_as("ms") == pytest.approx(47.0)
    assert other.request_overhead.m_as("ms") == 0.0
    assert any("no value for engine 'sglang'" in n for n in other.notes)
    assert not any("request_overhead" in n for n in vllm.notes)
    given = _solve(hardware=hw, arrival_rate=2.0, engine="vllm", request_overhead=0.0)  # the argument wins
    assert given.request_overhead.m_as("ms") == 0.0


def test_simulated_closed_loop_clients_spend_the_request_path_outside_the_engine():
    # the simulator's clients wait t_req between a last token and the next request's arrival at the engine:
    # Little's law over the cycle, rate * (client e2e) = N, as the analytic side; means within 10 % of it
    n, t = 8, 0.047
    kw = dict(concurrency=n, request_overhead=t, length_cv=0.3)
    sim, ana = _solve(**kw, method="simulate", num_requests=1000, seed=3), _solve(**kw)
    assert sim.si("requests_per_second") * sim.si("e2e_mean") == pytest.approx(n, rel=0.01)
    assert not any("request path" in note for note in sim.notes)
    for k in ("ttft_mean", "itl_mean", "e2e_mean", "requests_per_second"):
        assert ana.si(k) == pytest.approx(sim.si(k), rel=0.10), k
    plain = _solve(concurrency=n, length_cv=0.3, method="simulate", num_requests=1000, seed=3)
    assert sim.si("requests_per_second") < plain.si("requests_per_second")  # the clients are away t_req


def test_disaggregated_pools_refuse_it():
    with pytest.raises(InvalidInputError) as e:
        ServingModel().solve(
            LM.Qwen3_8B, HW.H100, 233, output_len=221, arrival_rate=1.0, **ONE_GPU_POOLS, request_overhead=0.01
        )
    assert e.value.argument == "request_overhead"


def test_disaggregated_pools_say_an_engine_calibration_of_it_is_not_applied():
    from mlsysim_serving.layout import Disagg, Pool

    hw = attrs.evolve(HW.H100, calibration={"engines": {"vllm": {"request_overhead": 0.047}}})
    kw = dict(output_len=221, arrival_rate=1.0, fabric="NVLink", engine="vllm")
    r = ServingModel().solve(LM.Qwen3_8B, hw, 233, disagg=Disagg(Pool(hw, 1, 1), Pool(hw, 1, 1)), **kw)
    assert any("request_overhead 47 ms (the engine's calibration) not applied" in n for n in r.notes)
    pools = Disagg(Pool(HW.H100, 1, 1), Pool(HW.H100, 1, 1))
    plain = ServingModel().solve(LM.Qwen3_8B, HW.H100, 233, disagg=pools, **kw)
    assert not any("not applied" in n for n in plain.notes)


@pytest.mark.parametrize(
    "engine", [{}, dict(prefill_steps="separate"), dict(scheduler_steps=8)], ids=["mixed", "separate", "multi-step"]
)
def test_closed_loop_ttft_is_continuous_in_the_request_path(engine):
    # no switch where t_req crosses a step (8.7 ms here; request_path.phase_kept): over 0-30 ms in 0.5 ms steps the
    # engine's TTFT (client TTFT - t_req), mean and p90, moves by at most the path's own change (the wait for the
    # step in progress falls at most as fast as the path grows: d/dt (T - p*t + (1 - p)*E[t^2]/(2T)) >= -1); the
    # switch this replaced jumped by half a step, 8.3 x the path's change across the 0.5 ms that crossed it
    paths = [x * 0.5e-3 for x in range(61)]
    for k in ("ttft_mean", "ttft_p90"):
        engine_ttft = [_solve(concurrency=8, request_overhead=t, **engine).si(k) - t for t in paths]
        assert max(abs(b - a) for a, b in zip(engine_ttft, engine_ttft[1:])) <= 1.05 * 0.5e-3, k
