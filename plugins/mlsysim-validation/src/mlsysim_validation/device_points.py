"""Group G: LLM forward passes measured in this project on one NVIDIA H200 (``bench/device/h200_measure.py``).

The records (``data/added_measurements.json``, group G) are made from the scripts' raw files by :func:`records`
(``bench/device/h200_2026-12-04.json`` and, from ``h200_measure_b.py``, ``h200_2026-12-04b.json``; a test checks
the shipped rows are that function's output), each
point the median of per-iteration CUDA events of a minimal Llama-style decoder with a catalog model's geometry
and random weights (no serving engine: no scheduler, no sampling, no HTTP):

- decode: one step at batch ``b`` against a KV cache of ``L`` tokens, a CUDA graph replayed, is the static
  ``ServingModel(model, H200, seq_len=L, batch_size=b).itl`` with ``engine_overhead`` 0 (no engine's host
  loop: what ``efficiency.LAYER_OVERHEAD_S`` was derived from, gpt-fast under CUDA graphs with no engine);
- prefill: one eager forward of ``b`` prompts of ``S`` tokens, the LM head on the last token, is the static
  ``ttft`` at the same settings. A prefill whose time is under ``HOST_BOUND`` times the host's launch floor
  (the same model's fastest eager batch-1 decode step, which launches the same kernels and does little GPU work)
  measures Python's kernel launches, not the GPU, and is not a record (any factor from 1.1 to 1.9 keeps the
  same points; the rule was set from the floor, before comparing with any prediction);
- prefill captured in a CUDA graph (second run, batch 1 x 256-2,048 tokens: no launch floor) is the same static
  ``ttft``;
- weight-only int4 decode (second run; PyTorch's tinygemm int4 GEMM, group size 128) is the static ``itl`` with
  ``precision="bf16", weight_precision="int4"`` (w4a16: :func:`call`; a ``mlsysim calibrate`` row states it as a
  ``weight_precision`` column);
- eager decode steps are not records either: their time is the host's (~25-28 us per launched kernel on
  that machine), which no solver setting describes; ``bench/README.md`` reports them.

``engine="torch"`` scopes a calibration to this bare PyTorch loop (``mlsysim calibrate`` with an ``engine``
column), so that the calibration subsets study (:mod:`.subsets`) takes the group by its own rule.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mlsysim_uncertainty.model_error import BARE_LOOP_ENGINE

from .points import maps
from .serving_call import ServingCall

#: the raw files the records come from (repository paths, in the shipped rows' order) and the engine name
RAW_FILES = ("bench/device/h200_2026-12-04.json", "bench/device/h200_2026-12-04b.json")
RAW_FILE = RAW_FILES[0]
ENGINE = BARE_LOOP_ENGINE  # (their own model-error class: mlsysim_uncertainty.model_error.BARE_LOOP)
#: a prefill under this many times the host's launch floor (the eager batch-1 decode step) is host-bound
HOST_BOUND = 1.5

_HARDWARE = (
    "NVIDIA H200 SXM 141GB, one GPU (nvidia-smi 'NVIDIA H200', 143771 MiB, 132 SMs, driver 580.159.04, "
    "power limit 700 W; clocks as found)"
)
_SOFTWARE = (
    "PyTorch {torch} (CUDA {cuda}), {script}: RMSNorm (F.rms_norm), fused QKV GEMM, RoPE, GQA "
    "attention by F.scaled_dot_product_attention (enable_gqa, {attention}), O projection, SwiGLU with a fused "
    "gate/up GEMM, LM head on the last token; random weights; no serving engine"
)
_PRECISION = {
    "bf16": "bf16 weights, activations and KV cache",
    "int4": "int4 weights (w4a16: PyTorch's tinygemm aten._weight_int4pack_mm, group size 128, bf16 scales and "
    "zeros; LM head too), bf16 activations, matmuls and KV cache",
    "fp8": "fp8 e4m3 weights and matmul inputs (torch._scaled_mm, per-tensor scales; rows padded to 16), bf16 KV "
    "cache and the rest",
}
_ASSUMED = (
    "one GPU, no serving engine: engine_overhead 0 (no scheduler, sampling or host loop; the solvers' per-layer "
    "overhead was derived from gpt-fast under CUDA graphs with no engine), engine 'torch' (selects a calibration "
    "scoped to this loop, none shipped); random weights and KV cache of the catalog geometry; "
)


def _slug(model: str) -> str:
    return model.lower().replace("_", "")


def records(raw: dict, raw_file: str = RAW_FILE) -> list[dict]:
    """The group-G records of one raw file (repository path ``raw_file``) of ``h200_measure.py`` or
    ``h200_measure_b.py``: every CUDA-graph decode step and prefill, and every eager prefill above the host-bound
    rule, in the file's order."""
    floor: dict[str, float] = {}  # the host's launch floor: the model's fastest eager batch-1 decode step
    for p in raw["points"]:
        if p["kind"] == "decode_eager" and p["weights"] == "bf16":
            floor[p["model"]] = min(floor.get(p["model"], p["median_ms"]), p["median_ms"])
    out = []
    for p in raw["points"]:
        if p["kind"] == "decode_graph":
            phase, what, length, key = "decode", "decode step (CUDA graph replayed)", p["context"], "context_len"
            pid = f"G-h200-{ENGINE}-{_slug(p['model'])}-{p['weights']}-decode-b{p['batch']}-ctx{p['context']}-itl"
            quantity = "itl_ms"
        elif p["kind"] == "prefill_graph":
            phase, what, length, key = "prefill", "prefill (CUDA graph replayed)", p["prompt"], "input_len"
            pid = f"G-h200-{ENGINE}-{_slug(p['model'])}-{p['weights']}-prefill-graph-b{p['batch']}-s{p['prompt']}-ttft"
            quantity = "ttft_ms"
        elif p["kind"] == "prefill" and p["median_ms"] >= HOST_BOUND * floor[p["model"]]:
            phase, what, length, key = "prefill", "prefill (one eager forward)", p["prompt"], "input_len"
            pid = f"G-h200-{ENGINE}-{_slug(p['model'])}-{p['weights']}-prefill-b{p['batch']}-s{p['prompt']}-ttft"
            quantity = "ttft_ms"
        else:
            continue
        out.append(
            {
                "id": pid,
                "group": "G",
                "quantity": quantity,
                "value": round(p["median_ms"], 4),
                "unit": "ms",
                "conditions": {
                    "hardware": _HARDWARE,
                    "n_accelerators": 1,
                    "precision": _PRECISION[p["weights"]],
                    "model": p["model"],
                    "batch_size": p["batch"],
                    key: length,
                    "phase": what,
                    "software": _SOFTWARE.format(
                        torch=raw["torch"], cuda=raw["cuda"], attention=p["attention"], script=raw["script"]
                    ),
                    "timing": f"median of {p['iters']} per-iteration CUDA events after warm-up; p20 "
                    f"{p['p20_ms']:.4g} ms, p80 {p['p80_ms']:.4g} ms",
                },
                "source": {
                    "title": f"mlsysim {raw['script']}, run {raw['date_utc']} on this project's device "
                    "machine (measured in this project)",
                    "org_or_authors": "mlsysim project",
                    "year": int(raw["date_utc"][:4]),
                    "where": f"{raw_file}, point kind '{p['kind']}', model {p['model']}, weights {p['weights']}, "
                    f"batch {p['batch']}, {'context' if phase == 'decode' else 'prompt'} {length}",
                    "url": raw_file,
                },
                "confidence": "measured",
                "notes": f"Same run: bf16 GEMM 8192^3 at {_ceiling(raw, 'gemm_bf16', 'tflops'):.0f} TFLOP/s, HBM "
                f"read {_ceiling(raw, 'hbm_read_sum', 'gb_s'):.0f} GB/s, copy {_ceiling(raw, 'hbm_copy', 'gb_s'):.0f} "
                "GB/s (bytes read + written).",
            }
        )
    return out


