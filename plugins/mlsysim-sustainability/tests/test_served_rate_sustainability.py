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
