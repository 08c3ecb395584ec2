"""EconomicsModel prices a disaggregated serving result (ServingModel with ``disagg=``) as the sum of its pools:
each pool's accelerators at its own part's price and power, cost per 1M output tokens at the served rate, the
prefill pool's cost on the prompts; hand-derived values, the errors, and the invariant that two pools on one
hardware cost the sum of each priced alone at the same tokens."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_economics import EconomicsModel

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import Datacenter, Fleet, GridProfile, Node

M = EconomicsModel()


sys.path.insert(0, str(Path(__file__).parent))
from fixtures_economics import gpu  # noqa: E402

HW_P, HW_D = gpu("TestPrefillGPU", "25000 USD"), gpu("TestDecodeGPU", "35000 USD")
NODE_P = Node(
    name="NP", accelerator=HW_P, accelerators_per_node=8, power_max="8 kW", power_idle="2 kW", host_cost="40000 USD"
)
NODE_D = Node(
    name="ND", accelerator=HW_D, accelerators_per_node=8, power_max="10 kW", power_idle="2 kW", host_cost="60000 USD"
)
GRID = GridProfile(
    name="G", carbon_intensity="400 g/kWh", electricity_price="0.1 USD/kWh", typical_pue=1.3, typical_wue="1 L/kWh"
)
DC = Datacenter(name="DC", grid=GRID, pue=1.25, wue="0.5 L/kWh")
FLEET_P = Fleet(name="FP", node=NODE_P, count=1, datacenter=DC)
FLEET_D = Fleet(name="FD", node=NODE_D, count=1, datacenter=DC)


def disagg(prefill=HW_P, decode=HW_D, p=8, d=8, rps=2.0, seq_len=2000, output_len=500, **extra):
    """A disaggregated serving result as EconomicsModel reads it (the fields DisaggServingResult states)."""
    fields = dict(
        feasible=True,
        prefill_hardware=prefill.name,
        prefill_gpus=p,
        decode_hardware=decode.name,
        decode_gpus=d,
        requests_per_second=rps,
        output_tokens_per_second=rps * output_len,
        seq_len=seq_len,
        output_len=output_len,
    )
    return types.SimpleNamespace(**{**fields, **extra})


YEAR_S = 365 * 86400.0
# Hand derivation, 365 days at utilization 1 (nodes at power_max), no maintenance, 5-year life, PUE 1.25, 0.1 USD/kWh:
#   prefill fleet: CapEx 8 x 25,000 + 40,000 = 240,000, a year's share 48,000; energy 8 kW x 8760 h x 1.25 = 87,600 kWh,
#   8,760 USD; TCO 56,760.  decode fleet: CapEx 8 x 35,000 + 60,000 = 340,000, share 68,000; 10 kW x 8760 x 1.25 =
#   109,500 kWh, 10,950 USD; TCO 78,950.
#   Served: 2 req/s x 500 = 1,000 output tokens/s; x 2,000 = 4,000 prompt tokens/s.
TCO_P, TCO_D = 48000.0 + 8760.0, 68000.0 + 10950.0
KW = dict(duration_days=365, utilization=1.0, maintenance_rate=0.0)


def test_two_pools_on_two_parts_cost_the_sum_of_their_hours_over_the_served_tokens():
    r = M.solve(FLEET_P, workload=disagg(), decode_fleet=FLEET_D, **KW)
    assert r.tco.to("USD").magnitude == pytest.approx(TCO_P + TCO_D)
    assert r.capex_accelerators.to("USD").magnitude == pytest.approx(8 * 25000 + 8 * 35000)
    assert r.it_power.to("kW").magnitude == pytest.approx(18.0)
    assert (r.accelerators, r.nodes, r.replicas, r.replica_accelerators) == (16, 2, 1, 16)
    assert r.token_rate_basis == "disaggregated"
    assert r.tokens_per_second.to("1/s").magnitude == pytest.approx(1000.0)
    assert r.input_tokens_per_second.to("1/s").magnitude == pytest.approx(4000.0)
    # per 1M output tokens: both pools' cost per second over 1,000 tokens/s = 4.3033 USD
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx((TCO_P + TCO_D) / YEAR_S / 1000 * 1e6)
    # the prompts carry the prefill pool's cost (0.45 USD per 1M), the output tokens the decode pool's (2.50 USD)
    assert r.cost_per_million_input_tokens.to("USD").magnitude == pytest.approx(TCO_P / YEAR_S / 4000 * 1e6)
    assert r.cost_per_million_output_tokens.to("USD").magnitude == pytest.approx(TCO_D / YEAR_S / 1000 * 1e6)
    assert r.cost_per_gpu_hour.to("USD/h").magnitude == pytest.approx((TCO_P + TCO_D) / (16 * 8760))
    # a request: S x input + O x output price = the whole deployment's cost per request
    per_request = 2000 * r.cost_per_million_input_tokens.magnitude + 500 * r.cost_per_million_output_tokens.magnitude
    assert per_request == pytest.approx(500 * r.cost_per_million_tokens.magnitude)
    q = M.solve(FLEET_P, workload=disagg(), decode_fleet=FLEET_D, tokens_per_query=500, **KW)
    assert q.cost_per_query.to("USD").magnitude == pytest.approx((TCO_P + TCO_D) / YEAR_S / 1000 * 500)


def test_whole_deployments_and_the_idle_rest_of_each_fleet():
    """Two prefill nodes but one decode node: one deployment serves, the second prefill node idles (owned)."""
    r = M.solve(attrs.evolve(FLEET_P, count=2), workload=disagg(), decode_fleet=FLEET_D, **KW)
    assert r.replicas == 1 and r.accelerators == 24
    tco_p2 = 2 * TCO_P  # both prefill nodes are owned and powered
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx((tco_p2 + TCO_D) / YEAR_S / 1000 * 1e6)
    r2 = M.solve(attrs.evolve(FLEET_P, count=2), workload=disagg(), decode_fleet=attrs.evolve(FLEET_D, count=2), **KW)
    assert r2.replicas == 2
    assert r2.cost_per_million_tokens.magnitude == pytest.approx((2 * TCO_P + 2 * TCO_D) / YEAR_S / 2000 * 1e6)


def test_both_pools_on_the_fleets_part_on_one_fleet():
    """decode_fleet None: one fleet of the pools' part holds both; k = floor(N / (p + d)); the prefill pool's share
    of the accelerators prices the prompts."""
    fleet = attrs.evolve(FLEET_P, count=3)  # 24 accelerators: one deployment of 8 + 8, 8 left idle
    r = M.solve(fleet, workload=disagg(HW_P, HW_P), **KW)
    assert (r.replicas, r.replica_accelerators) == (1, 16)
    assert r.cost_per_million_tokens.magnitude == pytest.approx(3 * TCO_P / YEAR_S / 1000 * 1e6)
    assert r.cost_per_million_input_tokens.magnitude == pytest.approx(3 * TCO_P * 0.5 / YEAR_S / 4000 * 1e6)
    assert r.cost_per_million_output_tokens.magnitude == pytest.approx(3 * TCO_P * 0.5 / YEAR_S / 1000 * 1e6)


@settings(max_examples=25, deadline=None)
@given(
    a=st.integers(1, 4),
    b=st.integers(1, 4),
    k=st.integers(1, 3),
    rps=st.floats(0.01, 100.0),
    days=st.floats(1.0, 2000.0),
    u=st.floats(0.0, 1.0),
)
def test_one_part_disagg_price_is_the_sum_of_each_pool_priced_alone(a, b, k, rps, days, u):
    """Both pools on one part: the deployment's price per 1M output tokens is the prefill pool's plus the decode
    pool's, each priced alone (a serving result on its GPUs) at the same output tokens/s; and one fleet holding both
    costs what two fleets at the same site do."""
    p, d = 8 * a, 8 * b
    fp, fd = attrs.evolve(FLEET_P, count=k * a), attrs.evolve(FLEET_P, count=k * b)
    w = disagg(HW_P, HW_P, p, d, rps)
    kw = dict(duration_days=days, utilization=u)
    both = M.solve(fp, workload=w, decode_fleet=fd, **kw).cost_per_million_tokens.magnitude
    out = w.output_tokens_per_second

    def alone(fleet, gpus):
        one = types.SimpleNamespace(tokens_per_second=out, num_gpus=gpus, hardware=HW_P.name)
        return M.solve(fleet, workload=one, **kw).cost_per_million_tokens.magnitude

    assert both == pytest.approx(alone(fp, p) + alone(fd, d), rel=1e-12)
    one_fleet = M.solve(attrs.evolve(FLEET_P, count=k * (a + b)), workload=w, **kw).cost_per_million_tokens.magnitude
    assert one_fleet == pytest.approx(both, rel=1e-12)


def test_a_real_disaggregated_result_on_two_vendors_parts():
    """ServingModel's H100 prefill + H200 decode result priced on a DGX H100 and a DGX H200 fleet: the same sum."""
    pytest.importorskip("mlsysim_serving", reason="reads a ServingModel result (mlsysim-serving, not a dependency)")
    Mo, H, N = mlsysim.Models.Language, mlsysim.Hardware.Cloud, mlsysim.Systems.Nodes
    r = mlsysim.ServingModel().solve(
        Mo.Llama3_70B,
        H.H100,
        seq_len=2000,
        output_len=500,
        arrival_rate=2.0,
        disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
        fabric="IB_NDR",
    )
    fp, fd = Fleet(name="p", node=N.DGX_H100, count=1), Fleet(name="d", node=N.DGX_H200, count=1)
    grid = mlsysim.Infra.Grids.Quebec
    got = M.solve(fp, 30, datacenter=grid, workload=r, decode_fleet=fd)
    # each fleet at its pool's power at the served rate, placed between idle (0.18 of TDP) and TDP (700 W both)
    u = [(x.to("W").magnitude / 700.0 - 0.18) / 0.82 for x in (r.prefill_loaded_power, r.decode_loaded_power)]
    alone = [M.solve(f, 30, datacenter=grid, utilization=ux).tco.to("USD").magnitude for f, ux in zip((fp, fd), u)]
    out = r.output_tokens_per_second.to("1/s").magnitude
    assert got.tco.to("USD").magnitude == pytest.approx(sum(alone))
    assert got.cost_per_million_tokens.to("USD").magnitude == pytest.approx(sum(alone) / (30 * 86400) / out * 1e6)
    assert got.cost_per_million_output_tokens.magnitude == pytest.approx(alone[1] / (30 * 86400) / out * 1e6)


