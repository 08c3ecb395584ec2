"""Calculon (github.com/calculon-ai/calculon) on the training configurations.

Run with Calculon's own interpreter (run_peers.py does): prints JSON {config id: {"values": ...,
"inputs": ...} or {"na": reason}}. Uses the public ``Llm`` API (Application, Execution, System,
compile, run) as ``calculon llm`` does.

Mapping (stated): Calculon's block is a GPT block (multi-head attention, a two-matrix MLP, no
embedding or LM head). A gated (SwiGLU) or grouped-query model is given the ``feedforward`` width
that keeps the block's parameter count: (P_block - 4*h*H*d_h) / (2*h). The system is
peer_configs.HARDWARE with the stated efficiencies as flat curves (the shipped systems/*.json use
size-dependent curves of 0.6-0.95 for matrix units), ``roofline`` processing (the max of compute and
memory time per op, as ours and hand.py; the shipped files use ``no_overlap``, their sum) and ring
collectives (all-reduce 2(n-1)/n M, reduce-scatter and
all-gather (n-1)/n M); NVLink (8 GPUs) is network 0, InfiniBand network 1. Megatron settings:
sequence parallelism (tensor_par_comm_type rs_ag), selective recomputation (attn_only), fused
activations, 1F1B without interleaving. ZeRO-1 = optimizer_sharding; Calculon has no ZeRO-3.
"""

from __future__ import annotations

import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from calculon import System
from calculon.llm import Llm
from peer_configs import CONFIGS, ETA_COMPUTE, ETA_MEMORY, ETA_NETWORK, HARDWARE, MODELS

#: Non-tensor (vector) fp16 TFLOP/s of Calculon's shipped systems/a100_80g.json and h100_80g_nvl8.json.
VECTOR_TFLOPS = {"A100": 78.0, "H100": 120.0}
RING = {"p2p": [1.0, None], "reduce_scatter": [1.0, -1], "all_gather": [1.0, -1], "all_reduce": [2.0, -1]}


def application(key: str, seq: int) -> dict:
    g = MODELS[key]
    d_h = g["hidden"] // g["heads"]
    attn = 2 * g["hidden"] * g["heads"] * d_h + 2 * g["hidden"] * g["kv_heads"] * d_h
    mlp = (3 if g["gated"] else 2) * g["hidden"] * g["ffn"]
    ff = (attn + mlp - 4 * g["hidden"] * g["heads"] * d_h) // (2 * g["hidden"])
    ff -= ff % 64  # divisible by every tensor-parallel degree used
    return {
        "hidden": g["hidden"],
        "feedforward": ff,
        "seq_size": seq,
        "attn_heads": g["heads"],
        "attn_size": d_h,
        "num_blocks": g["layers"],
    }


def system(hw: str) -> dict:
    h = HARDWARE[hw]
    flat_c, flat_m = [[0, ETA_COMPUTE]], [[0, ETA_MEMORY]]
    return {
        "matrix": {"float16": {"tflops": h["peak"] / 1e12, "gflops_efficiency": flat_c}},
        "vector": {"float16": {"tflops": VECTOR_TFLOPS[hw], "gflops_efficiency": flat_c}},
        "mem1": {"GiB": h["capacity"] / 2**30, "GBps": h["hbm"] / 1e9, "MB_efficiency": flat_m},
        "mem2": {"GiB": 512, "GBps": 32, "MB_efficiency": flat_m},
        "processing_mode": "roofline",
        "networks": [
            {
                "bandwidth": h["nvlink"] / 1e9,
                "efficiency": ETA_NETWORK,
                "size": 8,
                "latency": 1e-05,
                "ops": RING,
                "must_be_filled": False,
                "processor_usage": 0.15,
            },
            {
                "bandwidth": h["nic"] / 1e9,
                "efficiency": ETA_NETWORK,
                "size": 65536,
                "latency": 2e-05,
                "ops": RING,
                "must_be_filled": False,
                "processor_usage": 0.02,
            },
        ],
    }


def execution(c: dict) -> dict:
    tp, pp, dp = c["tp"], c["pp"], c["dp"]
    return {
        "num_procs": c["gpus"],
        "tensor_par": tp,
        "pipeline_par": pp,
        "data_par": dp,
        "tensor_par_net": 0,
        "pipeline_par_net": 0 if tp * pp <= 8 else 1,
        "data_par_net": 0 if c["gpus"] <= 8 else 1,
        "batch_size": c["batch"],
        "microbatch_size": c["mbs"],
        "datatype": "float16",
        "fused_activation": True,
        "attention_type": "multihead",
        "activation_recompute": "attn_only",
        "pipeline_interleaving": 1,
        "optimizer_sharding": c["zero"] >= 1,
        "tensor_par_comm_type": "rs_ag",
        "tensor_par_overlap": "none",
        "seq_par_ag_redo": False,
        "data_par_overlap": False,
        "weight_offload": False,
        "activations_offload": False,
        "optimizer_offload": False,
        "training": True,
    }


def run(c: dict) -> tuple[dict, dict]:
    app, exe, sys_cfg = application(c["model"], c["seq"]), execution(c), system(c["hw"])
    model = Llm(Llm.Application(app), logging.getLogger("calculon"))
    syst = System(sys_cfg)
    model.compile(syst, Llm.Execution.from_json(exe))
    model.run(syst)
    stats = model.get_stats_json(False)
    values = {"step_time": stats["total_time"], "memory": stats["proc_mem_tier1_cap_req"]}
    return values, {"application": app, "execution": exe, "system": sys_cfg}


def main() -> None:
    out: dict = {}
    for c in CONFIGS:
        if c["kind"] != "training":
            out[c["id"]] = {"na": "Calculon models training only"}
        elif c["zero"] >= 2:
            out[c["id"]] = {"na": "Calculon shards only the optimizer state (no ZeRO-2/3)"}
        else:
            values, inputs = run(c)
            out[c["id"]] = {"values": values, "inputs": inputs}
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
