"""mlsysim-arithmetic-intensity: where one kernel sits on an accelerator's roofline."""

from .solver import ArithmeticIntensityModel, ArithmeticIntensityResult

__all__ = ["ArithmeticIntensityModel", "ArithmeticIntensityResult"]
