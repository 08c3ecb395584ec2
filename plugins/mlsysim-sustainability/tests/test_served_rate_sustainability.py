"""SustainabilityModel counts a serving result under traffic at its served rate's power (the node utilization from
the result's loaded_power, mlsysim_fleet.inputs.loaded_utilization); hand-derived."""

from __future__ import annotations

import types

import pytest
from mlsysim_sustainability import SustainabilityModel

from mlsysim_core.types import ComputeCore, Datacenter, Fleet, GridProfile, HardwareNode, MemoryHierarchy, Node

HW = HardwareNode(
    name="TestGPU",
    compute=ComputeCore(precision_flops={"bf16": "1000 TFLOP/s"}, default_precision="bf16"),
    memory=MemoryHierarchy(capacity="80 GB", bandwidth="3 TB/s"),
    tdp="700 W",
)
NODE = Node(name="N", accelerator=HW, accelerators_per_node=8, power_max="10 kW", power_idle="2 kW")
GRID = GridProfile(name="G", carbon_intensity="400 g/kWh", typical_pue=1.3, typical_wue="1 L/kWh")
FLEET = Fleet(name="F", node=NODE, count=10, datacenter=Datacenter(name="DC", grid=GRID, pue=1.2, wue="0.5 L/kWh"))


@pytest.mark.parametrize(("u", "joules"), [(0.5, 1.8), (0.0, 0.6)])
def test_energy_per_token_follows_the_served_rates_power(u, joules):
    """loaded_power = 700 x (0.18 + 0.82 u): the node draws 2 + 8 u kW, a GPU 1/8 of it x PUE 1.2 at the facility;
    one GPU a replica at 500 tokens/s: u = 0.5: 6 kW / 8 x 1.2 = 900 W / 500 = 1.8 J a token; idle (u = 0): 2 kW / 8
    x 1.2 = 300 W / 500 = 0.6 J."""
    w = types.SimpleNamespace(
        tokens_per_second=500.0,
        output_tokens_per_second=500.0,
        input_tokens_per_second=2500.0,
        prefill_time_share=0.1,
        loaded_power=700 * (0.18 + 0.82 * u),
        power_idle=0.18,
        hardware=HW.name,
        num_gpus=1,
    )
    r = SustainabilityModel().solve(FLEET, 30, workload=w, embodied=False)
    assert r.utilization == pytest.approx(u, abs=1e-12) and r.utilization_source == "workload"
    assert r.energy_per_million_tokens.to("kWh").magnitude == pytest.approx(joules * 1e6 / 3.6e6)
    assert r.carbon_per_million_tokens.to("g").magnitude == pytest.approx(joules * 1e6 / 3.6e6 * 400)


def test_the_accelerator_boundary_counts_the_serving_results_own_draw():
    """At the accelerator boundary the GPUs draw the result's loaded_power (the serving power model), not the TDP
    model's 0.3 + 0.7 u: 413 W a GPU at 500 tokens/s is 0.826 J a token; a real result's energy per 1M tokens is its
    loaded_energy_per_token x 1e6 (aggregated and disaggregated)."""
    pytest.importorskip("mlsysim_serving", reason="reads a ServingModel result (mlsysim-serving, not a dependency)")
    import mlsysim

    w = types.SimpleNamespace(
        tokens_per_second=500.0,
        output_tokens_per_second=500.0,
        input_tokens_per_second=2500.0,
        prefill_time_share=0.1,
        loaded_power=413.0,
        power_idle=0.18,
        hardware=HW.name,
        num_gpus=1,
    )
    r = SustainabilityModel().solve(FLEET, 30, workload=w, boundary="accelerator")
    assert r.energy_per_million_tokens.to("J").magnitude == pytest.approx(0.826e6)
    assert r.accelerator_energy.to("J").magnitude == pytest.approx(413.0 * 80 * 30 * 86400)
    L, C, N = mlsysim.Models.Language, mlsysim.Hardware.Cloud, mlsysim.Systems.Nodes
    grid = mlsysim.Infra.Grids.Quebec
    agg = mlsysim.ServingModel().solve(L.Llama3_8B, C.H100, seq_len=4000, output_len=500, arrival_rate=3.0)
    s = SustainabilityModel().solve(
        mlsysim.Systems.Clusters.Research_256, 30, datacenter=grid, workload=agg, boundary="accelerator"
    )
    assert s.si("energy_per_million_tokens") == pytest.approx(agg.si("loaded_energy_per_token") * 1e6, rel=1e-12)
    d = mlsysim.ServingModel().solve(
        L.Llama3_70B,
        C.H100,
        seq_len=2000,
        output_len=500,
        arrival_rate=2.0,
        disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
        fabric="IB_NDR",
    )
    fp, fd = Fleet(name="p", node=N.DGX_H100, count=1), Fleet(name="d", node=N.DGX_H200, count=1)
    s2 = SustainabilityModel().solve(fp, 30, datacenter=grid, workload=d, decode_fleet=fd, boundary="accelerator")
    assert s2.si("energy_per_million_tokens") == pytest.approx(d.si("loaded_energy_per_token") * 1e6, rel=1e-12)
