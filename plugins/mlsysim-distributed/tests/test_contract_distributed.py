"""DistributedModel passes the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_fleets, extreme_models, ints, num, precisions

M, C = mlsysim.Models.Language, mlsysim.Systems.Clusters


class TestDistributedContract(SolverContract):
    solver = "DistributedModel"
    distribution = "mlsysim-distributed"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        pow2 = [1, 2, 4, 8, 16, 64, 1024]
        return {
            "model": (catalog_values("models") + extreme_models(), True),
            "fleet": (catalog_values("clusters") + extreme_fleets(), True),
            "batch_size": (ints(1, 2**16), True),
            "tp_size": (pow2, False),
            "pp_size": (pow2, False),
            "ep_size": (pow2, False),
            "microbatch_count": (ints(1, 64), False),
            "precision": (precisions(), False),
            "seq_len": (ints(1, 2**17), False),
            "zero_stage": (ints(0, 3), False),
            "activation_recomputation": ([True, False, "none", "selective", "full"], False),
            "sequence_parallel": ([True, False], False),
            "overlap_comm": ([True, False], False),
            "overlap_efficiency": (num(0, 1), False),
            "v_stages": (ints(1, 4), False),
            "efficiency": (num(1e-9, 1.0), False),
            "tokens": (num(1, 1e15), False),
            "strict": ([True, False], False),
            "cp_size": (pow2, False),
            "cp_variant": (["ring", "all-gather"], False),
            "schedule": ([None, "gpipe", "1f1b", "interleaved", "zb-h1", "zb-v", "dualpipe"], False),
            "fp8": ([True, False], False),
            "tp_overlap": ([True, False], False),
        }

    def examples(self):
        return [
            dict(model=M.Llama3_70B, fleet=C.Frontier_8K, batch_size=1024, tp_size=8, pp_size=4),
            dict(model=M.Llama3_8B, fleet=C.Research_256, batch_size=256, tokens=1e9),
        ]

    def sweep_grid(self):
        return dict(
            model=M.Llama3_70B,
            fleet=[C.Research_256, C.Frontier_8K],
            batch_size=[256, 1024, 3],
            tp_size=[1, 8, 3],
            pp_size=[1, 4],
            microbatch_count=[1, 8],
            zero_stage=[0, 3],
            cp_size=[1, 2],
            schedule=["1f1b", "zb-v"],
        )
