"""Composing solvers through the typed result protocol (the guide's "Composing Solvers" section).

Consumers (EconomicsModel, SustainabilityModel) read another solver's result only by its fields
(the capability protocols of ``mlsysim_core.results``: HasTokenRate, HasLatency, HasStepTime), so
the built-in results and a third party's result class with the right fields compose alike, and a
result lacking a needed field is an error that says which field.

Every expected number is derived by hand below from the catalog values asserted as premises
(prices, node power, grid price, PUE) and the named defaults (5-year straight-line amortization,
5 %/year maintenance, utilization 0.7, idle power 0.3 x max).
"""

from __future__ import annotations

import math

import attrs
import pytest

import mlsysim
from mlsysim import DistributedModel, EconomicsModel, ServingModel, SingleNodeModel, SustainabilityModel
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import HasLatency, HasStepTime, HasTokenRate, Result, measure, need, result
from mlsysim_core.types import Fleet
from mlsysim_core.units import Q_
from mlsysim_physics import equations as physics_equations

DAY, HOUR, YEAR = 86400.0, 3600.0, 365 * 86400.0
H100, A100 = mlsysim.Hardware.Cloud.H100, mlsysim.Hardware.Cloud.A100
US_AVG = mlsysim.Infra.Grids.US_Avg


def test_premises_from_the_catalog_and_defaults():
    from mlsysim_physics.equations import DEFAULT_IDLE_FRACTION, DEFAULT_UTILIZATION

    assert (DEFAULT_UTILIZATION, DEFAULT_IDLE_FRACTION) == (0.7, 0.3)
    assert H100.unit_cost.to("USD").magnitude == 31250 and A100.unit_cost.to("USD").magnitude == 17499
    dgx_h100, dgx_a100 = mlsysim.Systems.Nodes.DGX_H100, mlsysim.Systems.Nodes.DGX_A100
    assert dgx_h100.power_max.to("kW").magnitude == 10.2 and dgx_h100.host_cost.to("USD").magnitude == 160000
    assert dgx_a100.power_max.to("kW").magnitude == 6.5 and dgx_a100.host_cost.to("USD").magnitude == 92394.72
    assert dgx_h100.power_idle is None and dgx_a100.power_idle is None  # idle = 0.3 x max
    assert US_AVG.electricity_price.to("USD/kWh").magnitude == 0.0806 and US_AVG.typical_pue == 1.56
    assert mlsysim.Infra.Grids.Sweden.carbon_intensity.to("g/kWh").magnitude == 23
    assert H100.embodied_carbon.to("kg").magnitude == 164


# --------------------------------------------------------------------------- 1. Serving -> Economics

#: "4 H100s": half a DGX H100 (host price and node power scale with the GPU count: stated assumption).
FOUR_H100 = Fleet(
    name="4x H100 server",
    count=1,
    node=attrs.evolve(
        mlsysim.Systems.Nodes.DGX_H100,
        name="half a DGX H100",
        accelerators_per_node=4,
        power_max="5.1 kW",
        host_cost="80000 USD",
    ),
)
# 30 days, by hand:
#   CapEx total   = 4 x 31,250 + 80,000                          = 205,000 USD
#   CapEx share   = 205,000 x 30 / (5 x 365)                     =   3,369.863 USD
#   IT power      = 5.1 x (0.3 + 0.7 x 0.7) ... = 5.1 x 0.79     =       4.029 kW
#   energy        = 4.029 kW x 720 h x PUE 1.56 x 0.0806 USD/kWh =     364.745 USD
#   maintenance   = 205,000 x 0.05 x 30 / 365                    =     842.466 USD
#   TCO           = 3,369.863 + 364.745 + 842.466                =   4,577.074 USD per 30 days
TCO_4XH100_30D = 4577.074


def can_serve_within_budget(model, budget_per_million_tokens: float, monthly_budget: float):
    """The guide's question, answered by composing two solvers (the user's side of the protocol)."""
    serving = ServingModel().solve(model=model, hardware=H100, seq_len=2048, batch_size=32, tp_size=4)
    if not serving.feasible:
        return False, serving, None
    cost = EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=serving)
    ok = (
        cost.cost_per_million_tokens.to("USD").magnitude <= budget_per_million_tokens
        and cost.tco.to("USD").magnitude <= monthly_budget
    )
    return ok, serving, cost


