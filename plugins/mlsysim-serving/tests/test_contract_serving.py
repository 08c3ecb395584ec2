"""ServingModel passes the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_hardware, extreme_models, ints, num, precisions

M, H = mlsysim.Models.Language, mlsysim.Hardware.Cloud


class TestServingContract(SolverContract):
    solver = "ServingModel"
    distribution = "mlsysim-serving"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        pow2 = [1, 2, 4, 8, 16, 64, 1024]
        return {
            "model": (catalog_values("models") + extreme_models(), True),
            "hardware": (catalog_values("hardware") + extreme_hardware(), True),
            "seq_len": (ints(1, 2**17), True),
            "batch_size": (ints(1, 2**12), False),
            "precision": (precisions(), False),
            "tp_size": (pow2, False),
            "kv_precision": (precisions(), False),
            "efficiency": (num(1e-9, 1.0), False),
            "output_len": (ints(1, 2**14), False),
            "memory_efficiency": (num(1e-9, 1.0), False),
            "network_efficiency": (num(1e-9, 1.0), False),
            "gpus_per_node": (pow2, False),
            "raise_errors": ([True, False], False),
        }

    def examples(self):
        return [
            dict(model=M.Llama3_8B, hardware=H.H100, seq_len=2048, batch_size=8),
            dict(model=M.Llama3_70B, hardware=H.H100, seq_len=8192, batch_size=4, tp_size=4, output_len=256),
        ]

    def sweep_grid(self):
        return dict(
            model=M.Llama3_70B,
            hardware=[H.H100, H.A100],
            seq_len=[1, 2048, 10**9],
            batch_size=[1, 8, 0],
            tp_size=[1, 3, 8],
            output_len=[None, 128],
        )
