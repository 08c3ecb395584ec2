"""Out of domain on every result (issue 20 item 2): a plain solve states where its inputs lie outside the
calibration set, from the same check ``banded`` uses (``mlsysim_uncertainty.domain.check``, reached through
the ``mlsysim_domain_checks`` hook on the result's first ``out_of_domain`` read, never inside ``solve()``)."""

from __future__ import annotations

import json
import warnings

import pytest
from click.testing import CliRunner

import mlsysim
from mlsysim_cli import main
from mlsysim_core.plugins import PluginHost, PluginWarning
from mlsysim_uncertainty import banded
from mlsysim_uncertainty.domain import measured

HW = mlsysim.Hardware.Cloud
LM = mlsysim.Models.Language
SERVED = ", ".join(sorted(measured()["ServingModel"]["hardware"]))  # the hardware group M..P measured


def test_a_plain_serving_solve_on_hardware_never_measured_says_so_in_every_view():
    r = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.MI300X, 2048)
    line = f"hardware AMD Instinct MI300X was never measured (calibration set: {SERVED})"
    assert r.out_of_domain == (line,)
    assert r.why()[-1] == line
    assert f"  out of domain: {line}" in r.explain()
    assert "MI300X was never measured" in r._repr_html_()
    assert r.to_dict()["out_of_domain"] == [line] and r.to_dict()["bands"] == {}


def test_the_check_runs_on_first_read_not_in_solve():
    r = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.MI300X, 2048)
    assert "_out_of_domain" not in vars(r)  # solve() left it unasked
    lines = r.out_of_domain
    assert vars(r)["_out_of_domain"] is lines and r.out_of_domain is lines  # kept: asked once


def test_a_measured_call_is_inside_and_a_plain_solve_agrees_with_banded():
    inside = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.H100, 2048)
    assert inside.out_of_domain == () and "out_of_domain" not in inside.to_dict()
    for hw in (HW.H100, HW.MI300X):
        plain = mlsysim.ServingModel().solve(LM.Llama3_8B, hw, 2048, batch_size=4)
        assert banded(mlsysim.ServingModel, LM.Llama3_8B, hw, 2048, batch_size=4).out_of_domain == plain.out_of_domain


def test_a_batch_far_beyond_the_measured_span_names_the_argument_and_the_span():
    # SingleNodeModel's H100 points (ResNet-50 int8 at its MLPerf batches): batch 1 is more than 4x below them
    lo, hi = measured()["SingleNodeModel"]["hardware"]["NVIDIA H100 SXM5 80GB"]["batch"]
    assert lo / 4 > 1  # the span this test reads keeps batch 1 outside
    r = mlsysim.SingleNodeModel().solve(mlsysim.Models.ResNet50, HW.H100, batch_size=1, precision="int8")
    assert r.out_of_domain == (f"batch 1 is more than 4x outside the measured {lo}..{hi}",)
    near = mlsysim.SingleNodeModel().solve(mlsysim.Models.ResNet50, HW.H100, batch_size=lo, precision="int8")
    assert near.out_of_domain == ()


def test_a_precision_never_measured_on_that_hardware():
    r = mlsysim.SingleNodeModel().solve(mlsysim.Models.ResNet50, HW.H100, batch_size=64, precision="fp16")
    precisions = ", ".join(measured()["SingleNodeModel"]["hardware"]["NVIDIA H100 SXM5 80GB"]["precisions"])
    assert r.out_of_domain == (f"precision fp16 was never measured on NVIDIA H100 SXM5 80GB (measured: {precisions})",)


def test_a_solver_without_calibration_points_says_so_and_a_fleet_solver_leaves_it_to_its_workload():
    power = mlsysim.PowerEfficiencyModel().solve(HW.A100)
    assert power.out_of_domain == ("PowerEfficiencyModel has no calibration points",)
    step = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.MI300X, 2048)
    fleet = mlsysim.Systems.Clusters.Research_256
    carbon = mlsysim.SustainabilityModel().solve(fleet=fleet, duration_days=1.0, grid=mlsysim.Infra.Grids.US_Avg)
    assert carbon.out_of_domain == ()  # its domain is its workload's: that result states it (step.out_of_domain)
    assert step.out_of_domain


def test_the_command_line_table_and_json_show_it_without_bands():
    runner = CliRunner()
    table = runner.invoke(main, ["serve", "Llama3_8B", "MI300X", "--seq-len", "2048"])
    assert table.exit_code == 0
    assert (
        "out of domain (beyond the calibration set):\n  hardware AMD Instinct MI300X was never measured" in table.output
    )
    doc = json.loads(runner.invoke(main, ["serve", "Llama3_8B", "MI300X", "--seq-len", "2048", "--json"]).output)
    assert doc["result"]["out_of_domain"] == [
        f"hardware AMD Instinct MI300X was never measured (calibration set: {SERVED})"
    ]


RAISING = """
from mlsysim_core import hookimpl

def broken(result):
    raise RuntimeError("no table")

@hookimpl
def mlsysim_domain_checks():
    return [broken]
"""


def test_a_check_that_raises_says_so_and_breaks_nothing(fake_dists, fresh_host):
    fake_dists("mlsysim-broken", "broken", RAISING)
    host = fresh_host()
    r = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.MI300X, 2048)
    with pytest.warns(PluginWarning, match="broken"):
        lines = r.out_of_domain
    assert lines[0].startswith("hardware AMD Instinct MI300X was never measured")  # the default catalog's check
    assert lines[1] == "the domain check of plugin broken failed: RuntimeError: no table"
    assert {rec.name: rec.status for rec in host.records()}["default_catalog"] == "active"


def test_with_no_check_installed_a_result_says_that_rather_than_nothing():
    r = mlsysim.ServingModel().solve(LM.Llama3_8B, HW.H100, 2048)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert PluginHost(entry_points=[]).out_of_domain(r) == (
            "no calibration domain check is installed (hook mlsysim_domain_checks)",
        )
