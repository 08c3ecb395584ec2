"""Mappings of the serving measurements from engines other than NIM (groups L, M; ``points`` holds NIM's),
of speculative decoding (group S) and of disaggregated serving's pools (group P).

Registered with :func:`.points.maps` when ``points`` is imported; each calls ``ServingModel`` with its
shipped defaults under the traffic the source ran (a closed loop of ``concurrency`` clients, or an open loop
of Poisson arrivals at ``arrival_rate``) and returns the statistic the source reports (mean or median).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsysim_serving.host_time import VLLM_0_5_STEP_S

from mlsysim_core.errors import InvalidInputError

from .points import _closed_loop, _hw, _lm, _m, _q, _under_load, maps

#: GPUStack performance lab, Qwen3-8B on one H100 SXM, ShareGPT (100 prompts, mean 232.6 in / 220.6 out):
#: (engine, keywords, concurrencies); each engine launched with its defaults, whose scheduler overlaps the next
#: step's scheduling with the running step in SGLang v0.5.3 (``disable_overlap_schedule`` False by default) and
#: in TensorRT-LLM v1.2's PyTorch backend behind trtllm-serve (``disable_overlap_scheduler`` False by default),
#: not in vLLM v0.11.0 (``async_scheduling`` False by default)
_GPUSTACK_QWEN3_8B: tuple[tuple[str, dict[str, Any], tuple[int, ...]], ...] = (
    ("vllm", {"precision": "bf16"}, (1, 2, 4, 8)),
    ("sglang", {"precision": "bf16", "scheduler_overlap": True}, (4,)),
    ("trtllm", {"precision": "bf16", "scheduler_overlap": True}, (4,)),
    ("sglang-fp8", {"precision": "fp8", "kv_precision": "bf16", "scheduler_overlap": True}, (4,)),
)
#: Tokens Qwen3's chat template (Qwen/Qwen3-8B tokenizer_config.json) puts around one user message, thinking on:
#: ``<|im_start|>user\n`` before it (3) and ``<|im_end|>\n<|im_start|>assistant\n`` after it (5). The server
#: prefills them; ``vllm bench serve`` v0.11.0 counts the raw prompt (``ShareGPTDataset.sample``:
#: ``len(tokenizer(prompt).input_ids)``, summed as "Total input tokens"), so the engines saw 232.6 + 8 tokens a prompt.
QWEN3_CHAT_TEMPLATE_TOKENS = 8
_GPUSTACK_PROMPT = 233 + QWEN3_CHAT_TEMPLATE_TOKENS
for _engine, _kw, _cs in _GPUSTACK_QWEN3_8B:
    for _c in _cs:
        for _group, _q_name, _field in (("L", "ttft", "ttft_mean"), ("M", "tpot", "itl_mean")):
            maps(
                f"{_group}-gpustack-qwen3-8b-h100-{_engine}-sharegpt-c{_c}-{_q_name}",
                f"ServingModel(Qwen3_8B, H100, {', '.join(f'{k} {v}' for k, v in _kw.items())}, tp 1, "
                f"seq_len {_GPUSTACK_PROMPT}, output_len 221, concurrency {_c}).{_field} (analytic)",
                "fixed lengths at the ShareGPT sample's means (the source's totals / 100), the prompt's with the "
                f"{QWEN3_CHAT_TEMPLATE_TOKENS} tokens of Qwen3's chat template, which the client does not count; "
                "closed loop of `concurrency` clients (vllm bench --max-concurrency); the engine's scheduler as "
                "ServingModel's defaults (chunked prefill, 8192-token budget, 256 sequences), with the overlap "
                "scheduler where the engine's version runs it by default; the client-side TTFT also holds time the "
                "model does not describe, which stalls the other clients' token streams too (P99 ITL less mean TPOT "
                "in the same runs, ordered as the TTFT gaps: docs/accuracy.md, Session 12), so serial work on the "
                "server's shared path rather than client or network time",
            )(_closed_loop("Qwen3_8B", "H100", _GPUSTACK_PROMPT, 221, _c, _field, _engine.removesuffix("-fp8"), **_kw))


#: ShareGPT as the vLLM/SGLang serving benchmarks sample it (first turn, prompts of 4-1,024 tokens, prompt + answer
#: <= 2,048): mean 202 tokens in, 179 out with Llama-3's tokenizer (vLLM blog 2024-09-05, "Dataset"); the lengths'
#: coefficient of variation 1.13 (the 1,000 prompts of Phala-Network/h100-llm-benchmark
#: results/base_24cores/serving_llama70B_tp1_sharegpt_qps_1.json, commit 0b8aa263: mean 215.2, std 242.3 tokens)
SHAREGPT_LLAMA3_LENGTHS, SHAREGPT_LENGTH_CV = (202, 179), 1.13
#: ``sglang.bench_serving``'s ShareGPT sample (``sample_sharegpt_requests``, seed 1, Llama 3's tokenizer): prompts ->
#: (prompt, output) token totals, as DataCrunch's saved results report them (datacrunch-research/h200-benchmarks
#: c091ef53, ``sglang/outputs/*_online_output.jsonl``: the same totals for Llama-3.3-70B and Llama-3.1-405B).
#: SGLang v0.3.0's sampler is the same code but for the dataset's download path (the wheels of 0.3.0 and 0.4.0.post1),
#: so its benchmark_vllm_060 runs (1,200 prompts at 4 requests/s, 2,400 at 8) drew these prompts too.
SGLANG_SHAREGPT_TOTALS = {1200: (269081, 226901), 2400: (540779, 461874)}


def sglang_sharegpt_lengths(prompts: int) -> tuple[int, int]:
    """Mean prompt and output tokens of ``sglang.bench_serving``'s ShareGPT sample of ``prompts`` requests."""
    total_in, total_out = SGLANG_SHAREGPT_TOTALS[prompts]
    return round(total_in / prompts), round(total_out / prompts)


