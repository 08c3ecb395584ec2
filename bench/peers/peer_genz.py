"""GenZ (github.com/abhibambhaniya/GenZ-LLM-Analyzer) on the serving configurations.

Run with GenZ's own interpreter (run_peers.py does): prints JSON {config id: {"values": ...,
"inputs": ...} or {"na": reason}}. Uses the public ``prefill_moddeling`` / ``decode_moddeling`` with a
GenZ ``ModelConfig`` of the geometry in peer_configs.MODELS and GenZ's own system entries. GenZ takes one
``system_eff`` for compute and memory alike: ETA_COMPUTE for prefill (compute-bound) and ETA_MEMORY
for decode (memory-bound). Decode with ``Bb=1`` (GenZ's default is 4 beams) at context ISL
(``output_tokens=0``). GenZ models inference only: training rows are n/a.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from GenZ import ModelConfig, decode_moddeling, prefill_moddeling
from peer_configs import CONFIGS, ETA_COMPUTE, ETA_MEMORY, MODELS

SYSTEM = {"H100": "H100_GPU", "A100": "A100_80GB_GPU"}


def model_config(key: str) -> tuple:
    g = MODELS[key]
    kwargs = {
        "model": key,
        "hidden_size": g["hidden"],
        "num_attention_heads": g["heads"],
        "num_key_value_heads": g["kv_heads"],
        "num_ffi": 2 if g["gated"] else 1,
        "intermediate_size": g["ffn"],
        "num_decoder_layers": g["layers"],
        "vocab_size": g["vocab"],
        "max_model_len": g["max_seq"],
        "hidden_act": "silu" if g["gated"] else "gelu",
        "num_experts": g.get("experts", 1),
        "expert_top_k": g.get("top_k", 1),
    }
    return ModelConfig(**kwargs), kwargs


def run(c: dict) -> tuple[dict, dict]:
    model, kwargs = model_config(c["model"])
    common = {
        "batch_size": c["batch"],
        "input_tokens": c["isl"],
        "system_name": SYSTEM[c["hw"]],
        "bits": "bf16",
        "tensor_parallel": c["tp"],
    }
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = prefill_moddeling(model=model, system_eff=ETA_COMPUTE, **common)
        dec = decode_moddeling(model=model, system_eff=ETA_MEMORY, output_tokens=0, Bb=1, **common)
    inputs = dict(
        common,
        model=kwargs,
        prefill_system_eff=ETA_COMPUTE,
        decode_system_eff=ETA_MEMORY,
        decode_Bb=1,
        decode_output_tokens=0,
    )
    return {"ttft": pre["Latency"] / 1e3, "itl": dec["Latency"] / 1e3}, inputs


def main() -> None:
    out: dict = {}
    for c in CONFIGS:
        if c["kind"] != "serving":
            out[c["id"]] = {"na": "GenZ models LLM inference only"}
            continue
        values, inputs = run(c)
        out[c["id"]] = {"values": values, "inputs": inputs}
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
