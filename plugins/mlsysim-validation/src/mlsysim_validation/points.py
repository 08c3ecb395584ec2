"""The reviewed mapping from each published measurement to solver calls.

One function per record, registered with :func:`maps`: it names the hardware, model, precision,
parallelism, batch or concurrency and sequence lengths, calls the solvers with their shipped
defaults and returns the value in the record's unit. ``assumptions`` states what the source leaves
open and what was chosen; nothing is tuned per point. Records with no sensible mapping are in
``SKIPPED`` with the reason.

Solvers are reached through the public face (``mlsysim.ServingModel`` ...), so a group whose plugin
is not installed reports its points as failed with the plugin's error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import attrs

from mlsysim_fleet import rental

from .serving_call import ServingCall

KINDS = ("prediction", "accounting", "input")


@attrs.frozen(kw_only=True)
class Mapping:
    """How one measurement is predicted: ``fn()`` returns the value in the record's unit."""

    id: str
    fn: Callable[[], float]
    how: str
    assumptions: str
    kind: str = attrs.field(default="prediction", validator=attrs.validators.in_(KINDS))


_MAPPINGS: dict[str, Mapping] = {}


def maps(pid: str, how: str, assumptions: str, kind: str = "prediction") -> Callable:
    """Register ``fn`` as the mapping of measurement ``pid``."""

    def deco(fn: Callable[[], float]) -> Callable[[], float]:
        if pid in _MAPPINGS:
            raise ValueError(f"duplicate mapping for {pid}")
        _MAPPINGS[pid] = Mapping(id=pid, fn=fn, how=how, assumptions=assumptions, kind=kind)
        return fn

    return deco


def mappings() -> dict[str, Mapping]:
    return dict(_MAPPINGS)


@cache
def _m() -> Any:
    import mlsysim

    return mlsysim


def _hw() -> Any:
    return _m().Hardware.Cloud


def _lm() -> Any:
    return _m().Models.Language


def _q(x: Any, unit: str) -> float:
    return x.to(unit).magnitude


# =========================================================================== A: single-accelerator inference


def _max_batch(solve: Callable[[int], Any], limit: int = 8192) -> int:
    """Largest batch (<= limit) for which ``solve(batch)`` is feasible: doubling, then bisection."""
    if not solve(1).feasible:
        raise ValueError("does not fit at batch 1")
    lo, hi = 1, 2
    while hi <= limit and solve(hi).feasible:
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if solve(mid).feasible else (lo, mid)
    return lo


