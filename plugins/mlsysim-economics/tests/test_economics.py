"""EconomicsModel: hand-derived numbers, units, invariants, consumed results, the rental estimate and error
paths."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlsysim_economics import EconomicsModel, EconomicsResult

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import Datacenter, Fleet, GridProfile, Node
from mlsysim_core.units import Q_
from mlsysim_uncertainty import banded

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_economics import gpu  # noqa: E402

HW = gpu()
NODE = Node(
    name="TestNode",
    accelerator=HW,
    accelerators_per_node=8,
    power_max="10 kW",
    power_idle="2 kW",
    host_cost="100000 USD",
)
GRID = GridProfile(
    name="TestGrid",
    carbon_intensity="400 g/kWh",
    electricity_price="0.1 USD/kWh",
    typical_pue=1.3,
    typical_wue="1 L/kWh",
)
DC = Datacenter(name="TestDC", grid=GRID, pue=1.2, wue="0.5 L/kWh")
FLEET = Fleet(name="TestFleet", node=NODE, count=10, datacenter=DC)
M = EconomicsModel()

# Hand derivation for FLEET, 30 days, defaults (u = 0.7, 5-year life, 5 %/yr maintenance):
#   node power = 2 + (10 - 2) * 0.7 = 7.6 kW; IT power = 76 kW; IT energy = 76 * 720 = 54,720 kWh
#   facility = 54,720 * 1.2 = 65,664 kWh; energy cost = 6,566.4 USD
#   CapEx total = 80 * 30,000 + 10 * 100,000 = 3,400,000; share = 3.4e6 * 30 / (5 * 365) = 55,890.41
#   maintenance = 3.4e6 * 0.05 * 30 / 365 = 13,972.60; TCO = 76,429.41; per GPU-hour = TCO / (80 * 720)
CAPEX_SHARE = 3.4e6 * 30 / (5 * 365)
MAINT = 3.4e6 * 0.05 * 30 / 365
TCO = CAPEX_SHARE + 6566.4 + MAINT


def test_hand_derived_tco():
    r = M.solve(FLEET, 30)
    assert isinstance(r, EconomicsResult)
    assert r.it_power.to("kW").magnitude == pytest.approx(76.0)
    assert r.it_energy.to("kWh").magnitude == pytest.approx(54720.0)
    assert r.facility_energy.to("kWh").magnitude == pytest.approx(65664.0)
    assert r.opex_energy.to("USD").magnitude == pytest.approx(6566.4)
    assert r.capex_total.to("USD").magnitude == pytest.approx(3.4e6)
    assert r.capex_accelerators.magnitude == pytest.approx(2.4e6)
    assert r.capex_hosts.magnitude == pytest.approx(1.0e6)
    assert r.capex.magnitude == pytest.approx(CAPEX_SHARE)
    assert r.opex_maintenance.magnitude == pytest.approx(MAINT)
    assert r.opex.magnitude == pytest.approx(6566.4 + MAINT)
    assert r.tco.magnitude == pytest.approx(TCO)
    assert r.cost_per_gpu_hour.to("USD/h").magnitude == pytest.approx(TCO / (80 * 720))
    assert (r.pue, r.utilization, r.accelerators, r.nodes) == (1.2, 0.7, 80, 10)
    assert r.price_source == "grid" and r.region_name == "TestGrid" and r.datacenter_name == "TestDC"
    # upstream float names
    assert r.tco_usd == pytest.approx(TCO) and isinstance(r.tco_usd, float)
    assert r.capex_usd == pytest.approx(CAPEX_SHARE)
    assert r.opex_energy_usd == pytest.approx(6566.4)
    assert r.opex_maintenance_usd == pytest.approx(MAINT)
    assert r.total_opex_usd == pytest.approx(6566.4 + MAINT)
    assert r.total_energy_kwh.to("kWh").magnitude == pytest.approx(65664.0)
    assert r.it_energy_kwh.to("kWh").magnitude == pytest.approx(54720.0)


def test_units_of_every_output():
    r = M.solve(FLEET, 30, cloud_rate=Q_(4, "USD/h"))
    for name in (
        "capex",
        "capex_total",
        "capex_accelerators",
        "capex_hosts",
        "capex_network",
        "opex_energy",
        "opex_maintenance",
        "opex",
        "tco",
        "cloud_cost",
    ):
        assert getattr(r, name).units == mlsysim.ureg.USD, name
    for name in ("it_energy", "facility_energy"):
        assert getattr(r, name).units == mlsysim.ureg.kWh, name
    assert r.cost_per_gpu_hour.units == mlsysim.ureg("USD/h").units
    assert r.cloud_rate.units == mlsysim.ureg("USD/h").units
    assert r.electricity_price.units == mlsysim.ureg("USD/kWh").units
    assert r.duration.units == mlsysim.ureg.day and r.breakeven.units == mlsysim.ureg.day
    d = r.to_dict()
    assert d["tco"]["unit"] == "USD" and d["it_energy"]["unit"] == "kWh"


def test_cloud_comparison_and_breakeven():
    r = M.solve(FLEET, 30, cloud_rate=4.0)
    cloud = 4.0 * 80 * 720
    assert r.cloud_cost.magnitude == pytest.approx(cloud)
    assert r.cloud_to_tco_ratio == pytest.approx(cloud / TCO)
    assert r.cheaper == "owned"
    # buy-vs-rent: 3.4e6 + opex/day * t = 4 * 80 * 24 * t
    opex_day = (6566.4 + MAINT) / 30
    assert r.breakeven.to("day").magnitude == pytest.approx(3.4e6 / (4 * 80 * 24 - opex_day))
    cheap = M.solve(FLEET, 30, cloud_rate=Q_(0.01, "USD/h"))
    assert cheap.cheaper == "cloud" and cheap.breakeven is None


def test_cloud_ratios_are_per_accelerator_second_and_finite_at_the_smallest_duration():
    """cloud / TCO and the break-even busy share do not depend on the duration (both scale with it), so
    the smallest positive duration gives the 30-day values; cloud_rate x n x t underflows to 0 there
    (the fuzz found 5e-324 days divided by zero)."""
    month = M.solve(FLEET, 30, cloud_rate=1e-6)
    tiny = M.solve(FLEET, 5e-324, cloud_rate=1e-6)
    assert tiny.cloud_cost.magnitude == 0.0  # the underflow the ratios avoid
    assert tiny.breakeven_utilization == pytest.approx(month.breakeven_utilization, rel=1e-3)
    assert tiny.cloud_to_tco_ratio == pytest.approx(month.cloud_to_tco_ratio, rel=1e-3)
    assert tiny.cheaper == month.cheaper == "cloud"


def test_price_and_pue_resolution():
    assert M.solve(FLEET, 30, kwh_price=0.2).opex_energy.magnitude == pytest.approx(2 * 6566.4)
    assert M.solve(FLEET, 30, kwh_price=Q_(20, "cent/kWh")).opex_energy.magnitude == pytest.approx(2 * 6566.4)
    assert M.solve(FLEET, 30, kwh_price=0.2).price_source == "argument"
    other = GridProfile(name="Cheap", carbon_intensity="20 g/kWh", electricity_price="0.05 USD/kWh", typical_pue=1.5)
    # a GridProfile as datacenter: a typical datacenter on that grid (its PUE and price)
    r = M.solve(FLEET, 30, datacenter=other)
    assert r.pue == 1.5 and r.pue_source == "grid typical_pue" and r.datacenter_name is None
    assert r.opex_energy.magnitude == pytest.approx(54720 * 1.5 * 0.05)
    # grid= moves the same facility (PUE 1.2) to another grid
    r = M.solve(FLEET, 30, grid=other)
    assert r.pue == 1.2 and r.region_name == "Cheap"
    assert r.opex_energy.magnitude == pytest.approx(54720 * 1.2 * 0.05)
    assert M.solve(FLEET, 30, pue=1.0).facility_energy.magnitude == pytest.approx(54720)


def test_no_silent_electricity_price():
    no_dc = attrs.evolve(FLEET, datacenter=None)
    with pytest.raises(InvalidInputError, match="kwh_price"):
        M.solve(no_dc, 30, pue=1.2)
    unpriced = GridProfile(name="NoPrice", carbon_intensity="20 g/kWh")
    with pytest.raises(InvalidInputError, match="NoPrice.*kwh_price"):
        M.solve(FLEET, 30, datacenter=unpriced)
    with pytest.raises(InvalidInputError, match="pue"):
        M.solve(no_dc, 30, kwh_price=0.1)
    assert M.solve(no_dc, 30, kwh_price=0.1, pue=1.2).tco.magnitude == pytest.approx(TCO)


def test_missing_part_price_is_an_error_naming_the_part():
    nameless = attrs.evolve(FLEET, node=attrs.evolve(NODE, accelerator=attrs.evolve(HW, unit_cost=None)))
    with pytest.raises(InvalidInputError, match="unit_cost.*TestGPU"):
        M.solve(nameless, 30)
    assert M.solve(nameless, 30, unit_cost=Q_(30000, "USD")).tco.magnitude == pytest.approx(TCO)
    hostless = attrs.evolve(FLEET, node=attrs.evolve(NODE, host_cost=None))
    with pytest.raises(InvalidInputError, match="host_cost.*TestNode"):
        M.solve(hostless, 30)
    r = M.solve(hostless, 30, host_cost=0)
    assert r.capex_total.magnitude == pytest.approx(2.4e6)
    r = M.solve(FLEET, 30, network_cost=Q_(600000, "USD"))
    assert r.capex_network.magnitude == 600000 and r.capex_total.magnitude == pytest.approx(4.0e6)


def test_upstream_arguments():
    a = M.solve(FLEET, 30, None, None, None, 0.5, 3.0, 2.0)  # mfu, amortization_years, multiplier
    assert a.utilization == 0.5 and a.amortization_years == 3.0
    assert a.capex_total.magnitude == pytest.approx(6.8e6)
    assert a.capex.magnitude == pytest.approx(6.8e6 * 30 / (3 * 365))
    assert M.solve(FLEET, 30, mfu=0.5).tco == M.solve(FLEET, 30, utilization=0.5).tco
    with pytest.raises(InvalidInputError, match="mfu"):
        M.solve(FLEET, 30, mfu=0.5, utilization=0.6)
    assert M.solve(FLEET, Q_(720, "h")).tco.magnitude == pytest.approx(TCO)


class Serving:
    def __init__(self, tps, tp=None):
        self.tokens_per_second = tps
        if tp is not None:
            self.tp_size = tp


class Training:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_cost_per_million_tokens_and_query():
    # one replica on 8 GPUs at 2,000 tokens/s -> 10 replicas, 20,000 tokens/s for the fleet
    r = M.solve(FLEET, 30, workload=Serving(Q_(2000, "1/s"), tp=8), tokens_per_query=500)
    per_hour = TCO / 720
    assert r.tokens_per_second.magnitude == pytest.approx(20000)
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx(per_hour / (20000 * 3600) * 1e6)
    assert r.cost_per_query.magnitude == pytest.approx(per_hour / (20000 * 3600) * 500)
    assert r.replica_accelerators == 8
    one = M.solve(FLEET, 30, workload=Serving(Q_(250, "1/s")))  # one GPU per replica: 80 * 250 = 20,000/s
    assert one.cost_per_million_tokens.magnitude == pytest.approx(r.cost_per_million_tokens.magnitude)


class RequestServing(Serving):
    """A serving result that reports whole requests (prefill included), like ServingModel with output_len."""

    def __init__(self, out_tps, in_tps, share, tp):
        super().__init__(Q_(3 * out_tps, "1/s"), tp)  # decode-only rate: must not be the one priced
        self.output_tokens_per_second = Q_(out_tps, "1/s")
        self.input_tokens_per_second = Q_(in_tps, "1/s")
        self.prefill_time_share = share


def test_request_basis_prices_the_prefill_and_splits_input_and_output():
    # one 8-GPU replica: 500 output tokens/s and 2,000 prompt tokens/s (S/O = 4), 40 % of the time in
    # prefill -> 10 replicas: 5,000 out/s and 20,000 in/s. Cost rate C = TCO/720 h.
    r = M.solve(FLEET, 30, workload=RequestServing(500.0, 2000.0, 0.4, tp=8), tokens_per_query=100)
    per_s = TCO / (720 * 3600)
    assert r.token_rate_basis == "request"
    assert r.tokens_per_second.magnitude == pytest.approx(5000)
    assert r.input_tokens_per_second.magnitude == pytest.approx(20000)
    assert r.cost_per_million_tokens.magnitude == pytest.approx(per_s / 5000 * 1e6)  # whole request per output token
    assert r.cost_per_million_input_tokens.magnitude == pytest.approx(per_s * 0.4 / 20000 * 1e6)
    assert r.cost_per_million_output_tokens.magnitude == pytest.approx(per_s * 0.6 / 5000 * 1e6)
    # a request of S = 4*O tokens costs S * input price + O * output price = O * whole-request price
    o = 100.0
    request = 4 * o * r.cost_per_million_input_tokens.magnitude + o * r.cost_per_million_output_tokens.magnitude
    assert request == pytest.approx(o * r.cost_per_million_tokens.magnitude)
    assert r.cost_per_query.magnitude == pytest.approx(per_s / 5000 * 100)
    decode = M.solve(FLEET, 30, workload=Serving(Q_(2000, "1/s"), tp=8))
    assert decode.token_rate_basis == "decode step" and decode.cost_per_million_input_tokens is None
    bad = RequestServing(500.0, 2000.0, 0.4, tp=8)
    bad.prefill_time_share = None
    with pytest.raises(InvalidInputError, match="prefill_time_share"):
        M.solve(FLEET, 30, workload=bad)


def test_cost_of_a_training_run():
    run = Training(time_to_train=Q_(10, "day"), total_accelerators=40)
    r = M.solve(FLEET, 30, workload=run, cloud_rate=2.0)
    assert r.workload_time.to("h").magnitude == pytest.approx(240)
    assert r.workload_cost.magnitude == pytest.approx(TCO / (80 * 720) * 40 * 240)
    assert r.workload_cloud_cost.magnitude == pytest.approx(2.0 * 40 * 240)
    steps = Training(step_time=Q_(2, "s"), parallelism={"dp": 5, "tp": 8, "pp": 2})
    r = M.solve(FLEET, 30, workload=steps, steps=3600)
    assert r.workload_cost.magnitude == pytest.approx(TCO / (80 * 720) * 80 * 2.0)
    whole = M.solve(FLEET, None, workload=Training(time_to_train=Q_(30, "day")))
    assert whole.tco.magnitude == pytest.approx(TCO) and whole.workload_cost.magnitude == pytest.approx(TCO)
    with pytest.raises(InvalidInputError, match="steps"):
        M.solve(FLEET, 30, workload=Training(step_time=Q_(2, "s")))
    with pytest.raises(InvalidInputError, match="workload"):
        M.solve(FLEET, 30, workload=object())


def test_a_result_on_another_accelerator_is_refused():
    """A serving rate measured on another part was priced as this fleet's hours (an A100 ServingModel result
    costed on an H100 cluster gave 4.97 USD per million tokens, no note); the same part's result is priced."""
    other = Serving(Q_(2000, "1/s"), tp=8)
    other.hardware = "NVIDIA A100 SXM4 80GB"
    with pytest.raises(InvalidInputError, match="workload='a result on NVIDIA A100 SXM4 80GB' .*accelerator, TestGPU"):
        M.solve(FLEET, 30, workload=other)
    run = Training(time_to_train=Q_(10, "day"), total_accelerators=40, fleet=mlsysim.Systems.Clusters.Research_256)
    with pytest.raises(InvalidInputError, match="a result on NVIDIA H100 SXM5 80GB"):
        M.solve(FLEET, 30, workload=run)
    other.hardware = HW  # the part itself, or its name
    assert M.solve(FLEET, 30, workload=other).tokens_per_second.magnitude == pytest.approx(20000)


