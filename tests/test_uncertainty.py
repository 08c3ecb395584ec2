"""Bands, out-of-domain lines and calibrated hardware (mlsysim_uncertainty, docs/accuracy.md Bands)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim_cli import main
from mlsysim_core.errors import CatalogError, InvalidInputError, PluginConflictWarning
from mlsysim_core.results import shown as mlsysim_core_shown
from mlsysim_uncertainty import RANGES, banded

ROOT = Path(__file__).resolve().parents[1]
LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud


def _ms(q):
    return q.to("ms").magnitude


def test_band_brackets_the_answer_and_spans_the_ranges():
    r = banded(mlsysim.ServingModel, LM.Llama3_8B, HW.H100, 1024, 16, output_len=256)
    low, high = (_ms(q) for q in r.bands.ranges["itl"])
    assert low < _ms(r.itl) < high
    # the slow corner: every efficiency at its low end, the engine overhead at its high end
    slow = mlsysim.ServingModel().solve(
        LM.Llama3_8B, HW.H100, 1024, 16, output_len=256, efficiency=0.44, memory_efficiency=0.76, engine_overhead=2e-3
    )
    assert high == pytest.approx(_ms(slow.itl))
    built = r.bands.corners[1]  # the slow corner result, built on first use: that solve (up to rounding)
    assert type(built) is type(slow) and all(
        _ms(getattr(built, f)) == pytest.approx(_ms(getattr(slow, f)), rel=1e-12)
        for f in ("ttft", "itl", "e2e_latency")
    )
    assert "kv_cache_size" not in r.bands.ranges  # no efficiency moves a size
    assert "ttft" in r.to_dict()["bands"] and r.to_dict()["out_of_domain"] == list(r.out_of_domain)
    assert "[" in r.explain().splitlines()[3]
    shown = mlsysim_core_shown(r, "itl")  # "8.914 ms [7.45, 10.77]": the notebook table shows the band too
    assert shown.endswith("]") and f"<td>itl</td><td>{shown}</td>" in r._repr_html_()


def _inside(name, used, t):
    fast, slow = RANGES[name].corners(used)
    return fast + t * (slow - fast)


@settings(max_examples=40, deadline=None)
@given(
    c=st.floats(0, 1),
    m=st.floats(0, 1),
    o=st.floats(0, 1),
    n=st.floats(0, 1),
    power=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    batch=st.integers(1, 64),
)
def test_any_point_of_the_ranges_lies_inside_the_band(c, m, o, n, power, batch):
    """The two corners bound the box: the fields are monotone in each efficiency, overhead and power share."""
    args = (LM.Llama3_70B, HW.H100, 2048, batch)
    kw = dict(output_len=128, precision="fp8", tp_size=4)
    r = banded(mlsysim.ServingModel, *args, **kw)
    inner = mlsysim.ServingModel().solve(
        *args,
        **kw,
        efficiency=_inside("efficiency", 0.5, c),  # COMPUTE_NARROW at fp8
        memory_efficiency=_inside("memory_efficiency", 0.87, m),
        engine_overhead=_inside("engine_overhead", 1e-3, o),
        network_efficiency=_inside("network_efficiency", 0.8, n),
        **{a: _inside(a, RANGES[a].default, p) for a, p in zip(("power_idle", "power_compute", "power_memory"), power)},
    )
    for name in ("ttft", "itl", "e2e_latency", "tokens_per_second", "energy_per_token"):
        low, high = (q.to(getattr(inner, name).units).magnitude for q in r.bands.ranges[name])
        assert low * (1 - 1e-9) <= getattr(inner, name).magnitude <= high * (1 + 1e-9)


def test_corners_on_one_layout_equal_solves_at_the_corners():
    """ServingModel.solve_corners (one prepare, corners as copies of its layout) gives what two more
    solve() calls would, under load too; a call solve() refuses is refused the same way."""
    kw = dict(output_len=256, concurrency=8, precision="fp8", tp_size=2)
    r = banded(mlsysim.ServingModel, LM.Llama3_70B, HW.H100, 2048, **kw)
    fast = mlsysim.ServingModel().solve(
        LM.Llama3_70B,
        HW.H100,
        2048,
        **kw,
        efficiency=0.5 * 0.76 / 0.6,
        memory_efficiency=0.93,
        engine_overhead=0.0,
        network_efficiency=0.85,
    )
    slow = mlsysim.ServingModel().solve(
        LM.Llama3_70B,
        HW.H100,
        2048,
        **kw,
        efficiency=0.5 * 0.44 / 0.6,
        memory_efficiency=0.76,
        engine_overhead=2e-3,
        network_efficiency=0.75,
    )
    low, high = r.bands.ranges["ttft_mean"]
    assert low.to("ms").magnitude == pytest.approx(fast.ttft_mean.to("ms").magnitude, rel=1e-9)
    assert high.to("ms").magnitude == pytest.approx(slow.ttft_mean.to("ms").magnitude, rel=1e-9)
    with pytest.raises(TypeError, match="bogus"):
        banded(mlsysim.ServingModel, LM.Llama3_8B, HW.H100, 128, bogus=1)
    with pytest.raises(TypeError):
        banded(mlsysim.ServingModel, LM.Llama3_8B, HW.H100)  # no seq_len


@pytest.mark.parametrize(
    "kw",
    [
        dict(output_len=500, arrival_rate=3.0),
        dict(output_len=500, arrival_rate=3.0, slo_ttft=2.0, slo_itl=0.05),
        dict(output_len=256, concurrency=16),
        dict(output_len=256, concurrency=16, slo_ttft=2.0, slo_itl=0.05),
    ],
    ids=["open", "open with SLOs", "closed", "closed with SLOs"],
)
def test_ranges_under_traffic_span_whole_solves_at_the_corner_arguments(kw):
    """Under traffic ``solve_corners`` shares the layout and computes only what a band reads at the corners;
    each of the ranges' bands is the min/max of the nominal and two independent solve() calls at the two
    corner argument sets (``corner_arguments``), every field that moves, to 1e-9 relative."""
    from mlsysim_uncertainty.bands import corner_arguments, given_arguments

    args = (LM.Llama3_8B, HW.H100, 4000 if "arrival_rate" in kw else 1024)
    r = banded(mlsysim.ServingModel(), *args, **kw)
    given = given_arguments(mlsysim.ServingModel.solve, args, kw)
    fast, slow = (mlsysim.ServingModel().solve(**c) for c in corner_arguments(mlsysim.ServingModel, r, given))
    wanted = {"ttft_mean", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99", "e2e_p99", "itl_mean", "e2e_latency"}
    assert wanted <= set(r.bands.ranges)
    for name, (low, high) in r.bands.ranges.items():
        values = [getattr(x, name).to(low.units).magnitude for x in (r, fast, slow)]
        assert (low.magnitude, high.magnitude) == pytest.approx((min(values), max(values)), rel=1e-9), name


def test_an_argument_given_is_held():
    r = banded(mlsysim.ServingModel(), LM.Llama3_8B, HW.H100, 128, 1, efficiency=0.6, memory_efficiency=0.87)
    low, high = (_ms(q) for q in r.bands.ranges["itl"])
    # only the engine overhead moves: 0 .. 2 ms around the 1 ms default
    assert high - low == pytest.approx(2.0, rel=1e-6)


def test_out_of_domain_names_hardware_precision_and_lengths():
    inside = banded(mlsysim.ServingModel, LM.Llama3_70B, HW.H200, 300, 64, output_len=265, precision="fp8")
    assert inside.out_of_domain == ()
    far = banded(mlsysim.ServingModel, LM.Llama3_8B, HW.B200, 100_000, 1, output_len=20_000, precision="fp4")
    text = " ".join(far.out_of_domain)
    assert "hardware NVIDIA B200" in text and "never measured" in text
    assert "precision fp4" in text and "context (prompt + output tokens) 120000" in text
    assert "out of domain: hardware" in far.explain()


def test_who_has_ranges_is_derived_from_the_solvers():
    from mlsysim_uncertainty import OWN_RANGES, declaring

    own = declaring(*OWN_RANGES)
    # efficiencies (band_arguments) or catalog numbers (band_catalog, EconomicsModel's prices, power and PUE);
    # Engine inherits SingleNodeModel's declarations and solves through it
    expected = ("ServingModel", "SingleNodeModel", "DistributedModel", "SustainabilityModel", "ReliabilityModel")
    assert {*expected, "EconomicsModel"} <= set(own)
    assert "Engine" not in own and "PowerEfficiencyModel" in own  # a third-party style solver, the same path
    performance = {"ServingModel", "SingleNodeModel", "DistributedModel", "PowerEfficiencyModel"}
    # utilization (SustainabilityModel, EconomicsModel), the checkpoint cost (ReliabilityModel)
    fleet = {"SustainabilityModel", "EconomicsModel", "ReliabilityModel"}
    assert set(declaring("band_arguments")) == performance | fleet
    from mlsysim_uncertainty.bands import domain_solvers

    assert set(domain_solvers()) == performance  # a fleet solver's domain is its workload's
    # Engine's out-of-domain lines are SingleNodeModel's (its calibration domain), not "no calibration points"
    args = (mlsysim.Models.ResNet50, HW.H100, 256)
    assert banded(mlsysim.Engine, *args).out_of_domain == banded(mlsysim.SingleNodeModel, *args).out_of_domain


def test_a_solver_without_band_arguments_is_refused():
    from mlsysim_core.results import Result, result
    from mlsysim_core.solver import Solver

    @result("Bare")
    class BareResult(Result):
        pass

    class Bare(Solver):  # declares no efficiency, catalog number or banded input
        name, produces = "Bare", BareResult

        def solve(self) -> BareResult:
            return BareResult()

    with pytest.raises(InvalidInputError, match="band_arguments"):
        banded(Bare)


def test_single_node_band_spans_the_efficiency_ranges():
    r = banded(mlsysim.SingleNodeModel, mlsysim.Models.ResNet50, HW.H100, 256, precision="bf16")
    low, high = (_ms(q) for q in r.bands.ranges["latency"])
    assert low < _ms(r.latency) < high and "memory_footprint" not in r.bands.ranges
    slow = mlsysim.SingleNodeModel().solve(
        mlsysim.Models.ResNet50, HW.H100, 256, precision="bf16", efficiency=0.44, memory_efficiency=0.76
    )
    assert high == pytest.approx(_ms(slow.latency))


@pytest.mark.parametrize("model, batch", [(LM.Llama3_8B, 32), (LM.Llama3_70B, 8)])  # the 70B spills over the host link
def test_single_node_corners_retime_the_work_as_solves_at_the_corners_do(model, batch):
    """SingleNodeModel.solve_corners (the work once, each corner re-timed) builds what solve() gives
    at the corner efficiencies; a call solve() refuses is refused the same way."""
    r = banded(mlsysim.SingleNodeModel, model, HW.H100, batch, seq_len=4096)
    fast, slow = r.bands.corners
    for corner, ends in ((fast, (0.76, 0.93, 0.1, 0.35, 0.09)), (slow, (0.44, 0.76, 0.26, 0.7, 0.84))):
        c, m = corner.compute_efficiency, corner.memory_efficiency
        shares = dict(
            power_idle=corner.power_idle, power_compute=corner.power_compute, power_memory=corner.power_memory
        )
        assert (c, m, *shares.values()) == pytest.approx(ends)  # the ranges' ends, up to rounding
        kw = dict(seq_len=4096, efficiency=c, memory_efficiency=m, **shares)
        assert corner.to_dict() == mlsysim.SingleNodeModel().solve(model, HW.H100, batch, **kw).to_dict()
    with pytest.raises(TypeError, match="bogus"):
        banded(mlsysim.SingleNodeModel, model, HW.H100, bogus=1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        banded(mlsysim.SingleNodeModel, model, HW.H100, 0)


def test_single_node_corners_hold_an_efficiency_given():
    """``solve_corners`` gets only the arguments that move (``corner_moves``): an efficiency the caller gave is
    held at both corners, the other at the ends of its range, as whole solves there give."""
    r = banded(mlsysim.SingleNodeModel, LM.Llama3_8B, HW.H100, 32, efficiency=0.5)
    for corner, memory in zip(r.bands.corners, (0.93, 0.76)):
        assert (corner.compute_efficiency, corner.memory_efficiency) == pytest.approx((0.5, memory))
        whole = mlsysim.SingleNodeModel().solve(LM.Llama3_8B, HW.H100, 32, efficiency=0.5, memory_efficiency=memory)
        assert corner.latency.to("ms").magnitude == pytest.approx(whole.latency.to("ms").magnitude, rel=1e-12)


def test_corner_moves_are_the_arguments_left_out_the_same_dicts_when_repeated():
    """``corner_moves``: the moved arguments only (none given), the same two dicts on a repeated call (a solver
    keys its corner set-ups by their identity), None where every argument is held."""
    from mlsysim_uncertainty.bands import corner_moves, given_arguments

    given = given_arguments(mlsysim.ServingModel.solve, (LM.Llama3_8B, HW.H100, 512, 4), {"efficiency": 0.6})
    nominal = mlsysim.ServingModel().solve(**given)
    fast, slow = corner_moves(mlsysim.ServingModel, nominal, given)
    power = {"power_idle", "power_compute", "power_memory"}
    assert set(fast) == set(slow) == {"memory_efficiency", "engine_overhead", "network_efficiency", *power}
    again = corner_moves(mlsysim.ServingModel, nominal, given)
    assert again[0] is fast and again[1] is slow
    held = dict(given, memory_efficiency=0.8, engine_overhead=1e-3, network_efficiency=0.7, **dict.fromkeys(power, 0.3))
    assert corner_moves(mlsysim.ServingModel, mlsysim.ServingModel().solve(**held), held) is None


CLUSTER = mlsysim.Systems.Clusters.Research_256
TRAIN = dict(tp_size=8, pp_size=4, microbatch_count=32, seq_len=8192, tokens=1e11)


@pytest.fixture(scope="module")
def training():
    return banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, **TRAIN)


def test_distributed_band_spans_compute_and_network_ranges(training):
    from mlsysim_distributed.defaults import TrainingEfficiency

    low, high = (_ms(q) for q in training.bands.ranges["step_time"])
    assert low < _ms(training.step_time) < high and "memory_per_gpu" not in training.bands.ranges
    slow = mlsysim.DistributedModel().solve(
        LM.Llama3_70B, CLUSTER, 256, **TRAIN, efficiency=TrainingEfficiency(compute=0.44, network=0.75)
    )
    assert high == pytest.approx(_ms(slow.step_time))
    held = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, **TRAIN, efficiency=0.6)
    assert held.bands.ranges == {} and training.out_of_domain == ()


@pytest.mark.parametrize(
    "model, batch, kw",
    [
        (LM.Llama3_70B, 256, dict(TRAIN, cp_size=2, overlap_comm=True, tp_overlap=True)),
        (mlsysim.Models.ResNet50, 1024, dict(zero_stage=3)),  # pure data parallelism, no transformer
    ],
)
def test_distributed_corners_time_the_work_as_solves_at_the_corners_do(model, batch, kw):
    """DistributedModel.solve_corners (the work once, each corner timed at its efficiency) builds what
    solve() gives at the corner efficiency; a call solve() refuses is refused the same way."""
    r = banded(mlsysim.DistributedModel, model, CLUSTER, batch, **kw)
    for corner in r.bands.corners:
        at = mlsysim.DistributedModel().solve(model, CLUSTER, batch, **kw, efficiency=corner.efficiency)
        assert corner.to_dict() == at.to_dict()
    with pytest.raises(TypeError, match="bogus"):
        banded(mlsysim.DistributedModel, model, CLUSTER, batch, bogus=1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        banded(mlsysim.DistributedModel, model, CLUSTER, 3, **kw)


@settings(max_examples=15, deadline=None)
@given(c=st.floats(0, 1), n=st.floats(0, 1))
def test_any_training_efficiency_inside_the_ranges_lies_inside_the_band(training, c, n):
    from mlsysim_distributed.defaults import TrainingEfficiency

    compute, network = _inside("efficiency.compute", 0.6, c), _inside("efficiency.network", 0.8, n)
    eff = TrainingEfficiency(compute=compute, network=network)
    inner = mlsysim.DistributedModel().solve(LM.Llama3_70B, CLUSTER, 256, **TRAIN, efficiency=eff)
    for name in ("step_time", "tokens_per_second", "time_to_train"):
        low, high = (q.to(getattr(inner, name).units).magnitude for q in training.bands.ranges[name])
        assert low * (1 - 1e-9) <= getattr(inner, name).magnitude <= high * (1 + 1e-9)


def test_repeated_training_bands_reuse_their_corner_efficiencies(training):
    """The corners' efficiency objects are one per distinct value, so DistributedModel's preparation
    cache (keyed by identity) hits on a repeated banded call instead of filling up with new objects."""
    from mlsysim_distributed.defaults import TrainingEfficiency

    again = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, **TRAIN)
    for mine, other in zip(training.bands.corners, again.bands.corners):
        assert mine.efficiency is other.efficiency
    assert dict(again.bands) == dict(training.bands)
    # one object per distinct value, whatever the configuration: another batch takes the same corners
    other = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 512, **TRAIN)
    assert [c.efficiency for c in other.bands.corners] == [c.efficiency for c in training.bands.corners]
    assert all(a is b for a, b in zip(other.bands.corners, training.bands.corners)) is False
    assert other.bands.corners[1].efficiency is training.bands.corners[1].efficiency
    assert isinstance(other.bands.corners[1].efficiency, TrainingEfficiency)


def test_repeated_training_bands_reuse_their_corner_layouts(monkeypatch):
    """A corner's layout is made once per nominal layout and corner efficiency (``_Group.corners``): a
    repeated banded call prepares only its nominal layout (a preparation-cache lookup) and gives the
    same band."""
    from mlsysim_distributed import solver as DS

    calls = []
    prepared = DS._prepared
    monkeypatch.setattr(
        DS, "_prepared", lambda *a: calls.append(a[DS._PREPARE_ARGS.index("efficiency")]) or prepared(*a)
    )
    first = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, **dict(TRAIN, zero_stage=1))
    assert len(calls) == 3 and calls[0] is None  # the nominal (default efficiency) and its two corners
    calls.clear()
    again = banded(mlsysim.DistributedModel, LM.Llama3_70B, CLUSTER, 256, **dict(TRAIN, zero_stage=1))
    assert calls == [None] and dict(again.bands) == dict(first.bands)


def test_corner_arguments_found_once_per_values_used_and_calibration():
    """``corner_arguments`` keeps what it found by the values the nominal used and the hardware's calibration
    table (by identity) and engine: a repeated call finds the same corners; hardware whose calibrated ranges
    differ, or a solve on another engine, gets its own, even where the values used are the same."""
    from mlsysim_uncertainty.bands import corner_arguments, given_arguments

    def corners(hardware, **kw):
        given = given_arguments(mlsysim.ServingModel.solve, (LM.Llama3_8B, hardware, 512, 4), kw)
        nominal = mlsysim.ServingModel().solve(**given)
        fast, slow = corner_arguments(mlsysim.ServingModel, nominal, given)
        return fast["efficiency"], slow["efficiency"], fast["memory_efficiency"], slow["memory_efficiency"]

    fit = {"compute": 0.5, "memory": 0.8}
    narrow = attrs.evolve(HW.H100, calibration=dict(fit, range={"compute": [0.45, 0.55]}))
    wide = attrs.evolve(HW.H100, calibration=dict(fit, range={"compute": [0.3, 0.7]}))
    scoped = attrs.evolve(HW.H100, calibration=dict(fit, engines={"vllm": dict(fit, range={"compute": [0.2, 0.9]})}))
    assert corners(narrow)[:2] == (0.55, 0.45) and corners(narrow) == corners(narrow)
    assert corners(wide)[:2] == (0.7, 0.3) and corners(narrow)[:2] == (0.55, 0.45)
    assert corners(scoped, engine="vllm")[:2] == (0.9, 0.2)
    unscoped = corners(scoped)  # the same fit without its engine: the compute range scaled around 0.5
    assert unscoped[:2] == pytest.approx(
        (0.5 * 0.76 / RANGES["efficiency"].default, 0.5 * 0.44 / RANGES["efficiency"].default)
    )
    assert corners(narrow)[2:] == corners(wide)[2:] == unscoped[2:]  # no calibrated memory range


def test_corner_arguments_follow_an_efficiency_object_changed_in_place():
    """An efficiency object hashed by identity (not frozen) may change between calls: its corners are
    found anew each time, never kept."""
    from mlsysim_core.results import Result, result
    from mlsysim_uncertainty.bands import corner_arguments

    @attrs.define(eq=False)
    class Knob:  # hashed by identity
        compute: float = 0.6
        network: float = 0.8

    @result("KnobModel")
    class KnobResult(Result):
        efficiency: object = attrs.field()

    class KnobModel:
        band_arguments = {"efficiency.compute": "efficiency.compute"}

    knob = Knob()
    nominal = KnobResult(efficiency=knob)
    fast, _ = corner_arguments(KnobModel, nominal, {"efficiency": None})
    knob.compute, knob.network = 0.3, 0.5
    again, _ = corner_arguments(KnobModel, nominal, {"efficiency": None})
    compute = RANGES["efficiency.compute"]
    assert fast["efficiency"].compute == pytest.approx(0.6 * compute.high / compute.default)
    assert (again["efficiency"].compute, again["efficiency"].network) == pytest.approx(
        (0.3 * compute.high / compute.default, 0.5)
    )


def test_fleet_solvers_carry_the_training_band_through(training):
    grid = mlsysim.Infra.Grids.US_Avg
    s = banded(mlsysim.SustainabilityModel, CLUSTER, workload=training, datacenter=grid)
    fast, slow = training.bands.corners
    u = RANGES["utilization"]  # the node utilization's range moves with the run's corners
    at = [
        mlsysim.SustainabilityModel().solve(CLUSTER, workload=w, datacenter=grid, utilization=x).energy
        for w, x in ((fast, u.low), (slow, u.high))
    ]
    assert tuple(q.to("kWh").magnitude for q in s.bands.ranges["energy"]) == pytest.approx(
        tuple(q.to("kWh").magnitude for q in at)
    )
    r = banded(mlsysim.ReliabilityModel, CLUSTER, training=training)
    low, high = r.bands.ranges["expected_completion_time"]
    assert low < r.expected_completion_time < high
    # the price, utilization and rental margin given are held (the grid's ranged price is not used): only
    # the run's length moves the cost
    held = dict(datacenter=grid, kwh_price=0.0806, utilization=0.7, rental_margin=0.169)
    e = banded(mlsysim.EconomicsModel, CLUSTER, workload=training, **held)
    assert (
        "tco" in e.bands.ranges and "cost_per_gpu_hour" not in e.bands.ranges
    )  # a rate the run's length does not move
    assert banded(mlsysim.EconomicsModel, CLUSTER, 30, **held).bands.ranges == {}
    far = banded(mlsysim.DistributedModel, LM.Llama3_8B, CLUSTER, 256, tp_size=8, precision="fp16")
    lines = banded(mlsysim.SustainabilityModel, CLUSTER, workload=far, steps=10, datacenter=grid).out_of_domain
    assert far.out_of_domain and lines == tuple(f"workload: {w}" for w in far.out_of_domain)


def test_fleet_solvers_carry_a_loaded_workloads_power_band_through():
    """A serving result under traffic gives the node utilization (``loaded_power`` at the served rate, placed between
    the GPUs' awake-idle share and TDP: u = (P / TDP - idle) / (1 - idle)); the banded fleet solvers hold it
    (``band_sources``) and take it from the workload's corners, so their band is the consumer solved at the corners'
    powers, not the utilization's own range around the nominal."""
    from mlsysim_uncertainty.sweep_bands import banded_sweep

    L, C, grid = mlsysim.Models.Language, mlsysim.Hardware.Cloud, mlsysim.Infra.Grids.Quebec
    w = banded(mlsysim.ServingModel, L.Llama3_8B, C.H100, seq_len=4000, output_len=500, arrival_rate=3.0)
    s = banded(mlsysim.SustainabilityModel, CLUSTER, 30, datacenter=grid, workload=w)
    assert s.utilization_source == "workload"
    for corner, at in zip(w.bands.corners, s.bands.corners):
        share = corner.power_idle
        assert at.utilization == pytest.approx((corner.si("loaded_power") / 700.0 - share) / (1.0 - share), rel=1e-12)
    fast, slow = (c.si("loaded_power") for c in w.bands.corners)
    assert fast < 0.5 * w.si("loaded_power") and slow == pytest.approx(700.0)  # a wide band: ~180 W to TDP
    plain = mlsysim.SustainabilityModel()
    at = [plain.solve(CLUSTER, 30, datacenter=grid, workload=c) for c in w.bands.corners]
    ends = [r.si("energy_per_million_tokens") for r in at]
    assert tuple(q.m_as("J") for q in s.bands.ranges["energy_per_million_tokens"]) == pytest.approx(ends, rel=1e-12)
    assert ends[1] > 2 * ends[0]  # the utilization's own range gave 0.241-0.258 kWh around 0.249
    sweep = banded_sweep(mlsysim.SustainabilityModel, fleet=CLUSTER, duration_days=[30], datacenter=grid, workload=w)
    assert sweep.bands.point(0)["energy_per_million_tokens"] == pytest.approx(ends, rel=1e-12)
    e = banded(mlsysim.EconomicsModel, CLUSTER, 30, datacenter=grid, workload=w)
    assert [c.utilization for c in e.bands.corners] == pytest.approx([c.utilization for c in s.bands.corners])
    # the node utilization given is held: the workload's power no longer moves the energy
    held = banded(mlsysim.SustainabilityModel, CLUSTER, 30, datacenter=grid, workload=w, utilization=0.5)
    assert {c.utilization for c in held.bands.corners} == {0.5}


def test_utilization_range_moves_energy_unless_given_under_either_name():
    fleet, grid = CLUSTER, mlsysim.Infra.Grids.US_Avg
    r = banded(mlsysim.SustainabilityModel, fleet, 30, datacenter=grid)
    low, high = (q.to("MWh").magnitude for q in r.bands.ranges["it_energy"])
    at = [
        mlsysim.SustainabilityModel().solve(fleet, 30, datacenter=grid, utilization=u).it_energy.to("MWh").magnitude
        for u in (RANGES["utilization"].low, RANGES["utilization"].high)
    ]
    assert (low, high) == pytest.approx(at, rel=1e-6) and low < r.it_energy.to("MWh").magnitude < high
    for kw in ({"utilization": 0.7}, {"mfu": 0.7}):  # held; nothing else ranged moves this fleet's energy
        assert "it_energy" not in banded(mlsysim.SustainabilityModel, fleet, 30, datacenter=grid, **kw).bands.ranges
    cost = banded(mlsysim.EconomicsModel, fleet, 30, datacenter=grid)
    assert tuple(q.to("MWh").magnitude for q in cost.bands.ranges["it_energy"]) == pytest.approx((low, high))


def test_checkpoint_cost_range_moves_reliability_unless_given_or_derived(training):
    """ReliabilityModel's band_arguments: the 60 s default checkpoint cost (CHECKPOINT_S) at 6.3 s with the
    fast corner and 148.8 s with the slow one (one job's measured stall saving asynchronously and
    synchronously); a stated fleet MTBF leaves nothing else to move."""
    r = banded(mlsysim.ReliabilityModel, CLUSTER, 24 * 30, fleet_mtbf=100)
    fast, slow = r.bands.corners
    assert (fast.checkpoint_time.m_as("s"), slow.checkpoint_time.m_as("s")) == pytest.approx((6.3, 148.8))
    # first order (the module's docstring): 1 - delta/tau - (tau/2 + R)/M with Young's tau = sqrt(2 delta M),
    # M = 360,000 s, R = 300 s: tau = 2,129.8 s at 6.3 s and 10,350 s at 148.8 s; Daly's exact form differs
    # from it by terms of order (tau/M)^2, under 1e-3 here
    assert fast.goodput == pytest.approx(1 - 6.3 / 2129.8 - (2129.8 / 2 + 300) / 360_000, abs=1e-3)
    assert slow.goodput == pytest.approx(1 - 148.8 / 10_350 - (10_350 / 2 + 300) / 360_000, abs=1e-3)
    assert fast.goodput > r.goodput > slow.goodput
    assert r.bands.ranges["goodput"] == (slow.goodput, fast.goodput)  # a plain number's band: two plain numbers
    low, high = r.bands.ranges["expected_completion_time"]
    assert low < r.expected_completion_time < high
    # the checkpoint interval grows with the cost and with the MTBF, which the corners pair the other way
    # round: (148.8 s, the MTTFs' high end) lies beyond both corners, so the interval gets no band
    moved = banded(mlsysim.ReliabilityModel, CLUSTER, 24 * 30)
    assert "checkpoint_time" in moved.bands.ranges and "fleet_mtbf" in moved.bands.ranges
    assert "optimal_checkpoint_interval" not in moved.bands.ranges and "daly_interval" not in moved.bands.ranges
    assert banded(mlsysim.ReliabilityModel, CLUSTER, 24 * 30, 60, fleet_mtbf=100).bands.ranges == {}  # given: held
    derived = banded(
        mlsysim.ReliabilityModel, CLUSTER, 24 * 30, training=training, storage=mlsysim.Systems.Storage.Tectonic_Llama3
    )
    assert {c.checkpoint_time.m_as("s") for c in derived.bands.corners} == {derived.checkpoint_time.m_as("s")}


def test_catalog_price_and_pue_ranges_move_the_cost_band():
    """EconomicsModel's band_catalog: the US grid's electricity price (EIA 2022-2025) and the hyperscale
    PUE (hyperscalers' fleet PUEs 2023-2025) at the ends of their provenance ranges bound the cost, with
    the node utilization at the ends of its range (band_arguments)."""
    dc = mlsysim.Infra.Datacenters.Hyperscale_Typical
    r = banded(mlsysim.EconomicsModel, CLUSTER, 365, datacenter=dc)
    econ = mlsysim.EconomicsModel()
    u = RANGES["utilization"]
    ends = [
        econ.solve(CLUSTER, 365, datacenter=dc, kwh_price=price, pue=pue, utilization=x)
        for price, pue, x in ((0.0771, 1.08, u.low), (0.0832, 1.18, u.high))
    ]
    for name in ("tco", "cost_per_gpu_hour", "opex_energy"):
        unit = getattr(r, name).units
        assert tuple(q.to(unit).magnitude for q in r.bands.ranges[name]) == pytest.approx(
            tuple(getattr(e, name).to(unit).magnitude for e in ends), rel=1e-12
        )
    assert "capex" not in r.bands.ranges  # no accelerator or host price of this fleet has a range
    # the carbon band moves with the same PUE range (SustainabilityModel's band_catalog)
    c = banded(mlsysim.SustainabilityModel, CLUSTER, 365, datacenter=dc)
    low, high = c.bands.ranges["operational_carbon"]
    assert low < c.operational_carbon < high
    # a PUE given is held (and the rental margin, the estimate's ranged input: its filed span otherwise)
    held = banded(
        mlsysim.EconomicsModel, CLUSTER, 365, datacenter=dc, pue=1.1, kwh_price=0.08, mfu=0.7, rental_margin=0.169
    )
    assert held.bands.ranges == {}
    given = dict(datacenter=dc, pue=1.1, kwh_price=0.08, mfu=0.7)
    lo, hi = banded(mlsysim.EconomicsModel, CLUSTER, 365, **given).bands.ranges["rental_estimate"]
    at = [econ.solve(CLUSTER, 365, **given, rental_margin=m).rental_estimate for m in (0.141, 0.370)]
    assert (lo.magnitude, hi.magnitude) == pytest.approx((at[0].magnitude, at[1].magnitude))


def test_serving_sweep_over_efficiencies_equals_solve():
    eff, mem = [0.4, 0.6, 0.9], [0.7, 0.87]
    sw = mlsysim.sweep(
        "ServingModel",
        model=LM.Llama3_8B,
        hardware=HW.H100,
        seq_len=512,
        batch_size=4,
        efficiency=eff,
        memory_efficiency=mem,
        engine_overhead=[0.0, 5e-4],
    )
    itl = sw.si("itl")
    for i, (c, m, o) in enumerate(
        zip(sw.si("compute_efficiency"), sw.si("memory_efficiency"), sw.si("engine_overhead"))
    ):
        one = mlsysim.ServingModel().solve(
            LM.Llama3_8B, HW.H100, 512, 4, efficiency=float(c), memory_efficiency=float(m), engine_overhead=float(o)
        )
        assert itl[i] == pytest.approx(one.itl.to("s").magnitude, rel=1e-12)
    bad = mlsysim.sweep("ServingModel", model=LM.Llama3_8B, hardware=HW.H100, seq_len=512, efficiency=[0.5, 1.5])
    assert list(bad.valid) == [True, False]
    one = mlsysim.sweep(
        "ServingModel",
        model=LM.Llama3_8B,
        hardware=HW.H100,
        seq_len=512,
        batch_size=[1, 2],
        efficiency=0.5,
        engine_overhead=0.0,
    )  # one value of each: no length check on them
    assert list(one.valid) == [True, True] and set(one.si("engine_overhead")) == {0.0}


def test_cli_bands_table_json_and_refusal():
    runner = CliRunner()
    out = runner.invoke(main, ["serve", "Llama3_8B", "MI300X", "--seq-len", "1024", "--bands"])
    assert out.exit_code == 0 and " ms [" in out.output and "out of domain" in out.output
    js = runner.invoke(main, ["serve", "Llama3_8B", "MI300X", "--seq-len", "1024", "--bands", "--json"])
    assert '"bands"' in js.output and '"out_of_domain"' in js.output
    plain = runner.invoke(main, ["serve", "Llama3_8B", "H100", "--seq-len", "1024"])
    assert "[" not in plain.output.split("why:")[0] and '"bands"' not in plain.output


def test_calibrated_hardware_replaces_the_defaults(tmp_path, fresh_host):
    host = fresh_host()
    overlay = tmp_path / "lab.toml"
    src = Path(mlsysim_registry_data()).read_text()
    assert "[H100]" in src
    overlay.write_text(
        "[hardware.H100]\nname = 'NVIDIA H100 SXM5 80GB (lab)'\nsource = 'test'\n"
        "peak_flops = { bf16 = '989.5 TFLOP/s', fp8 = '1979 TFLOP/s' }\n"
        "memory = { capacity = '81559 MiB', bandwidth = '3.35 TB/s' }\n"
        "calibration = { compute = 0.5, memory = 0.8, engine_overhead = '0.4 ms', source = 'test runs' }\n"
    )
    with warnings.catch_warnings():  # the user's own file replaces the default entry on purpose: no warning
        warnings.simplefilter("error", PluginConflictWarning)
        host.load_catalog(overlay)
        hw = host.catalog().entry("hardware", "H100").value
    check = CliRunner().invoke(main, ["--catalog", str(overlay), "catalog", "--check"])
    assert check.exit_code == 0 and "warning" not in check.output
    assert f"override: hardware entry 'H100' from {overlay} replaces the one from default_catalog" in check.output
    assert dict(hw.calibration) == {
        "compute": 0.5,
        "memory": 0.8,
        "engine_overhead": pytest.approx(4e-4),
        "source": "test runs",
    }
    r = mlsysim.ServingModel().solve(LM.Llama3_8B, hw, 128)
    assert (r.compute_efficiency, r.memory_efficiency) == (0.5, 0.8)
    assert r.engine_overhead.to("ms").magnitude == pytest.approx(0.4)
    assert any("calibrated" in n for n in r.notes)
    overlay.write_text(overlay.read_text().replace("compute = 0.5", "compute = 1.5"))
    with pytest.raises((CatalogError, InvalidInputError), match="calibration"):
        fresh_host().load_catalog(overlay)


def mlsysim_registry_data() -> str:
    import mlsysim_registry

    return str(Path(mlsysim_registry.__file__).parent / "data" / "hardware.toml")


def test_domain_file_is_current():
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "calibration_domain.py"), "--check"], capture_output=True
    )
    assert res.returncode == 0, res.stdout.decode()


