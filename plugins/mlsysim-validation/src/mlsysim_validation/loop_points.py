"""A serving loop measured under load in this project (one H200, ``bench/device/h200_serve_loop.py``) against
``ServingModel``'s loaded answers, with the queueing model checked alone on the loop's measured step costs.

The loop (issue 15/20; ``bench/README.md``) serves Llama3_8B's geometry with random bf16 weights: a KV cache of
slots, flash varlen decode attention over each sequence's own tokens, decode steps replayed from CUDA graphs per
batch bucket, packed eager prefills, and the scheduler ``ServingModel(..., prefill_steps="separate")`` models
(vLLM v0.5's ``_schedule_default`` without chunked prefill: a prefill step of waiting prompts FCFS whenever a
slot is free, decoding nothing; else one decode step of every running sequence). Its host time per step (the step's
wall time less its GPU time by CUDA events) is measured, so ``engine_overhead`` is a property of the loop stated
per load level, not a fit. Each level is one ``ServingModel`` call a user would make: fixed prompt and output
lengths, ``arrival_rate`` (the level's Poisson rate) or ``concurrency`` (closed loop), the loop's
``max_num_seqs`` and ``max_num_batched_tokens``, ``engine="torch"`` (:data:`device_points.ENGINE`).

The shipped summary (``data/serve_loop_h200.json``) is :func:`summary` of the raw file (a test checks it). These
levels are not calibration records (yet): see ``docs/accuracy.md``, "Measured in this project: a serving loop
under load".
"""

from __future__ import annotations

import json
import math
import statistics
from importlib import resources
from typing import Any

import numpy as np

from .device_points import ENGINE

#: the raw file the summary is made from (repository path)
RAW_FILE = "bench/device/h200_serve_2026-12-04.json"
#: share of a level's requests (by arrival) left out as warm-up, as the script's own statistics
WARMUP = 0.1
#: the measured statistics compared, ms (script's field, quantile) and ServingModel's field of the same
FIELDS = (("ttft_mean", "ttft_s", "mean"), ("ttft_p90", "ttft_s", "p90"), ("itl_mean", "tpot_s", "mean"))
#: the measured statistics a banded answer states an interval for (ServingModel bands ttft_p50/p99, not p90)
BANDED = (("ttft_mean", "ttft_s", "mean"), ("ttft_p50", "ttft_s", "p50"), ("ttft_p99", "ttft_s", "p99"), FIELDS[2])


def _median_by(keys: list[int], values: list[float]) -> list[list[float]]:
    """[key, median of its values] for each key, ascending: a step kind's measured wall time by batch."""
    by: dict[int, list[float]] = {}
    for k, v in zip(keys, values):
        by.setdefault(k, []).append(v)
    return [[k, round(statistics.median(by[k]), 7)] for k in sorted(by)]


def summary(raw: dict) -> dict:
    """The shipped summary of one raw file of ``h200_serve_loop.py``: per level its load, the loop's measured
    host time per step (mean over its steps of wall - GPU time), its measured statistics (s) and, for an open
    loop, its arrival times; and the loop's step costs over all levels: the median wall time (host included)
    of a decode step by batch and of a prefill step by prompts in it."""
    cfg = raw["config"]
    levels = []
    dec_b: list[int] = []
    pre_b: list[int] = []
    dec_w: list[float] = []
    pre_w: list[float] = []
    for lv in raw["levels"]:
        st = lv["steps"]
        host = [(w - g) / 1e6 for w, g in zip(st["wall_us"], st["gpu_us"])]
        for kind, b, w in zip(st["kind"], st["batch"], st["wall_us"]):
            (dec_b if kind == "d" else pre_b).append(b)
            (dec_w if kind == "d" else pre_w).append(w / 1e6)
        rows = lv["per_request"]["rows"]
        wall = sum(st["wall_us"]) / 1e6
        level = {
            "name": lv["name"],
            "clients": lv["clients"],
            "arrival_rate": None if lv["clients"] else round(lv["arrival_rate"], 6),
            "requests": lv["requests"],
            "engine_overhead_s": round(sum(host) / len(host), 7),
            "throughput": round(len(rows) / wall, 4),
            "decode_batch_mean": round(lv["decode_batch_mean"], 2),
            "measured": {f: round(lv[k][q], 6) for f, k, q in (*FIELDS, *BANDED[1:3])},
        }
        if not lv["clients"]:
            level["arrivals"] = [r[0] for r in rows]
        levels.append(level)
    return {
        "raw_file": RAW_FILE,
        "run": raw["date_utc"],
        "torch": raw["torch"],
        "attention": raw["attention"],
        "model": cfg["model"],
        "prompt": cfg["prompt"],
        "output": cfg["output"],
        "max_num_seqs": cfg["max_num_seqs"],
        "max_num_batched_tokens": cfg["max_num_batched_tokens"],
        "decode_step_s": _median_by(dec_b, dec_w),
        "prefill_step_s": _median_by(pre_b, pre_w),
        "levels": levels,
    }


def shipped() -> dict:
    """The shipped summary (``data/serve_loop_h200.json``)."""
    return json.loads(resources.files("mlsysim_validation").joinpath("data", "serve_loop_h200.json").read_text())


def arguments(s: dict, level: dict) -> dict[str, Any]:
    """The ``ServingModel().solve(Llama3_8B, H200, prompt, **arguments)`` call of one level."""
    a: dict[str, Any] = {
        "output_len": s["output"],
        "engine": ENGINE,
        "engine_overhead": level["engine_overhead_s"],
        "prefill_steps": "separate",
        "max_num_seqs": s["max_num_seqs"],
        "max_num_batched_tokens": s["max_num_batched_tokens"],
    }
    if level["clients"]:
        a["concurrency"] = level["clients"]
    else:
        a["arrival_rate"] = level["arrival_rate"]
    return a