@pytest.mark.parametrize(
    "workload, why",
    [
        (None, "no workload was given"),
        (Training(time_to_train=Q_(10, "day"), total_accelerators=40), "gives time_to_train"),
        ("serving", "is a rate"),
    ],
)
def test_steps_nothing_would_use_are_refused(workload, why):
    """steps=10 with a result that has its own time to train (--from a train run with --tokens), a serving
    result or no workload was ignored: the same cost as without it. Now an error naming steps."""
    if workload == "serving":
        workload = Serving(Q_(2000, "1/s"), tp=8)
    with pytest.raises(InvalidInputError, match=f"steps=10 .*{why}") as err:
        M.solve(FLEET, 30, workload=workload, steps=10)
    assert err.value.argument == "steps"


@settings(max_examples=60, deadline=None)
@given(days=st.floats(0.01, 3650), k=st.floats(0.1, 10), u=st.floats(0, 1), price=st.floats(0.001, 1))
def test_cost_linear_in_duration(days, k, u, price):
    a = M.solve(FLEET, days, kwh_price=price, utilization=u)
    b = M.solve(FLEET, days * k, kwh_price=price, utilization=u)
    for f in ("tco", "capex", "opex_energy", "opex_maintenance", "it_energy"):
        assert getattr(b, f).magnitude == pytest.approx(k * getattr(a, f).magnitude, rel=1e-9)
    assert b.cost_per_gpu_hour.magnitude == pytest.approx(a.cost_per_gpu_hour.magnitude, rel=1e-9)
    for v in a.to_dict().values():
        if isinstance(v, dict):
            assert v["value"] >= 0 and math.isfinite(v["value"])


