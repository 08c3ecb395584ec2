"""The peer cross-check configurations: one list read by the peer adapters, hand.py and table.py.

Plain Python (no mlsysim, no numpy) so each peer's scratch virtualenv can import it. Every number
here is an input; nothing is a result.

Serving rows: a batch of ``batch`` prompts of ``ISL`` tokens prefilled together (TTFT = time to
prefill the whole batch) and one decode step of the batch at context ``ISL`` (ITL), bf16 weights and
KV cache, tensor parallelism ``tp`` inside one 8-GPU node, ``OSL`` output tokens (peers size the KV
cache for ISL + OSL).
Training rows: one step of ``batch`` sequences of ``seq`` tokens on ``gpus`` GPUs with tensor /
pipeline / data parallelism ``tp`` x ``pp`` x ``dp``, micro-batches of ``mbs`` sequences, bf16 mixed
precision with Adam, selective activation recomputation and sequence parallelism (Megatron defaults),
``zero`` the ZeRO stage (0: none, 1: optimizer state sharded, 3: everything sharded).
"""

from __future__ import annotations

#: Efficiencies given to every peer that takes them and to hand.py: the achieved fraction of the
#: dense tensor peak, of HBM bandwidth and of link bandwidth, one set for all tools so that a
#: disagreement is a difference in physics, not in an assumed efficiency. Compute and network are
#: mlsysim's COMPUTE_WIDE and NETWORK (mlsysim_physics/efficiency.py). Memory is one end-to-end decode
#: rate, the convention the peers share: gpt-fast's measured 1,397 of 2,039 GB/s on A100 (0.69), in
#: the 0.6-0.7 llm-analysis's README recommends for inference.
ETA_COMPUTE = 0.60
ETA_MEMORY = 0.70
ETA_NETWORK = 0.80

ISL = 2048
OSL = 512

#: Datasheet numbers (NVIDIA H100 SXM5 and A100 SXM4 80GB datasheets): dense bf16 tensor peak
#: (FLOP/s), HBM bandwidth (B/s), NVLink bandwidth per direction (B/s), InfiniBand per GPU (one
#: 400 Gb/s NDR or 200 Gb/s HDR NIC per GPU, B/s), capacity (bytes the part reports: 81,559 MiB for
#: H100 SXM, 81,920 MiB for A100 80GB).
HARDWARE = {
    "H100": {"peak": 989.4e12, "hbm": 3.35e12, "nvlink": 450e9, "nic": 50e9, "capacity": 81559 * 2**20},
    "A100": {"peak": 312e12, "hbm": 2.039e12, "nvlink": 300e9, "nic": 25e9, "capacity": 81920 * 2**20},
}

#: Model geometry from each model's Hugging Face config.json (GPT-3 and MT-NLG from their papers).
#: ffn: intermediate size; gated: SwiGLU (3 MLP matrices) vs GELU (2); tied: input embedding shared
#: with the LM head; experts/top_k: routed experts (Mixtral).
MODELS = {
    "Llama3_8B": {
        "layers": 32,
        "hidden": 4096,
        "heads": 32,
        "kv_heads": 8,
        "ffn": 14336,
        "vocab": 128256,
        "gated": True,
        "tied": False,
        "max_seq": 131072,
    },
    "Llama3_70B": {
        "layers": 80,
        "hidden": 8192,
        "heads": 64,
        "kv_heads": 8,
        "ffn": 28672,
        "vocab": 128256,
        "gated": True,
        "tied": False,
        "max_seq": 131072,
    },
    "Mixtral_8x7B": {
        "layers": 32,
        "hidden": 4096,
        "heads": 32,
        "kv_heads": 8,
        "ffn": 14336,
        "vocab": 32000,
        "gated": True,
        "tied": False,
        "max_seq": 32768,
        "experts": 8,
        "top_k": 2,
    },
    "Llama2_7B": {
        "layers": 32,
        "hidden": 4096,
        "heads": 32,
        "kv_heads": 32,
        "ffn": 11008,
        "vocab": 32000,
        "gated": True,
        "tied": False,
        "max_seq": 4096,
    },
    "GPT3": {
        "layers": 96,
        "hidden": 12288,
        "heads": 96,
        "kv_heads": 96,
        "ffn": 49152,
        "vocab": 50257,
        "gated": False,
        "tied": True,
        "max_seq": 2048,
    },
    "MT_NLG_530B": {
        "layers": 105,
        "hidden": 20480,
        "heads": 128,
        "kv_heads": 128,
        "ffn": 81920,
        "vocab": 50257,
        "gated": False,
        "tied": True,
        "max_seq": 2048,
    },
}


def _serve(model: str, hw: str, tp: int, batch: int) -> dict:
    key = f"serve-{model}-{hw}-tp{tp}-b{batch}"
    return {"id": key, "kind": "serving", "model": model, "hw": hw, "tp": tp, "batch": batch, "isl": ISL, "osl": OSL}


def _train(model: str, hw: str, gpus: int, tp: int, pp: int, batch: int, seq: int, mbs: int = 1, zero: int = 0) -> dict:
    dp = gpus // (tp * pp)
    key = f"train-{model}-{gpus}x{hw}-tp{tp}pp{pp}dp{dp}" + (f"-zero{zero}" if zero else "")
    return {
        "id": key,
        "kind": "training",
        "model": model,
        "hw": hw,
        "gpus": gpus,
        "tp": tp,
        "pp": pp,
        "dp": dp,
        "batch": batch,
        "seq": seq,
        "mbs": mbs,
        "microbatches": batch // (dp * mbs),
        "zero": zero,
    }


SERVING = [
    _serve("Llama3_8B", "H100", 1, 1),
    _serve("Llama3_8B", "H100", 1, 32),
    _serve("Llama3_70B", "H100", 4, 1),
    _serve("Llama3_70B", "H100", 4, 32),
    _serve("Llama3_70B", "H100", 8, 1),
    _serve("Llama3_70B", "H100", 8, 64),
    _serve("Mixtral_8x7B", "H100", 2, 1),
    _serve("Mixtral_8x7B", "H100", 2, 32),
    _serve("Llama2_7B", "A100", 1, 16),
]

TRAINING = [
    # Narayanan et al. SC 2021 Table 1 (GPT-3 175B on 1024 A100, batch 1536) and MT-NLG 530B (2240 A100)
    _train("GPT3", "A100", 1024, 8, 16, 1536, 2048),
    _train("MT_NLG_530B", "A100", 2240, 8, 35, 2240, 2048),
    _train("GPT3", "H100", 512, 8, 8, 512, 2048),
    _train("Llama3_70B", "H100", 256, 8, 4, 256, 8192),
    _train("Llama2_7B", "A100", 8, 1, 1, 64, 4096, zero=1),
    _train("Llama2_7B", "H100", 64, 1, 1, 256, 4096, zero=3),
]

CONFIGS = SERVING + TRAINING

#: Metrics per kind: (key, label, unit, scale from SI).
METRICS = {
    "serving": (("ttft", "TTFT", "ms", 1e3), ("itl", "ITL", "ms", 1e3)),
    "training": (("step_time", "step time", "s", 1.0), ("memory", "memory/GPU", "GB", 1e-9)),
}


def inputs() -> dict:
    """Everything the peers are given, recorded with their results to detect a stale record."""
    return {
        "efficiencies": {"compute": ETA_COMPUTE, "memory": ETA_MEMORY, "network": ETA_NETWORK},
        "isl": ISL,
        "osl": OSL,
        "hardware": HARDWARE,
        "models": MODELS,
        "configs": CONFIGS,
    }