def test_llama70b_on_4_h100_within_budget():
    ok, serving, cost = can_serve_within_budget(mlsysim.Models.Language.Llama3_70B, 2.0, 5000.0)
    assert isinstance(serving, HasTokenRate) and serving.tp_size == 4 and serving.feasible
    # fp16 weights 141 GB / 4 GPUs = 35 GB each, plus the KV cache of 32 x 2048 tokens: fits in 80 GB
    assert serving.total_memory_required.to("GB").magnitude < 80
    tps = serving.tokens_per_second.to("1/s").magnitude
    assert tps == pytest.approx(32 / serving.itl.to("s").magnitude)  # the TP group emits batch / ITL
    assert cost.tco.to("USD").magnitude == pytest.approx(TCO_4XH100_30D, rel=1e-6)
    assert cost.capex.to("USD").magnitude == pytest.approx(3369.863, rel=1e-6)
    assert cost.opex_energy.to("USD").magnitude == pytest.approx(364.745, rel=1e-6)
    assert cost.replica_accelerators == 4  # read from tp_size
    assert cost.tokens_per_second.to("1/s").magnitude == pytest.approx(tps)  # one replica = the fleet
    # cost per 1M tokens = TCO per second / tokens per second x 1e6
    per_million = TCO_4XH100_30D / (30 * DAY) / tps * 1e6
    assert cost.cost_per_million_tokens.to("USD").magnitude == pytest.approx(per_million, rel=1e-6)
    assert 0.2 < per_million < 5.0 and ok  # about $1 per 1M tokens
    # a tighter budget says no, for the stated reason
    assert not can_serve_within_budget(mlsysim.Models.Language.Llama3_70B, per_million / 2, 5000.0)[0]


def test_fleet_with_two_replicas_has_the_same_cost_per_token():
    serving = ServingModel().solve(
        model=mlsysim.Models.Language.Llama3_70B, hardware=H100, seq_len=2048, batch_size=32, tp_size=4
    )
    dgx = Fleet(name="one DGX H100", node=mlsysim.Systems.Nodes.DGX_H100, count=1)
    two = EconomicsModel().solve(dgx, 30, datacenter=US_AVG, workload=serving)
    assert two.tokens_per_second.magnitude == pytest.approx(2 * serving.tokens_per_second.magnitude)
    # a DGX H100 costs exactly twice the half server (all terms linear), so the per-token cost is equal
    one = EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=serving)
    assert two.tco.magnitude == pytest.approx(2 * one.tco.magnitude)
    assert two.cost_per_million_tokens.magnitude == pytest.approx(one.cost_per_million_tokens.magnitude)


def test_cost_per_token_counts_the_whole_request():
    """Issue 14 item 3: Llama-3-70B on 8x H100 (TP 8), 64 concurrent requests of 2048 prompt + 512
    generated tokens. Continuous batching: while 512 decode steps run, all 64 requests finish and 64
    new prompts are prefilled, so a cycle of T = 512 x ITL_mean + 64 x t_prefill(one prompt) serves
    64 requests. One prompt's prefill is compute-bound: 2 x 69.5e9 matmul parameters x 2048 tokens
    / 8 GPUs / (989 TFLOP/s x 0.6) = 60 ms before its all-reduces, against ~14 ms per decode step:
    the prefills take ~40 % of the time, and pricing the decode rate alone (64 / ITL) made a token
    about 1.8x too cheap."""
    serving = ServingModel().solve(
        model=mlsysim.Models.Language.Llama3_70B, hardware=H100, seq_len=2048, batch_size=64, tp_size=8, output_len=512
    )
    dgx = Fleet(name="one DGX H100", node=mlsysim.Systems.Nodes.DGX_H100, count=1)
    cost = EconomicsModel().solve(dgx, 30, datacenter=US_AVG, workload=serving)
    itl_mean, t_one = serving.itl_mean.to("s").magnitude, serving.prefill_time_per_request.to("s").magnitude
    assert 0.060 < t_one < 0.12 and 0.010 < itl_mean < 0.020
    cycle = 512 * itl_mean + 64 * t_one  # s per 64 requests
    per_s = 2 * TCO_4XH100_30D / (30 * DAY)  # a DGX H100 = two half servers
    assert cost.token_rate_basis == "request"
    assert cost.tokens_per_second.to("1/s").magnitude == pytest.approx(64 * 512 / cycle, rel=1e-9)
    assert cost.input_tokens_per_second.to("1/s").magnitude == pytest.approx(64 * 2048 / cycle, rel=1e-9)
    whole = per_s * cycle / (64 * 512) * 1e6  # USD per 1M output tokens, request included
    assert cost.cost_per_million_tokens.to("USD").magnitude == pytest.approx(whole, rel=1e-6)
    share = 64 * t_one / cycle
    assert 0.3 < share < 0.5
    assert cost.cost_per_million_input_tokens.magnitude == pytest.approx(
        per_s * 64 * t_one / (64 * 2048) * 1e6, rel=1e-6
    )
    assert cost.cost_per_million_output_tokens.magnitude == pytest.approx(
        per_s * 512 * itl_mean / (64 * 512) * 1e6, rel=1e-6
    )
    decode_only = per_s / (64 / serving.itl.to("s").magnitude) * 1e6
    assert 1.6 < whole / decode_only < 2.0  # the 1.8x of the issue