@settings(max_examples=40, deadline=None)
@given(u1=st.floats(0, 1), u2=st.floats(0, 1), p1=st.floats(0.01, 1), p2=st.floats(0.01, 1))
def test_more_load_or_dearer_power_never_cheaper(u1, u2, p1, p2):
    lo_u, hi_u = sorted((u1, u2))
    lo_p, hi_p = sorted((p1, p2))
    assert (
        M.solve(FLEET, 30, kwh_price=lo_p, utilization=lo_u).tco
        <= M.solve(FLEET, 30, kwh_price=hi_p, utilization=hi_u).tco
    )


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"duration_days": 0}, "duration_days"),
        ({"duration_days": -30}, "duration_days"),
        ({"duration_days": "30"}, "duration_days"),
        ({"duration_days": float("nan")}, "duration_days"),
        ({"duration_days": Q_(3, "GB")}, "duration_days"),
        ({"kwh_price": -0.1}, "kwh_price"),
        ({"kwh_price": 0}, "kwh_price"),
        ({"utilization": 1.5}, "utilization"),
        ({"utilization": -0.1}, "utilization"),
        ({"mfu": 2}, "mfu"),
        ({"pue": 0.9}, "pue"),
        ({"amortization_years": 0}, "amortization_years"),
        ({"maintenance_rate": -0.05}, "maintenance_rate"),
        ({"infrastructure_multiplier": -1}, "infrastructure_multiplier"),
        ({"unit_cost": -5}, "unit_cost"),
        ({"cloud_rate": -1}, "cloud_rate"),
        ({"datacenter": "Quebecc"}, "datacenter"),
        ({"grid": "Nowhere"}, "grid"),
    ],
)
def test_bad_input_names_argument_and_range(kwargs, argument):
    kw = {"duration_days": 30, **kwargs}
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET, **kw)
    assert e.value.argument == argument
    assert "expected" in str(e.value)