_SHAREGPT_ASSUMED = (
    "ShareGPT lengths as a lognormal of the client's own sample means (sglang.bench_serving, seed 1: "
    "SGLANG_SHAREGPT_TOTALS) and CV 1.13 for both (a 1,000-prompt sample of the vLLM sampler); open loop of "
    "Poisson arrivals at the stated rate; bf16 (the checkpoint's dtype, the engine's default); the client-side "
    "TTFT also holds HTTP, tokenization and streaming, which the model does not"
)


def _benchmark_vllm_060(tag: str, engine: str, model: str, hw: str, tp: int, rate: int, note: str, **kw: Any) -> None:
    """Map one row of SGLang's benchmark/benchmark_vllm_060 (ShareGPT at ``rate`` requests/s, bf16 at tensor
    parallel ``tp``): its median TTFT (L, ``ttft_p50``) and median TPOT (M, ``itl_p50``, the per-request mean
    token gap), ``kw`` the engine's settings as ServingModel arguments, ``note`` their sources."""
    name = f"{model.lower().replace('_', '')}-{tp}x{hw.lower()}"
    settings = ", ".join(f"{k} {v}" for k, v in kw.items())
    isl, osl = sglang_sharegpt_lengths(300 * rate)  # the README's --num-prompts: 1,200 at 4/s, 2,400 at 8/s
    for group, q_name, field in (("L", "ttft-p50", "ttft_p50"), ("M", "tpot-p50", "itl_p50")):
        maps(
            f"{group}-{tag}-{name}-sharegpt-rps{rate}-{q_name}",
            f"ServingModel({model}, {hw}, bf16, tp {tp}, seq_len {isl}, output_len {osl}, length_cv "
            f"{SHAREGPT_LENGTH_CV}, arrival_rate {rate}/s, {settings}).{field} (analytic)",
            _SHAREGPT_ASSUMED + note,
        )(
            _under_load(
                model,
                hw,
                isl,
                osl,
                field,
                engine,
                arrival_rate=rate,
                length_cv=SHAREGPT_LENGTH_CV,
                precision="bf16",
                tp_size=tp,
                **kw,
            )
        )