def test_a_loaded_serving_result_prices_its_prompts_at_the_served_rate():
    """Under traffic the prompt side kept batch 1's static values: Llama-3.1-8B on one H100, 1024 + 256 tokens,
    gave 479 prompt tokens/s and a prefill share of 0.0138 at 1, 10 or 1000 requests/s while its output rate
    was the loaded one (256 ... 6346 tokens/s), and EconomicsModel priced input tokens from that mix (53x too
    dear at saturation). Now prompt tokens/s = served requests/s x 1024 and the share = requests/s x one
    prompt's prefill (the static cycle's B t_prefill / cycle at the served rate)."""
    model = mlsysim.Models.Language.Llama3_8B
    for rate in (1.0, 10.0, 1000.0):
        r = ServingModel().solve(model=model, hardware=H100, seq_len=1024, output_len=256, arrival_rate=rate)
        served, t_one = r.requests_per_second.m_as("1/s"), r.prefill_time_per_request.m_as("s")
        assert served == pytest.approx(min(rate, served)) and (rate == 1000.0) == r.overloaded
        assert r.input_tokens_per_second.m_as("1/s") == pytest.approx(served * 1024, rel=1e-12)
        assert r.output_tokens_per_second.m_as("1/s") == pytest.approx(served * 256, rel=1e-12)
        assert r.prefill_time_share == pytest.approx(served * t_one, rel=1e-12) and 0 < r.prefill_time_share < 1
        # at the hand-derived TCO's utilization 0.7 (by default a loaded result places the nodes at its served rate's
        # power: plugins/mlsysim-economics/tests/test_served_rate_economics.py)
        cost = EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=r, utilization=0.7)
        per_s = TCO_4XH100_30D / (30 * DAY)  # four replicas of one H100 each
        assert cost.cost_per_million_input_tokens.m_as("USD") == pytest.approx(per_s * t_one / (4 * 1024) * 1e6)


def test_llama70b_on_one_h100_is_not_servable():
    serving = ServingModel().solve(model=mlsysim.Models.Language.Llama3_70B, hardware=H100, seq_len=2048)
    assert serving.feasible is False
    # fp16 weights alone are 2 x 70.6e9 B = 141 GB > the GPU's usable memory
    assert serving.total_memory_required.to("GB").magnitude > 141
    assert serving.total_memory_required > serving.memory_available


# --------------------------------------------------------------------------- 2. Distributed -> Sustainability


