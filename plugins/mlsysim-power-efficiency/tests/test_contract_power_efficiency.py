"""PowerEfficiencyModel, a third-party solver, passes the same contract as the built-ins."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_hardware, precisions

H = mlsysim.Hardware.Cloud


class TestPowerEfficiencyContract(SolverContract):
    solver = "PowerEfficiencyModel"
    distribution = "mlsysim-power-efficiency"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        return {"hardware": (catalog_values("hardware") + extreme_hardware(), True), "precision": (precisions(), False)}

    def examples(self):
        return [dict(hardware=H.H100), dict(hardware=H.A100, precision="fp16")]

    def sweep_grid(self):
        return dict(hardware=[H.H100, H.A100, H.T4], precision=[None, "fp8", "int4"])