def test_ranges_hold_their_defaults():
    for r in RANGES.values():
        assert r.low <= r.default <= r.high and r.tier in ("datasheet", "measured", "paper", "estimate") and r.source
        fast, slow = r.corners(r.default)
        assert (fast >= slow) == (r.faster == "high")
    assert np.isclose(RANGES["efficiency"].corners(0.5)[1], 0.5 * 0.44 / 0.60)


def test_a_calibrated_band_is_the_fits_own_model_error():
    """A fit's ``model_error`` table (mlsysim calibrate: q of its held-out errors per class) replaces the published
    interval of those classes; a class it does not hold, and a fit without the table, keep the published one; the
    fitted parameters' corners are their calibrated range. Session 17's calibrated band had no model error at all
    (the README example's ITL: 14.81 ms [14.51, 14.81] while the fit's held-out rows erred by 21 %)."""
    from mlsysim_uncertainty import model_error as ME

    fit = {"memory": 0.8, "range": {"memory": [0.79, 0.81]}, "points": [{}] * 4}
    q = {ME.NO_TRAFFIC: 0.05, ME.ITL: 0.4}
    hw = attrs.evolve(HW.H100, calibration={"engines": {"vllm": dict(fit, model_error=q)}})
    bare = attrs.evolve(HW.H100, calibration={"engines": {"vllm": fit}})
    assert ME.calibrated({"hardware": hw, "engine": "vllm"}) == (4, tuple(sorted(q.items())))
    assert ME.calibrated({"hardware": hw}) is None and ME.calibrated({"hardware": bare, "engine": "vllm"}) is None
    for h, want in ((hw, 0.05), (bare, ME.measured()[ME.NO_TRAFFIC]["q"])):
        r = banded(mlsysim.ServingModel, LM.Llama3_8B, h, 1024, 8, engine="vllm")
        assert [c.memory_efficiency for c in r.bands.corners] == [0.81, 0.79]  # the calibrated range
        mid, (fast, slow) = r.si("itl"), r.bands.ranges.si("itl")
        assert r.bands.si("itl") == pytest.approx((min(fast, mid * math.exp(-want)), max(slow, mid * math.exp(want))))
    r = banded(mlsysim.ServingModel, LM.Llama3_8B, hw, 1024, 8, engine="vllm")
    assert r.bands.model_error == (
        f"model error, {ME.NO_TRAFFIC}: x0.95-x1.1 (+5%/-5%) by the fit's held-out errors on your 4 runs and the "
        "published points (mlsysim calibrate)",
    )
    # under traffic: the ITL-like fields take the fit's 0.4, the TTFT-like ones (no row of theirs) the published q
    loaded = banded(mlsysim.ServingModel, LM.Llama3_8B, hw, 1024, 1, engine="vllm", concurrency=4, output_len=128)
    for field, name in (("itl_mean", ME.ITL), ("ttft_mean", ME.TTFT)):
        mid = loaded.si(field)
        low, high = loaded.bands.si(field)
        f = math.exp(q[name]) if name in q else ME.factor(name)
        assert low <= mid / f * (1 + 1e-9) and high >= mid * f * (1 - 1e-9), field
    assert ME.factor(ME.ITL, True, ME.calibrated({"hardware": hw, "engine": "vllm"})) == ME.factor(ME.ITL, True)
    # a sweep on the calibrated part gives each point its banded solve's band (sweep_bands reads the same table)
    from mlsysim_uncertainty import banded_sweep

    swept = banded_sweep(
        mlsysim.ServingModel, model=LM.Llama3_8B, hardware=hw, seq_len=1024, batch_size=[1, 8], engine="vllm"
    )
    for i, b in enumerate((1, 8)):
        one = banded(mlsysim.ServingModel, LM.Llama3_8B, hw, 1024, b, engine="vllm").bands.si("itl")
        assert [swept.bands["itl"][k][i].to("s").magnitude for k in (0, 1)] == pytest.approx(one, rel=1e-9)