@pytest.mark.parametrize(
    ("kwargs", "argument", "says"),
    [
        (dict(workload=disagg()), "decode_fleet", "decode pool's fleet"),  # two parts, one fleet
        (dict(workload=disagg(), decode_fleet=FLEET_P), "decode_fleet", "TestDecodeGPU"),
        (dict(workload=disagg(), decode_fleet="nope"), "decode_fleet", "clusters"),
        (dict(workload=disagg(), decode_fleet=42), "decode_fleet", "Fleet"),
        (dict(workload=disagg(HW_D, HW_D), decode_fleet=FLEET_D), "fleet", "TestDecodeGPU"),
        (dict(workload=disagg(HW_D, HW_D)), "workload", "TestPrefillGPU"),  # pools on another part than the fleet's
        (dict(workload=disagg(p=16), decode_fleet=FLEET_D), "fleet", "16 accelerators"),
        (dict(workload=disagg(HW_P, HW_P, 8, 8)), "workload", "16 accelerators"),  # 8 + 8 on one 8-GPU fleet
        (dict(workload=disagg(), decode_fleet=FLEET_D, steps=10), "steps", "None"),
        (dict(workload=disagg(), decode_fleet=FLEET_D, unit_cost=1000), "unit_cost", "own part"),
        (dict(workload=disagg(), decode_fleet=FLEET_D, host_cost=1000), "host_cost", "own part"),
        (dict(workload=disagg(feasible=False), decode_fleet=FLEET_D), "workload", "feasible"),
        (dict(workload=disagg(prefill_gpus=2.5), decode_fleet=FLEET_D), "workload.prefill_gpus", "whole number"),
        (dict(workload=disagg(requests_per_second=0.0), decode_fleet=FLEET_D), "workload.requests_per_second", ">"),
        (dict(decode_fleet=FLEET_D), "decode_fleet", "disaggregated"),  # nothing to price with it
        (
            dict(workload=types.SimpleNamespace(tokens_per_second=100.0, num_gpus=8), decode_fleet=FLEET_D),
            "decode_fleet",
            "not disaggregated",
        ),
    ],
)
def test_wrong_fleets_for_the_pools_are_typed_errors(kwargs, argument, says):
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET_P, **{**KW, **kwargs})
    assert e.value.argument == argument and says in str(e.value)


