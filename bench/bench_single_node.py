"""Median microseconds per SingleNodeModel.solve() / Engine.solve().

Run from the repository root:  .venv/bin/python bench/bench_single_node.py
Upstream mlsysim 0.1.1: 768 us median for SingleNodeModel(Llama3_8B, H100, bs=32).
Budget of this rebuild: 15 us per solve().
"""

from __future__ import annotations

from _timing import bench

import mlsysim
from mlsysim import Engine, SingleNodeModel


def main() -> None:
    H, M = mlsysim.Hardware.Cloud, mlsysim.Models
    llama, resnet = M.Language.Llama3_8B, M.ResNet50
    s = SingleNodeModel()
    bench("upstream case: Llama3_8B, H100, bs=32", lambda: s.solve(llama, H.H100, batch_size=32))
    bench("Engine.solve: Llama3_8B, H100, bs=32", lambda: Engine.solve(llama, H.H100, batch_size=32))
    bench("guide: ResNet50, A100, bs=1", lambda: s.solve(model=resnet, hardware=H.A100, batch_size=1))
    bench(
        "decode step with context: Llama3_8B, H100, bs=64, S=4096",
        lambda: s.solve(llama, H.H100, batch_size=64, seq_len=4096),
    )
    bench("offload: Llama3_70B fp16, H100, bs=1", lambda: s.solve(M.Language.Llama3_70B, H.H100))
    bench(
        "training: Llama3_8B, H100, bs=4, S=2048, ZeRO-3 dp=64",
        lambda: s.solve(llama, H.H100, batch_size=4, is_training=True, seq_len=2048, zero_stage=3, dp_size=64),
    )
    bench("what users read: solve + latency.to('ms')", lambda: s.solve(llama, H.H100, batch_size=32).latency.to("ms"))


if __name__ == "__main__":
    main()
