"""``mlsysim serve`` (and ``mlsysim sweep serve``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import PRECISIONS, Param, SolverCommand


def _plot(result: Any, kwargs: dict) -> Any:
    from .plots import plot_serving

    return plot_serving(kwargs["hardware"], result)


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    from mlsysim_plots import pick, plot_sweep

    if "arrival_rate" in varied:  # latency against load, with the SLOs as horizontal lines
        from .plots import draw_slo_lines

        fig, axes = plot_sweep(
            points,
            "arrival_rate",
            ["ttft_p99", "itl_p99"],
            series=[v for v in varied if v != "arrival_rate"],
            logx=False,
        )
        draw_slo_lines(points, axes)
        return fig, axes
    x = pick(varied, "batch_size", "seq_len", "tp_size")
    return plot_sweep(points, x, ["itl", "tokens_per_second"], series=[v for v in varied if v != x])


def _layout(r: Any) -> str:
    """Precisions and parallel degrees of a result, e.g. "int4/bf16, tp8 ep8" (only what is not 1)."""
    prec = r.precision if r.precision == r.activation_precision else f"w {r.precision}, a {r.activation_precision}"
    degrees = [f"{k}{v}" for k, v in (("tp", r.tp_size), ("pp", r.pp_size), ("ep", r.ep_size)) if v > 1]
    if r.dp_attention > 1:
        degrees.append(f"dp-attention {r.dp_attention}")
    return ", ".join([prec, *degrees])


#: the result fields ``mlsysim serve`` shows (every one: --all)
KEY_FIELDS = (
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
    "loaded_energy_per_token",
    "loaded_power",
    "busy_fraction",
    "ttft_mean",
    "ttft_p50",
    "ttft_p99",
    "itl_mean",
    "itl_p99",
    "e2e_p99",
    "queue_wait_mean",
    "utilization",
    "saturation_rate",
    "binding_limit",
    "slo_attainment",
    "max_arrival_rate",
    "kv_bytes_per_request",
    "kv_transfer_exposed",
    "balanced_prefill_share",
    "prefill_replicas_needed",
    "decode_replicas_needed",
    "balanced_goodput_per_gpu",
    "aggregated_goodput_per_gpu",
    "aggregated_layout",
    "disagg_gain",
    "spec_itl",
    "spec_speedup",
    "spec_tokens_per_second",
    "spec_energy_per_token",
    "spec_break_even_batch",
)
#: the static batch's answers (``batch_size`` sequences, no traffic): under traffic the default table leaves them
#: out, as they are not the answer at the offered rate (the loaded ttft_mean, itl_mean, e2e_p99 ... are);
#: --all and --json keep them
STATIC_UNDER_TRAFFIC = ("ttft", "itl", "tokens_per_second", "e2e_latency", "energy_per_token")


#: under traffic, the answers at the offered rate, first (a sweep's table shows the first four key fields)
LOADED_FIRST = ("feasible", "ttft_mean", "ttft_p50", "ttft_p99", "itl_mean", "itl_p99", "e2e_p99", "utilization")


def _key_fields(r: Any) -> tuple[str, ...]:
    """:data:`KEY_FIELDS` of the result ``r`` (or its ``to_dict()``, as a sweep holds it); an aggregated answer under
    traffic (a utilization) leads with :data:`LOADED_FIRST` and leaves out the :data:`STATIC_UNDER_TRAFFIC` fields (a
    disaggregated one names its ttft and itl unloaded: kept)."""
    if isinstance(r, dict):
        static = "kv_link" in r or r.get("utilization") is None
    else:
        static = hasattr(r, "kv_link") or r.si("utilization") is None
    if static:
        return KEY_FIELDS
    return LOADED_FIRST + tuple(f for f in KEY_FIELDS if f not in STATIC_UNDER_TRAFFIC and f not in LOADED_FIRST)


#: a sweep's default objectives: the static batch's token gap and rate, or under traffic (an aggregated layout at an
#: arrival rate or a concurrency) the loaded ones: the mean token gap users see and the output tokens served a second
PARETO = (("itl", "min"), ("tokens_per_second", "max"))
PARETO_UNDER_TRAFFIC = (("itl_mean", "min"), ("output_tokens_per_second", "max"))


def _pareto(axes: dict) -> tuple[tuple[str, str], tuple[str, str]]:
    """A sweep's default objectives for its inputs ``axes`` (:data:`PARETO_UNDER_TRAFFIC` where traffic is given to
    an aggregated layout, else :data:`PARETO`)."""
    loaded = ("arrival_rate" in axes or "concurrency" in axes) and "disagg" not in axes
    return PARETO_UNDER_TRAFFIC if loaded else PARETO


SERVE = SolverCommand(
    name="serve",
    solver="ServingModel",
    summary="What TTFT and inter-token latency does MODEL get on HARDWARE, and does its KV cache fit?",
    example="mlsysim serve Llama3_8B H100 --seq-len 2048 --batch-size 16",
    sweep_example="mlsysim sweep serve --model Llama3_70B --hardware H100,H200 --seq-len 2048 --batch-size 1..64:x2 "
    "--tp 4,8 --plot serve.png  (under load: --qps 0.5..8:+0.5 --output-len 500 --slo-ttft 1s --plot load.png)",
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
            "weight_precision",
            "--weight-precision",
            "choice",
            choices=PRECISIONS,
            help="Weights precision when it differs from the matmuls' (w4a16: int4; default: --precision).",
        ),
        Param(
            "activation_precision",
            "--activation-precision",
            "choice",
            choices=PRECISIONS,
            help="Precision the matmuls run in, its dense peak used (default: --precision).",
        ),
        Param(
            "kv_precision",
            "--kv-precision",
            "choice",
            choices=PRECISIONS,
            help="KV-cache precision (default: the matmuls', 16-bit below one byte).",
        ),
        Param("pp_size", "--pp", "int", help="Pipeline stages (a divisor of the layers)."),
        Param(
            "ep_size",
            "--ep",
            "int",
            help="Expert parallel (MoE): routed experts spread over tp x dp-attention GPUs, tokens all-to-all.",
        ),
        Param(
            "dp_attention",
            "--dp-attention",
            "int",
            help="Attention data-parallel ranks of --tp GPUs each (MoE, DeepSeek-style; with --ep).",
        ),
        Param(
            "redundant_experts",
            "--redundant-experts",
            "int",
            help="Extra physical expert copies with --ep (EPLB; --ep must divide experts + these).",
        ),
        Param(
            "ep_overlap",
            "--ep-overlap",
            "bool",
            help="on: two-batch overlap of the expert all-to-all with compute (SGLang/vLLM option; with --ep).",
        ),
        Param(
            "expert_imbalance",
            "--expert-imbalance",
            "float",
            help="Busiest expert rank's load over the mean (default 1.18 with --ep, SGLang large-scale EP).",
        ),
        Param("output_len", "--output-len", "int", help="Generated tokens per request (mean ITL, end-to-end latency)."),
        Param(
            "beam_width",
            "--beam-width",
            "int",
            help="Beams per request (beam search: one prefill, every beam decoded).",
        ),
        Param("efficiency", "--efficiency", "float", help="Achieved fraction of peak FLOP/s in (0, 1]."),
        Param(
            "network_efficiency",
            "--network-efficiency",
            "float",
            help="Achieved fraction of a link's bandwidth in (0, 1] for all-reduces, all-to-alls, stage hops and "
            "the KV transfer (default 0.8).",
        ),
        Param(
            "engine",
            "--engine",
            "str",
            help="Serving engine (e.g. nim, vllm): the hardware's calibration scoped to it applies "
            "(mlsysim calibrate with an engine column).",
        ),
        Param(
            "arrival_rate",
            "--qps",
            "float",
            help="Requests per second arriving (Poisson): serving under traffic "
            "(needs --output-len): TTFT/ITL percentiles, utilization, the rate the replica saturates at.",
        ),
        Param(
            "concurrency",
            "--concurrency",
            "int",
            help="Closed loop instead of --qps: N clients, each sending its next request when one finishes.",
        ),
        Param(
            "request_overhead",
            "--request-overhead",
            "str",
            help="Host time of each request outside the engine's steps (HTTP, template, tokenize, first chunk), "
            "e.g. 40ms: added to TTFT and e2e under traffic (default: the --engine calibration, else 0).",
        ),
        Param(
            "engine_overhead",
            "--engine-overhead",
            "str",
            help="Host time of one engine step (scheduling, input preparation, output processing), e.g. 4ms, "
            "vLLM 0.5.x's (vLLM issue #6854; mlsysim_serving.host_time): added to every step (default: the "
            "--engine calibration, else 1 ms).",
        ),
        Param(
            "scheduler_overlap",
            "--scheduler-overlap",
            "bool",
            help="on: the engine schedules its next step before the running one's results are processed "
            "(SGLang, TensorRT-LLM PyTorch default; vLLM --async-scheduling): a request waits one more step.",
        ),
        Param(
            "scheduler_steps",
            "--scheduler-steps",
            "int",
            help="Multi-step scheduling: decode steps per scheduler call (vLLM 0.6 --num-scheduler-steps); "
            "new requests wait for the block in progress (default 1).",
        ),
        Param(
            "prefill_steps",
            "--prefill-steps",
            "choice",
            choices=("mixed", "separate"),
            help="mixed: prompts prefilled in the decode steps (chunked prefill, default); separate: a step that "
            "prefills decodes nothing (vLLM 0.5/0.6 without chunked prefill, SGLang 0.3).",
        ),
        Param("slo_ttft", "--slo-ttft", "str", help="TTFT SLO, e.g. 1s or 300ms: SLO attainment and the max rate."),
        Param("slo_itl", "--slo-itl", "str", help="Inter-token latency SLO, e.g. 50ms."),
        Param("slo_percentile", "--slo-percentile", "int", help="Percentile the SLOs bind: 50, 90 or 99 (default 99)."),
        Param(
            "method",
            "--method",
            "choice",
            choices=("analytic", "simulate"),
            help="analytic (steady state, default) or simulate (discrete-event, 10,000 requests, seeded).",
        ),
        Param(
            "length_cv",
            "--length-cv",
            "float",
            help="Coefficient of variation of prompt and output lengths (0 = fixed, default).",
        ),
        Param(
            "length_samples",
            "--length-samples",
            "rows",
            help="Instead of --length-cv: a CSV or JSON file of (prompt, output) token pairs whose mix the "
            "traffic follows, scaled to --seq-len/--output-len.",
        ),
        Param(
            "max_num_batched_tokens",
            "--max-num-batched-tokens",
            "int",
            help="Token budget of one engine step (chunked prefill; default 8192).",
        ),
        Param("max_num_seqs", "--max-num-seqs", "int", help="Most sequences running at once (default 256)."),
        Param("prefix_cache_hit", "--prefix-cache-hit", "float", help="Share of each prompt in the prefix cache."),
        Param(
            "disagg",
            "--disagg",
            "str",
            help="Disaggregated prefill/decode pools, e.g. prefill=H100x8:tp8,decode=H200x8:tp4; a replica may add "
            "ppN, epN, dpN and rN redundant experts (H200x16:tp8pp2, H100x32:dp32ep32, H100x72:dp72ep72r32) (needs "
            "--qps, --output-len and --fabric; HARDWARE is then the aggregated layout compared against).",
        ),
        Param(
            "fabric",
            "--fabric",
            "str",
            help="The network joining scale-up domains (a catalog fabric: IB_NDR, IB_XDR, RoCE_400G, ...): inside a "
            "replica larger than one domain, and with --disagg what carries the KV cache between the pools (also "
            "NVLink: one scale-up domain, or PCIe: one node).",
        ),
        Param(
            "spec_draft",
            "--spec-draft",
            "model",
            help="Speculative decoding: a draft model smaller than MODEL (e.g. Llama3_1B), run at --tp beside it.",
        ),
        Param(
            "spec_draft_cost",
            "--spec-draft-cost",
            "float",
            help="Instead of --spec-draft: draft heads/MTP/n-gram, cost per drafted token (share of a decode step).",
        ),
        Param("spec_k", "--spec-k", "int", help="Drafted tokens per speculative step (default 4)."),
        Param("spec_accept", "--spec-accept", "float", help="Acceptance rate of each drafted token, in [0, 1)."),
        Param(
            "kv_layerwise", "--kv-layerwise", "bool", help="Send the KV layer by layer during the prefill (default on)."
        ),
    ),
    key_fields=KEY_FIELDS,
    key_fields_of=_key_fields,
    strict="raise_errors",
    pareto=PARETO,
    pareto_of=_pareto,
    title=lambda r, i: (
        f"{r.model}: {r.layout} ({r.precision}, {r.seq_len} tokens)"
        if hasattr(r, "kv_link")
        else f"{r.model} on {r.hardware} x{r.gpus} ({_layout(r)}, {r.batch_size} x {r.seq_len} tokens)"
    ),
    plot=_plot,
    sweep_plot=_sweep_plot,
)
