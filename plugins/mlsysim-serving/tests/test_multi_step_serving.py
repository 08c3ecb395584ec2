"""Multi-step scheduling (``scheduler_steps``, vLLM v0.6.0 ``--num-scheduler-steps``): new requests wait for
the block of steps in progress (:mod:`mlsysim_serving.multi_step`, :func:`mlsysim_serving.simulate.simulate`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving import multi_step as MS
from mlsysim_serving import simulate as SIM
from mlsysim_serving.ops import SCALAR

from mlsysim_core.errors import InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, ONE_GPU_POOLS, UnitSteps  # noqa: E402

serving = ServingModel()
BASE = dict(model=LLAMA8, hardware=H100, seq_len=200, output_len=200, max_num_batched_tokens=4096)


@pytest.mark.parametrize("steps, first, finish", [(1, [1, 3, 8], [20, 5, 10]), (4, [1, 6, 11], [20, 8, 13])])
def test_simulated_requests_wait_for_the_block_in_progress(steps, first, finish):
    # one-token prompts at 0, 1.5 and 6.5 s, 20/3/3 tokens out, one second a step. r0 finds the engine idle:
    # its prefill (0-1 s) is a block of one step. One step at a time, r1 joins the step after the one running
    # at 1.5 s (prefilled 2-3 s). Four steps at a time, the decode block 1-5 s runs through its arrival: r1 is
    # prefilled 5-6 s, its two decode tokens at 7 and 8 s (a finished request leaves at its step's end); r2
    # comes during the block 6-10 s and is prefilled 10-11 s
    arrive, got_first, got_finish = SIM.simulate(
        UnitSteps(),
        np.array([1, 1, 1]),
        np.array([20, 3, 3]),
        0.0,
        100,
        8,
        1e6,
        arrivals=np.array([0, 1.5, 6.5]),
        steps=steps,
    )
    assert got_first.tolist() == first and got_finish.tolist() == finish


def test_an_engine_left_with_nothing_to_decode_takes_the_next_request_at_once():
    # r0 (2 tokens) ends at 2 s inside its four-step block; the engine is then idle and r1 at 3 s starts at once
    _, first, _ = SIM.simulate(
        UnitSteps(), np.array([1, 1]), np.array([2, 2]), 0.0, 100, 8, 1e6, arrivals=np.array([0.0, 3.0]), steps=4
    )
    assert first.tolist() == [1.0, 4.0]


def test_block_span_by_hand():
    # steps of 10 ms decode, a share f = 0.1 of 30 ms prefill steps: T = 12 ms, E[t^2] = 0.9*100 + 0.1*900 = 180
    T, t2 = 12e-3, 180e-6
    assert MS.span(T, t2, 0.1, 10e-3, 1) == pytest.approx(t2 / T)  # one step: the step's E[t^2]/E[t]
    # ten steps: + 9 * 0.9 * 100 ms^2 = 810 ms^2, (180 + 810) / 12 = 82.5 ms, of which a random arrival waits half
    assert MS.span(T, t2, 0.1, 10e-3, 10) == pytest.approx(82.5e-3)


def test_block_residual_quantile_by_hand():
    class Fixed:  # prompts of one length: E[(g - y)+] = 1 - y for y in [0, 1]
        def excess_level(self, u):
            return 1.0 - u

    T, f, t_dec, t_mix = 12e-3, 0.1, 10e-3, 30e-3
    # all busy; below t_dec h(x) = T - x*(0.9/10 + 0.1), h(t_dec) = 0.9*10*0.9 + 0.1*20 = 10.1 ms; above it
    # h = 0.9*(10 - x/10) + 0.1*20*u with x = 10 + 20*(1 - u) ms: h = 6.3 + 3.8*u ms.
    # tail 0.7: c = 8.4 ms, u = 2.1/3.8, x = 30 - 20*u = 18.947 ms
    x = MS.residual_quantile(SCALAR, Fixed(), T, f, t_dec, t_mix, 1.0, 0.7, 10)
    assert x == pytest.approx(0.030 - 0.020 * 2.1 / 3.8, rel=1e-9)
    # the median: c = 6 ms < h(u = 0) = 6.3 ms, past the 30 ms prefill step: x = 10*(10 - 6/0.9) = 33.3 ms
    assert MS.residual_quantile(SCALAR, Fixed(), T, f, t_dec, t_mix, 1.0, 0.5, 10) == pytest.approx(0.1 - 0.06 / 0.9)
    # tail 0.9: c = 10.8 ms >= h(t_dec) = 0.9*10*0.9 + 2 = 10.1 ms, so x = (12 - 10.8)/0.19 ms
    assert MS.residual_quantile(SCALAR, Fixed(), T, f, t_dec, t_mix, 1.0, 0.9, 10) == pytest.approx(1.2e-3 / 0.19)
    # tail 0.1: c = 1.2 ms; beyond the 30 ms prefill step only decode blocks: x = 10*(10 - 1.2/0.9) = 86.7 ms
    assert MS.residual_quantile(SCALAR, Fixed(), T, f, t_dec, t_mix, 1.0, 0.1, 10) == pytest.approx(0.1 - 1.2e-3 / 0.09)


@pytest.mark.parametrize("loop", [dict(arrival_rate=4.0), dict(arrival_rate=12.0), dict(concurrency=8)])
def test_analytic_multi_step_against_simulation(loop):
    # measured (seed 1, 4,000 requests): TTFT mean within 8 %, p50 within 10 %, p90 within 10 %
    kw = dict(**BASE, **loop, length_cv=1.0, scheduler_steps=10)
    a = serving.solve(**kw)
    s = serving.solve(**kw, method="simulate", num_requests=4000, seed=1)
    for k in ("ttft_mean", "itl_mean", "e2e_mean"):
        assert a.si(k) == pytest.approx(s.si(k), rel=0.10), k
    assert a.si("ttft_p50") == pytest.approx(s.si("ttft_p50"), rel=0.15)
    assert a.si("ttft_p90") == pytest.approx(s.si("ttft_p90"), rel=0.15)


def test_multi_step_waits_for_a_block_and_is_the_default_at_one_step():
    one, ten = serving.solve(**BASE, arrival_rate=4.0), serving.solve(**BASE, arrival_rate=4.0, scheduler_steps=10)
    assert serving.solve(**BASE, arrival_rate=4.0, scheduler_steps=1).si("ttft_mean") == one.si("ttft_mean")
    # at light load a random arrival waits about half a block of ten decode steps more than half a step
    extra = ten.si("ttft_mean") - one.si("ttft_mean")
    assert extra == pytest.approx(4.5 * one.si("itl_mean"), rel=0.25)
    assert ten.si("itl_mean") == one.si("itl_mean") and ten.scheduler_steps == 10


def test_scheduler_steps_is_checked_and_refused_with_disagg():
    for bad in (0, 1.5, "10"):
        with pytest.raises(InvalidInputError, match="scheduler_steps"):
            serving.solve(**BASE, arrival_rate=4.0, scheduler_steps=bad)
    with pytest.raises(InvalidInputError, match="scheduler_steps"):
        serving.solve(**BASE, arrival_rate=1.0, **ONE_GPU_POOLS, scheduler_steps=10)


def test_cli_scheduler_steps():
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["serve", "Llama3_8B", "H100", "--seq-len", "200", "--output-len", "200", "--qps", "4"]
    one = CliRunner().invoke(main, args)
    ten = CliRunner().invoke(main, [*args, "--scheduler-steps", "10"])
    assert one.exit_code == ten.exit_code == 0 and one.output != ten.output