def test_bad_fleet():
    with pytest.raises(InvalidInputError, match="fleet"):
        M.solve(None, 30)
    with pytest.raises(InvalidInputError, match="fleet='No_Such_Cluster'.*catalog clusters entry"):
        M.solve("No_Such_Cluster", 30)


def test_catalog_fleet():
    try:
        fleet = mlsysim.Systems.Clusters.Frontier_8K
        grid = mlsysim.Infra.Grids.US_Avg
    except Exception:  # pragma: no cover - catalog not available
        pytest.skip("default catalog has no Frontier_8K / US_Avg")
    if fleet.node.host_cost is None:
        with pytest.raises(InvalidInputError, match="host_cost"):
            M.solve(fleet, 30, datacenter=grid)
    r = M.solve(fleet, 30, datacenter=grid, host_cost=Q_(0, "USD"), cloud_rate=4.0)
    assert r.accelerators == 8192 and r.tco.magnitude > 0
    # GPU-only capex: a DGX H100 fleet costs at least its GPUs' amortized price per hour
    assert r.cost_per_gpu_hour.to("USD/h").magnitude > fleet.node.accelerator.si.unit_cost / (5 * 8760)


def test_rent_prices_the_fleet_at_a_catalog_rental():
    """rent= takes the price catalog's list price as the cloud rate: AWS p5 on demand 12.29 USD per
    H100-hour (98.32 / 8, mlsysim_registry/data/prices.toml) for Research_256 (256 H100) over 30 days:
    rented = 12.29 * 256 * 720 = 2,265,292.8 USD; break-even utilization = TCO / rented."""
    c = mlsysim.Systems.Clusters.Research_256
    dc = mlsysim.Infra.Datacenters.Hyperscale_Typical
    r = EconomicsModel().solve(c, 30, datacenter=dc, rent="aws-p5")
    assert r.rent == "aws-p5" and r.rent_term == "on_demand" and "p5.48xlarge" in r.rent_source
    assert r.cloud_rate.to("USD/h").magnitude == pytest.approx(12.29)
    assert r.cloud_cost.to("USD").magnitude == pytest.approx(12.29 * 256 * 720)
    assert r.breakeven_utilization == pytest.approx(r.tco.magnitude / r.cloud_cost.magnitude)
    same = EconomicsModel().solve(c, 30, datacenter=dc, cloud_rate=12.29)  # the same as the bare rate
    assert same.tco == r.tco and same.cloud_cost.magnitude == pytest.approx(r.cloud_cost.magnitude)
    assert same.breakeven == r.breakeven and same.rent is None
    assert EconomicsModel().solve(c, 30, datacenter=dc).breakeven_utilization is None  # no rate, no comparison
    cheaper = EconomicsModel().solve(c, 30, datacenter=dc, rent="lambda-h100-sxm")
    assert cheaper.breakeven_utilization > r.breakeven_utilization  # a cheaper rental: owning pays off later