#: SGLang benchmark/benchmark_vllm_060 (SGLang v0.3.0 against vLLM v0.6.0, Sept 2024): SGLang's online rows,
#: (model, hardware, tp, KV memory fraction, request rates). SGLang v0.3.0's scheduler: chunked prefill of 8,192
#: tokens (``chunked_prefill_size``), prefill batches as steps of their own (``enable_mixed_chunk`` False), no
#: overlap scheduler (``ModelTpServer.forward_step`` is synchronous), radix cache off (``--disable-radix-cache``),
#: ``mem_fraction_static`` 0.88 at TP1 and 0.85 at TP4 (the README's note).
_SGLANG_030 = (("Llama3_1_8B", "A100", 1, 0.88, (4, 8)), ("Llama3_1_70B", "H100", 4, 0.85, (4, 8)))
for _model, _hw_name, _tp, _frac, _rates in _SGLANG_030:
    for _rate in _rates:
        _benchmark_vllm_060(
            "sglang030",
            "sglang",
            _model,
            _hw_name,
            _tp,
            _rate,
            "; SGLang v0.3.0's defaults: chunked prefill at 8,192 tokens (ServingModel's budget), no overlap "
            "scheduler; its prefill batches run as steps of their own (enable_mixed_chunk off; "
            "ModelTpServer.forward_step: ServingModel's prefill_steps separate); max_running_requests (half the KV "
            "tokens) never binds at these rates (256 sequences, "
            "ServingModel's default, neither); torch.compile (8B) not modelled; H100 = SXM (not stated)",
            memory_fraction=_frac,
            prefill_steps="separate",
        )

#: The same benchmark's vLLM v0.6.0 rows: (model, hardware, tp, request rates), served with
#: ``--num-scheduler-steps 10 --max_model_len 4096`` and otherwise vLLM v0.6.0's defaults (commit 32e7db2):
#: chunked prefill off (on only above 32K tokens of context, and refused with multi-step:
#: ``EngineArgs.create_engine_config``), so max(max_model_len, 2048) = 4,096 tokens a step
#: (``SchedulerConfig``), 256 sequences, 0.9 of memory; multi-step scheduling of 10 (:mod:`mlsysim_serving.multi_step`).
_VLLM_060 = (("Llama3_1_8B", "A100", 1, (4, 8)), ("Llama3_1_70B", "H100", 4, (4, 8)))
for _model, _hw_name, _tp, _rates in _VLLM_060:
    for _rate in _rates:
        _benchmark_vllm_060(
            "vllm060",
            "vllm",
            _model,
            _hw_name,
            _tp,
            _rate,
            "; vLLM v0.6.0 with --num-scheduler-steps 10: new requests wait for the block of 10 decode steps in "
            "progress, a prefill is a block of one step (ServingModel's scheduler_steps); chunked prefill off, so "
            "4,096-token steps (max_model_len 4096); its prefill steps hold no decodes (_schedule_default: "
            "ServingModel's prefill_steps separate); async output processing on (CUDA graphs), the first token sent "
            "as its prefill step ends; H100 = SXM (not stated)",
            max_num_batched_tokens=4096,
            scheduler_steps=10,
            prefill_steps="separate",
        )

