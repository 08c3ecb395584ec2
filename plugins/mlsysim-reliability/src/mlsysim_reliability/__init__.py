"""mlsysim-reliability: the ReliabilityModel solver plugin (MTBF, checkpoint interval, goodput)."""

from .solver import (
    DEFAULT_CHECKPOINT_S,
    DEFAULT_RESTART_S,
    ReliabilityModel,
    ReliabilityResult,
    daly_interval,
    goodput,
    young_interval,
)

__all__ = ["ReliabilityModel", "ReliabilityResult", "young_interval", "daly_interval", "goodput",
           "DEFAULT_CHECKPOINT_S", "DEFAULT_RESTART_S"]
__version__ = "0.2.0"
