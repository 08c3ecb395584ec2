"""Analytic against simulated over loads, lengths and hardware for every scheduler mode (issue 15: the simulator
is the oracle; means within 10 %, p50/p90/p99 within 20 %; DEPARTS lists each departure with its measured error,
analytic / simulated - 1, seed 1, 4,000 requests, and its cause). The default scheduler's grid is
test_traffic_serving.test_analytic_against_simulation.

Causes of the departures listed:
- 95 % of the mode's saturation rate, every mode (as the default scheduler's): the TTFT is below the simulated one
  (fixed lengths: the simulator's capacity is below the analytic one, requests admitted together finishing
  together; dispersed lengths: the sequence slots are all held far more often than the model's slot queue says),
  and ITL p99 is high with the 1/sqrt(1 - utilization) spread.
- Multi-step scheduling (``scheduler_steps`` 4 and 10, open loop, from 40 % load): the prompts that arrive during
  a decode block are prefilled together in the step after it, so a step carrying prefill holds several prompts
  (Llama-3-8B, 200-token prompts, 10 steps, 70 %: 3.3 prompts and 23.8 ms per prefill step in the simulator,
  against 1.4 and 14.1 ms one step at a time) and exposes FLOPs that a lone prompt's step hides under its weight
  read; the analytic step mix is the one-step engine's (:mod:`mlsysim_serving.multi_step`), so its mean step is
  low (11.6 against 12.5 ms): ITL mean -10 to -17 %, TTFT mean to -34 %; the TTFT p50 (-20 to -48 %) also takes
  the block's wait as spread over it where most arrivals wait for the rest of a long decode block.
- Prefill steps of their own (``prefill_steps="separate"``): TTFT mean at 10 % load -10.6 %, a prefill step is
  max(weight read, FLOPs), convex in its tokens, and the model takes the mean prompt's step (Jensen's
  inequality; the short prompts with CV 1 straddle the 8B/H100 knee near 180 tokens). ITL mean at 70-85 % load
  -10 to -12 %: the simulated per-request mean token gap is above the time per decode step (16.8 against
  15.1 ms at 70 %, where the model's decode-to-decode cycle matches the simulated one within 0.2 %): short
  requests, counted once each, run while more prompts come.
- Tails within a few points past 20 %: the TTFT p99 of short dispersed prompts at 10-40 % load with multi-step
  (+23 to +26 %, the block's residual and the p99 prompt each at its own p99, as the default's +23 to +27 %),
  and the TTFT p50 of fixed 2,000-token prompts at 70 % load (-22 to -24 %, as the default's).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70  # noqa: E402

serving = ServingModel()
MODES = {
    "overlap": dict(scheduler_overlap=True),
    "steps4": dict(scheduler_steps=4),
    "steps10": dict(scheduler_steps=10),
    "separate": dict(prefill_steps="separate"),
    "separate+steps4": dict(prefill_steps="separate", scheduler_steps=4),
}
#: Two hardware/model pairs and two length settings: short dispersed prompts, long fixed ones.
CASES = [
    dict(model=LLAMA8, hardware=H100, seq_len=200, output_len=200, length_cv=1.0, max_num_batched_tokens=4096),
    dict(model=LLAMA70, hardware=H100, tp_size=4, seq_len=2000, output_len=300),
]
#: A closed loop on the dispersed case (fixed lengths in a closed loop run in lock step: docs/accuracy.md).
CLIENTS = 64
MEANS = ("ttft_mean", "itl_mean", "e2e_mean")
TAILS = ("ttft_p50", "ttft_p90", "ttft_p99", "itl_p90", "itl_p99", "e2e_p90", "e2e_p99")
LOW = "below"  # the analytic value is below the simulated one (at most -100 %)
TTFT_LOW = dict.fromkeys(("ttft_mean", "ttft_p50", "ttft_p90", "ttft_p99"), LOW)
#: (mode, case, load) -> {field: tolerance, or LOW}, measured error in the comment.
DEPARTS = {
    # 95 % of the saturation rate
    ("overlap", 0, 0.95): {**TTFT_LOW, "ttft_p50": 0.2},  # TTFT -28.5 %, p90/p99 -51/-60 %
    ("overlap", 1, 0.95): {**TTFT_LOW, "e2e_mean": 0.14, "itl_p99": 0.28},  # -11.0 %, +25.2 %
    ("steps4", 0, 0.95): {**TTFT_LOW, "e2e_mean": 0.15},  # -11.2 %
    ("steps4", 1, 0.95): {**TTFT_LOW, "itl_mean": 0.15, "e2e_mean": 0.17, "itl_p99": 0.28},  # -11.7, -14.0, +24.7 %
    ("steps10", 0, 0.95): {**TTFT_LOW, "itl_mean": 0.16, "e2e_mean": 0.31},  # -12.3, -27.7 %
    ("steps10", 1, 0.95): {**TTFT_LOW, "itl_mean": 0.19, "e2e_mean": 0.23, "itl_p99": 0.26},  # -15.1, -19.4, +23.6 %
    ("separate", 0, 0.95): TTFT_LOW,
    ("separate", 1, 0.95): {**TTFT_LOW, "itl_p99": 0.33},  # +30.2 %
    # multi-step with prefill steps of their own at 95 %: the block's wait and prefill steps mix both ways
    # TTFT p50/p90/p99 -26.7, +45.0, +25.2 %, ITL p99 +21.5 % (the 1/sqrt(1 - rho) spread)
    ("separate+steps4", 0, 0.95): {"ttft_p50": 0.30, "ttft_p90": 0.48, "ttft_p99": 0.29, "itl_p99": 0.25},
    ("separate+steps4", 1, 0.95): {**TTFT_LOW, "ttft_p50": 0.26, "itl_p99": 0.34},  # -22.4 %, +30.6 %
    # multi-step: prompts of a decode block prefilled together
    ("steps4", 0, 0.4): {"ttft_p50": 0.24},  # -20.9 %
    ("steps4", 0, 0.7): {"ttft_mean": 0.15, "itl_mean": 0.14, "ttft_p50": 0.27},  # -11.9, -10.5, -23.4 %
    ("steps4", 0, 0.85): {"ttft_mean": 0.17, "itl_mean": 0.15, "ttft_p50": 0.26},  # -13.5, -11.1, -22.6 %
    ("steps4", 1, 0.7): {"ttft_p50": 0.26},  # -22.9 %
    ("steps4", 1, 0.85): {"ttft_p50": 0.24},  # -20.4 %
    ("steps10", 0, 0.4): {"ttft_p50": 0.24},  # -20.8 %
    # -23.7, -15.1, -13.7 %, p50 -45.2 %, ITL p99 -20.9 %
    ("steps10", 0, 0.7): {"ttft_mean": 0.27, "itl_mean": 0.19, "e2e_mean": 0.17, "ttft_p50": LOW, "itl_p99": 0.28},
    ("steps10", 0, 0.85): {  # -29.9, -16.5, -14.9 %, p50 -45.0 %, ITL p90/p99 -17.4/-18.5 %
        "ttft_mean": 0.33,
        "itl_mean": 0.2,
        "e2e_mean": 0.18,
        "ttft_p50": LOW,
        "itl_p90": 0.23,
        "itl_p99": 0.26,
    },
    ("steps10", 1, 0.7): {"ttft_p50": LOW},  # -30.7 %
    # ITL -10.9 %, e2e -10.9 %, TTFT p50 -28.0 %, ITL/e2e p99 -21.0/-20.5 %
    ("steps10", 1, 0.85): {"itl_mean": 0.14, "e2e_mean": 0.14, "ttft_p50": 0.31, "itl_p99": 0.25, "e2e_p99": 0.24},
    ("separate+steps4", 0, 0.1): {"ttft_p99": 0.27},  # +23.3 %
    ("separate+steps4", 0, 0.4): {"ttft_p99": 0.24},  # +21.0 %
    ("separate+steps4", 0, 0.7): {"ttft_mean": 0.15, "ttft_p50": 0.28},  # -11.9, -25.0 %
    ("separate+steps4", 0, 0.85): {"ttft_mean": 0.14, "ttft_p50": 0.26, "ttft_p99": 0.30},  # -10.4, -22.9, +26.2 %
    ("separate+steps4", 1, 0.85): {"ttft_mean": 0.15},  # +11.2 %
    ("steps4", 0, 0.1): {"ttft_p99": 0.29},  # +25.6 %
    ("overlap", 1, 0.7): {"ttft_p50": 0.26},  # -22.1 %
    # prefill steps of their own
    ("separate", 0, 0.1): {"ttft_mean": 0.14},  # -10.6 %, the convex prefill step
    ("separate", 0, 0.7): {"itl_mean": 0.14},  # -10.3 %
    ("separate", 0, 0.85): {"itl_mean": 0.16},  # -12.4 %
    # a closed loop with multi-step: the wait for the block after the last token's (:func:`.multi_step.closed_extra`)
    # takes a prefill-carrying step as the decode-to-decode cycle, not as the prefill step alone
    ("separate+steps4", 0, "closed"): {"ttft_mean": 0.19, "ttft_p90": 0.37, "ttft_p99": 0.32},  # +15.8, +33.8, +28.4 %
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(
    "case, load", [(c, x) for c in range(len(CASES)) for x in (0.1, 0.4, 0.7, 0.85, 0.95)] + [(0, "closed")]
)
def test_scheduler_mode_against_simulation(mode, case, load):
    kw = dict(**CASES[case], **MODES[mode])
    if load == "closed":
        loop = dict(concurrency=CLIENTS)
    else:  # a share of the mode's own saturation rate
        loop = dict(arrival_rate=load * serving.solve(**kw, arrival_rate=1.0).si("saturation_rate"))
    a = serving.solve(**kw, **loop)
    s = serving.solve(**kw, **loop, method="simulate", num_requests=4000, seed=1)
    departs = DEPARTS.get((mode, case, load), {})
    for k in MEANS + TAILS:
        err = a.si(k) / s.si(k) - 1.0
        tol = departs.get(k, 0.10 if k in MEANS else 0.20)
        if tol == LOW:
            assert -1.0 < err < 0.0, (k, err)
        else:
            assert abs(err) <= tol, (k, err)