def predict(s: dict, level: dict, method: str) -> dict[str, float | None]:
    """ServingModel's answer (ms) to one level by ``method``, None where it says the level is overloaded, and its
    ``max_arrival_rate`` (1/s: the rate it says the loop saturates at)."""
    import mlsysim

    r = mlsysim.ServingModel().solve(
        getattr(mlsysim.Models.Language, s["model"]),
        mlsysim.Hardware.Cloud.H200,
        s["prompt"],
        method=method,
        **arguments(s, level),
    )
    out: dict[str, float | None] = {}
    for f, _, _ in FIELDS:
        v = getattr(r, f)
        out[f] = None if v is None else float(v.to("ms").magnitude)
    out["max_arrival_rate"] = float(r.max_arrival_rate.to("1/s").magnitude)
    return out


class MeasuredSteps:
    """The loop's measured step costs as the simulator's step cost (``mlsysim_serving.simulate``'s ``cost``):
    a decode step of n sequences lasts the median measured decode step at batch n, a prefill step of k prompts
    the median measured prefill step of k prompts, each interpolated linearly between measured batches (the
    contexts, 512 to 639 tokens in every level, not separated). So the simulator's queueing alone is checked."""

    def __init__(self, s: dict) -> None:
        self.prompt = s["prompt"]
        self.dec = np.array(s["decode_step_s"], dtype=float).T
        self.pre = np.array(s["prefill_step_s"], dtype=float).T

    def time(self, tokens: Any, attn: Any, kv_tokens: Any, prefill: bool = False, fresh: float = 0.0) -> Any:
        """Seconds of one step: a prefill step of its own carries no decode attention (``attn`` 0)."""
        if np.all(np.asarray(attn) == 0.0):
            return np.interp(np.asarray(tokens, dtype=float) / self.prompt, self.pre[0], self.pre[1])
        t = np.interp(tokens, self.dec[0], self.dec[1]) + 0.0 * np.asarray(attn, dtype=float)
        return float(t) if np.ndim(t) == 0 else t

    def drain(self, t_step: float, tokens: float) -> float:
        """No pipeline stages: a prompt's first token comes at its step's end."""
        return 0.0


def measured_queue(s: dict, level: dict) -> dict[str, float]:
    """The simulator (``prefill_steps`` separate) on the loop's measured step costs (:class:`MeasuredSteps`) and
    the level's own load: an open loop's measured arrival times, or its clients (ms; the same warm-up left
    out). A closed loop runs until as many requests as the level's were served."""
    from mlsysim_serving import simulate as SIM

    n = len(level["arrivals"]) if level["arrivals"] else level["requests"]
    size = np.full(n, s["prompt"], dtype=np.int64)
    out = np.full(n, s["output"], dtype=np.int64)
    loop: dict[str, Any] = {"arrivals": np.array(level["arrivals"])} if level["arrivals"] else {}
    if level["clients"]:
        loop["clients"] = level["clients"]
    kv = s["max_num_seqs"] * (s["prompt"] + s["output"])
    cost: Any = MeasuredSteps(s)  # the simulator reads a step cost's time() and drain() only
    arrive, first, finish = SIM.simulate(
        cost, size, out, 0.0, s["max_num_batched_tokens"], s["max_num_seqs"], kv, separate=True, **loop
    )
    st = SIM.statistics(arrive, first, finish, out, int(n * WARMUP))
    return {"ttft_mean": st["ttft_mean"] * 1e3, "ttft_p90": st["ttft_p90"] * 1e3, "itl_mean": st["itl_mean"] * 1e3}


def table(s: dict | None = None) -> list[dict]:
    """Per level: the measured statistics (ms) and the three answers (analytic, simulate, the simulator on the
    measured step costs), each a dict of the :data:`FIELDS` (None: overloaded)."""
    s = s or shipped()
    rows = []
    for level in s["levels"]:
        level = dict(level, arrivals=level.get("arrivals"))
        rows.append(
            {
                "level": level,
                "measured": {f: v * 1e3 for f, v in level["measured"].items()},
                "analytic": predict(s, level, "analytic"),
                "simulate": predict(s, level, "simulate"),
                "measured_steps": measured_queue(s, level),
            }
        )
    return rows


def error(measured: float, predicted: float | None) -> float | None:
    """(predicted - measured) / measured, None where the model said overloaded."""
    return None if predicted is None or not math.isfinite(predicted) else predicted / measured - 1.0


def bands(s: dict, level: dict) -> dict[str, tuple[float, float] | None]:
    """The banded answer's interval (ms) of each :data:`BANDED` field for one level
    (``mlsysim_uncertainty.banded``: the efficiency ranges' corners hulled with the field's model-error class,
    ServingModel under traffic, TTFT-like or ITL-like); None where it states none (overloaded)."""
    import mlsysim
    from mlsysim_uncertainty import banded

    r = banded(
        mlsysim.ServingModel(),
        getattr(mlsysim.Models.Language, s["model"]),
        mlsysim.Hardware.Cloud.H200,
        s["prompt"],
        **arguments(s, level),
    )
    out: dict[str, tuple[float, float] | None] = {}
    for f, _, _ in BANDED:
        iv = r.bands.get(f)
        out[f] = None if iv is None else (float(iv[0].to("ms").magnitude), float(iv[1].to("ms").magnitude))
    return out
