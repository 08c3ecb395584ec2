"""``mlsysim train ... --gpus N`` (mlsysim_fleet.scale.with_gpus) and the catalog's one-node clusters: a training
step on one GPU, or a few, of a server, without a cluster built by hand."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

import mlsysim
from mlsysim_cli import main
from mlsysim_core.errors import InvalidInputError
from mlsysim_fleet.scale import with_gpus


def test_one_gpu_of_a_dgx_is_a_node_of_one_accelerator_with_its_share():
    """One of a DGX H200's 8 GPUs: 1 accelerator, 1 of 8 NICs and of the GPU and NIC failure parts, 1/8 of the
    10.2 kW and of the host cost; the host part and the NVSwitch link are the server's."""
    dgx = mlsysim.Systems.Clusters.One_DGX_H200
    one = with_gpus(dgx, 1)
    node = one.node
    assert (one.count, node.accelerators_per_node, node.nics_per_node, one.total_accelerators) == (1, 1, 1, 1)
    assert node.power_max.to("W").magnitude == pytest.approx(10_200 / 8)
    assert node.host_cost.to("USD").magnitude == pytest.approx(173_161.73 / 8)
    assert {c.part: c.count for c in node.components} == {"gpu": 1, "nic": 1, "host": 1}
    assert node.intra_node is dgx.node.intra_node and node.accelerator is dgx.node.accelerator


def test_whole_nodes_and_bad_counts():
    research = mlsysim.Systems.Clusters.Research_256  # 32 DGX H100 on 100GbE
    assert with_gpus(research, 16).count == 2 and with_gpus(research, 16).total_accelerators == 16
    assert with_gpus(research, 4).total_accelerators == 4
    for bad, words in ((12, "1 to 8"), (0, "gpus"), (2.5, "gpus")):
        with pytest.raises(InvalidInputError) as ei:
            with_gpus(research, bad)
        assert ei.value.argument == "gpus" and words in str(ei.value)
    with pytest.raises(InvalidInputError, match="no fabric between nodes"):
        with_gpus(mlsysim.Systems.Clusters.One_DGX_H200, 16)


def test_train_on_one_h200_from_the_command_line_is_group_t_call():
    """The CLI's one-GPU step is the solve group T maps (Llama3_2_1B, 8 x 2,048 tokens, bf16: 243.1 ms)."""
    args = ["train", "Llama3_2_1B", "One_DGX_H200", "--gpus", "1", "--batch-size", "8", "--seq-len", "2048"]
    out = CliRunner().invoke(main, [*args, "--precision", "bf16", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)["result"]
    assert result["total_accelerators"] == 1
    assert result["step_time"]["value"] == pytest.approx(243.1, rel=1e-3)
    # 3 of 8 GPUs: a node of 3, data-parallel 3, whose batch must be a multiple of 3 (one line, exit 1)
    bad = CliRunner().invoke(main, ["train", "Llama3_2_1B", "One_DGX_H200", "--gpus", "3", "--batch-size", "8"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --batch-size") and bad.output.count("\n") == 1
    bad = CliRunner().invoke(main, ["train", "Llama3_2_1B", "One_DGX_H200", "--gpus", "12", "--batch-size", "8"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --gpus: gpus=12 is invalid: expected 1 to 8")


def test_train_refuses_micro_batches_that_do_not_divide_a_rank_batch():
    """256 sequences over dp 8 (tp 8 x pp 4 of 256 GPUs): 32 a rank; 3 or 64 micro-batches is an error naming
    --microbatches and the divisors of 32 (Megatron-LM refuses too); Python still warns and prices it."""
    base = ["train", "Llama3_70B", "Research_256", "--tp", "8", "--pp", "4", "--batch-size", "256"]
    for m in ("3", "64"):
        out = CliRunner().invoke(main, [*base, "--microbatches", m])
        assert out.exit_code == 1, out.output
        assert out.output == (
            f"Error: --microbatches: {m} micro-batches do not divide the 32 sequences of each data-parallel rank "
            "(batch_size / dp): a divisor of 32 (1, 2, 4, 8, 16, 32)\n"
        )
    assert CliRunner().invoke(main, [*base, "--microbatches", "8"]).exit_code == 0
    category = sys.modules[mlsysim.DistributedModel.__module__].MicrobatchWarning
    with pytest.warns(category, match="priced as fractional micro-batches"):
        r = mlsysim.DistributedModel().solve(
            "Llama3_70B", "Research_256", batch_size=256, tp_size=8, pp_size=4, microbatch_count=3
        )
    assert r.micro_batch_size == pytest.approx(32 / 3)


def test_gpus_and_nodes_together_is_an_error_in_the_command_and_its_sweep():
    """--gpus sets the cluster's size as --nodes does: both given was --gpus winning silently; now one line, exit 1,
    naming both (the table, and the sweep, whose axes would have multiplied points answering the same size)."""
    base = ["Llama3_2_1B", "Research_256", "--batch-size", "8", "--gpus", "8", "--nodes", "2"]
    out = CliRunner().invoke(main, ["train", *base])
    assert (out.exit_code, out.output) == (1, "Error: --gpus: replaces what --nodes sets: give one of them\n")
    out = CliRunner().invoke(main, ["sweep", "train", "--model", base[0], "--cluster", base[1], *base[2:]])
    assert (out.exit_code, out.output) == (1, "Error: --gpus: replaces what --nodes sets: give one of them\n")
    assert CliRunner().invoke(main, ["train", *base[:-2]]).exit_code == 0