def test_a_calibration_table_refuses_a_bad_model_error():
    from mlsysim_uncertainty.calibration import checked

    assert checked({"memory": 0.8, "model_error": {"x": 0.1}})["model_error"] == {"x": 0.1}
    for bad in ({"x": -0.1}, {"x": "0.1"}, {"x": True}, [0.1]):
        with pytest.raises(InvalidInputError, match="model_error"):
            checked({"memory": 0.8, "model_error": bad})


def test_a_calibration_range_names_a_fitted_value_and_holds_it():
    """A hand-edited overlay with a range and no fitted value had the range silently ignored (the defaults and their
    band used: ITL 13.85 ms [9.596, 19.99] on H200 for engine torch); one not around its value banded 14.81 ms as
    [12.85, 14.81] from a range [0.9, 0.95] around no fit. mlsysim calibrate writes the hull of the fit and its
    leave-one-out refits, which always holds the fit: anything else is refused naming the range."""
    from mlsysim_uncertainty.calibration import checked

    assert checked({"memory": 0.8, "range": {"memory": [0.8, 0.82]}})["memory"] == 0.8
    for table, says in (
        ({"range": {"memory": [0.8, 0.82]}}, "calibration.memory is not given"),
        ({"memory": 0.8, "range": {"memory": [0.9, 0.95]}}, "around the fitted memory = 0.8"),
        ({"compute": 0.5, "engines": {"torch": {"memory": 0.8, "range": {"compute": [0.4, 0.6]}}}}, "compute is not"),
    ):
        with pytest.raises(InvalidInputError, match=f"calibration.range.*{says}"):
            checked(table)


