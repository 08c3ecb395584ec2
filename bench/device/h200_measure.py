"""Measure an NVIDIA H200 (or any CUDA GPU): ceilings and LLM forward passes of catalog models.

Run on the device machine (python3 with torch there):

    PYTHONUNBUFFERED=1 python3 bench/device/h200_measure.py --out "$OUT/h200.json"

and on a CPU, end to end with tiny shapes, to check the script before spending device time:

    python bench/device/h200_measure.py --tiny --out /tmp/h200_tiny.json

What it times (median of per-iteration CUDA events after warm-up; p20/p80 kept as the spread):
  1. ceilings: bf16 GEMM 8192^3, fp8 e4m3 GEMM through torch._scaled_mm (guarded), HBM read (sum over a
     4 GiB fp32 tensor) and copy (2 GiB -> 2 GiB, bytes read + written);
  2. a minimal Llama-style transformer with a catalog model's geometry and random bf16 weights
     (RMSNorm, fused QKV GEMM, RoPE, GQA attention through F.scaled_dot_product_attention, O projection,
     SwiGLU MLP with a fused gate/up GEMM, LM head on the last token only):
       prefill (whole forward of one prompt; batch 4 x 2048 too),
       one decode step (1 new token per sequence against a KV cache of context L, written into the cache),
       captured in a CUDA graph and replayed, and at batch 1 also eager (launch overhead per kernel);
  3. optional: decode with fp8 e4m3 weights and activations (torch._scaled_mm, per-tensor scale 1).
Every section has a time guard; the JSON is rewritten after every point, so a killed run leaves its data.
The catalog geometry is copied here (the device machine has only this file's imports): see MODELS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# Geometry from mlsysim_registry/data/models.toml (layers, hidden, heads, kv_heads, head_dim, ffn, vocab).
MODELS = {
    "Llama3_2_1B": dict(layers=16, hidden=2048, heads=32, kv_heads=8, head_dim=64, ffn=8192, vocab=128256),
    "Llama3_8B": dict(layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256),
    "Qwen3_32B": dict(layers=64, hidden=5120, heads=64, kv_heads=8, head_dim=128, ffn=25600, vocab=151936),
    "Phi3_Mini": dict(layers=32, hidden=3072, heads=32, kv_heads=32, head_dim=96, ffn=8192, vocab=32064),
}
TINY = dict(layers=2, hidden=128, heads=4, kv_heads=2, head_dim=32, ffn=256, vocab=512)

KV_LIMIT_BYTES = 60e9
T0 = time.monotonic()
RESULT: dict = {"points": [], "errors": [], "skipped": []}
BACKENDS: list = []  # SDPA backends picked by pick_sdpa (kept out of the JSON)
OUT_PATH = ""


def elapsed() -> float:
    return time.monotonic() - T0


def save() -> None:
    RESULT["elapsed_s"] = round(elapsed(), 2)
    tmp = OUT_PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(RESULT, f, indent=1)
    os.replace(tmp, OUT_PATH)


def log(msg: str) -> None:
    print(f"[{elapsed():6.1f}s] {msg}", flush=True)


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench(fn, dev: torch.device, target_s: float = 0.25, max_iters: int = 200, min_iters: int = 5) -> dict:
    """Median / p20 / p80 of per-iteration times (CUDA events on a GPU, perf_counter on a CPU)."""
    fn()
    sync(dev)
    t = time.perf_counter()
    fn()
    sync(dev)
    once = max(time.perf_counter() - t, 1e-6)
    iters = int(min(max_iters, max(min_iters, target_s / once)))
    for _ in range(min(3, iters)):
        fn()
    sync(dev)
    times = []
    if dev.type == "cuda":
        evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        for a, b in evs:
            a.record()
            fn()
            b.record()
        torch.cuda.synchronize()
        times = [a.elapsed_time(b) for a, b in evs]
    else:
        for _ in range(iters):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    q = statistics.quantiles(times, n=5) if len(times) >= 5 else [times[0], times[0], times[-1], times[-1]]
    return {"median_ms": statistics.median(times), "p20_ms": q[0], "p80_ms": q[3], "iters": iters}


def add_point(kind: str, shape: dict, timing: dict, **extra) -> None:
    row = {"kind": kind, **shape, **{k: round(v, 6) if isinstance(v, float) else v for k, v in timing.items()}}
    row.update(extra)
    RESULT["points"].append(row)
    save()


def error(where: str, exc: BaseException) -> None:
    msg = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    log(f"ERROR {where}: {msg}")
    RESULT["errors"].append({"where": where, "error": msg})
    save()
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()


def nvsmi(tag: str) -> None:
    q = (
        "name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.draw,power.limit,"
        "temperature.gpu,memory.total,memory.used"
    )
    try:
        cmd = ["nvidia-smi", f"--query-gpu={q}", "--format=csv"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        RESULT.setdefault("nvidia_smi", {})[tag] = out.stdout.strip()
        log(f"nvidia-smi {tag}: {out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()}")
    except (OSError, subprocess.SubprocessError) as exc:
        RESULT.setdefault("nvidia_smi", {})[tag] = f"unavailable: {exc}"
    save()


def randn(shape, dev, dtype, std: float = 1.0) -> torch.Tensor:
    return (torch.randn(shape, device=dev, dtype=torch.float32 if dev.type == "cpu" else dtype) * std).to(dtype)


# ---------------------------------------------------------------------------------------------- ceilings
def ceilings(dev: torch.device, tiny: bool, deadline: float) -> None:
    n = 256 if tiny else 8192
    dt = torch.bfloat16
    try:
        a, b = randn((n, n), dev, dt), randn((n, n), dev, dt)
        t = bench(lambda a=a, b=b: a @ b, dev)
        add_point("gemm_bf16", {"m": n, "n": n, "k": n}, t, tflops=2 * n**3 / t["median_ms"] / 1e9)
        log(f"bf16 GEMM {n}^3: {t['median_ms']:.3f} ms = {2 * n**3 / t['median_ms'] / 1e9:.1f} TFLOP/s")
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        error("gemm_bf16", exc)
    if dev.type == "cuda" and elapsed() < deadline:
        try:
            fa = randn((n, n), dev, dt).to(torch.float8_e4m3fn)
            fb = randn((n, n), dev, dt).to(torch.float8_e4m3fn).t()  # column-major second operand
            one = torch.tensor(1.0, device=dev)
            t = bench(lambda: torch._scaled_mm(fa, fb, scale_a=one, scale_b=one, out_dtype=dt), dev)
            add_point("gemm_fp8_e4m3", {"m": n, "n": n, "k": n}, t, tflops=2 * n**3 / t["median_ms"] / 1e9)
            log(f"fp8 GEMM {n}^3: {2 * n**3 / t['median_ms'] / 1e9:.1f} TFLOP/s")
            del fa, fb
        except Exception as exc:  # noqa: BLE001
            error("gemm_fp8_e4m3", exc)
    a = b = None  # noqa: F841 - the GEMM operands go before the HBM section allocates
    if elapsed() < deadline:
        try:
            nread = 2**20 if tiny else 2**30  # fp32 elements: 4 GiB on the GPU
            x = randn((nread,), dev, torch.float32)
            t = bench(lambda: x.sum(), dev)
            add_point("hbm_read_sum", {"bytes": 4 * nread}, t, gb_s=4 * nread / t["median_ms"] / 1e6)
            log(f"read (sum) {4 * nread / 2**30:.1f} GiB: {4 * nread / t['median_ms'] / 1e6:.0f} GB/s")
            del x
            ncopy = nread // 2  # 2 GiB -> 2 GiB
            src = randn((ncopy,), dev, torch.float32)
            dst = torch.empty_like(src)
            t = bench(lambda: dst.copy_(src), dev)
            add_point("hbm_copy", {"bytes": 8 * ncopy}, t, gb_s=8 * ncopy / t["median_ms"] / 1e6)
            log(f"copy {4 * ncopy / 2**30:.1f} GiB: {8 * ncopy / t['median_ms'] / 1e6:.0f} GB/s (read+write)")
            del src, dst
        except Exception as exc:  # noqa: BLE001
            error("hbm", exc)
    if dev.type == "cuda":
        torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------- model
class Model:
    """Random-weight Llama-style decoder; weights as F.linear (out, in) matrices like nn.Linear."""

    def __init__(self, g: dict, dev: torch.device, dtype=torch.bfloat16, fp8: bool = False) -> None:
        self.g, self.dev, self.dtype, self.fp8 = g, dev, dtype, fp8
        h, d = g["hidden"], g["head_dim"]
        qkv_out = (g["heads"] + 2 * g["kv_heads"]) * d
        std = 0.02
        self.layers = []
        for _ in range(g["layers"]):
            lw = {
                "n1": 1 + 0.1 * randn((h,), dev, dtype),
                "n2": 1 + 0.1 * randn((h,), dev, dtype),
                "qkv": randn((qkv_out, h), dev, dtype, std),
                "o": randn((h, g["heads"] * d), dev, dtype, std),
                "gu": randn((2 * g["ffn"], h), dev, dtype, std),
                "down": randn((h, g["ffn"]), dev, dtype, std),
            }
            if fp8:
                for k in ("qkv", "o", "gu", "down"):
                    lw[k] = (lw[k] * 20).to(torch.float8_e4m3fn)  # (out, in) row-major; .t() is column-major
            self.layers.append(lw)
        self.norm = 1 + 0.1 * randn((h,), dev, dtype)
        self.lm = randn((g["vocab"], h), dev, dtype, std)
        self.one = torch.tensor(1.0 / 20, device=dev)
        self.one_a = torch.tensor(1.0, device=dev)
        self.rope_cache: dict = {}

    def linear(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if not self.fp8:
            return F.linear(x, w)
        shp = x.shape
        x2 = x.reshape(-1, shp[-1])
        m = x2.shape[0]
        pad = (-m) % 16  # _scaled_mm wants dimensions divisible by 16
        if pad:
            x2 = F.pad(x2, (0, 0, 0, pad))
        x8 = x2.to(torch.float8_e4m3fn)
        y = torch._scaled_mm(x8, w.t(), scale_a=self.one_a, scale_b=self.one, out_dtype=self.dtype)
        return y[:m].reshape(*shp[:-1], w.shape[0])

    def rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), w, 1e-5)

    def rope(self, pos0: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        key = (pos0, n)
        if key not in self.rope_cache:
            d = self.g["head_dim"]
            inv = 1.0 / (500000.0 ** (torch.arange(0, d, 2, device=self.dev, dtype=torch.float32) / d))
            ang = torch.outer(torch.arange(pos0, pos0 + n, device=self.dev, dtype=torch.float32), inv)
            emb = torch.cat([ang, ang], dim=-1)
            self.rope_cache[key] = (emb.cos().to(self.dtype), emb.sin().to(self.dtype))
        return self.rope_cache[key]

    @staticmethod
    def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def forward(self, x: torch.Tensor, attn, pos0: int, caches=None) -> torch.Tensor:
        """x: (B, S, hidden) embeddings. attn(q, k, v, layer_index) returns (B, H, S, D)."""
        cos, sin = self.rope(pos0, x.shape[1])
        return self.head(self.rms(self.blocks(x, attn, cos, sin)[:, -1:, :], self.norm))

    def blocks(self, x: torch.Tensor, attn, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """The decoder layers over x (B, S, hidden); cos/sin (S, head_dim) the RoPE tables of the S positions."""
        for i, lw in enumerate(self.layers):
            x = self.layer(x, lw, i, attn, cos, sin)
        return x

    def layer(self, x: torch.Tensor, lw: dict, i: int, attn, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Decoder layer ``i`` (weights ``lw``) over x (B, S, hidden): attention and SwiGLU MLP, pre-norm residuals."""
        g = self.g
        bsz, s, _ = x.shape
        hq, hk, d = g["heads"], g["kv_heads"], g["head_dim"]
        qkv = self.linear(self.rms(x, lw["n1"]), lw["qkv"])
        q, k, v = qkv.split([hq * d, hk * d, hk * d], dim=-1)
        q = self.apply_rope(q.view(bsz, s, hq, d).transpose(1, 2), cos, sin)
        k = self.apply_rope(k.view(bsz, s, hk, d).transpose(1, 2), cos, sin)
        v = v.view(bsz, s, hk, d).transpose(1, 2)
        a = attn(q, k, v, i)
        x = x + self.linear(a.transpose(1, 2).reshape(bsz, s, hq * d), lw["o"])
        gu = self.linear(self.rms(x, lw["n2"]), lw["gu"])
        gg, uu = gu.chunk(2, dim=-1)
        return x + self.linear(F.silu(gg) * uu, lw["down"])

    def head(self, last: torch.Tensor) -> torch.Tensor:
        """LM head on the last token (bf16 in every variant but h200_measure_b's int4 one)."""
        return F.linear(last, self.lm)


