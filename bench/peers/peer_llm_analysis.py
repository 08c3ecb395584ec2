"""llm-analysis (github.com/cli99/llm-analysis) on the cross-check configurations.

Run with llm-analysis's own interpreter (run_peers.py does): prints JSON {config id: {"values":
{metric: SI value}, "inputs": the exact call}}. Uses the public entry points ``infer`` and
``train`` with the model geometry of peer_configs.MODELS (a model-config JSON file), llm-analysis's
own GPU entries (h100-sxm-80gb, a100-sxm-80gb) and the stated efficiencies of peer_configs.py.
Serving: TTFT = ``prefill_latency``, ITL = ``decode_latency``. Training: step time =
``latency_per_iter``, memory = ``estimated_peak_memory_per_gpu``; activation_recomputation=1
(attention core, i.e. selective), sequence parallelism = tp (its default).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from llm_analysis.analysis import infer, train
from peer_configs import CONFIGS, ETA_COMPUTE, ETA_MEMORY, ETA_NETWORK, MODELS

#: Parts of llm-analysis's summary kept with each value, to explain it (seconds, bytes, counts).
SERVE_DETAIL = ("kv_cache_latency", "decode_latency_fwd_attn", "decode_latency_fwd_mlp", "prefill_latency_fwd_mlp")
TRAIN_DETAIL = (
    "latency_fwd",
    "latency_fwd_sharded_dp_comm",
    "latency_per_micro_batch",
    "gradient_accumulation_steps",
    "latency_per_iter_using_flops",
)
GPU = {"H100": "h100-sxm-80gb", "A100": "a100-sxm-80gb"}
EFFICIENCIES = {
    "flops_efficiency": ETA_COMPUTE,
    "hbm_memory_efficiency": ETA_MEMORY,
    "intra_node_memory_efficiency": ETA_NETWORK,
    "inter_node_memory_efficiency": ETA_NETWORK,
}


def model_file(key: str, folder: str) -> tuple[str, dict]:
    g = MODELS[key]
    cfg = {
        "name": key,
        "num_layers": g["layers"],
        "n_head": g["heads"],
        "hidden_dim": g["hidden"],
        "vocab_size": g["vocab"],
        "max_seq_len": g["max_seq"],
        "num_key_value_heads": g["kv_heads"],
        "ffn_embed_dim": g["ffn"],
        "model_type": "llama" if g["gated"] else "gpt",
        "mlp_gated_linear_units": g["gated"],
        "moe_num_experts": g.get("experts", 1),
        "moe_top_k": g.get("top_k", 1),
    }
    path = os.path.join(folder, f"{key}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path, cfg


def run(c: dict, folder: str) -> tuple[dict, dict, dict]:
    """(values in SI units, the exact call, llm-analysis's own breakdown of the values)."""
    path, cfg = model_file(c["model"], folder)
    if c["kind"] == "serving":
        args = dict(
            model_name=path,
            gpu_name=GPU[c["hw"]],
            dtype_name="w16a16e16",
            batch_size_per_gpu=c["batch"],
            tp_size=c["tp"],
            seq_len=c["isl"],
            num_tokens_to_generate=c["osl"],
            log_level="ERROR",
            **EFFICIENCIES,
        )
        r = infer(**args)
        values = {"ttft": r["prefill_latency"], "itl": r["decode_latency"]}
        return values, dict(args, model_name=cfg), {k: r[k] for k in SERVE_DETAIL}
    args = dict(
        model_name=path,
        gpu_name=GPU[c["hw"]],
        dtype_name="w16a16e16",
        total_num_gpus=c["gpus"],
        tp_size=c["tp"],
        pp_size=c["pp"],
        batch_size_per_gpu=c["mbs"],
        global_batch_size=c["batch"],
        seq_len=c["seq"],
        activation_recomputation=1,
        ds_zero=c["zero"],
        log_level="ERROR",
        **EFFICIENCIES,
    )
    r = train(**args)
    values = {"step_time": r["latency_per_iter"], "memory": r["estimated_peak_memory_per_gpu"]}
    return values, dict(args, model_name=cfg), {k: r[k] for k in TRAIN_DETAIL}


def main() -> None:
    logging.disable(logging.WARNING)
    out: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for c in CONFIGS:
            values, args, detail = run(c, folder)
            out[c["id"]] = {"values": values, "inputs": args, "detail": detail}
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