def _ceiling(raw: dict, kind: str, field: str) -> float:
    return float(next(p[field] for p in raw["points"] if p["kind"] == kind))


def call(rec: dict) -> ServingCall:
    """The static ``ServingModel`` solve a group-G record is predicted by."""
    c = rec["conditions"]
    weights = next(w for w in ("fp8", "int4", "bf16") if c["precision"].startswith(w))
    arguments: dict[str, Any] = {"precision": "bf16" if weights == "int4" else weights, "engine_overhead": 0.0}
    if weights == "fp8":
        arguments["kv_precision"] = "bf16"
    if weights == "int4":
        arguments["weight_precision"] = "int4"  # w4a16: bf16 matmuls, KV cache as the matmuls
    decode = rec["quantity"] == "itl_ms"
    seq_len = c["context_len"] if decode else c["input_len"]
    field = "itl" if decode else "ttft"
    return ServingCall(c["model"], "H200", seq_len, field, ENGINE, arguments, batch_size=c["batch_size"])


# the shipped records (harness.added_measurements reads the same file; harness imports this module through points)
for _rec in json.loads(resources.files("mlsysim_validation").joinpath("data", "added_measurements.json").read_text()):
    if _rec["group"] == "G":
        _c = call(_rec)
        maps(
            _rec["id"],
            f"ServingModel({_c.model}, H200, {_c.arguments['precision']}"
            + (f", weight_precision {_c.arguments['weight_precision']}" if "weight_precision" in _c.arguments else "")
            + f", seq_len {_c.seq_len}, batch_size "
            f"{_c.batch_size}, engine_overhead 0, engine {ENGINE}).{_c.field} (static)",
            _ASSUMED
            + (
                "the KV cache holds the context (the new token's K and V written into it)"
                if _c.field == "itl"
                else "TTFT of the batch's prompts prefilled together, the LM head on the last token"
            ),
        )(_c)
