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

The shipped summaries (``data/serve_loop_h200.json``) are :func:`summary` of the raw files (a test checks them):
runs with ``--scheduler separate`` and ``mixed`` (ServingModel's default chunked-prefill steps), each level
called with its run's scheduler. These levels are not calibration records (yet): see ``docs/accuracy.md``,
"Measured in this project: a serving loop under load".
"""

from __future__ import annotations

import json
import math
import statistics
from collections import deque
from importlib import resources
from typing import Any

import numpy as np

from .device_points import ENGINE

#: the raw files the summaries are made from (repository paths): run 1 (separate prefill steps, 2,048-token
#: steps), run 2 (mixed chunked-prefill steps, 512-token steps), run 3 (separate again, the fixed saturation rule)
RAW_FILES = (
    "bench/device/h200_serve_2026-12-04.json",
    "bench/device/h200_serve_2026-12-04_mixed.json",
    "bench/device/h200_serve_2026-12-04_sep.json",
)
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


def summary(raw: dict, raw_file: str) -> dict:
    """The shipped summary of one raw file of ``h200_serve_loop.py``: its scheduler, per level its load, the
    loop's measured host time per step (mean over its steps of wall - GPU time), its measured statistics (s),
    for an open loop its arrival times and, where they vary, each request's (prompt, output) lengths; and the
    loop's step costs over all levels: the median wall time (host included) of a decode step by batch and of a
    prefill step by prompts in it (levels of the run's fixed lengths), and for mixed steps :func:`mixed_fit`."""
    cfg = raw["config"]
    scheduler = cfg.get("scheduler", "separate")
    levels = []
    dec_b: list[int] = []
    pre_b: list[int] = []
    dec_w: list[float] = []
    pre_w: list[float] = []
    for lv in raw["levels"]:
        st = lv["steps"]
        host = [(w - g) / 1e6 for w, g in zip(st["wall_us"], st["gpu_us"])]
        rows = lv["per_request"]["rows"]
        sizes = [[r[4] if len(r) > 4 else cfg["prompt"], r[3]] for r in rows]
        fixed = all(x == [cfg["prompt"], cfg["output"]] for x in sizes)
        for kind, b, w in zip(st["kind"], st["batch"], st["wall_us"]):
            if kind == "d":
                dec_b.append(b)
                dec_w.append(w / 1e6)
            elif kind == "p" and fixed:  # a prefill step of b prompts of the run's length (mixed: mixed_fit)
                pre_b.append(b)
                pre_w.append(w / 1e6)
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
        if not fixed:
            level["lengths"] = sizes
        levels.append(level)
    return {
        "raw_file": raw_file,
        "scheduler": scheduler,
        "length_cv": cfg.get("length_cv", 0.0),
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
        "mixed_step": mixed_fit(raw) if scheduler == "mixed" else None,
        "levels": levels,
    }


def replay(level: dict, prompt: int, output: int, M: int, max_seqs: int) -> list[tuple[int, float, float]]:
    """Each mixed step of one level of a ``--scheduler mixed`` run as (tokens: decode + prompt chunks, decode attention
    keys, wall s), by replaying the loop's scheduler (``h200_serve_loop.Loop.run``) over its recorded steps: the raw
    file keeps each step's kind, decoding sequences and times, not its chunks. Requests are admitted FCFS at a step's
    start while slots are free (an open loop's once arrived; a closed loop's client sends its next request at the end of
    the step of its last token, taken two steps on, at once if the engine is left idle); each step's chunks fill what
    its decode tokens leave of ``M``. Raises ValueError where the replay's step kinds or decode counts differ from the
    recorded ones."""
    st = level["steps"]
    rows = level["per_request"]["rows"]
    open_loop = not level["clients"]
    pending = [(r[0], r[4] if len(r) > 4 else prompt, r[3]) for r in rows] if open_loop else []
    pending.sort(key=lambda x: x[0])
    waiting: deque[list] = deque([[prompt, output] for _ in range(level["clients"] or 0)])
    filling: list[list] = []  # [prompt, output, filled]
    running: list[list] = []  # [context, tokens left]
    held: list[list] = []
    nxt, end, out, sent = 0, 0.0, [], level["clients"] or 0
    for kind, n, wall in zip(st["kind"], st["batch"], st["wall_us"]):
        if not running and not filling and nxt < len(pending) and not waiting:
            end = max(end, pending[nxt][0])  # an idle engine starts at the next arrival
        while nxt < len(pending) and pending[nxt][0] <= end:
            waiting.append(list(pending[nxt][1:]))
            nxt += 1
        if not running and not waiting and held:
            waiting.extend(held)
            held = []
        while waiting and len(running) + len(filling) < max_seqs:
            filling.append([*waiting.popleft(), 0])
        budget, chunks = M - len(running), []
        for f in filling:
            c = min(f[0] - f[2], budget)
            if c <= 0:
                break
            chunks.append((f, c))
            budget -= c
        if ("m" if chunks else "d") != kind or len(running) != n:
            raise ValueError(f"{level['name']}: replay gives {'m' if chunks else 'd'}{len(running)}, loop {kind}{n}")
        end += wall / 1e6
        keys = sum(r[0] + 1 for r in running)
        fresh = []
        for r in running:
            r[0] += 1
            r[1] -= 1
        for r in [r for r in running if r[1] <= 0]:
            running.remove(r)
            if not open_loop and sent < len(rows):  # the loop's clients sent as many as it served
                fresh.append([prompt, output])
                sent += 1
        for f, c in chunks:
            f[2] += c
            if f[2] >= f[0]:
                filling.remove(f)
                running.append([f[0], f[1] - 1])
        if chunks:
            out.append((n + sum(c for _, c in chunks), keys, wall / 1e6))
        waiting.extend(held)
        held = fresh
    return out


def mixed_fit(raw: dict) -> dict:
    """A mixed step's wall time (s) as a + b * tokens + c * decode attention keys, least squares over the mixed
    steps of the levels :func:`replay` reproduces step for step (the others named in ``left_out``); with the
    median and 90th percentile of its steps' |relative residual|."""
    cfg = raw["config"]
    rows: list[tuple[int, float, float]] = []
    left_out = []
    for lv in raw["levels"]:
        try:
            rows += replay(lv, cfg["prompt"], cfg["output"], cfg["max_num_batched_tokens"], cfg["max_num_seqs"])
        except ValueError as exc:
            left_out.append(str(exc))
    a = np.array(rows, dtype=float)
    x = np.c_[np.ones(len(a)), a[:, 0], a[:, 1]]
    coef = np.linalg.lstsq(x, a[:, 2], rcond=None)[0]
    res = np.abs(x @ coef / a[:, 2] - 1.0)
    return {
        "coef": [float(f"{c:.6g}") for c in coef],
        "steps": len(a),
        "residual_p50": round(float(np.median(res)), 4),
        "residual_p90": round(float(np.percentile(res, 90)), 4),
        "left_out": left_out,
    }


def shipped() -> list[dict]:
    """The shipped summaries (``data/serve_loop_h200.json``), one per :data:`RAW_FILES` entry."""
    return json.loads(resources.files("mlsysim_validation").joinpath("data", "serve_loop_h200.json").read_text())


def seq_len(s: dict, level: dict, samples: bool = True) -> int:
    """The call's prompt length: the run's, or the mean of the level's drawn prompts where they vary (and are
    passed: ``samples``)."""
    varied = samples and level.get("lengths")
    return round(statistics.fmean(p for p, _ in level["lengths"])) if varied else s["prompt"]


def arguments(s: dict, level: dict, samples: bool = True) -> dict[str, Any]:
    """The ``ServingModel().solve(Llama3_8B, H200, seq_len(s, level), **arguments)`` call of one level: the run's
    scheduler as ``prefill_steps``, its ``max_num_batched_tokens``; a level of varied lengths passes the lengths
    the script drew as ``length_samples`` (means as ``seq_len`` and ``output_len``): the script's lognormal draws
    are capped (3 times the mean, a prompt at one step), which ServingModel's ``length_cv`` does not express (its
    lognormal is uncapped). ``samples`` False: the plain call instead, the run's means and ``length_cv`` lognormal
    (what the script's cap changes)."""
    a: dict[str, Any] = {
        "output_len": s["output"],
        "engine": ENGINE,
        "engine_overhead": level["engine_overhead_s"],
        "prefill_steps": s["scheduler"],
        "max_num_seqs": s["max_num_seqs"],
        "max_num_batched_tokens": s["max_num_batched_tokens"],
    }
    if level.get("lengths") and samples:
        a["output_len"] = round(statistics.fmean(o for _, o in level["lengths"]))
        a["length_samples"] = level["lengths"]
    elif level.get("lengths"):
        a["length_cv"], a["length_dist"] = s["length_cv"], "lognormal"
    if level["clients"]:
        a["concurrency"] = level["clients"]
    else:
        a["arrival_rate"] = level["arrival_rate"]
    return a


def predict(s: dict, level: dict, method: str, samples: bool = True) -> dict[str, float | None]:
    """ServingModel's answer (ms) to one level by ``method``, None where it says the level is overloaded, and its
    ``max_arrival_rate`` (1/s: the rate it says the loop saturates at); ``samples``: :func:`arguments`."""
    import mlsysim

    r = mlsysim.ServingModel().solve(
        getattr(mlsysim.Models.Language, s["model"]),
        mlsysim.Hardware.Cloud.H200,
        seq_len(s, level, samples),
        method=method,
        **arguments(s, level, samples),
    )
    out: dict[str, float | None] = {}
    for f, _, _ in FIELDS:
        v = getattr(r, f)
        out[f] = None if v is None else float(v.to("ms").magnitude)
    out["max_arrival_rate"] = float(r.max_arrival_rate.to("1/s").magnitude)
    return out


class MeasuredSteps:
    """The loop's measured step costs as the simulator's step cost (``mlsysim_serving.simulate``'s ``cost``):
    a decode step of n sequences lasts the median measured decode step at batch n, a prefill step of its own the
    median measured prefill step of as many prompts' tokens (separate runs), a mixed step (prompt tokens in it:
    ``fresh`` > 0) the run's :func:`mixed_fit` of its tokens and decode attention keys; medians interpolated
    linearly between measured batches (the contexts not separated). So the simulator's queueing alone is
    checked."""

    def __init__(self, s: dict) -> None:
        self.prompt = s["prompt"]
        self.dec = np.array(s["decode_step_s"], dtype=float).T
        self.pre = np.array(s["prefill_step_s"], dtype=float).T
        self.mixed = s.get("mixed_step")

    def time(self, tokens: Any, attn: Any, kv_tokens: Any, prefill: bool = False, fresh: float = 0.0) -> Any:
        """Seconds of one step: a prefill step of its own carries no decode attention (``attn`` 0)."""
        if self.mixed and fresh > 0.0:
            a, b, c = self.mixed["coef"]
            return a + b * float(tokens) + c * float(attn)
        if not self.mixed and np.all(np.asarray(attn) == 0.0):
            return np.interp(np.asarray(tokens, dtype=float) / self.prompt, self.pre[0], self.pre[1])
        t = np.interp(tokens, self.dec[0], self.dec[1]) + 0.0 * np.asarray(attn, dtype=float)
        return float(t) if np.ndim(t) == 0 else t

    def drain(self, t_step: float, tokens: float) -> float:
        """No pipeline stages: a prompt's first token comes at its step's end."""
        return 0.0


def measured_queue(s: dict, level: dict) -> dict[str, float]:
    """The simulator (the run's scheduler) on the loop's measured step costs (:class:`MeasuredSteps`) and the
    level's own load: an open loop's measured arrival times and lengths, or its clients (ms; the same warm-up
    left out). A closed loop runs until as many requests as the level's were served."""
    from mlsysim_serving import simulate as SIM

    n = len(level["arrivals"]) if level["arrivals"] else level["requests"]
    lengths = level.get("lengths")
    size = np.array([p for p, _ in lengths] if lengths else [s["prompt"]] * n, dtype=np.int64)
    out = np.array([o for _, o in lengths] if lengths else [s["output"]] * n, dtype=np.int64)
    loop: dict[str, Any] = {"arrivals": np.array(level["arrivals"])} if level["arrivals"] else {}
    if level["clients"]:
        loop["clients"] = level["clients"]
    kv = s["max_num_seqs"] * int(np.max(size) + np.max(out))
    cost: Any = MeasuredSteps(s)  # the simulator reads a step cost's time() and drain() only
    separate = s.get("scheduler", "separate") == "separate"
    arrive, first, finish = SIM.simulate(
        cost, size, out, 0.0, s["max_num_batched_tokens"], s["max_num_seqs"], kv, separate=separate, **loop
    )
    st = SIM.statistics(arrive, first, finish, out, int(n * WARMUP))
    return {"ttft_mean": st["ttft_mean"] * 1e3, "ttft_p90": st["ttft_p90"] * 1e3, "itl_mean": st["itl_mean"] * 1e3}


def table(s: dict) -> list[dict]:
    """Per level of one run's summary: the measured statistics (ms) and the three answers (analytic, simulate,
    the simulator on the measured step costs), each a dict of the :data:`FIELDS` (None: overloaded)."""
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
        seq_len(s, level),
        **arguments(s, level),
    )
    out: dict[str, tuple[float, float] | None] = {}
    for f, _, _ in BANDED:
        iv = r.bands.get(f)
        out[f] = None if iv is None else (float(iv[0].to("ms").magnitude), float(iv[1].to("ms").magnitude))
    return out