def test_training_carbon_per_region_and_the_cleanest_region():
    fleet = mlsysim.Systems.Clusters.Frontier_8K  # 1024 x DGX H100 = 8192 GPUs
    run = DistributedModel().solve(
        model=mlsysim.Models.Language.Llama3_70B,
        fleet=fleet,
        batch_size=2048,
        tp_size=8,
        pp_size=4,
        microbatch_count=8,
        tokens=1e12,
    )
    assert isinstance(run, HasStepTime) and run.feasible and run.total_accelerators == 8192
    # run time = 1e12 tokens / (2048 x 2048 tokens per step) x step_time
    step_s = run.step_time.to("s").magnitude
    t_run = 1e12 / (2048 * 2048) * step_s
    assert run.time_to_train.to("s").magnitude == pytest.approx(t_run, rel=1e-9)
    # facility energy = 1024 nodes x 10.2 kW x 0.79 x PUE 1.56 x run hours
    energy_kwh = 1024 * 10.2 * 0.79 * 1.56 * t_run / HOUR
    embodied_kg = 164 * 8192 * t_run / (5 * YEAR)  # amortized over a 5-year life
    by_region = {}
    for grid in mlsysim.Infra.Grids:
        s = SustainabilityModel().solve(fleet, workload=run, datacenter=grid)
        assert s.workload_time.to("s").magnitude == pytest.approx(t_run)
        assert s.workload_energy.to("kWh").magnitude == pytest.approx(energy_kwh, rel=1e-9)
        ci = grid.carbon_intensity.to("kg/kWh").magnitude
        assert s.workload_carbon.to("kg").magnitude == pytest.approx(energy_kwh * ci + embodied_kg, rel=1e-9)
        by_region[grid.name] = s.workload_carbon.to("kg").magnitude
    cleanest = min(by_region, key=by_region.get)
    assert cleanest == min(mlsysim.Infra.Grids, key=lambda g: g.carbon_intensity.magnitude).name
    assert cleanest == mlsysim.Infra.Grids.Sweden.name  # 23 g/kWh
    # same energy everywhere (same PUE): carbon differs by the grid only
    assert by_region[US_AVG.name] - by_region[cleanest] == pytest.approx(energy_kwh * (0.409 - 0.023), rel=1e-9)


def test_training_cost_from_the_same_result():
    fleet = mlsysim.Systems.Clusters.Frontier_8K
    run = DistributedModel().solve(
        model=mlsysim.Models.Language.Llama3_70B,
        fleet=fleet,
        batch_size=2048,
        tp_size=8,
        pp_size=4,
        microbatch_count=8,
        tokens=1e12,
    )
    cost = EconomicsModel().solve(fleet, datacenter=US_AVG, workload=run)  # duration = the run
    t = run.time_to_train.to("s").magnitude
    assert cost.workload_time.to("s").magnitude == pytest.approx(t)
    assert cost.workload_cost.magnitude == pytest.approx(cost.tco.magnitude)  # the whole fleet, the whole run
    assert cost.tokens_per_second is None  # priced as a run, not as serving


# --------------------------------------------------------------------------- 3. SingleNode x2 -> Economics


def _dgx(hw: str) -> Fleet:
    return Fleet(name=f"one DGX {hw}", node=getattr(mlsysim.Systems.Nodes, f"DGX_{hw}"), count=1)


# One year, one DGX node, US average grid, by hand:
#   A100: CapEx 8 x 17,499 + 92,394.72 = 232,386.72; share 232,386.72 / 5 = 46,477.344;
#         energy 6.5 kW x 0.79 x 8760 h x 1.56 x 0.0806 = 5,655.937; maintenance 11,619.336 -> 63,752.617
#   H100: CapEx 8 x 31,250 + 160,000 = 410,000; share 82,000;
#         energy 10.2 kW x 0.79 x 8760 h x 1.56 x 0.0806 = 8,875.463; maintenance 20,500 -> 111,375.463
TCO_YEAR = {"A100": 63752.617, "H100": 111375.463}


