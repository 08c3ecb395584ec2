"""The test part of this plugin's tests: a 700 W accelerator of 1,000 TFLOP/s bf16, 80 GB at 3 TB/s, priced."""

from __future__ import annotations

from mlsysim_core.types import ComputeCore, HardwareNode, MemoryHierarchy


def gpu(name: str = "TestGPU", unit_cost: str = "30000 USD") -> HardwareNode:
    return HardwareNode(
        name=name,
        compute=ComputeCore(precision_flops={"bf16": "1000 TFLOP/s"}, default_precision="bf16"),
        memory=MemoryHierarchy(capacity="80 GB", bandwidth="3 TB/s"),
        tdp="700 W",
        unit_cost=unit_cost,
    )
