"""mlsysim-economics: the EconomicsModel solver plugin (total cost of ownership of a fleet)."""

from .solver import DEFAULT_AMORTIZATION_YEARS, DEFAULT_MAINTENANCE_RATE, EconomicsModel, EconomicsResult

__all__ = ["EconomicsModel", "EconomicsResult", "DEFAULT_AMORTIZATION_YEARS", "DEFAULT_MAINTENANCE_RATE"]
__version__ = "0.2.0"