def test_a100_or_h100_for_inference_cost_per_query():
    per_query, qps_of = {}, {}
    for name, hw in (("A100", A100), ("H100", H100)):
        profile = SingleNodeModel().solve(model=mlsysim.Models.ResNet50, hardware=hw, batch_size=32)
        assert isinstance(profile, HasLatency)
        cost = EconomicsModel().solve(_dgx(name), 365, datacenter=US_AVG, workload=profile)
        assert cost.tco.to("USD").magnitude == pytest.approx(TCO_YEAR[name], rel=1e-6)
        qps = profile.throughput.to("1/s").magnitude
        assert qps == pytest.approx(32 / profile.latency.to("s").magnitude)
        assert cost.queries_per_second.magnitude == pytest.approx(8 * qps)  # 8 GPUs, one replica each
        expected = TCO_YEAR[name] / YEAR / (8 * qps)
        assert cost.cost_per_query.to("USD").magnitude == pytest.approx(expected, rel=1e-6)
        # the same number from the cost of one GPU-hour and one GPU's throughput
        per_gpu_hour = cost.cost_per_gpu_hour.to("USD/h").magnitude
        assert cost.cost_per_query.magnitude == pytest.approx(per_gpu_hour / (qps * HOUR), rel=1e-9)
        per_query[name], qps_of[name] = expected, qps
    cheaper = min(per_query, key=per_query.get)
    # A DGX H100 costs 111,375.463 / 63,752.617 = 1.747x a DGX A100 per year, so the H100 is cheaper
    # per query exactly when it serves more than 1.747x the A100's queries per second (ResNet-50 at
    # batch 32 is close to that line: about 1.7-1.8x, so the answer depends on SingleNodeModel's physics).
    speedup = qps_of["H100"] / qps_of["A100"]
    assert per_query["H100"] / per_query["A100"] == pytest.approx(1.747 / speedup, rel=1e-3)
    assert cheaper == ("H100" if speedup > TCO_YEAR["H100"] / TCO_YEAR["A100"] else "A100")
    assert 1.2 < speedup < 2.5


# --------------------------------------------------------------------------- third-party results


@attrs.frozen
class VendorServing:
    """A third party's serving result: not a mlsysim Result, only the fields the protocol needs."""

    tokens_per_second: object
    tp_size: int = 1


@result("VendorStepModel")
class VendorStep(Result):
    """A third party's per-step result, written with the mlsysim result helpers."""

    latency = measure("ms")
    throughput = measure("1/s")


@attrs.frozen
class VendorTraining:
    step_time: object
    parallelism: dict


def test_third_party_results_compose():
    s = VendorServing(tokens_per_second=Q_(2000, "1/s"), tp_size=4)
    assert isinstance(s, HasTokenRate)
    cost = EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=s)
    # 4,577.074 USD / (30 x 86,400 s) / 2,000 tokens/s x 1e6 = 0.88292 USD per 1M tokens
    assert cost.cost_per_million_tokens.to("USD").magnitude == pytest.approx(0.88292, rel=1e-4)

    step = VendorStep(latency=0.01, throughput=400.0)  # SI floats: 10 ms, 400 samples/s
    assert isinstance(step, HasLatency)
    cost = EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=step)
    # 4 GPUs x 400/s = 1,600 queries/s: 4,577.074 / 2,592,000 / 1,600 = 1.10366e-6 USD per query
    assert cost.cost_per_query.to("USD").magnitude == pytest.approx(1.10366e-6, rel=1e-4)

    train = VendorTraining(step_time=Q_(2, "s"), parallelism={"dp": 1, "tp": 4, "pp": 1})
    carbon = SustainabilityModel().solve(FOUR_H100, workload=train, steps=1800, datacenter=US_AVG)
    # 1 h on 4 GPUs: 4.029 kW x 1 h x 1.56 = 6.28524 kWh; carbon 6.28524 x 0.409 + 164 x 4 x 1 h / 5 y
    assert carbon.workload_energy.to("kWh").magnitude == pytest.approx(6.28524, rel=1e-6)
    assert carbon.workload_carbon.to("kg").magnitude == pytest.approx(
        6.28524 * 0.409 + 164 * 4 * HOUR / (5 * YEAR), rel=1e-6
    )


