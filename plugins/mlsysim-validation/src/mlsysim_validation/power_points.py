"""Accelerator power: the mappings of the measured board draws (group W, ``gpu_power_W``) and the least-squares
fit of the power model's shares of TDP to them (``mlsysim_physics.efficiency.POWER_*``; ``tools/power_shares.py``).

The model: P = TDP x min(1, IDLE + COMPUTE x u_c + MEMORY x u_m) (``mlsysim_physics.equations.step_power``), where
u_c and u_m are the busy shares of the compute units and the memory system over the time measured, taken from the
model's own step (never from the measurement). Awake idle has u_c = u_m = 0. A continuously batched serving run
(ML.ENERGY) spends ``prefill_time_share`` of its time prefilling arriving prompts and the rest in decode steps,
so its busy shares are those of the two phases weighted by that share (``ServingModel``, Orca's steady state).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .points import _hw, _lm, _m, maps

#: Prompt tokens of the ML.ENERGY v3.0 LM Arena chat rows, which state only the mean output: the running batch
#: bounds it, since 2,043 Llama-3.1-8B sequences share one B200's KV space (~146 GB at 128 KiB a token, ~550
#: tokens each, prompt plus half the 396-token output), so prompts average under ~350 tokens; 256 assumed.
MLENERGY_PROMPT = 256

#: id -> (model, hardware, running batch, mean output tokens) of the ML.ENERGY v3.0 rows (one GPU, BF16, vLLM)
_SERVING = {
    "W-mlenergy3-h100-llama31-8b-b512-power": ("Llama3_1_8B", "H100", 511, 397),
    "W-mlenergy3-b200-llama31-8b-b2048-power": ("Llama3_1_8B", "B200", 2043, 396),
    "W-mlenergy3-b200-qwen3-8b-b1536-power": ("Qwen3_8B", "B200", 1427, 649),
    "W-mlenergy3-b200-qwen3-30b-a3b-b1024-power": ("Qwen3_30B_A3B", "B200", 1023, 928),
}
#: id -> hardware of the nvidia-smi readings of a GPU holding a CUDA context and memory, running no kernel
_IDLE = {"W-nvsmi-h100-idle-context-power": "H100", "W-nvsmi-v100-idle-context-power": "V100"}


def _solved(pid: str) -> tuple[float, float, float, tuple[float, float, float]]:
    """(TDP in W, u_c, u_m, the shares of TDP the solver used) of power point ``pid`` from the model's own step (see
    the module docstring): the ServingModel result's ``power_idle/compute/memory``, which a band's corner moves; an
    idle reading, whose draw no solver gives, the named defaults."""
    if pid in _IDLE:
        from mlsysim_physics import efficiency as E

        shares = (E.POWER_IDLE_FRACTION, E.POWER_COMPUTE_FRACTION, E.POWER_MEMORY_FRACTION)
        return getattr(_hw(), _IDLE[pid]).si.tdp, 0.0, 0.0, shares
    model, hw, batch, output = _SERVING[pid]
    part = getattr(_hw(), hw)
    r = _m().ServingModel().solve(getattr(_lm(), model), part, MLENERGY_PROMPT, batch, output_len=output)
    s, ttft, itl = r.prefill_time_share, r.si("ttft"), r.si("itl")
    u_c = s * r.si("prefill_compute_time") / ttft + (1 - s) * r.si("decode_compute_time") / itl
    u_m = s * r.si("prefill_memory_time") / ttft + (1 - s) * r.si("decode_memory_time") / itl
    return part.si.tdp, u_c, u_m, (r.power_idle, r.power_compute, r.power_memory)


def busy(pid: str) -> tuple[float, float, float]:
    """(TDP in W, u_c, u_m) of power point ``pid`` from the model's own step (see the module docstring)."""
    return _solved(pid)[:3]


def power(pid: str, idle: float, compute: float, memory: float) -> float:
    """Predicted board power of ``pid`` in W at the given shares of TDP."""
    from mlsysim_physics.equations import step_power

    tdp, u_c, u_m = busy(pid)
    return step_power(tdp, u_c, u_m, 1.0, idle, compute, memory)[0]


def points() -> tuple[str, ...]:
    """The ids of the power points the shares are fitted to."""
    return (*_SERVING, *_IDLE)


def fit(measured: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(shares, standard errors): ordinary least squares of draw / TDP = IDLE + COMPUTE u_c + MEMORY u_m over
    ``measured`` (id -> W; every point below the cap, so the min(1, .) is inactive), and each share's standard
    error, sqrt(diag(s^2 (A^T A)^-1)) with s^2 the residual variance over n - 3 degrees of freedom."""
    rows = [busy(pid) for pid in measured]
    a = np.array([[1.0, u_c, u_m] for _, u_c, u_m in rows])
    y = np.array([measured[pid] / tdp for pid, (tdp, _, _) in zip(measured, rows)])
    shares, *_ = np.linalg.lstsq(a, y, rcond=None)
    residual = y - a @ shares
    s2 = residual @ residual / (len(y) - 3)
    return shares, np.sqrt(np.diag(s2 * np.linalg.inv(a.T @ a)))


def _register(pid: str, how: str, assumptions: str) -> None:
    def fn() -> float:
        from mlsysim_physics.equations import step_power

        tdp, u_c, u_m, shares = _solved(pid)
        return step_power(tdp, u_c, u_m, 1.0, *shares)[0]

    maps(pid, how, assumptions)(fn)


for _pid, (_model, _part, _batch, _out) in _SERVING.items():
    _register(
        _pid,
        f"TDP x (IDLE + COMPUTE u_c + MEMORY u_m), u from ServingModel({_model}, {_part}, bf16, seq_len "
        f"{MLENERGY_PROMPT}, batch {_batch}, output_len {_out}): prefill and decode busy shares weighted by "
        "prefill_time_share",
        f"the row's running batch and mean output; prompt {MLENERGY_PROMPT} tokens (MLENERGY_PROMPT: not in the "
        "row, bounded by its running batch); board power only (NVML), so no host or PUE",
    )
for _pid, _part in _IDLE.items():
    _register(
        _pid,
        f"TDP x IDLE ({_part}: u_c = u_m = 0)",
        "a process holds a CUDA context and memory, no kernel runs (P0): the awake-idle share",
    )


def measured_points(records: list[dict[str, Any]]) -> dict[str, float]:
    """id -> measured W of the fitted power points among ``records`` (the calibration set)."""
    wanted = set(points())
    return {r["id"]: float(r["value"]) for r in records if r["id"] in wanted}
