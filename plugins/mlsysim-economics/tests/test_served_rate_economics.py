"""EconomicsModel prices a serving result under traffic at its served rate's power: the node utilization is the
result's loaded_power placed between the GPUs' awake-idle draw and TDP (mlsysim_fleet.inputs.loaded_utilization),
unless utilization= is given; hand-derived."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from mlsysim_economics import EconomicsModel

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import Datacenter, Fleet, GridProfile, Node

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_economics import gpu  # noqa: E402

HW = gpu()
NODE = Node(name="N", accelerator=HW, accelerators_per_node=8, power_max="10 kW", power_idle="2 kW", host_cost="0 USD")
GRID = GridProfile(
    name="G", carbon_intensity="400 g/kWh", electricity_price="0.1 USD/kWh", typical_pue=1.3, typical_wue="1 L/kWh"
)
FLEET = Fleet(name="F", node=NODE, count=10, datacenter=Datacenter(name="DC", grid=GRID, pue=1.2, wue="0.5 L/kWh"))


def loaded(watts=700 * (0.18 + 0.82 * 0.5), **extra):
    """A serving result under traffic as the fleet solvers read it: one GPU a replica, 100 requests/s of 1,000 + 200
    tokens, its GPUs drawing ``watts`` each at the served rate (413 W: halfway from 0.18 x 700 W idle to TDP)."""
    fields = dict(
        tokens_per_second=500.0,
        output_tokens_per_second=20000.0,
        input_tokens_per_second=100000.0,
        prefill_time_share=0.2,
        loaded_power=watts,
        power_idle=0.18,
        hardware=HW.name,
        num_gpus=1,
    )
    return types.SimpleNamespace(**{**fields, **extra})


def test_the_node_sits_where_its_gpus_draw_at_the_served_rate():
    """413 W = 0.18 x 700 + 0.5 x 0.82 x 700: u = 0.5, so each node draws 2 + (10 - 2) x 0.5 = 6 kW, the fleet 60 kW."""
    r = EconomicsModel().solve(FLEET, 30, workload=loaded())
    assert r.utilization == pytest.approx(0.5) and r.utilization_source == "workload"
    assert r.it_power.to("kW").magnitude == pytest.approx(60.0)
    assert r.opex_energy.to("USD").magnitude == pytest.approx(60 * 720 * 1.2 * 0.1)
    given = EconomicsModel().solve(FLEET, 30, workload=loaded(), utilization=0.9)
    assert given.utilization == 0.9 and given.utilization_source == "argument"
    assert EconomicsModel().solve(FLEET, 30).utilization_source == "default"
    idle = EconomicsModel().solve(FLEET, 30, workload=loaded(700 * 0.18))
    assert idle.utilization == pytest.approx(0.0) and idle.it_power.to("kW").magnitude == pytest.approx(20.0)


def test_a_sweep_takes_the_workloads_utilization_too():
    sw = EconomicsModel.sweep(fleet=FLEET, workload=loaded(), duration_days=[30.0, 60.0])
    assert list(sw.si("it_power")) == pytest.approx([60e3, 60e3])


@pytest.mark.parametrize(
    ("extra", "argument"),
    [({"loaded_power": -1.0}, "workload.loaded_power"), ({"power_idle": 2.0}, "workload.power_idle")],
)
def test_a_loaded_power_that_cannot_be_placed_is_a_typed_error(extra, argument):
    with pytest.raises(InvalidInputError) as e:
        EconomicsModel().solve(FLEET, 30, workload=loaded(**extra))
    assert e.value.argument == argument


def test_a_real_loaded_result_prices_its_served_rates_power():
    """Llama-3.1-8B on one H100 at 3 req/s: the fleet's utilization is the result's loaded_power's position."""
    pytest.importorskip("mlsysim_serving", reason="reads a ServingModel result (mlsysim-serving, not a dependency)")
    r = mlsysim.ServingModel().solve(
        mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100, seq_len=4000, output_len=500, arrival_rate=3.0
    )
    e = EconomicsModel().solve(
        mlsysim.Systems.Clusters.Research_256, 30, datacenter=mlsysim.Infra.Grids.Quebec, workload=r
    )
    want = (r.loaded_power.to("W").magnitude / 700.0 - r.power_idle) / (1.0 - r.power_idle)
    assert e.utilization == pytest.approx(want, rel=1e-12) and e.utilization_source == "workload"
