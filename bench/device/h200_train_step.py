"""Measure one training step on an NVIDIA H200 (or any CUDA GPU): forward, backward and AdamW, per phase.

Run on the device machine (python3 with torch there), from the repository root:

    PYTHONUNBUFFERED=1 python3 bench/device/h200_train_step.py --out "$OUT/h200_train.json"

and on a CPU, end to end with tiny shapes, to check the script before spending device time:

    python bench/device/h200_train_step.py --tiny --out /tmp/h200_train_tiny.json

The model is ``h200_measure.Model`` (a Llama-style decoder with a catalog model's geometry, ``MODELS``, random
weights: RMSNorm, fused QKV, RoPE, GQA attention through F.scaled_dot_product_attention, SwiGLU with a fused gate/up
GEMM) with its weights made trainable, an input embedding (the LM head's table when the catalog model ties them) and
the LM head over every token into a cross-entropy loss (logits in fp32), as a pre-training step computes it.

Precision and optimizer: the project's training model (``mlsysim_physics.equations.adam_state_bytes``,
``default_grad_precision``; Megatron-LM's mixed precision): bf16 weights, fp32 gradient buffers, an fp32 master copy
of the weights and fp32 Adam moments, 2 + 4 + 4 + 8 = 18 B per parameter. Each bf16 gradient is copied into its
fp32 buffer as soon as it is accumulated (a post-accumulate-grad hook, as Megatron's ``main_grad`` hooks) and freed;
the optimizer phase is ``torch.optim.AdamW(fused=True)`` on the fp32 masters and the copy of the masters back into
the bf16 weights. ``variant="amp"`` (one point, if time allows) is PyTorch's usual alternative: fp32 weights under
``torch.autocast(bfloat16)``, fp32 gradients, fused AdamW (4 + 4 + 8 = 16 B per parameter).

Activation checkpointing: ``ckpt="full"`` wraps each decoder layer in ``torch.utils.checkpoint`` (only the layer's
input is kept; its forward runs again in the backward: the project's full recomputation). ``ckpt="none"`` keeps
every activation; the flash attention backward recomputes the attention scores itself (Korthikanti et al.'s
selective recomputation of the attention core).

What it times: per step, CUDA events around the forward (embedding to loss), the backward (``loss.backward()``,
the fp32 gradient copies included) and the optimizer step; the median of >= 5 timed steps after 2 warm-up steps
(p20/p80 kept), steps queued back to back (no synchronisation between steps, as a training loop that does not read
the loss every step). Also the wall time per step over the timed steps (host-bound if above the events' sum), the
peak memory (``torch.cuda.max_memory_allocated``), nvidia-smi before and after each model, and the same run's GEMM
and HBM ceilings (``h200_measure.ceilings``). Next to the raw times each point has its tokens/s and its FLOPs by
6*N*D (N the catalog-style parameter count) and by matmul parameters + causal attention, with MFU against the
catalog's dense bf16 peak (``PEAK_BF16``).
Every section has a time guard; the JSON is rewritten after every point, so a killed run leaves its data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h200_measure as H  # noqa: E402 - the forward runs' model, geometry table, timing helpers and JSON writer

#: H200 SXM dense bf16 peak, FLOP/s: NVIDIA's H200 page lists 1,979 TFLOPS with sparsity; dense is half
#: (mlsysim_registry/data/hardware.toml [H200], the catalog's peak)
PEAK_BF16 = 989.5e12
#: bytes per parameter held for training: (weights, gradients, master + Adam moments) per variant
STATE_BYTES = {"bf16-master": (2, 4, 12), "amp": (4, 4, 8)}
#: catalog models whose input embedding is the LM head's table (models.toml ``tied_embeddings``)
TIED = {"Llama3_2_1B": True, "Llama3_8B": False, "Qwen3_32B": False, "Phi3_Mini": False}
WARMUP = 2
MIN_STEPS = 5


def geometry_counts(g: dict, tied: bool) -> dict:
    """Parameter counts of a Llama-style decoder of geometry ``g`` (no biases):
    per layer: QKV h*(H + 2*H_kv)*d + O H*d*h + gate/up/down 3*h*f + 2 norms h; final norm h; LM head V*h;
    input embedding V*h unless tied to the LM head. ``matmul`` = the layers' linear weights + the LM head (the
    embedding is a lookup)."""
    h, d, f, V = g["hidden"], g["head_dim"], g["ffn"], g["vocab"]
    linear = h * (g["heads"] + 2 * g["kv_heads"]) * d + g["heads"] * d * h + 3 * h * f
    layer = linear + 2 * h
    total = g["layers"] * layer + h + V * h + (0 if tied else V * h)
    return {"params": total, "matmul_params": g["layers"] * linear + V * h, "layer_linear_params": linear}


def step_flops(g: dict, counts: dict, batch: int, seq: int, ckpt: str) -> dict:
    """FLOPs of one training step of ``batch`` sequences of ``seq`` tokens (2 FLOP per MAC):
    forward  = 2*P_matmul*D + 2*L*B*S^2*H*d_h (causal attention: QK^T and AV over half the S x S scores,
               Kaplan et al. 2020 Table 1 with the causal half);
    backward = 2 x forward (Narayanan et al. 2021, eq. 3), plus one forward again with full checkpointing;
    6ND      = 6*N*D with N the total parameter count (the usual rule), D = B*S tokens;
    model    = 3 x forward (what MFU counts; recomputation is not useful work)."""
    tokens = batch * seq
    attn = 2.0 * g["layers"] * batch * seq * seq * g["heads"] * g["head_dim"]
    fwd = 2.0 * counts["matmul_params"] * tokens + attn
    bwd = 2.0 * fwd + (fwd if ckpt == "full" else 0.0)
    return {
        "tokens": tokens,
        "flops_fwd": fwd,
        "flops_bwd": bwd,
        "flops_model": 3.0 * fwd,
        "flops_6nd": 6.0 * counts["params"] * tokens,
        "flops_attention_fwd": attn,
    }


class Trainer:
    """``h200_measure.Model`` made trainable: bf16 (or, ``amp``, fp32) leaf weights, an input embedding, the LM
    head over every token into a cross-entropy loss, fp32 masters and gradient buffers, fused AdamW."""

    def __init__(self, name: str, g: dict, dev: torch.device, variant: str, attn) -> None:
        self.g, self.dev, self.variant, self.attn = g, dev, variant, attn
        dtype = torch.bfloat16 if variant == "bf16-master" else torch.float32
        self.m = H.Model(g, dev, dtype=dtype)
        self.tied = TIED.get(name, True)
        self.emb = self.m.lm if self.tied else H.randn((g["vocab"], g["hidden"]), dev, dtype, 0.02)
        self.params = [t for lw in self.m.layers for t in lw.values()] + [self.m.norm, self.m.lm]
        if not self.tied:
            self.params.append(self.emb)
        for p in self.params:
            p.requires_grad_(True)
        self.n_params = sum(p.numel() for p in self.params)
        if variant == "bf16-master":
            self.masters = [p.detach().float() for p in self.params]
            for mp in self.masters:
                mp.grad = torch.zeros_like(mp)  # the fp32 gradient buffer
            for p, mp in zip(self.params, self.masters):
                p.register_post_accumulate_grad_hook(self._to_buffer(mp))
            opt_params = self.masters
        else:
            opt_params = self.params
        fused = dev.type == "cuda"
        self.opt = torch.optim.AdamW(opt_params, lr=1e-6, weight_decay=0.01, fused=fused, foreach=not fused)

    @staticmethod
    def _to_buffer(mp: torch.Tensor):
        def hook(p: torch.Tensor) -> None:
            mp.grad.copy_(p.grad)  # one micro-batch a step: the buffer is overwritten, not accumulated
            p.grad = None

        return hook

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor, ckpt: str) -> torch.Tensor:
        m, g = self.m, self.g
        cos, sin = m.rope(0, tokens.shape[1])
        x = F.embedding(tokens, self.emb)
        for i, lw in enumerate(m.layers):
            if ckpt == "full":
                x = checkpoint(m.layer, x, lw, i, self.attn, cos, sin, use_reentrant=False)
            else:
                x = m.layer(x, lw, i, self.attn, cos, sin)
        logits = F.linear(m.rms(x, m.norm), m.lm)
        return F.cross_entropy(logits.view(-1, g["vocab"]).float(), targets.reshape(-1))

    def optimizer_step(self) -> None:
        self.opt.step()
        if self.variant == "bf16-master":
            with torch.no_grad():
                torch._foreach_copy_(self.params, self.masters)
        else:
            self.opt.zero_grad(set_to_none=True)

    def autocast(self):
        if self.variant == "amp":
            return torch.autocast(self.dev.type, dtype=torch.bfloat16)
        return torch.autocast(self.dev.type, enabled=False)


def pick_attention(dev: torch.device) -> tuple[str, object]:
    """The first causal attention that runs forward and backward in bf16: flash with enable_gqa, memory-efficient
    with enable_gqa, flash with K/V repeated to the query heads, then SDPA's default choice."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = H.randn((2, 4, 16, 64), dev, torch.bfloat16).requires_grad_(True)
    k = H.randn((2, 2, 16, 64), dev, torch.bfloat16).requires_grad_(True)

    def gqa(backends):
        def attn(q, k, v, i):
            with sdpa_kernel(backends):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

        return attn

    def repeated(q, k, v, i):
        r = q.shape[1] // k.shape[1]
        k, v = (k, v) if r == 1 else (k.repeat_interleave(r, dim=1), v.repeat_interleave(r, dim=1))
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def default(q, k, v, i):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

    cands = []
    if dev.type == "cuda":
        cands += [
            ("flash+enable_gqa", gqa([SDPBackend.FLASH_ATTENTION])),
            ("efficient+enable_gqa", gqa([SDPBackend.EFFICIENT_ATTENTION])),
            ("flash+repeated_kv", repeated),
        ]
    cands.append(("default+enable_gqa", default))
    for name, fn in cands:
        try:
            fn(q, k, k, 0).float().sum().backward()
            H.sync(dev)
            return name, fn
        except Exception as exc:  # noqa: BLE001 - the next candidate
            H.RESULT["errors"].append({"where": f"attention probe {name}", "error": str(exc).splitlines()[0][:200]})
    raise RuntimeError("no attention path runs forward and backward")


