"""Group T: LLM training steps measured in this project on one NVIDIA H200 (``bench/device/h200_train_step.py``).

The records (``data/added_measurements.json``, group T) are made from the script's raw file by :func:`records` (a
test checks the shipped rows are that function's output). Each is the median of per-phase CUDA events of training
steps queued back to back: a Llama-style decoder with a catalog model's geometry and random weights
(``h200_measure.Model`` made trainable; eager PyTorch, flash attention through SDPA, no fused kernels beyond
PyTorch's own), the LM head over every token into a cross-entropy loss, forward + backward + ``AdamW(fused=True)``
on fp32 masters with fp32 gradient buffers: the mixed precision the project's training model assumes (bf16
weights, 2 + 4 + 4 + 8 = 18 B of state per parameter, ``mlsysim_physics.equations.adam_state_bytes``).

Each record is the answer of the training-step call a user makes for one H200 (``mlsysim train MODEL
One_DGX_H200 --gpus 1 --batch-size b --seq-len S --precision bf16``; in Python): ``DistributedModel().solve(model,
fleet, batch_size=b, seq_len=S, precision="bf16")`` on one of a DGX H200's eight GPUs
(``mlsysim_fleet.scale.with_gpus``), every other argument at its default (selective
recomputation: flash attention recomputes the attention core in its backward), and
``activation_recomputation="full"`` where the step checkpointed every layer (:func:`call`). The script's one
``amp`` point (fp32 weights under autocast, 16 B a parameter) is not a record: no solver argument states fp32
weights with bf16 matmuls.

These are not calibration records (:data:`NOT_CALIBRATION`): see ``docs/accuracy.md``, "Measured in this project:
a training step on one H200 (group T)".
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from mlsysim_core.errors import InvalidInputError

from .points import maps

#: the raw file the records come from (repository path)
RAW_FILE = "bench/device/h200_train_2026-12-04.json"
#: the script's variant that is the project's mixed precision (the records); ``amp`` is reported, not recorded
VARIANT = "bf16-master"
#: why group T's points do not join DistributedModel's model-error class (``mlsysim_validation.coverage``)
NOT_CALIBRATION = (
    "one eager PyTorch implementation on one GPU (unfused RMSNorm, RoPE and SwiGLU, no Transformer Engine): "
    "its errors are that implementation's, not exchangeable with the Megatron-class fleets of DistributedModel's "
    "class (group C), and DistributedModel has no argument that tells a bare loop from an engine (group G's "
    "bare-loop class is keyed by ServingModel's engine)"
)

_HARDWARE = (
    "NVIDIA H200 SXM 141GB, one GPU (nvidia-smi 'NVIDIA H200', 143771 MiB, 132 SMs, power limit 700 W; clocks as found)"
)
_PRECISION = (
    "bf16 weights and activations, fp32 gradient buffers, fp32 master weights and AdamW moments (18 B per parameter)"
)
_SOFTWARE = (
    "PyTorch {torch} (CUDA {cuda}), {script}: h200_measure.Model made trainable (RMSNorm, fused QKV GEMM, RoPE, "
    "attention by F.scaled_dot_product_attention ({attention}), SwiGLU with a fused gate/up GEMM), input embedding"
    "{tied}, LM head over every token, cross-entropy in fp32; torch.optim.AdamW(fused=True) on the fp32 masters, "
    "copied back to the bf16 weights; eager, no torch.compile"
)
_ASSUMED = (
    "one H200 (one of a DGX H200's eight GPUs: no communication, no pipeline bubble); bf16 with the solver's "
    "default fp32 gradients and master weights; the solver's default efficiency; random weights and tokens"
)


def _slug(model: str) -> str:
    return model.lower().replace("_", "")


def _id(p: dict) -> str:
    return f"T-h200-torch-{_slug(p['model'])}-b{p['batch']}-s{p['seq']}-ckpt{p['ckpt']}-step"


def records(raw: dict, raw_file: str = RAW_FILE) -> list[dict]:
    """The group-T records of the raw file (repository path ``raw_file``) of ``h200_train_step.py``: every
    training step of the :data:`VARIANT` in the file's order."""
    out = []
    for p in raw["points"]:
        if p["kind"] != "train_step" or p["variant"] != VARIANT:
            continue
        ckpt = "every layer checkpointed (torch.utils.checkpoint)" if p["ckpt"] == "full" else "no checkpointing"
        out.append(
            {
                "id": _id(p),
                "group": "T",
                "quantity": "step_time_ms",
                "value": round(p["step_ms"], 4),
                "unit": "ms",
                "conditions": {
                    "hardware": _HARDWARE,
                    "n_accelerators": 1,
                    "precision": _PRECISION,
                    "model": p["model"],
                    "batch_size": p["batch"],
                    "seq_len": p["seq"],
                    "activation_checkpointing": ckpt,
                    "phase": "training step: forward, backward, AdamW update",
                    "phases_ms": {
                        "forward": round(p["fwd_ms"], 4),
                        "backward": round(p["bwd_ms"], 4),
                        "optimizer": round(p["opt_ms"], 4),
                    },
                    "peak_memory_gb": round(p["peak_memory_bytes"] / 1e9, 2),
                    "software": _SOFTWARE.format(
                        torch=raw["torch"],
                        cuda=raw["cuda"],
                        attention=p["attention"],
                        script=raw["script"],
                        tied=" (the LM head's table, tied)" if p["tied_embeddings"] else "",
                    ),
                    "timing": f"median of {p['iters']} steps' CUDA events after 2 warm-up steps; p20 "
                    f"{p['step_p20_ms']:.4g} ms, p80 {p['step_p80_ms']:.4g} ms; forward {p['fwd_ms']:.4g} ms, "
                    f"backward {p['bwd_ms']:.4g} ms, optimizer {p['opt_ms']:.4g} ms",
                },
                "source": {
                    "title": f"mlsysim {raw['script']}, run {raw['date_utc']} on this project's device machine "
                    "(measured in this project)",
                    "org_or_authors": "mlsysim project",
                    "year": int(raw["date_utc"][:4]),
                    "where": f"{raw_file}, point kind 'train_step', model {p['model']}, variant {p['variant']}, "
                    f"batch {p['batch']}, seq {p['seq']}, ckpt {p['ckpt']}",
                    "url": raw_file,
                },
                "confidence": "measured",
                "notes": f"Same run: bf16 GEMM 8192^3 at {_ceiling(raw, 'gemm_bf16', 'tflops'):.0f} TFLOP/s, HBM "
                f"read {_ceiling(raw, 'hbm_read_sum', 'gb_s'):.0f} GB/s; peak memory "
                f"{p['peak_memory_bytes'] / 1e9:.1f} GB.",
            }
        )
    return out


