"""Median microseconds per ServingModel.solve().

Run from the repository root:  .venv/bin/python bench/bench_serving.py
Upstream mlsysim 0.1.1: 509 us median for ServingModel(Llama3_70B, H100, seq=2048, bs=8).
Budget of this rebuild: 15 us per solve().
"""

from __future__ import annotations

from _timing import bench

import mlsysim
from mlsysim import ServingModel


def main() -> None:
    H, L = mlsysim.Hardware.Cloud, mlsysim.Models.Language
    s = ServingModel()
    bench(
        "upstream case: Llama3_70B, H100, seq=2048, bs=8",
        lambda: s.solve(L.Llama3_70B, H.H100, seq_len=2048, batch_size=8),
    )
    bench(
        "guide: Llama3_8B, H100, seq=2048, bs=1",
        lambda: s.solve(model=L.Llama3_8B, hardware=H.H100, seq_len=2048, batch_size=1),
    )
    bench(
        "TP: Llama3_70B fp8, H100 x2, seq=5000, bs=25, out=500",
        lambda: s.solve(L.Llama3_70B, H.H100, 5000, 25, precision="fp8", tp_size=2, output_len=500),
    )
    bench("MoE: Mixtral_8x7B, H100 x2, seq=1024, bs=16", lambda: s.solve(L.Mixtral_8x7B, H.H100, 1024, 16, tp_size=2))
    bench("what users read: solve + itl.to('ms')", lambda: s.solve(L.Llama3_70B, H.H100, 2048, 8).itl.to("ms"))


if __name__ == "__main__":
    main()