def test_two_fleets_at_two_sites_are_refused():
    other = attrs.evolve(FLEET_D, datacenter=attrs.evolve(DC, name="DC2", pue=1.1))
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET_P, workload=disagg(), decode_fleet=other, **KW)
    assert e.value.argument == "decode_fleet" and "DC2" in str(e.value) and "datacenter=" in str(e.value)
    # datacenter= places both
    r = M.solve(FLEET_P, workload=disagg(), decode_fleet=other, datacenter=DC, **KW)
    assert r.tco.to("USD").magnitude == pytest.approx(TCO_P + TCO_D)


def test_the_network_price_counts_once():
    r = M.solve(FLEET_P, workload=disagg(), decode_fleet=FLEET_D, network_cost=50000, **KW)
    assert r.capex_network.to("USD").magnitude == pytest.approx(50000)


def test_a_sweep_prices_the_pools_as_solve_does():
    sw = EconomicsModel.sweep(
        fleet=FLEET_P, workload=disagg(), decode_fleet=FLEET_D, duration_days=[30.0, 365.0], utilization=[0.2, 1.0]
    )
    assert sw.valid.all()
    got = sorted(sw.si("cost_per_million_tokens"))
    want = sorted(
        M.solve(FLEET_P, t, workload=disagg(), decode_fleet=FLEET_D, utilization=u).si("cost_per_million_tokens")
        for t in (30.0, 365.0)
        for u in (0.2, 1.0)
    )
    assert got == pytest.approx(want, rel=1e-12)