def time_steps(tr: Trainer, tokens, targets, ckpt: str, target_s: float) -> dict:
    """Per-phase times of training steps queued back to back: CUDA events (perf_counter on a CPU)."""
    cuda = tr.dev.type == "cuda"

    def step(marks) -> None:
        marks[0]()
        with tr.autocast():
            loss = tr.loss(tokens, targets, ckpt)
        marks[1]()
        loss.backward()
        marks[2]()
        tr.optimizer_step()
        marks[3]()

    def cpu_marks():
        times: list[float] = []
        return times, [lambda t=times: (H.sync(tr.dev), t.append(time.perf_counter()))[1]] * 4

    def event_marks():
        evs = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
        return evs, [e.record for e in evs]

    for _ in range(WARMUP):
        step(cpu_marks()[1])
    H.sync(tr.dev)
    t = time.perf_counter()
    step(cpu_marks()[1])
    once = time.perf_counter() - t
    n = int(min(20, max(MIN_STEPS, target_s / max(once, 1e-6))))
    runs = []
    H.sync(tr.dev)
    t = time.perf_counter()
    for _ in range(n):
        marks = event_marks() if cuda else cpu_marks()
        step(marks[1])
        runs.append(marks[0])
    H.sync(tr.dev)
    wall = (time.perf_counter() - t) / n * 1e3
    if cuda:
        ph = [[a.elapsed_time(b) for a, b in zip(evs, evs[1:])] for evs in runs]
    else:
        ph = [[(b - a) * 1e3 for a, b in zip(ts, ts[1:])] for ts in runs]
    out = {"steps": n, "wall_ms_per_step": wall}
    for j, phase in enumerate(("fwd", "bwd", "opt", "step")):
        vals = sorted(sum(p) if phase == "step" else p[j] for p in ph)
        q = statistics.quantiles(vals, n=5)
        out.update({f"{phase}_ms": statistics.median(vals), f"{phase}_p20_ms": q[0], f"{phase}_p80_ms": q[3]})
    return out