#: Phala Network's TEE study on one H200 NVL (Zhu et al., arXiv 2409.03992; Phala-Network/h100-llm-benchmark
#: results/base_24cores, TEE off): vLLM v0.5.4's serving benchmark, ShareGPT (1,000 prompts, mean 215.2 tokens in),
#: Poisson arrivals; (model, its vLLM 0.5.4 step budget, where it prefills, request rates). vLLM 0.5.4's
#: defaults: chunked prefill on at 512 tokens for contexts above 32K (Llama-3.1-8B, 131,072), off for Gemma-2
#: (capped at its 4,096-token sliding window: whole prompts in steps of their own that decode nothing,
#: ``Scheduler._schedule_default``, max(4096, 2048) tokens); 256 sequences; synchronous
#: scheduler, its host time per step vLLM v0.5.x's (``host_time.VLLM_0_5_STEP_S``). QPS 16 and inf are left out
#: (saturated), as are Phi-3-medium (not in the catalog) and the bitsandbytes 4-bit Llama-3.1-70B (its
#: dequantizing kernels are not modelled): the records' notes.
_PHALA_VLLM054 = (("Llama3_1_8B", 512, "mixed", (1, 4)), ("Gemma2_27B", 4096, "separate", (1, 4)))
for _model, _budget, _prefill_steps, _rates in _PHALA_VLLM054:
    for _rate in _rates:
        for _group, _q_name, _field in (("L", "ttft", "ttft_mean"), ("M", "itl", "itl_mean")):
            maps(
                f"{_group}-phala-vllm054-{_model.lower().replace('_', '')}-h200nvl-sharegpt-qps{_rate}-{_q_name}",
                f"ServingModel({_model}, H200_NVL, bf16, tp 1, seq_len 215, output_len "
                f"{SHAREGPT_LLAMA3_LENGTHS[1]}, length_cv {SHAREGPT_LENGTH_CV}, arrival_rate {_rate}/s, "
                f"max_num_batched_tokens {_budget}, prefill_steps {_prefill_steps}).{_field} (analytic)",
                "ShareGPT lengths as a lognormal of mean 215 prompt tokens (this sample's, Llama-3.1 tokenizer; "
                "Gemma's not published) and 179 output tokens (the vLLM blog's mean answer length: the run's "
                f"dummy weights rarely emit EOS, so answers run to the dataset's length), CV {SHAREGPT_LENGTH_CV}; "
                "open loop of Poisson arrivals at the stated rate; bf16; vLLM v0.5.4's scheduler defaults "
                f"({_budget}-token steps, 256 sequences, 0.9 of memory; prefill_steps {_prefill_steps}: without "
                "chunked prefill a step that prefills decodes nothing, Scheduler._schedule_default); the server "
                "process pinned to one host core (taskset) and vLLM 0.5's API server in the engine's process: host "
                "time per step 4 ms, vLLM v0.5.x's GPU bubble per step (mlsysim_serving.host_time, vLLM issue "
                "#6854), not this host's own",
            )(
                _under_load(
                    _model,
                    "H200_NVL",
                    215,
                    SHAREGPT_LLAMA3_LENGTHS[1],
                    _field,
                    "vllm",
                    arrival_rate=_rate,
                    length_cv=SHAREGPT_LENGTH_CV,
                    precision="bf16",
                    max_num_batched_tokens=_budget,
                    prefill_steps=_prefill_steps,
                    engine_overhead=VLLM_0_5_STEP_S,
                )
            )

