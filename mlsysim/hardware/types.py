"""Hardware value types, re-exported from the host."""

from mlsysim_core.types import ComputeCore, HardwareNode, IOInterconnect, MemoryHierarchy

__all__ = ["ComputeCore", "HardwareNode", "IOInterconnect", "MemoryHierarchy"]
