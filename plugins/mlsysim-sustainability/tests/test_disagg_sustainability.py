"""SustainabilityModel assesses a disaggregated serving result (ServingModel with ``disagg=``) as the sum of its
pools, each at its own part's power and embodied carbon: energy and carbon per 1M output tokens at the served
rate; hand-derived values, errors, and one part's pools costing the sum of each alone."""

from __future__ import annotations

import types

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_sustainability import SustainabilityModel

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import ComputeCore, Datacenter, Fleet, GridProfile, HardwareNode, MemoryHierarchy, Node

M = SustainabilityModel()


def _part(name: str, embodied: str) -> HardwareNode:
    return HardwareNode(
        name=name,
        compute=ComputeCore(precision_flops={"bf16": "1000 TFLOP/s"}, default_precision="bf16"),
        memory=MemoryHierarchy(capacity="80 GB", bandwidth="3 TB/s"),
        tdp="700 W",
        embodied_carbon=embodied,
    )


HW_P, HW_D = _part("TestPrefillGPU", "1000 kg"), _part("TestDecodeGPU", "2000 kg")
NODE_P = Node(name="NP", accelerator=HW_P, accelerators_per_node=8, power_max="8 kW", power_idle="2 kW")
NODE_D = Node(name="ND", accelerator=HW_D, accelerators_per_node=8, power_max="10 kW", power_idle="2 kW")
GRID = GridProfile(
    name="G", carbon_intensity="400 g/kWh", electricity_price="0.1 USD/kWh", typical_pue=1.3, typical_wue="1 L/kWh"
)
DC = Datacenter(name="DC", grid=GRID, pue=1.25, wue="0.5 L/kWh")
FLEET_P = Fleet(name="FP", node=NODE_P, count=1, datacenter=DC)
FLEET_D = Fleet(name="FD", node=NODE_D, count=1, datacenter=DC)


def disagg(prefill=HW_P, decode=HW_D, p=8, d=8, rps=2.0, **extra):
    fields = dict(
        feasible=True,
        prefill_hardware=prefill.name,
        prefill_gpus=p,
        decode_hardware=decode.name,
        decode_gpus=d,
        requests_per_second=rps,
        output_tokens_per_second=rps * 500,
        seq_len=2000,
        output_len=500,
    )
    return types.SimpleNamespace(**{**fields, **extra})


YEAR_S = 365 * 86400.0


def test_energy_and_carbon_per_million_tokens_are_the_sum_of_the_pools():
    """Hand derivation, utilization 1 (nodes at power_max), facility boundary, PUE 1.25, 1,000 output tokens/s:
    prefill 8 kW / 8 x 1.25 = 1,250 W per GPU x 8 GPUs / 1,000 tokens/s = 10 J; decode 10 kW / 8 x 1.25 = 1,562.5 W
    x 8 / 1,000 = 12.5 J; 22.5 J a token = 6.25 kWh per 1M tokens, x 400 g/kWh = 2,500 g; embodied (1,000 x 8 +
    2,000 x 8) kg over 5 years at 1,000 tokens/s = 24,000 / (5 x 3.1536e7) / 1,000 kg a token = 152.2 g per 1M."""
    r = M.solve(FLEET_P, 365, utilization=1.0, workload=disagg(), decode_fleet=FLEET_D)
    assert r.energy_per_million_tokens.to("kWh").magnitude == pytest.approx(6.25)
    embodied = 24000.0 / (5 * YEAR_S) / 1000 * 1e6 * 1000  # g per 1M tokens
    assert r.carbon_per_million_tokens.to("g").magnitude == pytest.approx(2500.0 + embodied)
    assert (r.accelerators, r.nodes, r.replicas, r.replica_accelerators) == (16, 2, 1, 16)
    assert r.it_power.to("kW").magnitude == pytest.approx(18.0)
    assert r.embodied_carbon.to("kg").magnitude == pytest.approx(24000.0 / 5)
    assert r.embodied_source == "catalog"
    q = M.solve(FLEET_P, 365, utilization=1.0, workload=disagg(), decode_fleet=FLEET_D, tokens_per_query=500)
    assert q.energy_per_query.to("J").magnitude == pytest.approx(22.5 * 500)


def test_the_embodied_source_is_stated_per_pool_where_they_differ():
    bare = attrs.evolve(FLEET_D, node=attrs.evolve(NODE_D, accelerator=attrs.evolve(HW_D, embodied_carbon=None)))
    r = M.solve(FLEET_P, 365, utilization=1.0, workload=disagg(), decode_fleet=bare)
    assert r.embodied_source == "catalog (prefill pool), not in catalog (decode pool)"
    assert r.embodied_carbon.to("kg").magnitude == pytest.approx(8000.0 / 5)


@settings(max_examples=25, deadline=None)
@given(a=st.integers(1, 4), b=st.integers(1, 4), k=st.integers(1, 3), rps=st.floats(0.01, 100.0), u=st.floats(0, 1))
def test_one_part_pools_cost_the_sum_of_each_alone(a, b, k, rps, u):
    p, d = 8 * a, 8 * b
    fp, fd = attrs.evolve(FLEET_P, count=k * a), attrs.evolve(FLEET_P, count=k * b)
    w = disagg(HW_P, HW_P, p, d, rps)
    both = M.solve(fp, 30, utilization=u, workload=w, decode_fleet=fd)

    def alone(fleet, gpus):
        one = types.SimpleNamespace(tokens_per_second=w.output_tokens_per_second, num_gpus=gpus, hardware=HW_P.name)
        return M.solve(fleet, 30, utilization=u, workload=one)

    for field in ("energy_per_million_tokens", "carbon_per_million_tokens", "carbon_footprint", "energy"):
        want = alone(fp, p).si(field) + alone(fd, d).si(field)
        assert both.si(field) == pytest.approx(want, rel=1e-12), field


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        (dict(workload=disagg()), "decode_fleet"),
        (dict(workload=disagg(), decode_fleet=FLEET_P), "decode_fleet"),
        (dict(decode_fleet=FLEET_D), "decode_fleet"),
        (dict(workload=disagg(), decode_fleet=FLEET_D, steps=3), "steps"),
    ],
)
def test_wrong_fleets_are_typed_errors(kwargs, argument):
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET_P, 30, **kwargs)
    assert e.value.argument == argument


def test_two_sites_are_refused_unless_one_is_given():
    other = attrs.evolve(FLEET_D, datacenter=attrs.evolve(DC, name="DC2", pue=1.1))
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET_P, 30, workload=disagg(), decode_fleet=other)
    assert e.value.argument == "decode_fleet" and "DC2" in str(e.value)
    assert M.solve(FLEET_P, 30, workload=disagg(), decode_fleet=other, datacenter=DC).pue == 1.25


def test_a_sweep_assesses_the_pools_as_solve_does():
    sw = SustainabilityModel.sweep(
        fleet=FLEET_P, workload=disagg(), decode_fleet=FLEET_D, duration_days=[1.0, 30.0], utilization=[0.2, 0.9]
    )
    assert sw.valid.all()
    got = sorted(sw.si("carbon_per_million_tokens"))
    want = sorted(
        M.solve(FLEET_P, t, utilization=u, workload=disagg(), decode_fleet=FLEET_D).si("carbon_per_million_tokens")
        for t in (1.0, 30.0)
        for u in (0.2, 0.9)
    )
    assert got == pytest.approx(want, rel=1e-12)