def test_rent_errors_name_the_argument():
    c = mlsysim.Systems.Clusters.Research_256
    dc = mlsysim.Infra.Datacenters.Hyperscale_Typical
    with pytest.raises(InvalidInputError, match="rent=.*not both"):
        EconomicsModel().solve(c, 30, datacenter=dc, rent="aws-p5", cloud_rate=3.0)
    with pytest.raises(InvalidInputError, match="fleet's accelerator"):
        EconomicsModel().solve(c, 30, datacenter=dc, rent="aws-p4d")  # A100 40GB rental, H100 fleet
    with pytest.raises(InvalidInputError, match="rent_term.*reserved_3yr"):
        EconomicsModel().solve(c, 30, datacenter=dc, rent="gcp-a3-high")  # lists the 3-year term only
    assert EconomicsModel().solve(c, 30, datacenter=dc, rent="gcp-a3-high", rent_term="reserved_3yr").cloud_rate
    with pytest.raises(InvalidInputError, match="rent_term.*only with rent"):
        EconomicsModel().solve(c, 30, datacenter=dc, rent_term="spot")


def test_cost_cli_rent():
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["cost", "Research_256", "--days", "30", "--datacenter", "Quebec", "--rent", "aws-p5"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "aws-p5" in out.output and "breakeven_utilization" in out.output and "12.29 USD/h" in out.output
    bad = CliRunner().invoke(main, [*args[:-1], "aws-p55"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --rent:") and "did you mean aws-p5" in bad.output
    term = CliRunner().invoke(main, [*args, "--rent-term", "spot"])
    assert term.exit_code == 1 and term.output.startswith("Error: --rent-term:")


# --- renting needs no site: a rate without a PUE or electricity price prices the rental alone

OWNED = ("opex_energy", "opex", "tco", "cost_per_gpu_hour", "rental_estimate", "breakeven_utilization", "breakeven")


def test_rent_without_a_datacenter_prices_the_rental_alone():
    """Research_256 (32 nodes x 8 H100, no datacenter in the catalog) rented at aws-p5 on demand for 30 days:
    the price catalog row's 12.29 USD per GPU-hour x 256 x 720 h = 2,265,292.8 USD. CapEx needs no site:
    256 x 31,250 + 32 x 160,000 = 13,120,000 USD, 30 / (5 x 365) of it = 215,671.23 USD. Energy, TCO and the
    break-even need a PUE and a price: None, and owned_note says why."""
    c = mlsysim.Systems.Clusters.Research_256
    assert c.datacenter is None
    r = M.solve(c, 30, rent="aws-p5")
    assert r.cloud_rate.to("USD/h").magnitude == pytest.approx(12.29)
    assert r.cloud_cost.to("USD").magnitude == pytest.approx(2_265_292.8)
    assert r.capex_total.magnitude == pytest.approx(13_120_000) and r.capex.magnitude == pytest.approx(215_671.2329)
    assert all(getattr(r, f) is None for f in OWNED) and r.tco_usd is None and r.cheaper is None
    assert r.pue is None and r.facility_energy is None and r.price_source is None and r.rental_note is None
    assert "no datacenter" in r.owned_note and r.why() == [f"tco: {r.owned_note}"]
    same = M.solve(c, 30, cloud_rate=12.29)  # a bare rate the same
    assert same.cloud_cost.magnitude == pytest.approx(r.cloud_cost.magnitude) and same.owned_note == r.owned_note
    with pytest.raises(InvalidInputError, match="no datacenter; rent= or cloud_rate="):  # nothing to answer
        M.solve(c, 30)


def test_rent_on_a_grid_without_a_price_keeps_what_the_pue_gives():
    unpriced = GridProfile(name="NoPrice", carbon_intensity="20 g/kWh", typical_pue=1.5)
    r = M.solve(FLEET, 30, datacenter=unpriced, cloud_rate=4.0)
    assert r.facility_energy.magnitude == pytest.approx(54720 * 1.5) and r.pue == 1.5
    assert r.tco is None and r.electricity_price is None and "'NoPrice' has no electricity_price" in r.owned_note
    assert r.cloud_cost.magnitude == pytest.approx(4.0 * 80 * 720)
    priced = M.solve(FLEET, 30, datacenter=unpriced, cloud_rate=4.0, kwh_price=0.1)  # a price: owned again
    assert priced.owned_note is None and priced.tco.magnitude == pytest.approx(TCO + 54720 * (1.5 - 1.2) * 0.1)
    assert priced.breakeven_utilization == pytest.approx(priced.tco.magnitude / r.cloud_cost.magnitude)


def test_rent_without_a_datacenter_takes_a_pue_and_price_for_the_owned_side():
    """pue= and kwh_price= give the owned side without a site: the same TCO and break-even as a datacenter with
    that PUE on a grid with that price."""
    no_dc = attrs.evolve(FLEET, datacenter=None)
    r = M.solve(no_dc, 30, pue=1.2, kwh_price=0.1, cloud_rate=4.0)
    assert r.owned_note is None and r.tco.magnitude == pytest.approx(TCO)
    assert r.breakeven_utilization == pytest.approx(TCO / (4.0 * 80 * 720))
    assert r.breakeven == M.solve(FLEET, 30, cloud_rate=4.0).breakeven
    with_pue = M.solve(no_dc, 30, pue=1.2, cloud_rate=4.0)  # no price: no grid named
    assert with_pue.tco is None and "no datacenter and no grid" in with_pue.owned_note


def test_cost_cli_rent_without_a_datacenter():
    """`mlsysim cost Research_256 --days 30 --rent aws-p5` (issue 19's must-show): exit 0, the rental cost and
    the line saying why the owned cost is not there; `mlsysim sweep cost` gives the same points."""
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["cost", "Research_256", "--days", "30", "--rent", "aws-p5"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "12.29 USD/h" in out.output and "2,265,000 USD" in out.output and "owned_note" in out.output
    assert "no datacenter" in out.output and "tco " not in out.output
    doc = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)["result"]
    assert doc["cloud_cost"]["value"] == pytest.approx(2_265_292.8) and doc["tco"] is None
    swept = CliRunner().invoke(
        main, ["sweep", "cost", "--cluster", "Research_256", "--days", "30,365", "--rent", "aws-p5"] + ["--json", "-"]
    )
    points = json.loads(swept.stdout)["points"]
    assert [p["error"] for p in points] == [None, None] and points[0]["result"] == doc
    bare = CliRunner().invoke(main, args[:4])
    assert (
        bare.exit_code == 1
        and bare.output.startswith("Error: --datacenter:")
        and "--rent or --cloud-rate" in bare.output
    )


# --- the rental estimate: what a GPU cloud would charge for a committed term (mlsysim_fleet.rental)
HOURS_PER_YEAR = 365 * 24
# FLEET: CapEx 3.4e6 USD for 80 accelerators; OpEx per hour = energy 76 kW x PUE 1.2 x 0.1 USD/kWh
# = 9.12 USD/h plus maintenance 3.4e6 x 0.05 / 8760 = 19.4064 USD/h
CAPEX, N = 3.4e6, 80
OPEX_PER_HOUR = 76 * 1.2 * 0.1 + CAPEX * 0.05 / HOURS_PER_YEAR


def _rental(r):
    return r.rental_estimate.to("USD/h").magnitude


def test_rental_estimate_by_hand():
    """T = 2 years, m = 20 %: (3.4e6 / 2 / 8760 + 28.5264) / (80 x 0.8) = (194.0639 + 28.5264) / 64 = 3.4780 USD/h."""
    r = M.solve(FLEET, 30, rental_years=2, rental_margin=0.2)
    hand = (CAPEX / 2 / HOURS_PER_YEAR + OPEX_PER_HOUR) / (N * 0.8)
    assert hand == pytest.approx(3.47798, rel=1e-5)
    assert _rental(r) == pytest.approx(hand)
    assert (r.rental_years, r.rental_margin) == (2.0, 0.2)
    # no margin and the owner's 5-year life: the owned cost per GPU-hour itself
    assert _rental(M.solve(FLEET, 30, rental_years=5, rental_margin=0)) == pytest.approx(
        r.cost_per_gpu_hour.to("USD/h").magnitude
    )
    assert _rental(M.solve(FLEET, 30, rental_years=Q_(730, "day"), rental_margin=0.2)) == pytest.approx(hand)


def test_defaults_are_the_filed_figures_and_the_owned_tco_is_unchanged():
    r = M.solve(FLEET, 30)
    assert (r.rental_years, r.rental_margin) == (3.0, 0.169)
    assert _rental(r) == pytest.approx((CAPEX / 3 / HOURS_PER_YEAR + OPEX_PER_HOUR) / (N * (1 - 0.169)))
    # a per-hour price: the costed duration does not move it; the owned TCO ignores it
    assert _rental(M.solve(FLEET, 365)) == pytest.approx(_rental(r))
    assert M.solve(FLEET, 30, rental_margin=0.5).tco == r.tco


def test_band_spans_the_filed_margins():
    b = banded(M, FLEET, 30)
    low, high = (q.to("USD/h").magnitude for q in b.bands.ranges["rental_estimate"])
    # the fast corner: a 14.1 % margin and the utilization's low end (0.76 - 0.3) / 0.7 (less energy);
    # the slow corner: 37 % and (0.82 - 0.3) / 0.7
    fast = _rental(M.solve(FLEET, 30, rental_margin=0.141, utilization=0.46 / 0.7))
    slow = _rental(M.solve(FLEET, 30, rental_margin=0.37, utilization=0.52 / 0.7))
    assert (low, high) == (pytest.approx(fast), pytest.approx(slow))
    held = banded(M, FLEET, 30, rental_margin=0.2)  # given: held at the value
    lo, hi = (q.to("USD/h").magnitude for q in held.bands.ranges["rental_estimate"])
    assert hi / lo < 1.01  # only the utilization's energy moves it


def test_out_of_domain_notes():
    note = M.solve(FLEET, 30).rental_note
    assert "TestGPU" in note and "term" not in note  # rented by no provider of the price catalog
    short = M.solve(FLEET, 30, rental_years=1)
    assert "1-year term" in short.rental_note  # an upper bound
    assert short.why() == [f"rental_estimate: {short.rental_note}"]  # the why lines carry it
    h100 = Fleet(name="one", node=mlsysim.Systems.Nodes.DGX_H100, count=1)
    dc = mlsysim.Infra.Datacenters.Hyperscale_Typical
    assert M.solve(h100, 30, datacenter=dc).rental_note is None and M.solve(h100, 30, datacenter=dc).why() == []
    assert M.solve(h100, 30, datacenter=dc, rental_years=5).rental_note is None


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"rental_margin": 1.0}, "rental_margin"),
        ({"rental_margin": -0.1}, "rental_margin"),
        ({"rental_years": 0}, "rental_years"),
        ({"rental_years": Q_(2, "GB")}, "rental_years"),
    ],
)
def test_bad_rental_inputs_name_the_argument(kwargs, argument):
    with pytest.raises(InvalidInputError) as e:
        M.solve(FLEET, 30, **kwargs)
    assert e.value.argument == argument