def _ceiling(raw: dict, kind: str, field: str) -> float:
    return float(next(p[field] for p in raw["points"] if p["kind"] == kind))


def one_h200() -> Any:
    """One H200 of the catalog's one-node DGX H200 cluster (``mlsysim train ... One_DGX_H200 --gpus 1``)."""
    import mlsysim
    from mlsysim_fleet.scale import with_gpus

    return with_gpus(mlsysim.Systems.Clusters.One_DGX_H200, 1)


@cache
def _fleet() -> Any:
    return one_h200()


class TrainCall:
    """The ``DistributedModel`` solve a group-T record is predicted by; ``fn()`` = its step time in ms."""

    def __init__(self, model: str, batch_size: int, seq_len: int, recompute: str) -> None:
        self.model, self.batch_size, self.seq_len, self.recompute = model, batch_size, seq_len, recompute

    def _arguments(self) -> tuple[tuple, dict[str, Any]]:
        """The solve's (model, fleet) and keyword arguments."""
        import mlsysim

        kw: dict[str, Any] = dict(batch_size=self.batch_size, seq_len=self.seq_len, precision="bf16")
        kw["activation_recomputation"] = self.recompute
        return (getattr(mlsysim.Models.Language, self.model), _fleet()), kw

    def solve(self) -> Any:
        import mlsysim

        args, kw = self._arguments()
        return mlsysim.DistributedModel().solve(*args, **kw)

    def banded(self) -> Any:
        """The same solve with its bands (``mlsysim_uncertainty.banded``: efficiency ranges and model error)."""
        import mlsysim
        from mlsysim_uncertainty import banded

        args, kw = self._arguments()
        return banded(mlsysim.DistributedModel(), *args, **kw)

    def single_node(self) -> Any:
        """``SingleNodeModel``'s answer to the same step: ``is_training=True`` on one H200 with the same
        ``activation_recomputation`` (its default "selective" where the step did not checkpoint: flash attention
        stores no S x S scores; "full" where it did), the memory term under ``max``."""
        import mlsysim

        return mlsysim.SingleNodeModel().solve(
            getattr(mlsysim.Models.Language, self.model),
            mlsysim.Hardware.Cloud.H200,
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            precision="bf16",
            is_training=True,
            activation_recomputation=self.recompute,
        )

    def __call__(self) -> float:
        return float(self.solve().step_time.to("ms").magnitude)


def phases(result: Any, model: Any) -> dict[str, float]:
    """A ``DistributedModel`` step time (ms) split into forward, backward and optimizer: the optimizer is its
    ``optimizer_time``, the rest of the step split by the solver's own FLOPs: forward = tokens x (L x (2 P_layer +
    4 S d_attn) + 2 P_head), the rest of ``hardware_flops_per_step`` backward (with its recomputation)."""
    si = model.si
    if getattr(model, "vocab_size", None) is None:  # the split needs the LM head's FLOPs
        raise InvalidInputError("model", model.name, "a transformer catalog entry with a vocab_size")
    head = float(model.vocab_size * model.hidden_dim)
    layer = (float(si.matmul_parameters) - head) / model.layers
    S = float(result.seq_len)
    tokens = float(result.global_batch_size) * S
    fwd = tokens * (model.layers * (2.0 * layer + 4.0 * S * float(si.attn_dim)) + 2.0 * head)
    hw = float(result.hardware_flops_per_step.to("flop").magnitude)
    opt = float(result.optimizer_time.to("ms").magnitude)
    step = float(result.step_time.to("ms").magnitude) - opt
    return {"forward": step * fwd / hw, "backward": step * (hw - fwd) / hw, "optimizer": opt}


def call(rec: dict) -> TrainCall:
    c = rec["conditions"]
    recompute = "full" if c["activation_checkpointing"].startswith("every layer") else "selective"
    return TrainCall(c["model"], c["batch_size"], c["seq_len"], recompute)


@cache
def shipped() -> tuple[dict, ...]:
    """Group T's shipped records."""
    data = resources.files("mlsysim_validation").joinpath("data", "added_measurements.json").read_text()
    return tuple(r for r in json.loads(data) if r["group"] == "T")


for _rec in shipped():
    _c = call(_rec)
    maps(
        _rec["id"],
        f"DistributedModel({_c.model}, one H200, bf16, batch_size {_c.batch_size}, seq_len {_c.seq_len}"
        + (", activation_recomputation full" if _c.recompute == "full" else "")
        + ").step_time",
        _ASSUMED,
    )(_c)