#: ``sglang.bench_serving``'s random dataset with ``--random-range-ratio 0.0`` (its default): prompt lengths uniform
#: on 1..L and output lengths on 0..L, coefficient of variation sqrt((L^2 - 1) / 12) / ((L + 1) / 2) = 0.577 at
#: L = 1,024 (sglang v0.4.0.post1 ``sample_random_requests``; numpy seed 1 reproduces the runs' token totals exactly)
RANDOM_UNIFORM_CV = round(((1024**2 - 1) / 12) ** 0.5 / 512.5, 3)
#: DataCrunch research's SGLang runs on H200 (datacrunch-research/h200-benchmarks commit c091ef53, the client's
#: saved results): (tag, model, tp, memory fraction, [(dataset, rate, prompt and output totals, prompts)]).
#: SGLang's defaults of v0.3.6-v0.4.0.post1 (the version is not stated; the image of the commits' dates): overlap
#: scheduler on (``disable_overlap_schedule`` False; v0.3.5.post2 had ``enable_overlap_schedule`` False), prefill
#: batches as steps of their own (``enable_mixed_chunk`` False, ``Scheduler.get_next_batch_to_run``: "Run prefill
#: first if possible"), 8,192-token chunked prefill, ``mem_fraction_static`` 0.85 at TP4 and 0.81 at TP8
#: (v0.4.0.post1's ``ServerArgs``); radix cache off (``--disable-radix-cache``); torch.compile not modelled.
_DATACRUNCH_SGLANG = (
    (
        "llama3370b",
        "Llama3_3_70B",
        4,
        0.85,
        (
            ("random", 1, 152612, 160347, 300),
            ("random", 2, 308748, 308712, 600),
            ("random", 4, 615860, 607936, 1200),
            ("sharegpt", 4, 269081, 226901, 1200),
            ("sharegpt", 8, 540779, 461874, 2400),
        ),
    ),
    (
        "llama31405b",
        "Llama3_1_405B",
        8,
        0.81,
        (("random", 1, 152612, 160347, 300), ("random", 2, 308748, 308712, 600), ("sharegpt", 4, 269081, 226901, 1200)),
    ),
)
for _tag, _model, _tp, _frac, _runs in _DATACRUNCH_SGLANG:
    for _ds, _rate, _in, _out, _n in _runs:
        _isl, _osl = round(_in / _n), round(_out / _n)
        _cv = RANDOM_UNIFORM_CV if _ds == "random" else SHAREGPT_LENGTH_CV
        maps(
            f"L-datacrunch-sglang-{_tag}-{_tp}xh200-{'random1024' if _ds == 'random' else _ds}-rps{_rate}-ttft-p50",
            f"ServingModel({_model}, H200, bf16, tp {_tp}, seq_len {_isl}, output_len {_osl}, length_cv {_cv}, "
            f"arrival_rate {_rate}/s, memory_fraction {_frac}, scheduler_overlap, prefill_steps separate).ttft_p50 "
            "(analytic)",
            f"the run's own mean lengths (its token totals / {_n} prompts); their spread as a lognormal of CV {_cv} "
            + (
                "(the sampler's uniform lengths on 1-1,024)"
                if _ds == "random"
                else "(ShareGPT, the Phala sample's: SHAREGPT_LENGTH_CV)"
            )
            + "; open loop of Poisson arrivals at the stated rate; bf16 (the launch script's comment); SGLang's "
            "defaults of v0.3.6-v0.4.0.post1 (version not stated): overlap scheduler, prefill batches as steps of "
            "their own, 8,192-token chunked prefill, its memory fraction at this TP; torch.compile not modelled; "
            "H200 = SXM (not stated); the client-side TTFT also holds HTTP, tokenization and streaming",
        )(
            _under_load(
                _model,
                "H200",
                _isl,
                _osl,
                "ttft_p50",
                "sglang",
                arrival_rate=_rate,
                length_cv=_cv,
                precision="bf16",
                tp_size=_tp,
                memory_fraction=_frac,
                scheduler_overlap=True,
                prefill_steps="separate",
            )
        )

# =========================================================================== S: speculative decoding


def alpha_from_acceptance_length(tau: float, k: int) -> float:
    """Per-token acceptance alpha at which a chain of k drafts yields tau tokens per verify step: the root of
    (1 - alpha^(k+1)) / (1 - alpha) = 1 + alpha + ... + alpha^k = tau (Leviathan et al. ICML 2023, Eq. 1),
    increasing in alpha, found by bisection; tau in (1, k + 1) (an acceptance length counts the bonus token)."""
    if not 1.0 < tau < k + 1:
        raise InvalidInputError("tau", tau, f"an acceptance length in (1, {k + 1}) for k = {k} drafts")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(mid**i for i in range(k + 1)) < tau else (lo, mid)
    return (lo + hi) / 2


def eagle_draft_share(model: Any, fc_inputs: int, draft_vocab: int | None = None) -> float:
    """Cost of one EAGLE draft step as a share of a target decode step, by weight bytes read at batch 1:
    (P_layer + f h^2 + V_d h) / P with P_layer = (P - 2 V h) / L, one decoder layer of the target's shape
    (untied embeddings), f h^2 the fusion FC of f features (EAGLE: token embedding + feature, f = 2, Li et al.
    ICML 2024; EAGLE-3: three layers' features, f = 3, Li et al. 2025) and V_d h the head it samples from
    (EAGLE/EAGLE-2: the target's, V_d = V; EAGLE-3: its own draft vocabulary, 32,000 rows)."""
    p, h, v, layers = (float(model.parameters), float(model.hidden_dim), float(model.vocab_size), float(model.layers))
    per_layer = (p - 2.0 * v * h) / layers
    return (per_layer + fc_inputs * h * h + (v if draft_vocab is None else draft_vocab) * h) / p


