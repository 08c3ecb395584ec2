"""Test-only catalog values built from the types (hand-derived numbers must not move when the default
catalog is revised). Numbers: vendor datasheets / HF configs, as in the default catalog."""

from __future__ import annotations

from mlsysim_core.types import (
    CNNWorkload,
    ComputeCore,
    HardwareNode,
    IOInterconnect,
    MemoryHierarchy,
    TransformerWorkload,
    Workload,
)

# Repeated in mlsysim-serving (fixtures_serving.py) on purpose: plugins are independent distributions, tested alone.
H100 = HardwareNode(
    name="H100 (test)",
    compute=ComputeCore(
        precision_flops={"bf16": "989.5 TFLOP/s", "fp16": "989.5 TFLOP/s", "fp8": "1979 TFLOP/s"},
        default_precision="bf16",
    ),
    memory=MemoryHierarchy(capacity="80 GB", bandwidth="3.35 TB/s"),
    interconnect=IOInterconnect(name="PCIe Gen5", bandwidth="64 GB/s"),
    scale_up=IOInterconnect(name="NVLink 4", bandwidth="450 GB/s", latency="0.5 us"),
    tdp="700 W",
    dispatch_tax="10 us",
)
NO_LINK = HardwareNode(
    name="island (test)",
    compute=ComputeCore(precision_flops={"fp16": "100 TFLOP/s"}, default_precision="fp16"),
    memory=MemoryHierarchy(capacity="16 GB", bandwidth="1 TB/s"),
    dispatch_tax="0 s",
)
LLAMA8 = TransformerWorkload(
    name="Llama-3.1-8B (test)",
    parameters=8030261248,
    layers=32,
    hidden_dim=4096,
    heads=32,
    kv_heads=8,
    head_dim=128,
    ffn_dim=14336,
    mlp="swiglu",
    vocab_size=128256,
    max_seq_len=131072,
)
LLAMA70 = TransformerWorkload(
    name="Llama-3.1-70B (test)",
    parameters=70553706496,
    layers=80,
    hidden_dim=8192,
    heads=64,
    kv_heads=8,
    head_dim=128,
    ffn_dim=28672,
    mlp="swiglu",
    vocab_size=128256,
    max_seq_len=131072,
)
MIXTRAL = TransformerWorkload(
    name="Mixtral-8x7B (test)",
    parameters=46702792704,
    active_parameters=12879921152,
    experts=8,
    active_experts=2,
    layers=32,
    hidden_dim=4096,
    heads=32,
    kv_heads=8,
    head_dim=128,
    ffn_dim=14336,
    mlp="swiglu",
    vocab_size=32000,
    max_seq_len=32768,
)
RESNET = CNNWorkload(
    name="ResNet-50 (test)",
    parameters=25557032,
    flops_per_sample="8.178 GFLOP",
    activations_per_sample=11114984,
    layers=50,
)
NO_FLOPS = Workload(name="bag of parameters", parameters=1000)
BERT_LARGE = TransformerWorkload(
    name="BERT-Large (test)",
    stack="encoder",
    parameters=335141888,
    layers=24,
    hidden_dim=1024,
    heads=16,
    kv_heads=16,
    head_dim=64,
    ffn_dim=4096,
    mlp="gelu",
    vocab_size=30522,
    max_seq_len=512,
    tied_embeddings=True,
)
