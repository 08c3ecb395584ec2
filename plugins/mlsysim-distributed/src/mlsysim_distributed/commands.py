"""``mlsysim train`` (and ``mlsysim sweep train``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import PRECISIONS, Param, SolverCommand
from mlsysim_fleet.params import CLUSTER, GPUS, NODES


def _plot(result: Any, kwargs: dict) -> Any:
    from .plots import plot_step_breakdown

    return plot_step_breakdown(result)


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    if not {"nodes", "fleet"} & set(varied):
        return None  # the Pareto front
    from .plots import plot_scaling

    return plot_scaling(points)


TRAIN = SolverCommand(
    name="train",
    solver="DistributedModel",
    summary="How long is one 3D-parallel training step of MODEL on CLUSTER, and where does the time go?",
    example="mlsysim train Llama3_70B Research_256 --tp 8 --pp 4 --microbatches 8 --batch-size 256",
    sweep_example="mlsysim sweep train --model Llama3_8B --cluster Research_256 --nodes 1,2,4,8,16,32 --tp 8 "
    "--batch-size 512 --microbatches 1 --plot scaling.png",
    params=(
        Param("model", "MODEL", "model", required=True, help="Catalog model key."),
        CLUSTER,
        Param("batch_size", "--batch-size", "int", required=True, help="Global batch in sequences (a multiple of dp)."),
        Param("tp_size", "--tp", "int", 1, help="Tensor-parallel degree."),
        Param("pp_size", "--pp", "int", 1, help="Pipeline-parallel degree."),
        Param("microbatch_count", "--microbatches", "int", 1, help="Micro-batches per step per data-parallel rank."),
        Param("ep_size", "--ep", "int", 1, help="Expert-parallel degree (MoE)."),
        Param("seq_len", "--seq-len", "int", help="Tokens per sequence (default min(2048, model max))."),
        Param("zero_stage", "--zero", "int", 0, help="ZeRO stage 0-3."),
        Param(
            "precision",
            "--precision",
            "choice",
            choices=PRECISIONS,
            help="Compute precision (default: the accelerator's default_precision).",
        ),
        Param(
            "activation_recomputation",
            "--recompute",
            "choice",
            "selective",
            choices=("selective", "full", "none"),
            help="Activation recomputation.",
        ),
        Param(
            "grad_precision",
            "--grad-precision",
            "choice",
            choices=("fp32", "bf16", "fp16"),
            help="Gradient buffer and reduction dtype (default: fp32, Megatron-LM's with bf16; fp16 with fp16).",
        ),
        Param(
            "master_precision",
            "--master-precision",
            "choice",
            choices=("fp32", "bf16", "fp16"),
            help="Optimizer master-weight dtype (default fp32; none kept when the weights are that wide).",
        ),
        Param("cp_size", "--cp", "int", 1, help="Context-parallel degree (each sequence split over cp GPUs)."),
        Param(
            "cp_variant",
            "--cp-variant",
            "choice",
            "ring",
            choices=("ring", "all-gather"),
            help="Context-parallel K/V exchange: ring (behind the attention) or all-gather (Llama 3).",
        ),
        Param(
            "schedule",
            "--schedule",
            "choice",
            choices=("gpipe", "1f1b", "interleaved", "zb-h1", "zb-v", "dualpipe"),
            help="Pipeline schedule (default: interleaved with --v-stages > 1, else 1f1b).",
        ),
        Param("v_stages", "--v-stages", "int", 1, help="Model chunks per pipeline stage (interleaved schedule)."),
        Param(
            "fp8",
            "--fp8",
            "bool",
            help="on: FP8 GEMMs at the accelerator's fp8 peak (attention, LM head at --precision).",
        ),
        Param(
            "tp_overlap",
            "--tp-overlap",
            "bool",
            help="on: overlap tensor-parallel communication with the GEMMs (Megatron-Core --tp-comm-overlap).",
        ),
        Param("tokens", "--tokens", "float", help="Training tokens, for time_to_train (e.g. 15e12)."),
        NODES,
        GPUS,
    ),
    key_fields=(
        "step_time",
        "throughput",
        "tokens_per_second",
        "time_to_train",
        "mfu",
        "scaling_efficiency",
        "bubble_fraction",
        "compute_latency",
        "pipeline_bubble_latency",
        "exposed_communication_latency",
        "optimizer_time",
        "memory_per_gpu",
        "memory_capacity",
        "feasible",
        "parallelism",
        "total_accelerators",
    ),
    strict="strict",
    # Megatron-LM refuses a micro-batch count that does not divide the batch of a data-parallel rank
    # (get_num_microbatches: global batch = micro-batch x dp x micro-batches); Python warns (the guide's example)
    refuse=(("MicrobatchWarning", "--microbatches"),),
    pareto=(("step_time", "min"), ("memory_per_gpu", "min")),  # time against memory headroom
    title=lambda r, i: f"{r.model.name} on {r.fleet.name} ({r.total_accelerators} accelerators, {r.precision})",
    plot=_plot,
    sweep_plot=_sweep_plot,
)
