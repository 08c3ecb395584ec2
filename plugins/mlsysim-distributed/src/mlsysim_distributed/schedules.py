"""Pipeline schedules by name: the bubble and the activations in flight of each, from its paper.

Notation: p pipeline stages, m micro-batches per step, v model chunks per stage. F, B and W are the
shares of one micro-batch's stage time spent in the forward pass, the backward pass for the inputs
(activation gradients, recomputation included) and the backward pass for the weights, F + B + W = 1
(from the FLOPs of each pass: :func:`pass_shares`). A bubble is in micro-batch stage times (t_mb), so
the idle time per step is ``bubble_units * t_mb``; ``in_flight`` is the peak number of micro-batches
whose stage activations the busiest stage holds.
"""

from __future__ import annotations

import numpy as np

from mlsysim_physics.equations import minimum

SCHEDULES = ("gpipe", "1f1b", "interleaved", "zb-h1", "zb-v", "dualpipe")

#: Model chunks per pipeline stage each schedule runs with (None: the caller's v_stages, >= 2).
CHUNKS = {"gpipe": 1, "1f1b": 1, "interleaved": None, "zb-h1": 1, "zb-v": 2, "dualpipe": 1}

#: Copies of the weights (and gradients) each stage holds: DualPipe keeps the two directions' copies
#: of its chunks (DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024, Sec. 3.2.1 and Table 2: "2x" parameters).
WEIGHT_COPIES = {"dualpipe": 2.0}


def pass_shares(params_per_layer, seq_len, attn_dim, recompute):
    """(F, B, W): forward, input-gradient and weight-gradient shares of one layer's training FLOPs.

    forward 2P + 4 S d; input gradients 2P + 8 S d (the attention core has no weights, so its whole
    backward is here) plus the recomputed forward (full: 2P + 4 S d, selective: 4 S d); weight
    gradients 2P (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024, Sec. 2: B and W are the
    two halves of a linear layer's backward).
    """
    x = params_per_layer / (4.0 * seq_len * attn_dim)  # in units of the attention core's 4 S d (no overflow)
    f = 2.0 * x + 1.0
    w = 2.0 * x
    b = 2.0 * x + 2.0
    if recompute == "full":
        b = b + f
    elif recompute == "selective":
        b = b + 1.0
    total = f + b + w
    return f / total, b / total, w / total


def bubble_units(schedule, p, v, F, B, W):
    """Idle micro-batch stage times per step of ``schedule`` (0 when p == 1).

    gpipe        (p-1)                Huang et al., "GPipe", NeurIPS 2019, Sec. 2.2
    1f1b         (p-1)                Narayanan et al., "PipeDream", SOSP 2019; Megatron-LM (SC 2021, Sec. 2.2.1)
    interleaved  (p-1)/v              Narayanan et al., SC 2021, Sec. 2.2.2
    zb-h1        (p-1)(F + B - W)     Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024, Sec. 3.1
    zb-v         (p-1)(F + B - 2W)/2  same paper, Sec. 6 (V-shape, two chunks of half the layers, 1F1B's memory)
    dualpipe     (p/2-1)(F&B + B' - 3W) with F&B = F + B' (the paired chunks overlap communication, not compute)
                 and B' = B + W the full backward: (p/2-1)(F + 2B - W) (DeepSeek-AI 2024, Table 2)
    Negative values (a backward much lighter than the forward) are clipped at zero; every form is 0
    at p == 1, so ``p`` may be an array of degrees.
    """
    if not isinstance(p, np.ndarray) and p <= 1:
        return 0.0 * F
    if schedule == "interleaved":
        u = (p - 1.0) / v
    elif schedule == "zb-h1":
        u = (p - 1.0) * (F + B - W)
    elif schedule == "zb-v":
        u = (p - 1.0) * (F + B - 2.0 * W) / 2.0
    elif schedule == "dualpipe":
        u = (p / 2.0 - 1.0) * (F + 2.0 * B - W)
    else:  # gpipe, 1f1b
        u = (p - 1.0) + 0.0 * F
    return u * (u > 0)


def idle_time(units, t_microbatch):
    """The bubble in seconds: units x t_mb, exactly 0 where the schedule has no bubble (even when t_mb
    overflows to inf)."""
    if not isinstance(units, np.ndarray) and not isinstance(t_microbatch, np.ndarray):
        return units * t_microbatch if units > 0.0 else 0.0
    with np.errstate(invalid="ignore"):
        return np.where(units > 0.0, units * t_microbatch, 0.0)


def in_flight(schedule, m, p, v):
    """Peak micro-batches whose stage activations the first stage holds.

    gpipe m (all forwards before any backward: Huang et al. 2019); 1f1b, zb-h1 and zb-v min(m, p)
    (Narayanan et al. 2021, Sec. 2.2.1; Qi et al. 2024, Sec. 3.1 and 6: the same peak as 1F1B);
    interleaved min(m, p)(1 + (p-1)/(p v)) (Korthikanti et al. 2022, Sec. 4.2.3); dualpipe
    min(m, p + 1) (DeepSeek-AI 2024, Table 2: PP + 1).
    """
    if schedule == "gpipe":
        return m * 1.0
    if schedule == "interleaved":
        return minimum(m * 1.0, p * 1.0) * (1.0 + (p - 1.0) / (p * v))
    if schedule == "dualpipe":
        return minimum(m * 1.0, p + 1.0)
    return minimum(m * 1.0, p * 1.0)
