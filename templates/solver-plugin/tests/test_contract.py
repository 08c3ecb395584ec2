"""The template's solver passes the contract every mlsysim solver passes (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_hardware, precisions, qnum

H = mlsysim.Hardware.Cloud


class TestArithmeticIntensityContract(SolverContract):
    solver = "ArithmeticIntensityModel"
    distribution = "mlsysim-arithmetic-intensity"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        return {
            "hardware": (catalog_values("hardware") + extreme_hardware(), True),
            "flops": (qnum(1, 1e18, "FLOP"), True),
            "bytes_moved": (qnum(1, 1e15, "B"), True),
            "precision": (precisions(), False),
        }

    def examples(self):
        return [dict(hardware=H.H100, flops=qnum(1e9, 1e9, "FLOP")[0], bytes_moved=qnum(1e8, 1e8, "B")[0])]

    def sweep_grid(self):
        flops, moved = qnum(1e9, 1e12, "FLOP", n=2), qnum(1e6, 1e9, "B", n=1)
        return dict(hardware=[H.H100, H.A100], flops=flops, bytes_moved=moved[0], precision=[None, "fp8", "int4"])