#: EAGLE heads: (fusion FC inputs, draft vocabulary rows; None = the target's)
_EAGLE_HEADS: dict[str, tuple[int, int | None]] = {"eagle1": (2, None), "eagle2": (2, None), "eagle3": (3, 32000)}


def _speculative(head: str, k: int, tau: float, field: str, unit: str) -> Callable[[], float]:
    def fn() -> float:
        model = _lm().Llama3_8B
        fc, vocab = _EAGLE_HEADS[head]
        r = (
            _m()
            .ServingModel()
            .solve(
                model,
                _hw().H100,
                256,
                1,
                precision="bf16",
                spec_draft_cost=eagle_draft_share(model, fc, vocab),
                spec_k=k,
                spec_accept=alpha_from_acceptance_length(tau, k),
            )
        )
        value = getattr(r, field)
        return _q(value, unit)

    return fn


_SPEC_ASSUMED = (
    "alpha from the measured acceptance length tau at k drafts, (1 - alpha^(k+1)) / (1 - alpha) = tau; "
    "the EAGLE head's cost per drafted token = its weight bytes / the target's (eagle_draft_share); "
    "context 256 tokens (MT-Bench prompts are short; at batch 1 the KV read is < 1 % of the weights)"
)
#: vLLM issue #20780, Llama-3.1-8B on H100 at batch 1, chain drafting: {head: (acceptance length per K = 2..7)}
_VLLM_EAGLE_AL = {"eagle1": (2.1, 2.29, 2.39, 2.43, 2.45, 2.47), "eagle3": (2.36, 2.79, 3.08, 3.32, 3.46, 3.54)}
for _head, _als in _VLLM_EAGLE_AL.items():
    for _k, _tau in zip(range(2, 8), _als):
        maps(
            f"S-vllm-llama31-8b-{_head}-k{_k}-bs1-tpot",
            f"ServingModel(Llama3_8B, H100, bf16, batch 1, spec_k {_k}, spec_accept from tau {_tau}, "
            f"spec_draft_cost {_head} head).spec_itl",
            _SPEC_ASSUMED,
        )(_speculative(_head, _k, _tau, "spec_itl", "ms"))
#: SGLang PR #4247, Llama-3.1-8B on H100, one MT-Bench question at a time: (head, draft steps, acceptance length)
for _head, _k, _tau in (("eagle3", 8, 5.39), ("eagle3", 5, 4.68), ("eagle2", 8, 3.76)):
    maps(
        f"S-sglang-llama31-8b-{_head}-steps{_k}-bs1-tokens-per-s",
        f"ServingModel(Llama3_8B, H100, bf16, batch 1, spec_k {_k}, spec_accept from tau {_tau}, "
        f"spec_draft_cost {_head} head).spec_tokens_per_second",
        _SPEC_ASSUMED + "; SGLang drafts a tree (top-k candidates per step) and verifies all its tokens in one "
        "pass: modelled as a chain of num_steps drafts with the same tokens per step",
    )(_speculative(_head, _k, _tau, "spec_tokens_per_second", "token/s"))


# =========================================================================== P: disaggregated prefill/decode pools

#: SGLang's 96-H100 deployment (LMSYS blog 2025-05-05): each pool measured alone at a fixed load per device.
_SGLANG_POOL = dict(precision="fp8", kv_precision="bf16", tp_size=1, fabric="IB_NDR", ep_overlap=True)
_POOL_ASSUMED = (
    "each phase measured alone at a fixed load per device, as the source ran it ('unlimited resources for the "
    "non-tested phase'): one step of the pool's replica on ServingModel's engine (the engine a "
    "ServingModel(disagg=...) pool runs), no queueing and no KV transfer; FP8 weights and matmuls, "
    "BF16 KV (SGLang's default); two-batch overlap on; one 400 Gb/s InfiniBand NDR port per GPU "
    "between nodes (not stated); the default expert imbalance (EXPERT_IMBALANCE, 1.18); 8 GPUs per node"
)