def test_cost_cli_shows_the_rental_estimate():
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["cost", "Research_256", "--days", "30", "--datacenter", "Hyperscale_Typical"]
    three = CliRunner().invoke(main, args)
    five = CliRunner().invoke(main, [*args, "--rental-years", "5"])
    assert three.exit_code == 0 and five.exit_code == 0, three.output + five.output
    assert "rental_estimate" in three.output
    line = [s for s in five.output.splitlines() if s.startswith("rental_estimate")]
    assert line and line[0] not in three.output  # a longer term, another price


def test_a_fleet_serves_whole_replicas_and_holds_the_run():
    """The fleet's token rate counted fractions of a replica (rate x N / replica GPUs): 80 GPUs of 3-GPU
    replicas at 300 tokens/s gave 8,000 tokens/s (26.7 replicas), a 16-GPU replica on an 8-GPU fleet half its
    rate, and a run on 100 GPUs was priced on an 80-GPU fleet. Now 26 whole replicas (2 GPUs idle, still
    owned): 7,800 tokens/s; a replica or a run larger than the fleet, or a fractional GPU count, is refused."""
    r = M.solve(FLEET, 30, workload=Serving(Q_(300, "1/s"), tp=3))
    assert r.replicas == 26 and r.replica_accelerators == 3
    assert r.tokens_per_second.magnitude == pytest.approx(26 * 300)
    assert r.cost_per_million_tokens.magnitude == pytest.approx(TCO / (720 * 3600) / 7800 * 1e6)
    with pytest.raises(InvalidInputError, match="'a replica of 96 accelerators' .*fits the fleet's 80 accelerators"):
        M.solve(FLEET, 30, workload=Training(tokens_per_second=Q_(1000, "1/s"), num_gpus=96))
    with pytest.raises(InvalidInputError, match=r"workload.tp_size=2.5 is invalid: expected a whole number"):
        M.solve(FLEET, 30, workload=Serving(Q_(300, "1/s"), tp=2.5))
    with pytest.raises(InvalidInputError, match="'a run on 100 accelerators' .*at most the fleet's 80"):
        M.solve(FLEET, 30, workload=Training(time_to_train=Q_(1, "day"), total_accelerators=100))
    with pytest.raises(InvalidInputError, match="workload.total_accelerators=0 is invalid"):
        M.solve(FLEET, 30, workload=Training(time_to_train=Q_(1, "day"), total_accelerators=0))


