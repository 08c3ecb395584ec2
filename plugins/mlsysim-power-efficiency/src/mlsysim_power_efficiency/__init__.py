"""mlsysim-power-efficiency: dense peak FLOP/s per kW of TDP (a third-party style solver plugin)."""

from .solver import PowerEfficiencyModel, PowerEfficiencyResult

__all__ = ["PowerEfficiencyModel", "PowerEfficiencyResult"]
