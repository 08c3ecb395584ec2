"""plan_training: equal to brute force over the same space, the Megatron-LM known answer, errors."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlsysim_planner import plan_training

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_fleet.scale import with_nodes

M = mlsysim.Models.Language
C = mlsysim.Systems.Clusters


def brute_force(model, fleets, B, axes, tokens, datacenter, objective, deadline, max_gpus):
    """The best objective value by solve() at every point (None when nothing is admitted)."""
    dm, rel, eco = mlsysim.DistributedModel(), mlsysim.ReliabilityModel(), mlsysim.EconomicsModel()
    best = None
    names = list(axes)
    for fleet in fleets:
        for values in itertools.product(*axes.values()):
            kw = dict(zip(names, values))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = dm.solve(model=model, fleet=fleet, batch_size=B, tokens=tokens, **kw)
            except InvalidInputError:
                continue
            local, m = r.local_batch_size, kw["microbatch_count"]
            if not r.feasible or local % m or local < m:
                continue
            if max_gpus is not None and fleet.total_accelerators > max_gpus:
                continue
            if objective == "throughput":
                v = -r.tokens_per_second.to("1/s").magnitude
            else:
                hours = r.time_to_train.to("h").magnitude
                days = rel.solve(fleet, hours).expected_completion_time.to("day").magnitude
                if deadline is not None and days > deadline:
                    continue
                v = (
                    days
                    if objective == "time"
                    else eco.solve(fleet, days, datacenter=datacenter).tco.to("USD").magnitude
                )
            best = v if best is None else min(best, v)
    return best


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=2, unique=True),
    tp=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=3, unique=True),
    pp=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=2, unique=True),
    zero=st.lists(st.sampled_from([0, 1, 3]), min_size=1, max_size=2, unique=True),
    recompute=st.lists(st.sampled_from(["selective", "full", "none"]), min_size=1, max_size=2, unique=True),
    m=st.lists(st.sampled_from([1, 2, 3, 4, 8]), min_size=1, max_size=3, unique=True),
    B=st.sampled_from([32, 48, 64, 96]),
    objective=st.sampled_from(["throughput", "time", "cost"]),
    deadline=st.sampled_from([None, 5.0, 40.0]),
    max_gpus=st.sampled_from([None, 16]),
)
def test_best_equals_brute_force(nodes, tp, pp, zero, recompute, m, B, objective, deadline, max_gpus):
    model, dc = M.Llama3_8B, mlsysim.Infra.Grids.US_Avg
    fleets = [with_nodes(C.Research_256, n) for n in nodes]
    tokens = 1e11
    deadline = None if objective == "throughput" else deadline
    plan = plan_training(
        model, fleets, batch_size=B, seq_len=2048, tokens=tokens, tp=tp, pp=pp, cp=1, v_stages=1,
        zero_stage=zero, recompute=recompute, microbatch_count=m, objective=objective, datacenter=dc,
        deadline_days=deadline, max_gpus=max_gpus, progress=False,
    )  # fmt: skip
    axes = dict(tp_size=tp, pp_size=pp, zero_stage=zero, activation_recomputation=recompute, microbatch_count=m)
    axes |= dict(seq_len=[2048])
    want = brute_force(model, fleets, B, axes, tokens, dc, objective, deadline, max_gpus)
    assert plan.feasible == (want is not None)
    if want is not None:
        column, sense = plan.objective
        got = plan.columns[column][0] * (-1.0 if sense == "max" else 1.0)
        scale = {"cost": 1.0, "time": 1.0, "throughput": 1.0}[objective]
        assert math.isclose(got * scale, want, rel_tol=1e-9)


def test_gpt3_175b_megatron_layout_in_top_three():
    """Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
    SC 2021, Table 1: GPT-3 175B on 1,024 A100-80GB (Selene, DGX A100 nodes, HDR InfiniBand), global batch
    1,536, sequence 2,048, trained with tensor parallelism 8 inside the node and pipeline parallelism 16
    across nodes (PTD-P: interleaved 1F1B, activation recomputation, mixed precision). Searched over the
    paper's own dimensions (TP, PP, DP, micro-batches, virtual stages; full recomputation, fp16), the
    planner ranks a layout with TP 8 in the node and pipeline stages across nodes among its top three."""
    plan = plan_training(
        M.GPT3,
        with_nodes(C.Selene_2520, 128),
        batch_size=1536,
        seq_len=2048,
        precision="fp16",
        recompute="full",
        zero_stage=0,
        cp=1,
        objective="throughput",
        progress=False,
    )
    top = [plan.row(i) for i in range(3)]
    assert any(r["tp"] == 8 and r["pp"] > 1 and r["gpus"] == 1024 for r in top), [r["layout"] for r in top]
    assert plan.columns["tokens_per_second"][0] >= plan.columns["tokens_per_second"][2]


def test_infeasible_names_the_constraint_to_relax():
    plan = plan_training(
        M.GPT3, with_nodes(C.Selene_2520, 16), batch_size=512, seq_len=2048, tokens=3e11, deadline_days=10,
        cp=1, v_stages=1, progress=False,
    )  # fmt: skip
    assert not plan.feasible
    assert "deadline" in plan.binding and "Relax the deadline" in plan.binding


def test_binding_constraint_and_explain():
    plan = plan_training(
        M.GPT3, with_nodes(C.Selene_2520, 128), batch_size=1536, seq_len=2048, precision="fp16",
        recompute="full", zero_stage=0, cp=1, progress=False,
    )  # fmt: skip
    assert plan.feasible
    assert plan.binding.startswith("memory binds:") and "GB per GPU" in plan.binding
    text = plan.explain(0)
    assert "runner-up" in text and "DistributedResult" in text
    assert plan.result(0).feasible
    assert (
        repr(plan)
        == f"<Plan training: {len(plan)} configurations ranked by tokens_per_second (max); some meet every constraint>"
    )


def test_bad_input_is_named():
    with pytest.raises(InvalidInputError, match="batch_size"):
        plan_training(M.GPT3, C.Research_256, batch_size=0)
    with pytest.raises(InvalidInputError, match="objective"):
        plan_training(M.GPT3, C.Research_256, batch_size=8, objective="cost")
    with pytest.raises(InvalidInputError, match="gpus"):
        plan_training(M.GPT3, C.Research_256, batch_size=8, gpus=[12])
    with pytest.raises(InvalidInputError, match="clusters"):
        plan_training(M.GPT3, "Research_256", batch_size=8)
    # a misspelt name searched every point and answered "0 valid" with exit 0 (--precision fp3: 69,120 points)
    for kw, message in (
        (dict(precision=["bf16", "fp3"]), "precision='fp3' is invalid: expected one of fp64"),
        (dict(schedule="nope"), "schedule='nope' is invalid: expected one of gpipe, 1f1b"),
        (dict(recompute="half"), "recompute='half' is invalid: expected one of selective, full, none"),
        (dict(zero_stage=[1, 7]), r"zero_stage=7 is invalid: expected an integer in \[0, 3\]"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            plan_training(M.GPT3, C.Research_256, batch_size=8, **kw)


def test_public_face():
    import mlsysim_planner

    assert mlsysim.plan_training is mlsysim_planner.plan_training
    assert mlsysim.plan_serving is mlsysim_planner.plan_serving


def test_rent_cost_next_to_owned():
    """Rented cost = the catalog's cheapest on-demand A100-80GB rental per GPU-hour x GPUs x wall hours; the
    note names it with the break-even utilization (owned TCO / rent). By hand from prices.toml: A100 80GB on
    demand is aws-p4de 5.12 and azure-nd96amsr-a100-v4 4.10 USD per GPU-hour (aws-p4d rents the 40 GB part)."""
    fleet = with_nodes(C.Selene_2520, 16)
    plan = plan_training(
        M.Llama3_8B, fleet, batch_size=512, seq_len=2048, tokens=1e11, cp=1, v_stages=1, zero_stage=1,
        recompute="selective", datacenter=mlsysim.Infra.Grids.US_Avg, objective="rent", progress=False,
    )  # fmt: skip
    row = plan.row(0)
    want = 4.10 * row["gpus"] * row["days"] * 24
    assert plan.objective == ("rent_cost", "min")
    assert math.isclose(row["rent_cost"], want, rel_tol=1e-9)
    owned_over_rent = row["cost"] / row["rent_cost"]
    assert math.isclose(row["breakeven_utilization"], owned_over_rent, rel_tol=1e-9)
    named = "azure-nd96amsr-a100-v4 (Microsoft Azure ND96amsr A100 v4, 4.1 USD/h per GPU, read 2024-01-29): "
    assert any(named + f"break-even utilization {owned_over_rent:.2f}" in n for n in plan.notes), plan.notes


def test_deadline_met_only_inside_the_uncertainty_band_is_flagged():
    """With a deadline 1% above the fastest configuration's days, the winner misses it at the band's slow
    corner: flagged and said. Each checked row agrees with banded(): it holds exactly when its days times
    the upper end of its time_to_train band over the nominal still meet the deadline."""
    from mlsysim_uncertainty import banded

    fleet = with_nodes(C.Selene_2520, 16)
    kw = dict(batch_size=512, seq_len=2048, tokens=1e11, cp=1, v_stages=1, zero_stage=1, recompute="selective")
    free = plan_training(M.Llama3_8B, fleet, **kw, progress=False)
    assert set(free.columns["holds_across_band"]) == {None}  # no deadline: nothing the band can break
    best = free.row(0)["days"]
    plan = plan_training(M.Llama3_8B, fleet, **kw, deadline_days=1.01 * best, progress=False)
    holds = plan.columns["holds_across_band"]
    assert holds[0] is False
    assert any("the winner misses the deadline at the band's slow corner" in n for n in plan.notes)
    for i in range(min(len(plan), 5)):
        row = plan.row(i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = banded(
                mlsysim.DistributedModel, M.Llama3_8B, fleet, batch_size=512, seq_len=2048, tokens=1e11,
                tp_size=row["tp"], pp_size=row["pp"], zero_stage=1, activation_recomputation="selective",
                microbatch_count=row["microbatches"],
            )  # fmt: skip
        slow = r.bands["time_to_train"][1] / r.time_to_train
        assert holds[i] == (row["days"] * slow.to("").magnitude <= 1.01 * best), i