def run_model(name: str, g: dict, dev: torch.device, shapes, variant: str, deadline: float, attn_name, attn) -> None:
    counts = geometry_counts(g, TIED.get(name, True))
    state = STATE_BYTES[variant]
    state_bytes = sum(state) * counts["params"]
    if dev.type == "cuda":
        cap = torch.cuda.get_device_properties(0).total_memory
        if state_bytes > 0.9 * cap:
            msg = f"{name}/{variant}: state {sum(state)} B x {counts['params']:,} = {state_bytes / 1e9:.1f} GB > 90 %"
            H.RESULT["skipped"].append(msg + f" of {cap / 1e9:.1f} GB")
            H.log("skip " + msg)
            H.save()
            return
    tag = f"{name}/{variant}"
    H.log(f"{tag}: building")
    try:
        tr = Trainer(name, g, dev, variant, attn)
    except Exception as exc:  # noqa: BLE001
        H.error(f"{tag} build", exc)
        return
    if tr.n_params != counts["params"]:
        H.error(f"{tag} parameter count", ValueError(f"built {tr.n_params}, geometry {counts['params']}"))
    H.log(f"{tag}: built, {tr.n_params:,} parameters")
    for bsz, seq, ckpt in shapes:
        where = f"{tag} b{bsz} s{seq} ckpt {ckpt}"
        if H.elapsed() > deadline:
            H.RESULT["skipped"].append(f"{where}: time guard")
            H.save()
            continue
        try:
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            gen = torch.Generator(device="cpu").manual_seed(1)
            tokens = torch.randint(0, g["vocab"], (bsz, seq + 1), generator=gen).to(dev)
            t = time_steps(tr, tokens[:, :-1], tokens[:, 1:], ckpt, target_s=1.5)
            fl = step_flops(g, counts, bsz, seq, ckpt)
            step_s = t["step_ms"] / 1e3
            extra = {
                "variant": variant,
                "ckpt": ckpt,
                "attention": attn_name,
                "tied_embeddings": tr.tied,
                "params": counts["params"],
                "matmul_params": counts["matmul_params"],
                "state_bytes_per_param": list(state),
                **fl,
                "tokens_per_s": fl["tokens"] / step_s,
                "mfu_6nd": fl["flops_6nd"] / step_s / PEAK_BF16,
                "mfu_model": fl["flops_model"] / step_s / PEAK_BF16,
                "hfu": (fl["flops_fwd"] + fl["flops_bwd"]) / step_s / PEAK_BF16,
                "fwd_tflops": fl["flops_fwd"] / t["fwd_ms"] / 1e9,
                "bwd_tflops": fl["flops_bwd"] / t["bwd_ms"] / 1e9,
                "opt_gb_s_at_34B": 34 * counts["params"] / t["opt_ms"] / 1e6,
            }
            if dev.type == "cuda":
                extra["peak_memory_bytes"] = torch.cuda.max_memory_allocated()
            t = {k: v for k, v in t.items() if k not in ("steps",)} | {"iters": t["steps"]}
            H.add_point("train_step", {"model": name, "batch": bsz, "seq": seq}, t, **extra)
            H.log(
                f"{where}: step {t['step_ms']:.2f} ms (fwd {t['fwd_ms']:.2f} bwd {t['bwd_ms']:.2f} opt "
                f"{t['opt_ms']:.2f}; wall {t['wall_ms_per_step']:.2f}), {extra['tokens_per_s']:.0f} tok/s, "
                f"MFU {extra['mfu_model']:.3f}, peak {extra.get('peak_memory_bytes', 0) / 1e9:.1f} GB"
            )
            del tokens
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            H.error(where, exc)
    del tr
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    H.nvsmi(f"after {tag}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write (rewritten after every point)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes (CPU check of the script)")
    ap.add_argument("--budget", type=float, default=270.0, help="seconds; a section starts no point past its share")
    args = ap.parse_args()
    H.OUT_PATH = args.out
    dev = H.begin("bench/device/h200_train_step.py", args.tiny)
    H.RESULT["timing"] = (
        "per-phase CUDA events of training steps queued back to back; median of >= 5 timed steps after 2 warm-up "
        "steps; p20/p80 spread; wall_ms_per_step over the timed steps"
    )
    H.RESULT["peak_bf16_flops"] = PEAK_BF16
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(0)
        H.RESULT["sm_count"], H.RESULT["memory_bytes"] = p.multi_processor_count, p.total_memory
    H.nvsmi("before")
    attn_name, attn = pick_attention(dev)
    H.RESULT["attention_path"] = attn_name
    H.log(f"attention path: {attn_name}")
    B = args.budget
    H.ceilings(dev, args.tiny, deadline=0.05 * B)
    if args.tiny:
        grid1 = [(1, 32, c) for c in ("none", "full")] + [(2, 64, c) for c in ("none", "full")]
        grid3 = [(2, 32, "none"), (1, 64, "full")]
        m1, m3, g1, g3 = "Llama3_2_1B", "Phi3_Mini", H.TINY, H.TINY
    else:
        shapes1 = [(1, 2048), (4, 2048), (8, 2048), (2, 8192)]
        grid1 = [(b, s, c) for c in ("none", "full") for b, s in shapes1]
        # Phi-3-mini: max_seq_len 4,096; 20 B x 3.82e9 = 76 GB of state and bf16 gradients, ~32 GB of activations
        # at 8,192 tokens without checkpointing (9h + 4f bf16 values a token and layer saved)
        grid3 = [(b, s, c) for c in ("none", "full") for b, s in ((1, 2048), (4, 2048), (2, 4096))]
        m1, m3, g1, g3 = "Llama3_2_1B", "Phi3_Mini", H.MODELS["Llama3_2_1B"], H.MODELS["Phi3_Mini"]
    run_model(m1, g1, dev, grid1, "bf16-master", 0.45 * B, attn_name, attn)
    run_model(m3, g3, dev, grid3, "bf16-master", 0.88 * B, attn_name, attn)
    # Llama3_8B: 18 B x 8.03e9 = 144.5 GB of state alone > 90 % of the H200's 150.1 GB (torch): the guard records it
    run_model("Llama3_8B", H.TINY if args.tiny else H.MODELS["Llama3_8B"], dev, [], "bf16-master", B, "", attn)
    amp_shape = [(2, 64, "none")] if args.tiny else [(4, 2048, "none")]
    run_model(m1, g1, dev, amp_shape, "amp", 0.95 * B, attn_name, attn)
    H.save()
    print("\nmodel        variant     b     S  ckpt   step_ms   fwd_ms   bwd_ms   opt_ms  wall_ms  tok/s  MFU  peak_GB")
    for r in H.RESULT["points"]:
        if r["kind"] != "train_step":
            continue
        print(
            f"{r['model']:12s} {r['variant']:11s} {r['batch']:2d} {r['seq']:5d} {r['ckpt']:5s} {r['step_ms']:8.2f} "
            f"{r['fwd_ms']:8.2f} {r['bwd_ms']:8.2f} {r['opt_ms']:8.2f} {r['wall_ms_per_step']:8.2f} "
            f"{r['tokens_per_s']:7.0f} {r['mfu_model']:.3f} {r.get('peak_memory_bytes', 0) / 1e9:6.1f}"
        )
    H.print_tail()
    return 0


if __name__ == "__main__":
    sys.exit(main())