def llm_max_throughput(model: Any, hw: Any, isl: int, osl: int, precision: str, tp: int = 1, beams: int = 1) -> float:
    """Output tokens/s of one TP group at the largest concurrency that fits in memory (<= 8192
    sequences, the largest CUDA-graph batch of TensorRT-LLM; requests x beams with beam search):
    ServingModel.requests_per_second x output_len (one output token per request per step)."""
    s = _m().ServingModel()

    def solve(b: int) -> Any:
        return s.solve(model, hw, isl, b, precision=precision, tp_size=tp, output_len=osl, beam_width=beams)

    return _q(solve(_max_batch(solve, limit=8192 // beams)).requests_per_second, "1/s") * osl


def _resnet(hw: str) -> Callable[[], float]:
    def fn() -> float:
        r = _m().SingleNodeModel().solve(_m().Models.ResNet50, getattr(_hw(), hw), batch_size=1024, precision="int8")
        return _q(r.throughput, "1/s")

    return fn


_RESNET = {  # id: (hardware, what the per-GPU figure assumes)
    "A-mlperf40-h100x1-resnet50-offline": ("H100", ""),
    "A-mlperf41-h200x8-resnet50-offline-per-gpu": (
        "H200",
        "; per-GPU = system / 8 (linear data parallel, as the record divides)",
    ),
}
for _pid, (_hw_name, _per_gpu) in _RESNET.items():
    maps(
        _pid,
        f"SingleNodeModel(ResNet50, {_hw_name}, batch 1024, int8).throughput" + (" (per GPU)" if _per_gpu else ""),
        "int8 (NVIDIA's MLPerf ResNet-50 engine is INT8); Offline = large batch, 1024 chosen (throughput flat beyond)"
        + _per_gpu,
    )(_resnet(_hw_name))


def _sdxl(hw: str) -> Callable[[], float]:
    def fn() -> float:
        pipeline = _m().Models.GenerativeVision.SDXL_Pipeline_20Steps
        r = _m().SingleNodeModel().solve(pipeline, getattr(_hw(), hw), batch_size=32, precision="fp8")
        return _q(r.throughput, "1/s")

    return fn


for _hw_name in ("H200", "H100"):
    maps(
        f"A-mlperf41-{_hw_name.lower()}x8-stable-diffusion-xl-offline-per-gpu",
        f"SingleNodeModel(SDXL_Pipeline_20Steps, {_hw_name}, batch 32, fp8).throughput (images/s)",
        "fp8; MLPerf SDXL runs 20 denoising steps with classifier-free guidance (2 UNet passes per step); the "
        "pipeline adds both text encoders and the VAE decoder (3.9 % of the image's FLOPs); batch 32 images "
        "(NVIDIA's v4.1 config: UNet batch 32 x 2 for the guidance)",
    )(_sdxl(_hw_name))


def _gptj(hw: str) -> Callable[[], float]:
    return lambda: llm_max_throughput(_lm().GPTJ_6B, getattr(_hw(), hw), 1024, 128, "fp8", beams=4)


for _hw_name in ("H100", "H200"):
    maps(
        f"A-mlperf41-{_hw_name.lower()}x8-gptj-99-offline-per-gpu",
        f"ServingModel(GPTJ_6B, {_hw_name}, fp8, tp 1, beam_width 4) at the largest batch that fits: prompts "
        "prefilled once per request, 4 beams decoded (KV cache per beam), output tokens counted once per request",
        "ISL 1024 (CNN-DailyMail prompts, up to 1919; mean not stated), OSL 128 (the maximum; early stops not "
        "modelled), 4 beams (MLPerf GPT-J rule); tp 1, fp8 (NVIDIA's v4.1 config)",
    )(_gptj(_hw_name))


def _llama2(hw: str, tp: int) -> Callable[[], float]:
    return lambda: llm_max_throughput(_lm().Llama2_70B, getattr(_hw(), hw), 300, 265, "fp8", tp=tp) / tp


_LLAMA2 = {  # id: (hardware, tp, how, assumptions)
    "A-mlperf41-h200x8-llama2-70b-99-offline-per-gpu": (
        "H200",
        1,
        "ServingModel(Llama2_70B, H200, fp8, tp 1) at the largest batch that fits: output tokens/s",
        "ISL 300 (OpenOrca mean prompt ~ 300 tokens; not stated), OSL 265 (stated); tp 1 (70 GB of fp8 "
        "weights fit one 141 GB H200)",
    ),
    "A-mlperf41-h200x8-llama2-70b-99-server-per-gpu": (
        "H200",
        1,
        "as the Offline point (ServingModel at the largest batch that fits)",
        "Server-scenario latency targets (TTFT 2 s, TPOT 200 ms) are loose enough at this load that "
        "throughput is the Offline one; ISL 300, OSL 265, fp8, tp 1",
    ),
    "A-mlperf41-h100x8-llama2-70b-99-offline-per-gpu": (
        "H100",
        2,
        "ServingModel(Llama2_70B, H100, fp8, tp 2) at the largest batch that fits: output tokens/s / 2 GPUs",
        "ISL 300 (as on H200), OSL 265 (stated); tp 2, fp8 (NVIDIA's v4.1 config: 4 groups of 2 GPUs)",
    ),
}
for _pid, (_hw_name, _tp, _how, _assumed) in _LLAMA2.items():
    maps(_pid, _how, _assumed)(_llama2(_hw_name, _tp))


# =========================================================================== B: LLM serving


def _nim(isl: int, osl: int, c: int) -> Callable[[], float]:
    kw = dict(precision="fp8", tp_size=2, output_len=osl)
    return ServingCall("Llama3_3_70B", "H100", isl, "itl_continuous", "nim", kw, batch_size=c)


for _isl, _osl, _c in ((5000, 500, 5), (5000, 500, 25), (500, 2000, 1)):
    maps(
        f"B-nim-llama33-70b-2xh100-isl{_isl}-osl{_osl}-c{_c}-itl",
        "ServingModel(Llama3_3_70B, H100, fp8, tp 2, batch = concurrency, output_len, engine nim).itl_continuous",
        "concurrency = sequences in flight (closed loop); mean ITL over the output with one prefill per "
        "request interleaved between decode steps (continuous batching); fp8 KV cache",
    )(_nim(_isl, _osl, _c))


def _vllm(model: str, tp: int) -> Callable[[], float]:
    def fn() -> float:
        r = (
            _m()
            .ServingModel()
            .solve(getattr(_lm(), model), _hw().H200, 32, 8, precision="bf16", tp_size=tp, output_len=128)
        )
        return _q(r.e2e_latency, "ms")

    return fn


for _pid, _model, _tp in (
    ("B-vllm-ci-h200-llama-3.1-8B-tp1-e2e", "Llama3_1_8B", 1),
    ("B-vllm-ci-h200-llama-3-70B-tp4-e2e", "Llama3_70B", 4),
    ("B-vllm-ci-h200-mixtral-8x7B-tp2-e2e", "Mixtral_8x7B", 2),
):
    maps(
        _pid,
        f"ServingModel({_model}, H200, bf16, batch 8, seq_len 32, output_len 128).e2e_latency, tp {_tp}",
        "bf16 (vLLM's default dtype for these checkpoints; not stated); the batch of 8 runs together",
    )(_vllm(_model, _tp))


@maps(
    "B-trtllm-llama-3.1-8b-h100-tp1-fp8-128-128",
    "ServingModel(Llama3_1_8B, H100, fp8, tp 1) at the largest batch that fits (<= 8192): output tokens/s",
    "requests fed at infinite rate = the largest concurrency that fits in 90 % of HBM; fp8 KV cache",
)
def _b_trt_8b() -> float:
    return llm_max_throughput(_lm().Llama3_1_8B, _hw().H100, 128, 128, "fp8")


@maps(
    "B-trtllm-llama-3.1-405b-h100-tp8-fp8-1000-1000",
    "ServingModel(Llama3_1_405B, H100, fp8, tp 8) at the largest batch that fits: output tokens/s (all GPUs)",
    "requests fed at infinite rate = the largest concurrency that fits in 90 % of HBM; fp8 KV cache",
)
def _b_trt_405b() -> float:
    return llm_max_throughput(_lm().Llama3_1_405B, _hw().H100, 1000, 1000, "fp8", tp=8)


# =========================================================================== L, M: LLM serving under load (TTFT, ITL)


def _under_load(model: str, hw: str, isl: int, osl: int, field: str, engine: str, **kw: object) -> Callable[[], float]:
    """ServingModel's ``field`` (ms) for ``model`` on ``hw`` under traffic (``kw`` holds ``concurrency`` for a
    closed loop or ``arrival_rate`` for an open one), ``isl``-token prompts for ``osl``-token answers, at
    ``engine``'s calibration where it has one."""
    return ServingCall(model, hw, isl, field, engine, dict(output_len=osl, **kw))


def _closed_loop(
    model: str, hw: str, isl: int, osl: int, c: int, field: str, engine: str, **kw: object
) -> Callable[[], float]:
    """:func:`_under_load` with a closed loop of ``c`` clients."""
    return _under_load(model, hw, isl, osl, field, engine, concurrency=c, **kw)


#: NVIDIA NIM 1.8.0, Llama-3.3-70B-Instruct on 2 x H100, fp8 TP2: (input tokens, output tokens, concurrencies)
_NIM_LOADED = (
    (5000, 500, (1, 5, 25, 50)),
    (500, 2000, (1, 5, 25, 50)),
    (200, 200, (5, 25, 50)),
    (1000, 1000, (5, 25, 50)),
    (20000, 2000, (5, 25, 50)),
)
for _isl, _osl, _cs in _NIM_LOADED:
    for _c in _cs:
        for _group, _q_name, _field in (("L", "ttft", "ttft_mean"), ("M", "itl", "itl_mean")):
            maps(
                f"{_group}-nim-llama33-70b-2xh100-isl{_isl}-osl{_osl}-c{_c}-{_q_name}",
                f"ServingModel(Llama3_3_70B, H100, fp8, tp 2, seq_len {_isl}, output_len {_osl}, "
                f"concurrency {_c}, engine nim).{_field} (analytic)",
                "closed loop of `concurrency` clients (AIPerf's concurrency mode) with fixed lengths; the engine's "
                "scheduler as ServingModel's defaults (chunked prefill, 8192-token budget, 256 sequences); "
                "fp8 KV cache",
            )(_closed_loop("Llama3_3_70B", "H100", _isl, _osl, _c, _field, "nim", precision="fp8", tp_size=2))


# =========================================================================== C: distributed training


def _gpt(name: str, layers: int, hidden: int, heads: int, vocab: int = 51200, seq: int = 2048) -> Any:
    """A Megatron GPT: P = 12 L h^2 (1 + 13/(12h) + (V + s)/(12 L h)) (Narayanan et al. 2021, Sec. 5.1)."""
    from mlsysim_core.types import TransformerWorkload

    params = round(12 * layers * hidden**2 * (1 + 13 / (12 * hidden) + (vocab + seq) / (12 * layers * hidden)))
    return TransformerWorkload(
        name=name,
        parameters=params,
        layers=layers,
        hidden_dim=hidden,
        heads=heads,
        ffn_dim=4 * hidden,
        vocab_size=vocab,
        max_seq_len=seq,
        tied_embeddings=True,
        source="Narayanan et al. 2021, Table 1 geometry",
    )


def _fleet(node: Any, gpus: int, fabric: Any, name: str) -> Any:
    from mlsysim_core.types import Fleet

    g = node.accelerators_per_node
    if gpus % g:
        raise ValueError(f"{gpus} GPUs is not a whole number of {g}-GPU nodes")
    return Fleet(name=name, node=node, count=gpus // g, fabric=fabric, source="validation mapping")


_MEGATRON = {  # id suffix: (layers, hidden, heads, tp, pp, gpus, global batch)
    "3.6B": (30, 3072, 32, 2, 1, 64, 512),
    "7.5B": (36, 4096, 32, 4, 1, 128, 512),
    "145.6B": (80, 12288, 96, 8, 8, 1536, 2304),
    "310.1B": (96, 16384, 128, 8, 16, 1920, 2160),
    "529.6B": (105, 20480, 128, 8, 35, 2520, 2520),
}


def _megatron(size: str) -> Callable[[], float]:
    L, h, a, tp, pp, n, batch = _MEGATRON[size]

    def fn() -> float:
        S = _m().Systems
        dp = n // (tp * pp)
        r = (
            _m()
            .DistributedModel()
            .solve(
                model=_gpt(f"GPT {size}", L, h, a),
                fleet=_fleet(S.Nodes.DGX_A100, n, S.Fabrics.InfiniBand_HDR, "Selene"),
                batch_size=batch,
                tp_size=tp,
                pp_size=pp,
                microbatch_count=batch // dp,
                precision="fp16",
                seq_len=2048,
                activation_recomputation="full",
                sequence_parallel=False,
                overlap_comm=False,
            )
        )
        return _q(r.achieved_flops_per_gpu, "TFLOP/s")

    return fn


for _size in _MEGATRON:
    maps(
        f"C-megatron-a100-{_size}-tflops",
        "DistributedModel(GPT geometry of Table 1, DGX_A100 x N on InfiniBand_HDR, fp16).achieved_flops_per_gpu "
        "(hardware FLOPs incl. recomputation, the paper's Eq. 3 convention)",
        "micro-batch 1 sequence, non-interleaved 1F1B (v=1), full activation recomputation, no sequence "
        "parallelism, DP all-reduce not overlapped; dp = N/(tp*pp)",
    )(_megatron(_size))


def _llama3_405b(gpus: int, label: str, batch: int, microbatches: int, seq: int, **kw: Any) -> Any:
    """DistributedModel of Meta's Llama 3 405B runs on their H100 fleet (DGX-H100 nodes on RoCE 400G) as both
    C-llama3 mappings state them: bf16, tp 8, pp 16 interleaved v=2, ZeRO-1, DP overlapped, selective
    recomputation; ``kw``: what a run adds (context parallelism)."""
    S = _m().Systems
    return (
        _m()
        .DistributedModel()
        .solve(
            model=_lm().Llama3_1_405B,
            fleet=_fleet(S.Nodes.DGX_H100, gpus, S.Fabrics.RoCE_400G, label),
            batch_size=batch,
            tp_size=8,
            pp_size=16,
            microbatch_count=microbatches,
            v_stages=2,
            precision="bf16",
            seq_len=seq,
            zero_stage=1,
            activation_recomputation="selective",
            overlap_comm=True,
            **kw,
        )
    )


@maps(
    "C-llama3-405b-8k-mfu",
    "DistributedModel(Llama3_1_405B, Llama 3 fleet 8,192 H100 on RoCE_400G, bf16, tp 8 pp 16 dp 64).mfu",
    "global batch 2048 x 8192 tokens (16M), micro-batch 1 (m=32 per DP rank), interleaved v=2 (interleaving "
    "stated, V not), ZeRO-1 (FSDP shards optimizer), DP overlapped, selective recomputation (flash attention)",
)
def _c_llama3() -> float:
    return _llama3_405b(8192, "Llama 3 8K", 2048, 32, 8192).mfu


@maps(
    "C-llama3-405b-16k-longctx-tflops",
    "DistributedModel(Llama3_1_405B, Llama 3 fleet 16,384 H100 on RoCE_400G, bf16, tp 8 cp 16 pp 16 dp 8, "
    "seq 131,072, all-gather context parallelism): model FLOPs per GPU per second (Table 4's convention, MFU x peak)",
    "dp 8 (16,384 / (8 x 16 x 16); the printed 4 does not multiply to the GPU count), global batch 16M tokens = "
    "128 sequences, micro-batch 1 (m = 16 per DP rank), interleaved v=2 as in the 8k row, ZeRO-1, DP overlapped, "
    "selective recomputation",
)
def _c_llama3_longctx() -> float:
    r = _llama3_405b(16384, "Llama 3 16K", 128, 16, 131072, cp_size=16, cp_variant="all-gather")
    return _q(r.flops_per_step, "TFLOP") / _q(r.step_time, "s") / r.total_accelerators


def _bridge(
    node: str, model: Any, gpus: int, batch: int, tp: int, pp: int, cp: int, v: int, mbs: int = 1, zero: int = 1
) -> float:
    """Megatron-Bridge's FP8 rows (DGX-H100, DGX-B200): tokens per second per GPU."""
    S = _m().Systems
    r = (
        _m()
        .DistributedModel()
        .solve(
            model=model,
            fleet=_fleet(getattr(S.Nodes, node), gpus, S.Fabrics.InfiniBand_NDR, node),
            batch_size=batch,
            tp_size=tp,
            pp_size=pp,
            cp_size=cp,
            v_stages=v,
            microbatch_count=batch // (gpus // (tp * pp * cp) * mbs),
            precision="bf16",
            fp8=True,
            seq_len=8192,
            zero_stage=zero,
            activation_recomputation="selective",
            overlap_comm=True,
        )
    )
    return _q(r.tokens_per_second, "1/s") / r.total_accelerators


_BRIDGE_ASSUMED = (
    "micro-batch 1 as stated; Megatron's distributed optimizer (ZeRO-1) with overlapped gradient "
    "reduce-scatter and parameter all-gather; interleaved 1F1B with the stated VP; selective "
    "recomputation (flash attention); ring context parallelism (Megatron-Core's p2p)"
)


@maps(
    "C-megatron-bridge-h100-llama3-70b-fp8-tokens",
    "DistributedModel(Llama3_70B, 64 DGX-H100 GPUs on InfiniBand_NDR, bf16 with fp8 GEMMs, tp 4 pp 8 v 5, "
    "B=128, S=8192).tokens_per_second / GPUs",
    _BRIDGE_ASSUMED,
)
def _c_bridge_70b() -> float:
    return _bridge("DGX_H100", _lm().Llama3_70B, 64, 128, 4, 8, 1, 5)


@maps(
    "C-megatron-bridge-h100-llama31-405b-fp8-cp2-tokens",
    "DistributedModel(Llama3_1_405B, 1024 DGX-H100 GPUs on InfiniBand_NDR, bf16 with fp8 GEMMs, tp 8 pp 8 cp 2 "
    "v 8, B=512, S=8192).tokens_per_second / GPUs",
    _BRIDGE_ASSUMED,
)
def _c_bridge_405b() -> float:
    return _bridge("DGX_H100", _lm().Llama3_1_405B, 1024, 512, 8, 8, 2, 8)


@maps(
    "C-megatron-bridge-h100-llama3-8b-fp8-fsdp-tokens",
    "DistributedModel(Llama3_8B, 8 DGX-H100 GPUs, bf16 with fp8 GEMMs, dp 8 fully sharded (ZeRO-3), B=128, "
    "S=8192).tokens_per_second / GPUs",
    "micro-batch 1 as stated (GA 16); FSDP = ZeRO-3 (weights gathered per micro-batch, overlapped); selective "
    "recomputation (flash attention)",
)
def _c_bridge_h100_8b() -> float:
    return _bridge("DGX_H100", _lm().Llama3_8B, 8, 128, 1, 1, 1, 1, zero=3)


@maps(
    "C-megatron-bridge-b200-llama3-8b-fp8-tokens",
    "DistributedModel(Llama3_8B, 8 DGX-B200 GPUs, bf16 with fp8 GEMMs, dp 8, B=128, S=8192).tokens_per_second / GPUs",
    "micro-batch 2 as stated (GA 8); " + _BRIDGE_ASSUMED,
)
def _c_bridge_b200_8b() -> float:
    return _bridge("DGX_B200", _lm().Llama3_8B, 8, 128, 1, 1, 1, 1, mbs=2)


@maps(
    "C-megatron-bridge-b200-llama31-405b-fp8-cp2-tokens",
    "DistributedModel(Llama3_1_405B, 128 DGX-B200 GPUs on InfiniBand_NDR, bf16 with fp8 GEMMs, tp 4 pp 8 cp 2 v 8, "
    "B=64, S=8192).tokens_per_second / GPUs",
    _BRIDGE_ASSUMED,
)
def _c_bridge_b200_405b() -> float:
    return _bridge("DGX_B200", _lm().Llama3_1_405B, 128, 64, 4, 8, 2, 8)


_MEGATRON_H100 = {  # the README's largest rows: (layers, hidden, heads, tp, pp, gpus, global batch)
    "314B": (96, 16384, 128, 8, 8, 3072, 1536),
    "462B": (112, 18432, 144, 8, 16, 6144, 3072),
}


def _megatron_h100_mfu(size: str) -> float:
    L, h, a, tp, pp, n, batch = _MEGATRON_H100[size]
    S = _m().Systems
    r = (
        _m()
        .DistributedModel()
        .solve(
            model=_gpt(f"GPT {size}", L, h, a, vocab=131072, seq=4096),
            fleet=_fleet(S.Nodes.DGX_H100, n, S.Fabrics.InfiniBand_NDR, "H100 weak scaling"),
            batch_size=batch,
            tp_size=tp,
            pp_size=pp,
            microbatch_count=batch // (n // (tp * pp)),
            precision="bf16",
            seq_len=4096,
            zero_stage=1,
            activation_recomputation="selective",
            overlap_comm=True,
            tp_overlap=True,
        )
    )
    return r.mfu


@maps(
    "C-megatron-h100-weak-scaling-mfu-large",
    "mean of DistributedModel(GPT geometry of the README's model table, DGX_H100 x N on InfiniBand_NDR, bf16).mfu "
    "over its two largest rows: 314B (96 x 16384, 128 heads, tp 8 pp 8, 3072 GPUs, batch 1536; 48 %) and 462B "
    "(112 x 18432, 144 heads, tp 8 pp 16, 6144 GPUs, batch 3072; 47 %), vocab 131,072, seq 4096",
    "geometry, layout and batch from the README's model table (images/model_table.png, Megatron-LM commit "
    "937571cf, July 2024); micro-batch 1 and non-interleaved 1F1B (neither stated); distributed optimizer "
    "(ZeRO-1) with --overlap-grad-reduce/--overlap-param-gather and --tp-comm-overlap as the README states; "
    "selective recomputation (flash attention); InfiniBand NDR between DGX H100 nodes",
)
def _c_megatron_h100() -> float:
    return sum(_megatron_h100_mfu(size) for size in _MEGATRON_H100) / len(_MEGATRON_H100)


@maps(
    "C-patterson-t5-11b-tflops",
    "DistributedModel(T5_11B, 512 TPU v3 chips as one ICI slice, bf16, model axis 8 x data 64, batch 2048 x 512 "
    "tokens).achieved_flops_per_gpu",
    "batch 2^11 sequences of 512 tokens (Raffel et al., JMLR 2020, Sec. 3.7); Mesh TensorFlow model axis 8 (the "
    "paper says model and data parallelism, not the split); one pass per step (m=1); ICI 340 TB/s all-reduce "
    "bandwidth per 1024-chip pod = 332 GB/s per chip (Cloud TPU v3 page); gradient all-reduce not overlapped; "
    "selective recomputation. Both stacks priced as one (stated in the result's notes): FLOP/s is unaffected. "
    "The measurement averages a 20-day run (evaluation, checkpoints, restarts included); the prediction is one step",
)
def _c_t5() -> float:
    from mlsysim_core.types import Fleet, NetworkFabric, Node

    ici = NetworkFabric(
        name="TPU v3 ICI",
        bandwidth=f"{340e12 / 1024 / 1e9:.3f} GB/s",
        latency="1 us",
        source="Cloud TPU v3 page: all-reduce bandwidth per Pod 340 TB/s over 1024 chips",
    )
    pod = Node(
        name="TPU v3-1024 slice (512 chips)",
        accelerator=_hw().TPUv3,
        accelerators_per_node=512,
        intra_node=ici,
        nics_per_node=512,
        source="validation mapping",
    )
    r = (
        _m()
        .DistributedModel()
        .solve(
            model=_lm().T5_11B,
            fleet=Fleet(name="T5 pre-training", node=pod, count=1),
            batch_size=2048,
            tp_size=8,
            microbatch_count=1,
            precision="bf16",
            seq_len=512,
            activation_recomputation="selective",
            overlap_comm=False,
        )
    )
    return _q(r.achieved_flops_per_gpu, "TFLOP/s")


@maps(
    "C-palm-540b-mfu",
    "DistributedModel(PaLM_540B, 2 TPU v4 pods as 2 'nodes' of 3072 chips on the pods' DCN, bf16, tp 12).mfu",
    "model axis 12 x data 256 per pod x 2 pods; batch 2048 x 2048 tokens (final); ZeRO-3-like sharding; full "
    "rematerialization; ICI 300 GB/s per chip; DCN 81 Tbit/s per pod (PaLM Sec. 4)",
)
def _c_palm() -> float:
    return _palm_run().mfu


@maps(
    "C-palm-540b-chip-hours",
    "DistributedModel(PaLM_540B, the MFU point's 2 pods, tokens=780e9).time_to_train x 6144 chips",
    "every step at the final batch (2048 x 2048 tokens) on both pods; the source's 3072-chip phase, downtime and "
    "repeated steps are not modelled (the prediction is the failure-free chip-hours, a lower bound of an allocation)",
)
def _c_palm_chip_hours() -> float:
    r = _palm_run(tokens=780e9)
    return _q(r.time_to_train, "h") * r.total_accelerators


def _palm_run(tokens: Any = None) -> Any:
    """PaLM 540B on two TPU v4 pods (PaLM Sec. 4), as the MFU point maps it."""
    from mlsysim_core.types import Fleet, NetworkFabric, Node

    tpu = _hw().TPUv4
    ici = NetworkFabric(
        name="TPU v4 ICI",
        bandwidth="300 GB/s",
        latency="1 us",
        source="TPU v4: 6 ICI links; ~2.4 Tbit/s per chip per direction assumed",
    )
    pod = Node(
        name="TPU v4 pod slice (3072 chips)",
        accelerator=tpu,
        accelerators_per_node=3072,
        intra_node=ici,
        nics_per_node=3072,
        source="validation mapping",
    )
    dcn = NetworkFabric(
        name="PaLM cross-pod DCN",
        bandwidth=f"{81e12 / 3072 / 1e9:.3f} Gbit/s",
        latency="20 us",
        source="PaLM Sec. 4: 81 Tbps per pod across pods",
    )
    r = (
        _m()
        .DistributedModel()
        .solve(
            model=_lm().PaLM_540B,
            fleet=Fleet(name="PaLM 2 pods", node=pod, count=2, fabric=dcn),
            batch_size=2048,
            tp_size=12,
            pp_size=1,
            microbatch_count=1,
            precision="bf16",
            seq_len=2048,
            zero_stage=3,
            activation_recomputation="full",
            overlap_comm=True,
            tokens=tokens,
        )
    )
    return r


@maps(
    "C-deepseek-v3-gpu-hours-per-trillion-tokens",
    "DistributedModel(DeepSeek_V3, 2048 H800 (H100 compute, 200 GB/s NVLink) on InfiniBand_NDR, bf16 with "
    "fp8 GEMMs, pp 16 ep 64, DualPipe): 1e12 / tokens_per_second x GPUs / 3600",
    "fp8 peak for the GEMMs, attention core and LM head at bf16; batch 15360 x 4096 tokens, micro-batch 1 "
    "(m=120); the catalog's 58 MoE layers of 61 and node-limited routing (M = 4); ZeRO-1; schedule='dualpipe' "
    "(all-to-all and pipeline sends behind the paired chunk's compute)",
)
def _c_deepseek() -> float:
    import attrs

    from mlsysim_core.types import Fleet, NetworkFabric, Node

    h800 = attrs.evolve(_hw().H100, name="NVIDIA H800 SXM5 (H100 compute, 400 GB/s NVLink)")
    nvl = NetworkFabric(name="NVLink (H800)", bandwidth="200 GB/s", latency="0.5 us")
    node = Node(name="H800 server", accelerator=h800, accelerators_per_node=8, intra_node=nvl, nics_per_node=8)
    r = (
        _m()
        .DistributedModel()
        .solve(
            model=_lm().DeepSeek_V3,
            fleet=Fleet(name="DeepSeek 2048", node=node, count=256, fabric=_m().Systems.Fabrics.InfiniBand_NDR),
            batch_size=15360,
            tp_size=1,
            pp_size=16,
            ep_size=64,
            microbatch_count=120,
            precision="bf16",
            fp8=True,
            schedule="dualpipe",
            seq_len=4096,
            zero_stage=1,
            activation_recomputation="selective",
            overlap_comm=True,
        )
    )
    return 1e12 / _q(r.tokens_per_second, "1/s") / 3600.0 * r.total_accelerators


# =========================================================================== D: economics


#: Epoch AI training-cost-trends (shared/reference/infrastructure.md section 6): server cost = 1.64 x GPU
#: cost (A100: 1.66); cluster interconnect = 19 % of cluster hardware cost.
_SERVER_OVERHEAD = {"A100": 1.66, "default": 1.64}
_INTERCONNECT_FRACTION = 0.19


def _one_node_economics(node: Any) -> Any:
    """EconomicsModel on one node for 365 days at a typical hyperscale site, host and network priced by
    Epoch AI's shares."""
    from mlsysim_core.types import Fleet

    gpu = node.accelerator.si.unit_cost * node.accelerators_per_node
    overhead = _SERVER_OVERHEAD["A100" if "A100" in node.accelerator.name else "default"]
    host = (overhead - 1.0) * gpu
    network = _INTERCONNECT_FRACTION / (1.0 - _INTERCONNECT_FRACTION) * (gpu + host)
    fleet = Fleet(name="one node", node=node, count=1)
    return (
        _m()
        .EconomicsModel()
        .solve(
            fleet,
            365,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            host_cost=_m().Q_(host, "USD"),
            network_cost=_m().Q_(network, "USD"),
        )
    )


_D_SITE = "EconomicsModel(one node, 365 days, Hyperscale_Typical)"
_D_PARTS = (
    "catalog GPU unit_cost; host = (1.64 or 1.66 - 1) x GPU cost and network = 19 % of hardware (Epoch AI); "
    "u=0.7, PUE 1.1 at the US industrial price; "
)
_D_TERM = f"{rental.DEFAULT_RENTAL_YEARS:g}-year"  # the rental estimate's default term and margin, as mapped
_D_RENT_HOW = f"{_D_SITE}.rental_estimate (what a GPU cloud would charge for a committed {_D_TERM} term)"
_D_RENT_ASSUME = (
    _D_PARTS + f"the purchase written off over the {_D_TERM} term, 5 %/y maintenance, over "
    f"(1 - {rental.DEFAULT_RENTAL_MARGIN * 100:.1f} %), CoreWeave's 2024 operating margin; "
)
#: why a record's price class lies outside the estimate's (a committed term of 3 years or more)
_D_OUT_OF_CLASS = {
    "on_demand": "out of class: an on-demand list price also pays for the hours the provider leaves unsold "
    f"(no filing states that share); predicted at the {_D_TERM} committed rate",
    "block": "out of class: a capacity block is a reservation of days to weeks, priced from spare capacity; "
    f"predicted at the {_D_TERM} committed rate",
}
_DGX_H100_NVL = ("8x H100_NVL in a DGX H100 chassis", lambda: _evolve_node(_m().Systems.Nodes.DGX_H100, _hw().H100_NVL))
_DGX_A100_40 = ("DGX_A100 with A100_40GB", lambda: _evolve_node(_m().Systems.Nodes.DGX_A100, _hw().A100_40GB))
_DGX_A100 = ("DGX_A100", lambda: _m().Systems.Nodes.DGX_A100)
_DGX_H100 = ("DGX_H100", lambda: _m().Systems.Nodes.DGX_H100)


def _d_rent(pid: str, node: tuple[str, Callable[[], Any]], price_class: str) -> None:
    what, node_fn = node
    note = _D_OUT_OF_CLASS.get(price_class, f"in class: {price_class}")
    maps(pid, f"{_D_RENT_HOW}: {what}", _D_RENT_ASSUME + note)(
        lambda: _q(_one_node_economics(node_fn()).rental_estimate, "USD/h")
    )


def _evolve_node(node: Any, hw: Any) -> Any:
    import attrs

    return attrs.evolve(node, accelerator=hw)


_THREE_YEARS = "a 3-year commitment"
_d_rent("D-gcp-a3-h100-3yr", _DGX_H100, _THREE_YEARS)
_d_rent("D-aws-p4d-a100-40gb-3yr", _DGX_A100_40, _THREE_YEARS)
_d_rent("D-aws-p4de-a100-80gb-3yr", _DGX_A100, _THREE_YEARS)
_d_rent("D-azure-nd96amsr-a100-80gb-3yr", _DGX_A100, _THREE_YEARS)
_d_rent("D-azure-h100nvl-3yr", _DGX_H100_NVL, _THREE_YEARS)
_d_rent("D-mosaic-h100-reserved", _DGX_H100, "a reserved cluster (term not stated: the default 3 years)")
_d_rent("D-azure-h100nvl-ondemand", _DGX_H100_NVL, "on_demand")
_d_rent("D-aws-p4d-a100-40gb-ondemand", _DGX_A100_40, "on_demand")
_d_rent("D-aws-p4de-a100-80gb-ondemand", _DGX_A100, "on_demand")
_d_rent("D-azure-nd96amsr-a100-80gb-ondemand", _DGX_A100, "on_demand")
_d_rent("D-aws-capacity-block-p5e-h200", ("DGX_H200", lambda: _m().Systems.Nodes.DGX_H200), "block")


@maps(
    "D-deepseek-v3-h800-rental-assumption",
    f"{_D_SITE}.cost_per_gpu_hour (owned TCO per GPU-hour): DGX_H100 as proxy for H800 (same die, cut NVLink)",
    _D_PARTS + "5-year life, 5 %/y maintenance; DeepSeek owns its cluster and prices its own GPU-hours at an "
    "assumed 2 USD to state its training cost: an owner's costing, which the owned TCO predicts",
)
def _deepseek_gpu_hour() -> float:
    return _q(_one_node_economics(_m().Systems.Nodes.DGX_H100).cost_per_gpu_hour, "USD/h")


# =========================================================================== E: energy, carbon, water


def _grid(name: str, g_per_kwh: float) -> Any:
    from mlsysim_core.types import GridProfile

    return GridProfile(name=name, carbon_intensity=f"{g_per_kwh} g/kWh", source="the measurement's own conditions")


def _chip_node(hw_key_or_obj: Any, name: str, tdp_w: float, per_node: int = 1) -> Any:
    """A node of ``per_node`` accelerators whose rated power is their TDP (host not modelled)."""
    import attrs

    from mlsysim_core.types import Node

    hw = attrs.evolve(hw_key_or_obj, name=name, tdp=f"{tdp_w} W")
    return Node(
        name=f"{per_node}x {name} (accelerators only)",
        accelerator=hw,
        accelerators_per_node=per_node,
        power_max=f"{tdp_w * per_node} W",
        source="validation mapping: accelerator TDP only",
    )


def _gpt3_run() -> Any:
    from mlsysim_core.types import Fleet

    return (
        _m()
        .SustainabilityModel()
        .solve(
            Fleet(name="GPT-3", node=_m().Systems.Nodes.DGX1_V100, count=1250),
            14.8,
            grid=_grid("US avg (Patterson)", 429),
            pue=1.1,
            embodied=False,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
        )
    )


_GPT3_ASSUME = (
    "10,000 V100 as 1,250 catalog DGX1_V100 nodes (3.5 kW max, datasheet; the cluster's node type is not "
    "stated), default utilization 0.7 between idle (30 %) and max; PUE 1.1 and 429 g/kWh from the paper; 14.8 days"
)


@maps("E-patterson-gpt3-175b-energy", "SustainabilityModel(1,250 DGX-1, 14.8 d, PUE 1.1).facility_energy", _GPT3_ASSUME)
def _e_gpt3_energy() -> float:
    return _q(_gpt3_run().facility_energy, "MWh")


@maps("E-patterson-gpt3-175b-tco2e", "SustainabilityModel(same run).operational_carbon", _GPT3_ASSUME)
def _e_gpt3_co2() -> float:
    return _q(_gpt3_run().operational_carbon, "t")


def _tpu_run(hw: Any, tdp_w: float, chips: int, days: float, grid: Any, pue: float) -> Any:
    """A Patterson et al. (2021) TPU run: ``chips`` one-chip nodes of catalog part ``hw`` rated at the
    chip TDP the paper uses (host power not modelled), default utilization, the paper's PUE and grid."""
    from mlsysim_core.types import Fleet

    label = hw.name
    node = _chip_node(hw, f"{label} (TDP {tdp_w:g} W per Patterson et al.)", tdp_w)
    return (
        _m()
        .SustainabilityModel()
        .solve(
            Fleet(name=label, node=node, count=chips),
            days,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            grid=grid,
            pue=pue,
            embodied=False,
        )
    )


@maps(
    "E-patterson-evolved-transformer-nas-tco2e",
    "SustainabilityModel(200 TPU v2 chips, 6.8 d, PUE 1.1, 431 g/kWh).operational_carbon",
    "catalog TPUv2 as one-chip nodes rated at the 280 W chip TDP (host power not modelled), default "
    "utilization 0.7; PUE, grid and duration from the paper",
)
def _e_et() -> float:
    return _q(_tpu_run(_hw().TPUv2, 280.0, 200, 6.8, _grid("Google 2018", 431), 1.1).operational_carbon, "t")


@maps(
    "E-patterson-gshard-600b-energy",
    "SustainabilityModel(1024 TPU v3 chips, 3.1 d, PUE 1.09).facility_energy",
    "catalog TPUv3 as one-chip nodes rated at the 450 W chip TDP (host power not modelled), default "
    "utilization 0.7; PUE and duration from the paper",
)
def _e_gshard() -> float:
    return _q(_tpu_run(_hw().TPUv3, 450.0, 1024, 3.1, _grid("North Carolina", 201), 1.09).facility_energy, "MWh")


def _bloom_run() -> Any:
    days = 118 + (5 + 41 / 60) / 24
    fleet = _m().Fleet(name="BLOOM", node=_m().Systems.Nodes.DGX_A100, count=384 // 8)
    return (
        _m()
        .SustainabilityModel()
        .solve(
            fleet,
            days,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            grid=_grid("France (Luccioni)", 57),
            pue=1.2,
        )
    )


@maps(
    "E-bloom-lifecycle-tco2e",
    "SustainabilityModel(48 DGX_A100, 118.2 d, PUE 1.2, 57 g/kWh).carbon_footprint (operational + amortized embodied)",
    "DGX_A100 (6.5 kW) as proxy for the HPE Apollo 6500; default utilization 0.7; embodied = catalog per-GPU "
    "figure amortized over the catalog service life (host embodied carbon not modelled)",
)
def _e_bloom_life() -> float:
    return _q(_bloom_run().carbon_footprint, "t")


@maps(
    "E-bloom-dynamic-energy",
    "SustainabilityModel(48 DGX_A100, utilization 1, boundary='accelerator').accelerator_energy",
    "the source's own convention: 1,082,990 GPU-hours x 400 W TDP (power not metered; no host, no PUE)",
    kind="accounting",
)
def _e_bloom_dynamic() -> float:
    from mlsysim_core.types import Fleet

    fleet = Fleet(name="BLOOM GPUs", node=_m().Systems.Nodes.DGX_A100, count=48)
    hours = 1_082_990 / 384
    r = (
        _m()
        .SustainabilityModel()
        .solve(
            fleet,
            hours / 24,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            grid=_grid("France", 57),
            utilization=1.0,
            embodied=False,
            boundary="accelerator",
        )
    )
    return _q(r.accelerator_energy, "MWh")


@maps(
    "E-bloom-inference-energy-per-request",
    "SustainabilityModel(16 A100 40GB, 18 d, utilization 0.1, boundary='accelerator').energy / 230,768 requests",
    "CodeCarbon measured GPU + CPU + RAM, no PUE: accelerator boundary (CPU/RAM not modelled); utilization 0.1 "
    "because the deployment was idle most of the time (~75 % of the energy kept the model loaded, per the paper)",
)
def _e_bloom_inference() -> float:
    import attrs

    from mlsysim_core.types import Fleet

    node = attrs.evolve(_m().Systems.Nodes.DGX_A100, accelerator=_hw().A100_40GB)
    r = (
        _m()
        .SustainabilityModel()
        .solve(
            Fleet(name="BLOOM API", node=node, count=2),
            18,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            grid=_grid("GCP us-central1", 394),
            utilization=0.1,
            embodied=False,
            boundary="accelerator",
        )
    )
    return _q(r.energy, "Wh") / 230768


def _card_run(gpu_hours: float, node: Any, grid: Any = None) -> Any:
    """A Llama model card's accounting: GPU-hours x TDP ('peak power capacity per GPU device ...
    adjusted for power usage efficiency'): the accelerator boundary at utilization 1, no PUE on top."""
    from mlsysim_core.types import Fleet

    n = node.accelerators_per_node
    fleet = Fleet(name="card", node=node, count=1)
    hours = gpu_hours / n
    return (
        _m()
        .SustainabilityModel()
        .solve(
            fleet,
            hours / 24,
            datacenter=_m().Infra.Datacenters.Hyperscale_Typical,
            grid=grid or _m().Infra.Grids.US_Avg,
            utilization=1.0,
            embodied=False,
            boundary="accelerator",
        )
    )


@maps(
    "E-llama3-405b-implied-energy",
    "SustainabilityModel(DGX_H100, 30.84M GPU-hours, utilization 1, boundary='accelerator').energy",
    "the card's own convention: GPU-hours x 700 W TDP, PUE included in the 700 W",
    kind="accounting",
)
def _e_llama3_energy() -> float:
    return _q(_card_run(30.84e6, _m().Systems.Nodes.DGX_H100).energy, "MWh")


def _card_carbon(pid: str, gpu_hours: float, node_fn: Callable[[], Any], what: str) -> None:
    maps(
        pid,
        f"SustainabilityModel({what}, {gpu_hours:.4g} GPU-hours, boundary='accelerator', US_Avg grid)"
        ".operational_carbon",
        "the card's energy convention (GPU-hours x TDP, PUE inside); location-based carbon = the catalog's "
        "US average grid intensity (the card does not state the regional factors; Meta trains in US data centres)",
    )(lambda: _q(_card_run(gpu_hours, node_fn()).operational_carbon, "t"))


_card_carbon("E-llama31-405B-tco2e", 30.84e6, lambda: _m().Systems.Nodes.DGX_H100, "H100 700 W")
_card_carbon("E-llama3-70B-tco2e", 6.4e6, lambda: _m().Systems.Nodes.DGX_H100, "H100 700 W")
_card_carbon("E-llama4-Scout-17Bx16E-tco2e", 5.0e6, lambda: _m().Systems.Nodes.DGX_H100, "H100 700 W")
_card_carbon("E-llama4-Maverick-17Bx128E-tco2e", 2.38e6, lambda: _m().Systems.Nodes.DGX_H100, "H100 700 W")
_card_carbon("E-llama2-70B-tco2e", 1_720_320, lambda: _m().Systems.Nodes.DGX_A100, "A100 400 W")


@maps(
    "E-patterson-gpt3-grid-intensity",
    "catalog Infra.Grids.US_Avg.carbon_intensity",
    "an input datum: the catalog's US average (a later year than the paper's 2020 factor)",
    kind="input",
)
def _e_us_grid() -> float:
    return _q(_m().Infra.Grids.US_Avg.carbon_intensity, "g/kWh")


@maps(
    "E-uptime-average-pue-2021",
    "catalog Infra.Datacenters.Industry_Average_2024.pue",
    "an input datum: the catalog's industry-average PUE (Uptime survey, a later year)",
    kind="input",
)
def _e_uptime_pue() -> float:
    return float(_m().Infra.Datacenters.Industry_Average_2024.pue)


# =========================================================================== F: reliability


def _rel(fleet: Any, hours: float = 24.0, **kw: Any) -> Any:
    return _m().ReliabilityModel().solve(fleet, hours, **kw)


@maps(
    "F-llama3-cause-network-switch-cable",
    "ReliabilityModel(Llama3_16K_Measured, 1,296 h).failures_by_cause['switch_cable']",
    "an input datum: the catalog's switch/cable rate of Grand_Teton_H100 is this row of the same table",
    kind="input",
)
def _f_llama3_switch_cable() -> float:
    return _rel(_m().Systems.Clusters.Llama3_16K_Measured, 54 * 24.0).failures_by_cause["switch_cable"]


@maps(
    "F-llama3-interruptions-per-day",
    "ReliabilityModel(Llama3_16K = 2,048 DGX_H100 on RoCE).failures_per_day",
    "catalog component failure rates of DGX_H100; the measurement counts all interruptions (incl. 47 planned "
    "and software causes), the model counts hardware failures",
)
def _f_llama3_rate() -> float:
    return _q(_rel(_m().Systems.Clusters.Llama3_16K, 54 * 24).failures_per_day, "1/day")


@maps(
    "F-kokolis-mttf-8gpu",
    "ReliabilityModel(one DGX_A100).fleet_mtbf",
    "catalog DGX_A100 components (hardware only; the measured job MTTF includes software/infrastructure causes)",
)
def _f_kokolis_8() -> float:
    return _q(_rel(_m().Fleet(name="8-GPU job", node=_m().Systems.Nodes.DGX_A100, count=1)).fleet_mtbf, "h")


@maps(
    "F-kokolis-projected-mttf-131072",
    "ReliabilityModel(16,384 DGX_A100).fleet_mtbf",
    "catalog DGX_A100 components; the measured value is itself a projection from RSC-1 failure rates",
)
def _f_kokolis_131k() -> float:
    return _q(_rel(_m().Fleet(name="131k A100", node=_m().Systems.Nodes.DGX_A100, count=16384)).fleet_mtbf, "h")


@maps(
    "F-opt175b-total-hw-restarts-per-day",
    "ReliabilityModel(124 DGX_A100).failures_per_day",
    "992 A100 80GB as 124 DGX_A100-class nodes with catalog components (the source's count is a lower bound)",
)
def _f_opt() -> float:
    return _q(_rel(_m().Fleet(name="OPT-175B", node=_m().Systems.Nodes.DGX_A100, count=124)).failures_per_day, "1/day")


#: Restart cost R (s) of a large training job after a failure: 11 min, the median interval between automatic
#: retries of failed multi-node jobs on a 504-GPU B200 production cluster (interquartile range 10-11 min:
#: RESTART_RANGE_S), the only published restart time of a large GPU training cluster found (arXiv 2605.09370;
#: shared/reference/infrastructure.md, b200_504). Llama 3's own (sec. 3.3.4) is not published.
RESTART_S = 660.0
RESTART_RANGE_S = (600.0, 660.0)


@maps(
    "F-llama3-effective-training-time",
    "ReliabilityModel(Llama3_16K, 54 days, Daly interval).goodput",
    "checkpoint cost the 60 s default (CHECKPOINT_S, ranged 6.3-148.8 s: one job's measured stall saving "
    "asynchronously and synchronously) and restart 11 min (RESTART_S: the median interval between automatic "
    "retries of failed multi-node jobs on a 504-GPU B200 cluster, interquartile range 10-11 min, arXiv "
    "2605.09370; Llama 3's own is not published); the fleet MTBF from the catalog components; the measurement "
    "is a lower bound ('higher than 90 %')",
)
def _f_llama3_ettr() -> float:
    return _rel(_m().Systems.Clusters.Llama3_16K, 54 * 24, restart_time_s=RESTART_S).goodput


SKIPPED: dict[str, str] = {
    "E-llama2-7B-gpu-hours": "GPU-hours of a whole pre-training run (cluster size, parallel layout, downtime and "
    "restarts not stated): no step configuration to solve",
    "E-llama3-8B-gpu-hours": "GPU-hours of a whole pre-training run (cluster size, parallel layout, downtime and "
    "restarts not stated; implied 16 % MFU): no step configuration to solve",
    "E-llama31-8B-gpu-hours": "GPU-hours of a whole pre-training run (layout, downtime, stages not stated)",
    "E-llama31-70B-gpu-hours": "GPU-hours of a whole pre-training run (layout, downtime, stages not stated)",
    "E-opt175b-tco2e": "duration, grid and the energy accounting behind the 75 t estimate are not stated",
    "W-ma26-h200-decode-power": "a span over four attention kinds and their batch sweeps (the abstract names no model "
    "or batch per draw): checked as a span (tests/test_ranges.py: the band of Llama-3-8B decode on an H200 reaches it)",
    "E-li-ai-water-withdrawal-2027": "a projection of global AI demand in 2027 (a range), not a measurement of a "
    "system",
    "F-llama3-cause-software-bug": "the catalog's 'software' cause of Grand_Teton_H100 pools this row (54) with NCCL "
    "watchdog timeouts (7) and dependency (2) of the same table: not separable",
    "F-llama3-cause-gpu-system-processor": "the catalog's 'sram_processor' cause of Grand_Teton_H100 pools this row "
    "(17) "
    "with GPU SRAM (19) of the same table: not separable",
    "F-kokolis-ettr-16k-5min-ckpt": "a hypothetical ETTR whose checkpoint write and restart costs are not stated",
    "F-opt175b-manual-restarts": "the manual/automatic split of restarts is an operations choice, not modelled",
    "F-kokolis-cluster-utilization-rsc1": "scheduler utilization of a research cluster is not modelled",
}


# =========================================================================== serving from other engines

from . import device_points, power_points, serving_points, train_points  # noqa: E402, F401  (register groups G; W; L, M beyond NIM's; S; T)
