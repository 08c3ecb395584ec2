"""Checkpoint size and write time from a training result and a storage tier (pure functions).

Sizes come from the model state a :class:`mlsysim_distributed.DistributedResult` holds per GPU: a
checkpoint keeps the weights and the optimizer state (fp32 master copy and Adam moments), not the
gradients. Who writes follows the ZeRO stage (Rajbhandari et al., "ZeRO", SC 2020; Megatron-LM's
distributed checkpoint, PyTorch DCP): with ZeRO-0 every data-parallel replica holds the same state and
one replica (tp x pp GPUs) writes it; ZeRO-1/2 shard the optimizer state over the dp x cp replicas, so
every GPU writes its optimizer shard and one replica the weights; ZeRO-3 shards everything and every
GPU writes its shard. The total is the same: P x (weight + optimizer bytes per parameter).
"""

from __future__ import annotations

from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import StorageTier


@attrs.frozen(kw_only=True)
class Checkpoint:
    """One checkpoint of a training job: bytes, writers and time (SI floats: B, s)."""

    total_bytes: float
    bytes_per_gpu: float  # on the GPUs that write the most
    writing_gpus: int
    write_time: float  # to the storage tier
    blocking_time: float  # training stalls this long (write_time, or the copy to host when asynchronous)
    asynchronous: bool
    storage: str


def checkpoint_bytes(
    weights_per_gpu: float, optimizer_per_gpu: float, zero_stage: int, replica_gpus: int, gpus: int
) -> tuple[float, float, int]:
    """(total bytes, bytes on the busiest writer, GPUs writing) of one checkpoint.

    w, o: weights and optimizer state one GPU holds; r = tp x pp GPUs of one replica, N GPUs in all.
    ZeRO-0: r GPUs write w + o each, total r (w + o). ZeRO-1/2: every GPU writes o, one replica also w,
    total r w + N o. ZeRO-3: every GPU writes w + o, total N (w + o).
    """
    w, o = weights_per_gpu, optimizer_per_gpu
    if zero_stage >= 3:
        return gpus * (w + o), w + o, gpus
    if zero_stage >= 1:
        return replica_gpus * w + gpus * o, w + o, gpus
    return replica_gpus * (w + o), w + o, replica_gpus


def write_time(
    total_bytes: float, per_gpu_bytes: float, gpus: int, gpus_per_node: int, aggregate_bw: Any, node_bw: Any
) -> float:
    """Seconds to write a checkpoint: the slower of the shared system, total / aggregate bandwidth, and
    the busiest node, g x per-GPU bytes / node bandwidth (each where the tier states it)."""
    t = 0.0
    if aggregate_bw is not None:
        t = total_bytes / aggregate_bw
    if node_bw is not None:
        per_node = per_gpu_bytes * min(gpus, gpus_per_node)
        t = max(t, per_node / node_bw)
    return t


def from_training(training: Any, storage: Any, asynchronous: bool = False) -> Checkpoint:
    """The checkpoint of ``training`` (a DistributedResult) written to ``storage`` (a StorageTier).

    Asynchronous checkpointing (PyTorch DCP async_save, Megatron async save) stalls training only for
    the copy of each GPU's shard to host memory, per-GPU bytes / host-link bandwidth; the write then
    runs in the background and must finish within the checkpoint interval.
    """
    if not isinstance(storage, StorageTier):
        raise InvalidInputError("storage", storage, "a StorageTier (e.g. mlsysim.Systems.Storage.Tectonic_Llama3)")
    need = ("weights_memory", "optimizer_memory", "zero_stage", "parallelism", "total_accelerators", "fleet")
    missing = [n for n in need if not hasattr(training, n)]
    if missing:
        raise InvalidInputError(
            "training", type(training).__name__, f"a DistributedModel result (it lacks {', '.join(missing)})"
        )
    if asynchronous is not True and asynchronous is not False:
        raise InvalidInputError("asynchronous_checkpoint", asynchronous, "True or False")
    par = training.parallelism
    replica = par["tp"] * par["pp"]
    n = int(training.total_accelerators)
    w = float(training.weights_memory.m_as("B")) / (2.0 if training.schedule == "dualpipe" else 1.0)
    o = float(training.optimizer_memory.m_as("B"))
    total, per_gpu, writers = checkpoint_bytes(w, o, training.zero_stage, replica, n)
    node = training.fleet.node
    t_write = write_time(
        total, per_gpu, writers, node.accelerators_per_node, storage.si.write_bandwidth, storage.si.node_write_bandwidth
    )
    blocking = t_write
    if asynchronous:
        link = node.accelerator.interconnect
        if link is None:
            raise InvalidInputError(
                "asynchronous_checkpoint",
                True,
                f"False: {node.accelerator.name} has no host "
                "link (host_link) in the catalog to copy its shard to host memory",
            )
        blocking = per_gpu / link.si.bandwidth
    return Checkpoint(
        total_bytes=total,
        bytes_per_gpu=per_gpu,
        writing_gpus=writers,
        write_time=t_write,
        blocking_time=blocking,
        asynchronous=asynchronous,
        storage=storage.name,
    )


__all__ = ["Checkpoint", "checkpoint_bytes", "from_training", "write_time"]
