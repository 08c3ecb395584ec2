"""Checkpoints from the model state and the storage (issue 18 item 5): hand-derived sizes and times."""

from __future__ import annotations

import attrs
import pytest
from mlsysim_reliability import ReliabilityModel
from mlsysim_reliability.checkpoint import checkpoint_bytes, from_training

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import (
    ComputeCore,
    Fleet,
    HardwareNode,
    IOInterconnect,
    MemoryHierarchy,
    NetworkFabric,
    Node,
    StorageTier,
    TransformerWorkload,
)

# These checkpoints are sized from a DistributedModel result: run where mlsysim-distributed is installed
# (the whole suite); the reliability plugin tested alone with the host skips them.
pytest.importorskip("mlsysim_distributed", reason="the checkpoint tests read a DistributedModel result")

H, L, V = 1024, 4, 1000
P = L * 12 * H * H + 2 * V * H  # 52,379,648 parameters
TINY = TransformerWorkload(
    name="TinyGPT", parameters=P, layers=L, hidden_dim=H, heads=16, ffn_dim=4 * H, vocab_size=V, max_seq_len=4096
)
GPU = HardwareNode(
    name="TestGPU",
    compute=ComputeCore(precision_flops={"bf16": "100 TFLOP/s"}, default_precision="bf16"),
    memory=MemoryHierarchy(capacity="80 GB", bandwidth="2 TB/s"),
    interconnect=IOInterconnect(name="PCIe", bandwidth="32 GB/s"),
)


def fleet(accel=GPU):
    node = Node(
        name="TestNode",
        accelerator=accel,
        accelerators_per_node=4,
        intra_node=NetworkFabric(name="link", bandwidth="100 GB/s", latency="1 us"),
        nics_per_node=4,
        components=(mlsysim.Component(part="gpu", count=4, mttf="50000 h"),),
    )
    return Fleet(name="TestFleet", node=node, count=2, fabric=NetworkFabric(name="net", bandwidth="80 Gbit/s"))


def train(zero, accel=GPU):
    """tp 2 x pp 2 x dp 2 on 8 GPUs, bf16: 2 B weights + 12 B optimizer (fp32 master + Adam) per parameter."""
    return mlsysim.DistributedModel().solve(
        TINY, fleet(accel), batch_size=2, tp_size=2, pp_size=2, seq_len=512, zero_stage=zero
    )


SHARE = P / 4  # parameters one tp x pp shard holds


@pytest.mark.parametrize(
    "zero, per_gpu, writers",
    [
        (0, 14 * SHARE, 4),  # one replica (tp x pp = 4 GPUs) writes weights + optimizer
        (1, 2 * SHARE + 12 * SHARE / 2, 8),  # every GPU its optimizer half, one replica the weights
        (3, 14 * SHARE / 2, 8),  # every GPU its shard of both
    ],
)
def test_checkpoint_bytes_per_zero_stage(zero, per_gpu, writers):
    ck = from_training(train(zero), StorageTier(name="fs", write_bandwidth="1 GB/s"))
    assert ck.total_bytes == pytest.approx(14 * P)  # the same state, however it is sharded
    assert ck.bytes_per_gpu == pytest.approx(per_gpu)
    assert ck.writing_gpus == writers
    assert ck.write_time == pytest.approx(14 * P / 1e9)


def test_checkpoint_bytes_kernel():
    assert checkpoint_bytes(2.0, 12.0, 0, 4, 8) == (56.0, 14.0, 4)
    assert checkpoint_bytes(2.0, 6.0, 1, 4, 8) == (4 * 2.0 + 8 * 6.0, 8.0, 8)
    assert checkpoint_bytes(1.0, 6.0, 3, 4, 8) == (56.0, 7.0, 8)


def test_node_bandwidth_bounds_the_write():
    """ZeRO-0: the 4 writers share one node: 4 x 14 P/4 B at 0.1 GB/s, slower than 14 P at 1 GB/s."""
    ck = from_training(train(0), StorageTier(name="fs", write_bandwidth="1 GB/s", node_write_bandwidth="0.1 GB/s"))
    assert ck.write_time == pytest.approx(14 * P / 0.1e9)
    local = from_training(train(3), StorageTier(name="nvme", kind="node-local", node_write_bandwidth="1 GB/s"))
    assert local.write_time == pytest.approx(4 * 7 * SHARE / 1e9)


def test_asynchronous_stalls_for_the_host_copy():
    ck = from_training(train(1), StorageTier(name="fs", write_bandwidth="1 GB/s"), asynchronous=True)
    assert ck.blocking_time == pytest.approx((2 * SHARE + 6 * SHARE) / 32e9)
    assert ck.write_time == pytest.approx(14 * P / 1e9)
    with pytest.raises(InvalidInputError) as ei:
        from_training(
            train(1, attrs.evolve(GPU, interconnect=None)),
            StorageTier(name="fs", write_bandwidth="1 GB/s"),
            asynchronous=True,
        )
    assert ei.value.argument == "asynchronous_checkpoint"


