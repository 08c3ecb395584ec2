"""Second H200 run: CUDA-graph prefill of short prompts and weight-only int4 (w4a16) decode.

Run on the device machine after ``h200_measure.py`` (same directory; it imports that script's model):

    PYTHONUNBUFFERED=1 python3 bench/device/h200_measure_b.py --out "$OUT/h200b.json"

and on a CPU with tiny shapes to check it first (CPU int4 ops ``*_for_cpu``):

    python bench/device/h200_measure_b.py --tiny --out /tmp/h200b_tiny.json

What it times (median of per-iteration CUDA events after warm-up, p20/p80 kept, as ``h200_measure.py``):
  1. prefill of one prompt of 256, 1024 and 2048 tokens, captured in a CUDA graph (static shapes) and replayed:
     the first run's eager prefills of short prompts were bound by Python's kernel launches (kind
     ``prefill_graph``; LM head on the last token only, as there);
  2. weight-only int4 decode (w4a16) of Llama3_8B: every linear layer, the LM head included, as PyTorch's
     tinygemm int4 kernel (``aten._convert_weight_to_int4pack`` + ``aten._weight_int4pack_mm``, group size 128,
     bf16 scales and zeros, inner k-tiles 8, as gpt-fast's int4 path), bf16 activations and KV cache; one decode
     step against a KV cache of 2048 tokens at batch 1, 8 and 32 in a CUDA graph (kind ``decode_graph``,
     weights ``int4``). A kernel that does not run is recorded in ``errors``.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h200_measure as H  # noqa: E402 - the first run's model, timing and JSON writer

GROUP = 128  # int4 quantization group (input channels per scale/zero pair)
INNER_K_TILES = 8


class Int4Model(H.Model):
    """``h200_measure.Model`` with every linear layer (LM head included) as packed int4 weights."""

    def __init__(self, g: dict, dev: torch.device) -> None:
        super().__init__(g, dev)
        self.cpu = dev.type == "cpu"
        for lw in self.layers:
            for k in ("qkv", "o", "gu", "down"):
                lw[k] = self.pack(lw[k])
        self.lm = self.pack(self.lm)

    def pack(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Random 4-bit codes with ``w``'s shape (out, in), packed for the int4 kernel, and scales/zeros."""
        n, k = w.shape
        codes = torch.randint(0, 16, (n, k), dtype=torch.int32, device=w.device)
        if self.cpu:
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, INNER_K_TILES)
        else:
            u8 = (codes[:, ::2] << 4 | codes[:, 1::2]).to(torch.uint8)  # PyTorch >= 2.5: (n, k/2) uint8
            packed = torch.ops.aten._convert_weight_to_int4pack(u8, INNER_K_TILES)
        sz = torch.empty((k // GROUP, n, 2), device=w.device, dtype=torch.bfloat16)
        sz[..., 0] = 0.02 / 8  # scale
        sz[..., 1] = 0.0  # zero
        return packed, sz, n

    def linear(self, x: torch.Tensor, w) -> torch.Tensor:  # type: ignore[override]
        packed, sz, n = w
        shp = x.shape
        x2 = x.reshape(-1, shp[-1])
        mm = torch.ops.aten._weight_int4pack_mm_for_cpu if self.cpu else torch.ops.aten._weight_int4pack_mm
        return mm(x2, packed, GROUP, sz).reshape(*shp[:-1], n)

    def head(self, last: torch.Tensor) -> torch.Tensor:
        return self.linear(last, self.lm)


def prefill_graphs(name: str, g: dict, dev: torch.device, lens, deadline: float) -> None:
    try:
        m = H.Model(g, dev)
    except Exception as exc:  # noqa: BLE001
        H.error(f"{name} build", exc)
        return
    backends = H.BACKENDS or None
    with torch.inference_mode():
        for s in lens:
            if H.elapsed() > deadline:
                H.RESULT["skipped"].append(f"{name} prefill_graph b1 s{s}: time guard")
                continue
            try:
                x = H.randn((1, s, g["hidden"]), dev, torch.bfloat16)
                fn = lambda x=x, m=m: m.forward(x, lambda q, k, v, i: H.sdpa_call(backends, q, k, v, True), 0)  # noqa: E731
                t = H.graph_bench(fn, dev, target_s=0.3, max_iters=100)
                shape = {"model": name, "weights": "bf16", "batch": 1, "prompt": s}
                H.add_point("prefill_graph", shape, t, attention=H.RESULT["attention_path"])
                H.log(f"{name} prefill graph b1 s{s}: {t['median_ms']:.3f} ms")
                del x
            except Exception as exc:  # noqa: BLE001
                H.error(f"{name} prefill_graph s{s}", exc)
    del m
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def int4_decode(name: str, g: dict, dev: torch.device, batches, context: int, deadline: float) -> None:
    H.log(f"{name}/int4: building")
    try:
        m = Int4Model(g, dev)
        H.sync(dev)
    except Exception as exc:  # noqa: BLE001 - the int4 kernel may not run on this GPU / build
        H.error(f"{name} int4 build", exc)
        return
    H.run_model(name, g, dev, dev.type == "cpu", deadline, [], False, batches, [context], model=m, weights="int4")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write (rewritten after every point)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes (CPU check of the script)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds; a section starts no point past its share")
    args = ap.parse_args()
    H.OUT_PATH = args.out
    dev = H.begin("bench/device/h200_measure_b.py", args.tiny)
    H.nvsmi("before")
    name, backends = H.pick_sdpa(dev)
    H.RESULT["attention_path"] = name
    H.BACKENDS[:] = backends or []
    B = args.budget
    H.ceilings(dev, args.tiny, deadline=0.1 * B)  # the same run's ceilings, for the records' notes
    tiny = H.TINY
    lens = [16, 64] if args.tiny else [256, 1024, 2048]
    for model in ("Llama3_2_1B", "Llama3_8B"):
        prefill_graphs(model, tiny if args.tiny else H.MODELS[model], dev, lens, 0.5 * B)
    g8 = tiny if args.tiny else H.MODELS["Llama3_8B"]
    int4_decode("Llama3_8B", g8, dev, [1, 8, 32] if not args.tiny else [1, 4], 2048 if not args.tiny else 32, 0.9 * B)
    H.nvsmi("after")
    H.save()
    for r in H.RESULT["points"]:
        ln = r.get("prompt", r.get("context", r.get("bytes", "")))
        print(
            f"{r['kind']:15s} {r.get('model', ''):13s} {r.get('weights', ''):4s} {r.get('batch', ''):>5} {ln!s:>7}"
            f" {r['median_ms']:11.4f} {r['p20_ms']:7.3f} {r['p80_ms']:7.3f}"
        )
    H.print_tail()
    return 0


if __name__ == "__main__":
    sys.exit(main())