def pick_sdpa(dev: torch.device) -> tuple[str, object]:
    """First attention path that runs: flash with enable_gqa, then SDPA default with enable_gqa, then manual GQA."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = randn((2, 4, 16, 64), dev, torch.bfloat16)
    k = randn((2, 2, 16, 64), dev, torch.bfloat16)
    cands = []
    if dev.type == "cuda":
        cands.append(("flash+enable_gqa", [SDPBackend.FLASH_ATTENTION]))
        cands.append(("efficient+enable_gqa", [SDPBackend.EFFICIENT_ATTENTION]))
    cands.append(("default+enable_gqa", None))
    for name, backends in cands:
        try:
            if backends:
                with sdpa_kernel(backends):
                    F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
                    F.scaled_dot_product_attention(q[:, :, :1], k, k, enable_gqa=True)
            else:
                F.scaled_dot_product_attention(q, k, k, is_causal=True, enable_gqa=True)
            sync(dev)
            return name, backends
        except Exception as exc:  # noqa: BLE001
            RESULT["errors"].append({"where": f"sdpa probe {name}", "error": str(exc).splitlines()[0][:200]})
    return "manual", None


def sdpa_call(backends, q, k, v, causal: bool) -> torch.Tensor:
    from torch.nn.attention import sdpa_kernel

    if backends:
        with sdpa_kernel(backends):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)


def run_model(
    name: str,
    g: dict,
    dev: torch.device,
    tiny: bool,
    deadline: float,
    prefill_lens,
    prefill_b4: bool,
    batches,
    contexts,
    fp8: bool = False,
    model: Model | None = None,
    weights: str | None = None,
) -> None:
    weights = weights or ("fp8" if fp8 else "bf16")
    tag = name + ("" if weights == "bf16" else "/" + weights)
    log(f"model {tag}: building")
    try:
        m = model or Model(g, dev, fp8=fp8)
    except Exception as exc:  # noqa: BLE001
        error(f"{tag} build", exc)
        return
    sync(dev)
    log(f"model {tag}: built")
    attn_name, backends = RESULT["attention_path"], BACKENDS or None
    kv_per_token = 2 * g["layers"] * g["kv_heads"] * g["head_dim"] * 2  # bytes, bf16

    def prefill_attn(q, k, v, i):
        return sdpa_call(backends, q, k, v, True)

    with torch.inference_mode():
        # ---- prefill
        shapes = [(1, s) for s in prefill_lens] + ([(4, 2048 if not tiny else 64)] if prefill_b4 else [])
        for bsz, s in shapes:
            if elapsed() > deadline:
                RESULT["skipped"].append(f"{tag} prefill b{bsz} s{s}: time guard")
                continue
            try:
                x = randn((bsz, s, g["hidden"]), dev, torch.bfloat16)
                t = bench(lambda x=x: m.forward(x, prefill_attn, 0), dev, target_s=0.3, max_iters=50, min_iters=3)
                add_point(
                    "prefill", {"model": name, "weights": weights, "batch": bsz, "prompt": s}, t, attention=attn_name
                )
                log(f"{tag} prefill b{bsz} s{s}: {t['median_ms']:.3f} ms")
                del x
            except Exception as exc:  # noqa: BLE001
                error(f"{tag} prefill b{bsz} s{s}", exc)
        # ---- decode: one KV pool, views per point
        pts = [(b, L) for L in contexts for b in batches if b * L * kv_per_token <= KV_LIMIT_BYTES]
        for b, L in [(b, L) for L in contexts for b in batches if b * L * kv_per_token > KV_LIMIT_BYTES]:
            RESULT["skipped"].append(f"{tag} decode b{b} L{L}: KV {b * L * kv_per_token / 1e9:.1f} GB > 60 GB")
        if not pts:
            return
        max_tokens = max(b * L for b, L in pts)
        per_layer = max_tokens * g["kv_heads"] * g["head_dim"]
        try:
            pool = torch.empty(2 * g["layers"] * per_layer, device=dev, dtype=torch.bfloat16)
            chunk = 2**28
            for off in range(0, pool.numel(), chunk):
                seg = pool[off : off + chunk]
                fill_dtype = torch.float32 if dev.type == "cpu" else torch.bfloat16
                seg.copy_(torch.randn(seg.shape, device=dev, dtype=fill_dtype))
        except Exception as exc:  # noqa: BLE001
            error(f"{tag} kv pool {max_tokens} tokens", exc)
            return
        log(f"{tag} KV pool {pool.numel() * 2 / 1e9:.1f} GB filled")
        for b, L in pts:
            if elapsed() > deadline:
                RESULT["skipped"].append(f"{tag} decode b{b} L{L}: time guard")
                continue
            try:
                n = b * L * g["kv_heads"] * g["head_dim"]
                caches = []
                for i in range(g["layers"]):
                    kv_shape = (b, g["kv_heads"], L, g["head_dim"])
                    kc = pool[(2 * i) * per_layer : (2 * i) * per_layer + n].view(kv_shape)
                    vc = pool[(2 * i + 1) * per_layer : (2 * i + 1) * per_layer + n].view(kv_shape)
                    caches.append((kc, vc))

                def dec_attn(q, k, v, i, caches=caches, L=L):
                    kc, vc = caches[i]
                    kc[:, :, L - 1 : L].copy_(k)
                    vc[:, :, L - 1 : L].copy_(v)
                    return sdpa_call(backends, q, kc, vc, False)

                x = randn((b, 1, g["hidden"]), dev, torch.bfloat16)
                step = lambda x=x, dec_attn=dec_attn, L=L: m.forward(x, dec_attn, L - 1)  # noqa: E731
                shape = {"model": name, "weights": weights, "batch": b, "context": L}
                if dev.type == "cuda":
                    t = graph_bench(step, dev, target_s=0.2, max_iters=100)
                    add_point("decode_graph", shape, t, attention=attn_name, kv_bytes=b * L * kv_per_token)
                    log(f"{tag} decode graph b{b} L{L}: {t['median_ms']:.3f} ms")
                if b == 1:
                    t = bench(step, dev, target_s=0.2, max_iters=100)
                    extra = {}
                    if L == contexts[0]:
                        extra["kernels_per_step"] = count_kernels(step, dev)
                    add_point("decode_eager", shape, t, attention=attn_name, kv_bytes=b * L * kv_per_token, **extra)
                    log(f"{tag} decode eager b{b} L{L}: {t['median_ms']:.3f} ms {extra}")
                del caches, x
            except Exception as exc:  # noqa: BLE001
                error(f"{tag} decode b{b} L{L}", exc)
        del pool
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def graph_bench(fn, dev: torch.device, **kw) -> dict:
    """``fn`` captured in a CUDA graph and replayed (on a CPU: ``fn`` itself)."""
    if dev.type != "cuda":
        return bench(fn, dev, **kw)
    s_ = torch.cuda.Stream()
    s_.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s_):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s_)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    t = bench(graph.replay, dev, **kw)
    del graph
    return t


def begin(script: str, tiny: bool) -> torch.device:
    """The device a run measures on (the CPU with ``tiny``), seeded, and the run's header in :data:`RESULT`."""
    dev = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    torch.manual_seed(0)
    RESULT.update(
        script=script,
        date_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        device=torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        tiny=tiny,
        python=sys.version.split()[0],
        timing="median of per-iteration CUDA events after warm-up; p20/p80 spread",
    )
    return dev