@pytest.mark.parametrize(
    "workload, why",
    [
        (None, "no workload was given"),
        (Training(time_to_train=Q_(10, "day"), total_accelerators=40), "the workload is a training run"),
        (Training(latency=Q_(1, "ms"), throughput=Q_(8000, "1/s")), "a query is one sample"),
    ],
)
def test_tokens_per_query_nothing_would_use_is_refused(workload, why):
    """tokens_per_query=100 without a serving result was ignored: the same answer as without it (cost_per_query
    None, or a per-sample result's per-query cost from its samples). Now an error naming tokens_per_query."""
    with pytest.raises(InvalidInputError, match=f"tokens_per_query=100 is invalid: expected None: .*{why}"):
        M.solve(FLEET, 30, workload=workload, tokens_per_query=100)


def test_an_amount_beyond_the_float_range_in_si_names_its_bound():
    """rental_years=1e308 (3.2e315 s: not a float) was told 'expected a finite number > 0 (years)', which it is;
    the bound it passed is the largest float in seconds over a year's (5.70045e+300 years). 0 keeps the plain
    message."""
    with pytest.raises(InvalidInputError, match=r"rental_years=1e\+308 is invalid: .* <= 5.70045e\+300 \(years"):
        M.solve(FLEET, 30, rental_years=1e308)
    with pytest.raises(InvalidInputError, match=r"rental_years=0 is invalid: expected a finite number > 0 \(years\)"):
        M.solve(FLEET, 30, rental_years=0)
