"""``mlsysim serve`` (and ``mlsysim sweep serve``), declared with the public CLI API (``mlsysim_core.cli``)."""

from __future__ import annotations

from typing import Any

from mlsysim_core.cli import PRECISIONS, Param, SolverCommand


def _plot(result: Any, kwargs: dict) -> Any:
    from .plots import plot_serving

    return plot_serving(kwargs["hardware"], result)


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    from mlsysim_plots import pick, plot_sweep

    x = pick(varied, "batch_size", "seq_len", "tp_size")
    return plot_sweep(points, x, ["itl", "tokens_per_second"], series=[v for v in varied if v != x])


SERVE = SolverCommand(
    name="serve",
    solver="ServingModel",
    summary="What TTFT and inter-token latency does MODEL get on HARDWARE, and does its KV cache fit?",
    example="mlsysim serve Llama3_8B H100 --seq-len 2048 --batch-size 16",
    sweep_example="mlsysim sweep serve --model Llama3_70B --hardware H100,H200 --seq-len 2048 --batch-size 1..64:x2 "
    "--tp 4,8 --plot serve.png",
    params=(
        Param("model", "MODEL", "model", required=True, help="Catalog model key (a transformer)."),
        Param("hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key."),
        Param("seq_len", "--seq-len", "int", required=True, help="Prompt length in tokens."),
        Param("batch_size", "--batch-size", "int", 1, help="Concurrent sequences."),
        Param("tp_size", "--tp", "int", 1, help="Tensor-parallel degree (GPUs of one scale-up domain)."),
        Param(
            "gpus_per_node",
            "--gpus-per-node",
            "int",
            help="GPUs one tensor-parallel group may span (default: the part's scale-up domain, e.g. 8 on HGX, "
            "72 on NVL72).",
        ),
        Param(
            "precision",
            "--precision",
            "choice",
            choices=PRECISIONS,
            help="Weights precision (default: the part's default_precision).",
        ),
        Param(
            "kv_precision",
            "--kv-precision",
            "choice",
            choices=PRECISIONS,
            help="KV-cache precision (default: as weights).",
        ),
        Param("output_len", "--output-len", "int", help="Generated tokens per request (mean ITL, end-to-end latency)."),
        Param(
            "beam_width",
            "--beam-width",
            "int",
            help="Beams per request (beam search: one prefill, every beam decoded).",
        ),
        Param("efficiency", "--efficiency", "float", help="Achieved fraction of peak FLOP/s in (0, 1]."),
    ),
    key_fields=(
        "feasible",
        "ttft",
        "itl",
        "tokens_per_second",
        "e2e_latency",
        "requests_per_second",
        "kv_cache_size",
        "model_weights_size",
        "total_memory_required",
        "memory_available",
        "prefill_bottleneck",
        "decode_bottleneck",
        "energy_per_token",
    ),
    strict="raise_errors",
    pareto=(("itl", "min"), ("tokens_per_second", "max")),
    title=lambda r, i: f"{r.model} on {r.hardware} x{r.tp_size} ({r.precision}, {r.batch_size} x {r.seq_len} tokens)",
    plot=_plot,
    sweep_plot=_sweep_plot,
)