def count_kernels(fn, dev: torch.device) -> int | None:
    if dev.type != "cuda":
        return None
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as p:
            fn()
            torch.cuda.synchronize()
        return sum(1 for e in p.events() if e.device_type.name == "CUDA")
    except Exception as exc:  # noqa: BLE001
        error("count_kernels", exc)
        return None


def print_tail() -> None:
    """The run's last lines: how many points failed or were skipped, the time taken, and each error."""
    print(f"errors: {len(RESULT['errors'])}; skipped: {len(RESULT['skipped'])}; elapsed {elapsed():.1f} s")
    for e in RESULT["errors"]:
        print("  ", e)


def main() -> int:
    global OUT_PATH
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write (rewritten after every point)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes (CPU check of the script)")
    ap.add_argument("--budget", type=float, default=220.0, help="seconds; a section starts no point past its share")
    ap.add_argument("--third", default="Qwen3_32B", choices=sorted(MODELS), help="third model, if time allows")
    args = ap.parse_args()
    OUT_PATH = args.out
    dev = begin("bench/device/h200_measure.py", args.tiny)
    try:
        import triton

        RESULT["triton"] = triton.__version__
    except ImportError:
        RESULT["triton"] = None
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(0)
        RESULT["sm_count"] = p.multi_processor_count
        RESULT["memory_bytes"] = p.total_memory
    nvsmi("before")
    name, backends = pick_sdpa(dev)
    RESULT["attention_path"] = name
    BACKENDS[:] = backends or []
    log(f"attention path: {name}")
    B = args.budget
    ceilings(dev, args.tiny, deadline=0.15 * B)
    if args.tiny:
        lens, lens3 = [16, 64], [32]
        batches, ctx = [1, 4], [32, 128]
        g1 = g2 = g3 = TINY
    else:
        lens, lens3 = [256, 1024, 2048, 4096, 8192], [1024, 4096]
        batches, ctx = [1, 8, 32, 64, 128, 256], [512, 2048, 8192]
        g1, g2, g3 = MODELS["Llama3_2_1B"], MODELS["Llama3_8B"], MODELS[args.third]
    run_model("Llama3_2_1B", g1, dev, args.tiny, 0.38 * B, lens, True, batches, ctx)
    run_model("Llama3_8B", g2, dev, args.tiny, 0.65 * B, lens, True, batches, ctx)
    if elapsed() < 0.70 * B and dev.type == "cuda" or args.tiny:
        fp8_ctx = [2048 if not args.tiny else 32]
        run_model("Llama3_8B", g2, dev, args.tiny, 0.75 * B, [], False, [1, 32, 128], fp8_ctx, fp8=dev.type == "cuda")
    if elapsed() < 0.78 * B:
        run_model(
            args.third if not args.tiny else "tiny3",
            g3,
            dev,
            args.tiny,
            0.93 * B,
            lens3,
            False,
            [1, 8, 32, 64],
            [2048, 8192] if not args.tiny else [64],
        )
    nvsmi("after")
    save()
    print("\nkind            model         w    batch  len     median_ms   p20     p80    extra")
    for r in RESULT["points"]:
        ln = r.get("prompt", r.get("context", r.get("k", r.get("bytes", ""))))
        ex = {k: r[k] for k in ("tflops", "gb_s", "kernels_per_step") if r.get(k) is not None}
        print(
            f"{r['kind']:15s} {r.get('model', ''):13s} {r.get('weights', ''):4s} {r.get('batch', ''):>5} {ln!s:>7}"
            f" {r['median_ms']:11.4f} {r['p20_ms']:7.3f} {r['p80_ms']:7.3f} {ex}"
        )
    print_tail()
    return 0


if __name__ == "__main__":
    sys.exit(main())
