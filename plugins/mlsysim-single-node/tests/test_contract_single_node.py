"""SingleNodeModel and Engine pass the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_hardware, extreme_models, ints, num, precisions

M, H = mlsysim.Models, mlsysim.Hardware.Cloud


class TestSingleNodeContract(SolverContract):
    solver = "SingleNodeModel"
    distribution = "mlsysim-single-node"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        return {
            "model": (catalog_values("models") + extreme_models(), True),
            "hardware": (catalog_values("hardware") + extreme_hardware(), True),
            "batch_size": (ints(1, 2**20), False),
            "precision": (precisions(), False),
            "efficiency": (num(1e-9, 1.0), False),
            "raise_errors": ([True, False], False),
            "is_training": ([True, False], False),
            "seq_len": (ints(1, 2**17), False),
            "memory_efficiency": (num(1e-9, 1.0), False),
            "zero_stage": (ints(0, 3), False),
            "dp_size": ([1, 2, 4, 8, 16, 64, 1024], False),
            "activation_recomputation": (["selective", "full", "none", True, False], False),
        }

    def examples(self):
        return [
            dict(model=M.Language.Llama3_8B, hardware=H.H100, batch_size=8),
            dict(model=M.Vision.ResNet50, hardware=H.A100, batch_size=32, is_training=True),
            dict(model=M.Language.Llama3_70B, hardware=H.T4, batch_size=1, precision="fp32"),
        ]

    def sweep_grid(self):
        return dict(
            model=[M.Language.Llama3_8B, M.Vision.ResNet50],
            hardware=[H.H100, H.T4],
            batch_size=[1, 64, 0],
            precision=["fp16", "fp8"],
            seq_len=[None, 4096],
        )


class TestEngineContract(TestSingleNodeContract):
    solver = "Engine"
    readme = None  # the README is run once, by TestSingleNodeContract

    def arguments(self):
        keep = ("model", "hardware", "batch_size", "precision", "efficiency", "raise_errors")
        return {k: v for k, v in super().arguments().items() if k in keep}

    def examples(self):
        return [dict(model=M.Vision.ResNet50, hardware=H.H100)]
