"""Prefill steps of their own (``prefill_steps="separate"``: vLLM v0.5/v0.6 without chunked prefill, SGLang v0.3):
a step that prefills decodes nothing (:func:`mlsysim_serving.traffic.cycle_step`,
:func:`mlsysim_serving.simulate.simulate`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving import simulate as SIM
from mlsysim_serving import traffic as TR
from mlsysim_serving.ops import SCALAR

from mlsysim_core.errors import InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, UnitSteps  # noqa: E402

serving = ServingModel()
BASE = dict(model=LLAMA8, hardware=H100, seq_len=200, output_len=200, max_num_batched_tokens=4096)


@pytest.mark.parametrize("separate, finish", [(False, [4, 4]), (True, [5, 4])])
def test_simulated_prefill_step_decodes_nothing(separate, finish):
    # one-token prompts at 0 and 1.5 s, 4 and 2 tokens out, one second a step. r0 is prefilled 0-1 s and
    # decodes 1-2 s; r1, come at 1.5 s, is prefilled 2-3 s. Mixed, r0 decodes in that step too: its tokens at
    # 1, 2, 3, 4 s, r1's at 3, 4 s. Separate, r0 waits for r1's prefill step: its tokens at 1, 2, 4, 5 s
    arrive, first, got = SIM.simulate(
        UnitSteps(),
        np.array([1, 1]),
        np.array([4, 2]),
        0.0,
        100,
        8,
        1e6,
        arrivals=np.array([0.0, 1.5]),
        separate=separate,
    )
    assert first.tolist() == [1, 3] and got.tolist() == finish


def test_cycle_step_by_hand():
    # one second a step: a decode step and a prefill step of its own take two, a mixed step one
    mixed, separate = (TR.Load(200.0, 200.0, 0.0, 0.0, prefill_steps=p) for p in ("mixed", "separate"))
    assert TR.cycle_step(UnitSteps(), mixed, 8.0, 300.0, 200.0, 100.0) == 1.0
    assert TR.cycle_step(UnitSteps(), separate, 8.0, 300.0, 200.0, 100.0) == 2.0
    # the prefill step holds the whole budget; mixed, the decoders' tokens come off it
    assert TR.budget(SCALAR, separate, 8.0, 512.0) == 512.0 and TR.budget(SCALAR, mixed, 8.0, 512.0) == 504.0


@pytest.mark.parametrize("loop", [dict(arrival_rate=4.0), dict(arrival_rate=12.0), dict(concurrency=8)])
def test_analytic_separate_prefill_steps_against_simulation(loop):
    # measured (seed 1, 4,000 requests): means within 10 % (TTFT -10 % to -3 %, ITL -2 %), p90 within 15 %
    kw = dict(**BASE, **loop, length_cv=1.0, prefill_steps="separate")
    a = serving.solve(**kw)
    s = serving.solve(**kw, method="simulate", num_requests=4000, seed=1)
    for k in ("ttft_mean", "itl_mean", "e2e_mean"):
        assert a.si(k) == pytest.approx(s.si(k), rel=0.10), k
    for k in ("ttft_p90", "itl_p90"):
        assert a.si(k) == pytest.approx(s.si(k), rel=0.20), k


def test_separate_prefill_steps_lengthen_the_token_gap_with_the_rate():
    def gap(rate, mode):
        return serving.solve(**BASE, arrival_rate=rate, prefill_steps=mode).si("itl_mean")

    assert serving.solve(**BASE, arrival_rate=4.0).si("itl_mean") == gap(4.0, "mixed")
    # each prefill step adds a whole step's weight read to the running requests' gap: more of them at 12/s
    assert gap(4.0, "separate") > gap(4.0, "mixed")
    assert gap(12.0, "separate") - gap(12.0, "mixed") > gap(4.0, "separate") - gap(4.0, "mixed")


def test_prefill_steps_is_checked_and_refused_with_disagg():
    with pytest.raises(InvalidInputError, match="prefill_steps"):
        serving.solve(**BASE, arrival_rate=4.0, prefill_steps="chunked")
    with pytest.raises(InvalidInputError, match="prefill_steps"):
        serving.solve(
            **BASE,
            arrival_rate=1.0,
            disagg="prefill=H100x1:tp1,decode=H100x1:tp1",
            fabric="NVLink",
            prefill_steps="separate",
        )


def test_cli_prefill_steps():
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["serve", "Llama3_8B", "H100", "--seq-len", "200", "--output-len", "200", "--qps", "8"]
    mixed = CliRunner().invoke(main, args)
    separate = CliRunner().invoke(main, [*args, "--prefill-steps", "separate"])
    assert mixed.exit_code == separate.exit_code == 0 and mixed.output != separate.output