def test_a_result_without_the_needed_field_is_a_clear_error():
    @attrs.frozen
    class OnlyLatency:
        latency: object

    with pytest.raises(InvalidInputError, match=r"tokens_per_second.*step_time.*needed by EconomicsModel"):
        EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=OnlyLatency(Q_(1, "ms")))
    with pytest.raises(InvalidInputError, match=r"tokens_per_second.*step_time.*needed by SustainabilityModel"):
        SustainabilityModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=object())
    # a training result that gives only a step time needs the number of steps
    train = VendorTraining(step_time=Q_(2, "s"), parallelism={"dp": 1, "tp": 4, "pp": 1})
    with pytest.raises(InvalidInputError, match="steps"):
        EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=train)
    # a field of the wrong dimension names the field
    with pytest.raises(InvalidInputError, match="workload.tokens_per_second"):
        EconomicsModel().solve(FOUR_H100, 30, datacenter=US_AVG, workload=VendorServing(Q_(2000, "s")))
    # need(): the host's helper for consumers, naming field and consumer
    with pytest.raises(InvalidInputError, match=r"'tokens_per_second' field \(needed by MyConsumer\)"):
        need(OnlyLatency(Q_(1, "ms")), "tokens_per_second", consumer="MyConsumer", unit="1/s")
    assert need(VendorServing(Q_(2000, "1/s")), "tokens_per_second", consumer="MyConsumer", unit="1/s") == 2000
    assert math.isclose(need(VendorStep(latency=0.01, throughput=1.0), "latency", consumer="X", unit="s"), 0.01)


def test_an_infeasible_result_is_not_priced():
    h100 = mlsysim.Hardware.Cloud.H100
    r = ServingModel().solve(mlsysim.Models.Language.Llama3_70B, h100, seq_len=2048)
    assert r.feasible is False
    fleet = mlsysim.Systems.Clusters.Research_256
    for solver, kwargs in (
        (EconomicsModel(), {"kwh_price": 0.1}),
        (SustainabilityModel(), {"datacenter": mlsysim.Infra.Grids.US_Avg}),
    ):
        with pytest.raises(InvalidInputError, match="feasible"):
            solver.solve(fleet, 30, workload=r, **kwargs)


def test_energy_per_query_from_a_single_node_profile():
    p = SingleNodeModel().solve(mlsysim.Models.ResNet50, mlsysim.Hardware.Cloud.H100, batch_size=32)
    fleet = mlsysim.Systems.Clusters.Research_256
    s = SustainabilityModel().solve(fleet, 1, datacenter=mlsysim.Infra.Grids.US_Avg, workload=p, queries=1e6)
    # one H100's share (1/8) of a DGX H100 at the default utilization, at the facility, per image
    node = fleet.node
    pmax = node.power_max.to("W").magnitude
    u, idle = physics_equations.DEFAULT_UTILIZATION, physics_equations.DEFAULT_IDLE_FRACTION
    assert node.power_idle is None  # the catalog gives only the rated maximum
    p_gpu = (idle * pmax + u * (pmax - idle * pmax)) / 8
    expected_j = p_gpu * s.pue / p.throughput.to("1/s").magnitude
    assert s.energy_per_query.to("J").magnitude == pytest.approx(expected_j, rel=1e-9)
    assert s.workload_energy.to("J").magnitude == pytest.approx(expected_j * 1e6, rel=1e-9)


@pytest.mark.parametrize("precision, per_param", [("bf16", 2 + 4 + 12), ("fp16", 2 + 2 + 12)])
def test_training_state_per_parameter_is_the_same_in_both_training_solvers(precision, per_param):
    """One rule (mlsysim_physics.equations.adam_state_bytes, default_grad_precision): bf16 keeps fp32
    gradients (Megatron-LM, 18 B), fp16 keeps fp16 gradients (16 B), plus fp32 master and Adam (12 B).
    SingleNodeModel at seq_len 1 with full recomputation holds P x per_param + 2 x L x h bytes + the output layer,
    4 h + 6 V (the LM head's inputs, the fp32 logits and their 16-bit copy)."""
    model = mlsysim.Models.Language.Llama3_8B
    one = SingleNodeModel().solve(
        model, H100, batch_size=1, is_training=True, seq_len=1, precision=precision, activation_recomputation=True
    )
    acts = 2 * model.layers * model.hidden_dim + 4 * model.hidden_dim + 6 * model.vocab_size
    assert one.memory_footprint.m_as("B") == pytest.approx(model.parameters * per_param + acts, rel=1e-12)
    fleet = Fleet(name="one", node=mlsysim.Systems.Nodes.DGX_H100, count=1)
    dist = DistributedModel().solve(model, fleet, batch_size=8, precision=precision)
    assert dist.state_bytes_per_param == per_param