def test_json_of_the_priced_pools():
    r = M.solve(FLEET_P, workload=disagg(), decode_fleet=FLEET_D, **KW)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["token_rate_basis"] == "disaggregated" and d["replica_accelerators"] == 16
    assert d["cost_per_million_tokens"]["unit"] == "USD"


def test_the_command_line_chain_prices_a_disaggregated_serve_as_python_does(tmp_path):
    """`mlsysim serve ... --disagg ... --json > d.json; mlsysim cost Research_256 --nodes 2 --from d.json`: the pools
    on one H100 fleet, the same numbers as solve(); --decode-cluster of another part: one line, exit 1."""
    pytest.importorskip("mlsysim_serving", reason="reads a ServingModel result (mlsysim-serving, not a dependency)")
    from click.testing import CliRunner

    from mlsysim_cli import main
    from mlsysim_cli.api import lookup
    from mlsysim_fleet.scale import with_nodes

    serve = [
        *("serve", "Llama3_70B", "H100", "--seq-len", "2000", "--output-len", "500", "--qps", "2"),
        *("--disagg", "prefill=H100x8:tp8,decode=H100x8:tp4", "--fabric", "IB_NDR", "--json"),
    ]
    out = CliRunner().invoke(main, serve)
    assert out.exit_code == 0, out.output
    path = tmp_path / "d.json"
    path.write_text(out.stdout, encoding="utf-8")
    cost = ["cost", "Research_256", "--days", "30", "--datacenter", "Quebec", "--from", str(path), "--nodes", "2"]
    got = CliRunner().invoke(main, [*cost, "--json"])
    assert got.exit_code == 0, got.output
    res = json.loads(got.stdout)["result"]
    served = mlsysim.ServingModel().solve(
        mlsysim.Models.Language.Llama3_70B,
        mlsysim.Hardware.Cloud.H100,
        seq_len=2000,
        output_len=500,
        arrival_rate=2.0,
        disagg="prefill=H100x8:tp8,decode=H100x8:tp4",
        fabric="IB_NDR",
    )
    fleet = with_nodes(lookup("cluster", "Research_256", "CLUSTER")[1], 2)
    want = M.solve(fleet, 30, datacenter=lookup("datacenter", "Quebec", "")[1], workload=served)
    assert res["token_rate_basis"] == "disaggregated" and res["replicas"] == 1
    for field in ("cost_per_million_tokens", "cost_per_million_input_tokens", "cost_per_million_output_tokens"):
        assert res[field]["value"] == pytest.approx(want.to_dict()[field]["value"], rel=1e-9), field
    table = CliRunner().invoke(main, cost)
    assert table.stdout.splitlines()[4].split()[0] == "cost_per_million_tokens"  # the per-token fields lead
    bad = CliRunner().invoke(main, [*cost, "--decode-cluster", "Meta_RSC_6K"])
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert bad.exit_code == 1 and len(lines) == 1 and "decode_fleet" in lines[0] and "A100" in lines[0], bad.stderr


def test_each_fleet_sits_at_its_pools_power_at_the_served_rate():
    """The pools' GPUs draw 700 x (0.18 + 0.82 u): u = 0.25 on the prefill pool, 0.75 on the decode pool; the
    prefill node 2 + 6 x 0.25 = 3.5 kW, the decode node 2 + 8 x 0.75 = 8 kW: 11.5 kW, their mean utilization 0.5."""
    w = disagg(prefill_loaded_power=700 * (0.18 + 0.82 * 0.25), decode_loaded_power=700 * (0.18 + 0.82 * 0.75))
    w.power_idle = 0.18
    r = M.solve(FLEET_P, workload=w, decode_fleet=FLEET_D, duration_days=365)
    assert r.it_power.to("kW").magnitude == pytest.approx(11.5)
    assert r.utilization == pytest.approx(0.5) and r.utilization_source == "workload"
    same = disagg(HW_P, HW_P, prefill_loaded_power=w.prefill_loaded_power, decode_loaded_power=w.decode_loaded_power)
    same.power_idle = 0.18
    one = M.solve(attrs.evolve(FLEET_P, count=2), workload=same, duration_days=365)
    assert one.utilization == pytest.approx(0.5)  # one fleet: the GPU-weighted mean of the pools'
    assert M.solve(FLEET_P, workload=w, decode_fleet=FLEET_D, duration_days=365, utilization=1.0).it_power.to(
        "kW"
    ).magnitude == pytest.approx(18.0)