def _sglang_prefill(seq_len: int) -> Callable[[], float]:
    def fn() -> float:
        batch = 16384 // seq_len * 32  # 16,384 tokens per device on 32 GPUs
        r = (
            _m()
            .ServingModel()
            .solve(_lm().DeepSeek_V3, _hw().H100, seq_len, batch, dp_attention=32, ep_size=32, **_SGLANG_POOL)
        )
        return batch * seq_len / _q(r.ttft, "s") / 4  # tokens per second per node of 8 GPUs

    return fn


for _s in (1024, 2048, 4096):
    maps(
        f"P-sglang-dsv3-4x8xh100-prefill-ep32-isl{_s}-tokens-per-s-per-node",
        f"ServingModel(DeepSeek_V3, H100, seq_len {_s}, batch {16384 // _s * 32}, tp 1, dp_attention 32, ep_size 32, "
        "IB_NDR): batch x seq_len / ttft / 4 nodes (prefill pool prefill=H100x32:dp32ep32)",
        _POOL_ASSUMED + "; 16,384 prompt tokens per device in one step (stated for 4K; assumed for 1K and 2K)",
    )(_sglang_prefill(_s))


@maps(
    "P-sglang-dsv3-9x8xh100-decode-ep72-bs256-ctx2000-tokens-per-s-per-node",
    "ServingModel(DeepSeek_V3, H100, seq_len 2000, batch 256 x 72, tp 1, dp_attention 72, ep_size 72, "
    "redundant_experts 32, IB_NDR): batch / itl / 9 nodes (decode pool decode=H100x72:dp72ep72r32)",
    _POOL_ASSUMED + "; every sequence at context 2,000 (the source's KV cache length)",
)
def _sglang_decode() -> float:
    batch = 256 * 72
    r = (
        _m()
        .ServingModel()
        .solve(
            _lm().DeepSeek_V3,
            _hw().H100,
            2000,
            batch,
            dp_attention=72,
            ep_size=72,
            redundant_experts=32,
            **_SGLANG_POOL,
        )
    )
    return batch / _q(r.itl, "s") / 9


@maps(
    "P-sglang-dsv3-gb200-decode-ep48-isl2000-bf16-attention-tokens-per-s-per-gpu",
    "ServingModel(DeepSeek_V3, GB200, fp8, kv bf16, seq_len 2000, output_len 100, batch 768 x 48, tp 1, "
    "dp_attention 48, ep_size 48, redundant_experts 32): batch / itl / 48 (decode pool decode=GB200x48:dp48ep48r32)",
    "768 sequences per rank, the high-precision decode launch of the source's reproduction (sglang issue #10903 "
    "as copied in shifangx/Scripts-SGLang z.blog2_High-prec_decode.sh: "
    "SGLANG_DEEPEP_NUM_MAX_DISPATCH_TOKENS_PER_RANK=768, --cuda-graph-bs 768, --ep-num-redundant-experts 32; "
    "the blog's 1,408 is the FP8-KV launch's); context 2,000, KV "
    "held for 100 output tokens (the GB200 part I ablation's 2,000/100); MLA decode attention in the absorbed form "
    "at the BF16 peak; the all-to-all over NVLink inside the NVL72 domain, not overlapped (the source overlaps only "
    "the combine with the down GEMM); FP8 weights, BF16 KV; the default expert imbalance (EXPERT_IMBALANCE, 1.18)",
)
def _sglang_gb200_decode() -> float:
    per_rank = 768
    r = (
        _m()
        .ServingModel()
        .solve(
            _lm().DeepSeek_V3,
            _hw().GB200,
            2000,
            per_rank * 48,
            precision="fp8",
            kv_precision="bf16",
            tp_size=1,
            dp_attention=48,
            ep_size=48,
            redundant_experts=32,
            output_len=100,
        )
    )
    return per_rank / _q(r.itl, "s")
