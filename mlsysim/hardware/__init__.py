"""Hardware types (``from mlsysim.hardware.types import HardwareNode``)."""
