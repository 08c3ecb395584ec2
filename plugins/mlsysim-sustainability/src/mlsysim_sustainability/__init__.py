"""mlsysim-sustainability: the SustainabilityModel solver plugin (energy, carbon, water of a fleet)."""

from .solver import DEFAULT_SERVICE_LIFE_YEARS, SustainabilityModel, SustainabilityResult

__all__ = ["SustainabilityModel", "SustainabilityResult", "DEFAULT_SERVICE_LIFE_YEARS"]
__version__ = "0.2.0"
