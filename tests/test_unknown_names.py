"""A misspelt keyword, solver or command names the closest valid ones (difflib), as catalog names do: the sweep,
``checked()``, ``banded()``, ``mlsysim.<name>`` and the CLI's commands. A direct ``Solver.solve()`` call keeps
Python's own TypeError (it names the keyword): an extra frame to explain it costs ~3.7 k instructions a call,
over issue 15's budget for the plain serving solve (docs/sweeps.md, "Unknown keywords")."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import mlsysim
from mlsysim_core.errors import InvalidInputError, UnknownArgumentError, UnknownEntryError, did_you_mean
from mlsysim_core.solver import checked
from mlsysim_uncertainty import banded

CASE = dict(model="Llama3_8B", hardware="H100", seq_len=128)


def test_did_you_mean_lists_close_matches_ignoring_case():
    hint = did_you_mean("arival_rate", ["arrival_rate", "arrival_cv", "seq_len"])
    assert hint == "; did you mean arrival_rate, arrival_cv?"
    assert did_you_mean("xyz", ["arrival_rate"]) == ""
    assert did_you_mean("h100", ["V100", "H100", "H200"]) == "; did you mean H100, V100, H200?"  # the same name first
    assert did_you_mean("nvlnk", ["NVLink", "PCIe"]) == "; did you mean NVLink?"  # case-sensitive: no match
    with pytest.raises(UnknownEntryError, match="no hardware.Cloud named 'h100'; did you mean H100, "):
        mlsysim.Hardware.Cloud.h100  # noqa: B018
    with pytest.raises(InvalidInputError, match="; did you mean InfiniBand_NDR"):  # the serving fabric too
        mlsysim.ServingModel().solve(**CASE, fabric="infiniband_ndr2")


def test_a_misspelt_keyword_in_a_sweep_is_named_with_the_closest_ones():
    with pytest.raises(UnknownArgumentError) as info:
        mlsysim.ServingModel.sweep(**CASE, arival_rate=[1.0, 2.0])
    msg = str(info.value)
    assert msg.startswith("arival_rate=[1.0, 2.0] is invalid: expected a keyword argument of ServingModel.solve()")
    assert msg.endswith("; did you mean arrival_rate, arrival_cv?")
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, TypeError)  # both catch it
    with pytest.raises(UnknownArgumentError, match=r"zzz=1 .*SingleNodeModel\.solve\(\): model, hardware, batch_size"):
        mlsysim.sweep("SingleNodeModel", model="ResNet50", hardware="A100", zzz=1)  # nothing close: every keyword


def test_checked_and_banded_name_a_misspelt_keyword():
    with pytest.raises(UnknownArgumentError, match="batchsize=1 .*did you mean batch_size"):
        checked("SingleNodeModel").solve(model="ResNet50", hardware="A100", batchsize=1)
    with pytest.raises(UnknownArgumentError, match="arival_rate=3 .*did you mean arrival_rate"):
        banded(mlsysim.ServingModel, **CASE, arival_rate=3)
    with pytest.raises(UnknownArgumentError, match="duration_day=1 .*did you mean duration_days"):  # solve, not corners
        banded(mlsysim.EconomicsModel, fleet="DGX_H100_x8", duration_day=1)


def test_a_direct_solve_keeps_pythons_type_error_naming_the_keyword():
    with pytest.raises(TypeError, match="unexpected keyword argument 'arival_rate'"):
        mlsysim.ServingModel().solve(**CASE, arival_rate=3)


def test_a_misspelt_solver_or_catalog_name_suggests_the_closest():
    with pytest.raises(AttributeError, match="'ServingMdel'; did you mean ServingModel"):
        mlsysim.ServingMdel  # noqa: B018
    assert not hasattr(mlsysim, "ServingMdel")
    with pytest.raises(UnknownEntryError, match="did you mean ResNet50"):
        mlsysim.Models.Resnet50  # noqa: B018


@pytest.mark.parametrize("args", [["serv"], ["sweep", "serv"]])
def test_a_misspelt_command_suggests_the_closest_plugin_command(args):
    from mlsysim_cli import main

    out = CliRunner().invoke(main, [*args, "Llama3_8B", "H100"])
    assert out.exit_code == 1, out.output
    line = out.output.strip()
    assert "\n" not in line and "No such command 'serv'; did you mean serve? Commands come from" in line


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["serve", "Llama3_8B", "H100", "--seq-len", "128", "--arrival-rate", "3"], "solve()'s arrival_rate is --qps"),
        (
            ["sweep", "serve", "--model", "Llama3_8B", "--seq-len", "128", "--tp-size", "1,2"],
            "solve()'s tp_size is --tp",
        ),
        (["serve", "Llama3_8B", "H100", "--seq-len", "128", "--zzz", "1"], "No such option '--zzz'. (see:"),
    ],
)
def test_an_option_spelt_as_the_solve_keyword_names_the_option_that_sets_it(args, said):
    """``--arrival-rate`` (ServingModel.solve's arrival_rate) is ``--qps`` on the command line: the error says so
    (click's close matches offered --batch-size for --tp-size); an option that is no keyword keeps click's words."""
    from mlsysim_cli import main

    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1 and len(out.output.strip().splitlines()) == 1 and said in out.output, out.output