def test_reliability_derives_the_checkpoint_time():
    tier = StorageTier(name="fs", write_bandwidth="1 GB/s")
    r = ReliabilityModel().solve(fleet(), 24, training=train(1), storage=tier)
    assert r.checkpoint_time.m_as("s") == pytest.approx(14 * P / 1e9)
    assert r.checkpoint_bytes.m_as("B") == pytest.approx(14 * P) and r.checkpoint_storage == "fs"
    same = ReliabilityModel().solve(fleet(), 24, checkpoint_time_s=14 * P / 1e9)
    assert r.optimal_checkpoint_interval.m_as("s") == pytest.approx(same.optimal_checkpoint_interval.m_as("s"))
    assert same.checkpoint_bytes is None and same.checkpoint_storage == ""
    a = ReliabilityModel().solve(fleet(), 24, training=train(1), storage=tier, asynchronous_checkpoint=True)
    assert a.checkpoint_time < r.checkpoint_time and a.goodput > r.goodput


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(storage=StorageTier(name="fs", write_bandwidth="1 GB/s")), "training"),
        (dict(training="run"), "storage"),
        (
            dict(training=train(0), storage=StorageTier(name="fs", write_bandwidth="1 GB/s"), checkpoint_time_s=60),
            "checkpoint_time_s",
        ),
        (dict(training=train(0), storage="Lustre"), "storage"),
        (dict(training=3, storage=StorageTier(name="fs", write_bandwidth="1 GB/s")), "training"),
        (dict(asynchronous_checkpoint=True), "asynchronous_checkpoint"),
    ],
)
def test_errors(kwargs, argument):
    with pytest.raises(InvalidInputError) as ei:
        ReliabilityModel().solve(fleet(), 24, **kwargs)
    assert ei.value.argument == argument


def test_storage_tier_validation_and_catalog():
    with pytest.raises(InvalidInputError):
        StorageTier(name="none")
    with pytest.raises(InvalidInputError):
        StorageTier(name="nvme", kind="node-local", write_bandwidth="1 GB/s")
    t = mlsysim.Systems.Storage.Tectonic_Llama3
    assert t.write_bandwidth.m_as("TB/s") == pytest.approx(2.0) and "Llama 3" in t.source


def test_sweep_with_storage():
    tier = StorageTier(name="fs", write_bandwidth="1 GB/s")
    s = ReliabilityModel.sweep(fleet=fleet(), job_duration_hours=[24, 48], training=train(1), storage=tier)
    assert list(s.si("checkpoint_time")) == pytest.approx([14 * P / 1e9] * 2)
    assert list(s.si("checkpoint_bytes")) == pytest.approx([14 * P] * 2)


def test_job_hours_come_from_the_training_result():
    """job_duration_hours=None: the job is the run's time_to_train (tokens / tokens per step x step time)."""
    run = mlsysim.DistributedModel().solve(TINY, fleet(), batch_size=2, tp_size=2, pp_size=2, seq_len=512, tokens=1e9)
    hours = (1e9 / (2 * 512)) * run.step_time.m_as("h")
    r = ReliabilityModel().solve(fleet(), training=run)
    assert r.job_duration.m_as("h") == pytest.approx(hours, rel=1e-12)
    assert r.goodput == pytest.approx(ReliabilityModel().solve(fleet(), hours).goodput, rel=1e-12)
    tier = StorageTier(name="fs", write_bandwidth="1 GB/s")
    both = ReliabilityModel().solve(fleet(), training=run, storage=tier)
    assert both.job_duration == r.job_duration and both.checkpoint_storage == "fs"
    with pytest.raises(InvalidInputError) as ei:
        ReliabilityModel().solve(fleet())
    assert ei.value.argument == "job_duration_hours"
    with pytest.raises(InvalidInputError) as ei:
        ReliabilityModel().solve(fleet(), training=train(0))  # solved without tokens: no time_to_train
    assert ei.value.argument == "training"


def test_a_run_on_another_fleet_is_refused():
    """A run on 2 nodes assessed on a 4-node fleet got the failure rate of 4 nodes for its time to train (no
    note); now an error naming training, the fleet it ran on and what to give. The same nodes are assessed."""
    run = mlsysim.DistributedModel().solve(TINY, fleet(), batch_size=2, tp_size=2, pp_size=2, seq_len=512, tokens=1e9)
    with pytest.raises(InvalidInputError, match=r"training='a run on TestFleet' .*fleet's 4 nodes .*ran on 2 nodes"):
        ReliabilityModel().solve(attrs.evolve(fleet(), count=4), training=run)
    s = ReliabilityModel.sweep(fleet=attrs.evolve(fleet(), count=4), job_duration_hours=[1, 2], training=run)
    assert not s.valid.any() and all("training='a run on TestFleet'" in e for e in s.error)
    assert ReliabilityModel().solve(fleet(), training=run).nodes == 2