def test_reliability_model_error_scales_what_failures_cost_not_the_whole_goodput_or_job():
    """model_error.FLOORS: the ReliabilityModel class's error (its points are failure rates and MTTFs) scales the
    goodput's loss 1 - g and the completion time's excess over the failure-free job, so a 1 h job's band never
    dips under 1 h and goodput never tops 1 (x0.3-x3.3 on the whole fields gave 0.30-3.38 h and goodput 0.30-1)."""
    from mlsysim_uncertainty.model_error import factor

    f = factor("ReliabilityModel")
    r = banded(mlsysim.ReliabilityModel, CLUSTER, 1)
    g, c, job = r.goodput, r.expected_completion_time.m_as("h"), r.job_duration.m_as("h")
    fast, slow = r.bands.corners
    lo, hi = r.bands["goodput"]  # with the model error (ranges: the corners alone)
    assert (lo, hi) == pytest.approx((min(1 - (1 - g) * f, slow.goodput), max(1 - (1 - g) / f, fast.goodput)))
    assert hi < 1.0
    lo, hi = (q.m_as("h") for q in r.bands["expected_completion_time"])
    corners = sorted(x.expected_completion_time.m_as("h") for x in (fast, slow))
    assert (lo, hi) == pytest.approx((min(job + (c - job) / f, corners[0]), max(job + (c - job) * f, corners[1])))
    assert lo > job == 1.0
    # a failure rate keeps the whole-field interval
    m = r.fleet_mtbf.m_as("h")
    assert r.bands["fleet_mtbf"][0].m_as("h") == pytest.approx(
        min(m / f, fast.fleet_mtbf.m_as("h"), slow.fleet_mtbf.m_as("h"))
    )
