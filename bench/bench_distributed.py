"""Median microseconds per DistributedModel.solve() (the guide's Frontier_8K case and upstream's bench case).

Run from the repository root:  .venv/bin/python bench/bench_distributed.py
Upstream mlsysim 0.1.1: 1,723 us median for DistributedModel(Llama3_70B, Frontier_8K, tp8 pp8 m16, B=4096).
"""

from __future__ import annotations

import warnings

from _timing import bench

import mlsysim
from mlsysim import DistributedModel

CASES = {
    "upstream bench: Llama3_70B, Frontier_8K, tp8 pp8 m16, B=4096": dict(
        batch_size=4096, tp_size=8, pp_size=8, microbatch_count=16
    ),
    "guide: Llama3_70B, Frontier_8K, tp8 pp4 m16, B=2048 (warns)": dict(
        batch_size=2048, tp_size=8, pp_size=4, microbatch_count=16
    ),
    "ZeRO-3 + overlap + tokens: tp8 pp4 m8, B=2048": dict(
        batch_size=2048, tp_size=8, pp_size=4, microbatch_count=8, zero_stage=3, overlap_comm=True, tokens=15e12
    ),
    "all options: cp4 ring, zb-v, fp8, TP + ZeRO-1 overlap: tp8 pp4 m8, B=512, S=32k": dict(
        batch_size=512,
        tp_size=8,
        pp_size=4,
        cp_size=4,
        microbatch_count=8,
        schedule="zb-v",
        fp8=True,
        tp_overlap=True,
        zero_stage=1,
        overlap_comm=True,
        seq_len=32768,
        tokens=15e12,
    ),
}


def main(n: int = 5000, warmup: int = 200) -> None:
    model = mlsysim.Models.Language.Llama3_70B
    fleet = mlsysim.Systems.Clusters.Frontier_8K
    solve = DistributedModel().solve
    for label, kw in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bench(label, lambda kw=kw: solve(model, fleet, **kw), n, warmup, width=64)


if __name__ == "__main__":
    main()
