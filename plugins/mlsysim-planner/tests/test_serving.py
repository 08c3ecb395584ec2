"""plan_serving: equal to brute force over the same space, the 7-8B-on-H100 known answer, infeasible goals."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlsysim_planner import plan_serving

import mlsysim
from mlsysim_core.errors import InfeasibleError, InvalidInputError

H = mlsysim.Hardware.Cloud
M = mlsysim.Models.Language
RATE, S, O = 4.0, 1024, 128


def brute_force(model, parts, precisions, tps, caps, budget, ttft, itl, p, spec=None):
    """The fewest GPUs meeting every constraint, by solve() at every engine and replica count (``spec``:
    speculative decoding keywords)."""
    sm = mlsysim.ServingModel()
    best = None
    for hw, prec, tp, cap in itertools.product(parts, precisions, tps, caps):
        for k in range(1, budget // tp + 1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = sm.solve(
                        model=model, hardware=hw, precision=prec, tp_size=tp, max_num_seqs=cap, seq_len=S,
                        output_len=O, arrival_rate=RATE / k, **(spec or {}),
                    )  # fmt: skip
            except (InvalidInputError, InfeasibleError):
                continue
            if not r.feasible or r.overloaded:
                continue
            if r[f"ttft_p{p}"].to("s").magnitude > ttft or r[f"itl_p{p}"].to("s").magnitude > itl:
                continue
            best = k * tp if best is None else min(best, k * tp)
    return best


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(["H100", "A100"]), min_size=1, max_size=2, unique=True),
    precisions=st.lists(st.sampled_from(["bf16", "fp16"]), min_size=1, max_size=2, unique=True),
    tps=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=2, unique=True),
    caps=st.lists(st.sampled_from([8, 64]), min_size=1, max_size=2, unique=True),
    budget=st.sampled_from([2, 4, 8]),
    itl=st.sampled_from([0.006, 0.012, 0.05]),
    p=st.sampled_from([50, 90, 99]),
)
def test_fewest_gpus_equals_brute_force(parts, precisions, tps, caps, budget, itl, p):
    hw = [getattr(H, k) for k in parts]
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=itl, slo_percentile=p,
        hardware=hw, precision=precisions, tp=tps, max_num_seqs=caps, max_gpus=budget, progress=False,
    )  # fmt: skip
    want = brute_force(M.Llama3_8B, hw, precisions, tps, caps, budget, 1.0, itl, p)
    assert plan.feasible == (want is not None), plan.binding
    if want is not None:
        assert plan.columns["gpus"][0] == want


def test_cost_per_million_tokens_by_hand():
    """USD per 1M output tokens = TCO per GPU-second of the part's catalog node x GPUs / output tokens per second."""
    dc = mlsysim.Infra.Grids.US_Avg
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=0.05, hardware=H.H100,
        precision="bf16", tp=[1, 2], max_num_seqs=64, max_gpus=4, datacenter=dc, progress=False,
    )  # fmt: skip
    node = mlsysim.Systems.Nodes.DGX_H100
    fleet = mlsysim.Fleet(name="one", node=node, count=1)
    tco = mlsysim.EconomicsModel().solve(fleet, 1, datacenter=dc).tco.to("USD").magnitude
    row = plan.row(0)
    want = tco / (8 * 86400) * row["gpus"] * 1e6 / (RATE * O)
    assert math.isclose(row["usd_per_million_tokens"], want, rel_tol=1e-12)


def test_rent_per_million_tokens_next_to_owned():
    """Rented USD per 1M output tokens = the catalog's cheapest on-demand H100 rental per GPU-hour x GPUs /
    output tokens per hour; the note names it with the break-even utilization (owned TCO / rent). By hand
    from prices.toml: H100 on demand is aws-p5 12.29, oci-bm-gpu-h100-8 10.00 and lambda-h100-sxm 3.78 USD
    per GPU-hour (gcp-a3-high lists no on-demand price, azure-h100-nvl rents another part, the H100 NVL)."""
    dc = mlsysim.Infra.Grids.US_Avg
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=0.05, hardware=H.H100,
        precision="bf16", tp=[1, 2], max_num_seqs=64, max_gpus=4, datacenter=dc, objective="rent", progress=False,
    )  # fmt: skip
    row = plan.row(0)
    want = 3.78 * row["gpus"] * 1e6 / (RATE * O * 3600)
    assert math.isclose(row["rent_usd_per_million_tokens"], want, rel_tol=1e-9)
    assert plan.objective == ("rent_usd_per_million_tokens", "min")
    owned_over_rent = row["usd_per_million_tokens"] / row["rent_usd_per_million_tokens"]
    assert math.isclose(row["breakeven_utilization"], owned_over_rent, rel_tol=1e-9)
    named = "lambda-h100-sxm (Lambda 1x H100 SXM, 3.78 USD/h per GPU, read 2026-05-07): break-even utilization "
    assert any(named + f"{owned_over_rent:.2f}" in n for n in plan.notes), plan.notes


def test_winner_only_inside_the_uncertainty_band_is_flagged():
    """At an ITL SLO of 12 ms the 1-GPU winner (p99 ITL ~10 ms) misses it at the band's slow corner: flagged,
    and the note names the first configuration that meets it across the band. Each checked row agrees with
    banded(): robust exactly when the upper ends of the p99 TTFT and ITL bands meet the SLOs."""
    from mlsysim_uncertainty import banded

    ttft, itl = 1.0, 0.012
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=ttft, slo_itl=itl, slo_percentile=99,
        hardware=H.H100, precision="bf16", tp=[1, 2, 4], max_num_seqs=[16, 64], max_gpus=8, progress=False,
    )  # fmt: skip
    robust = plan.columns["slo_across_band"]
    assert robust[0] is False and robust[1] is True
    assert any("only inside the band" in n and plan.columns["layout"][1] in n for n in plan.notes)
    for i in range(len(plan)):
        row = plan.row(i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = banded(
                mlsysim.ServingModel, M.Llama3_8B, H.H100, seq_len=S, output_len=O, precision="bf16",
                tp_size=row["tp"], max_num_seqs=row["max_num_seqs"], arrival_rate=RATE / row["replicas"],
            )  # fmt: skip
        high = {k: r.bands[k][1].to("s").magnitude for k in ("ttft_p99", "itl_p99")}
        assert robust[i] == (high["ttft_p99"] <= ttft and high["itl_p99"] <= itl), (i, high)


def test_disaggregated_layouts_are_searched():
    """disagg=True adds prefill/decode pool layouts of the part: each row is ServingModel(disagg=...) of its
    sized pools (GPUs, p90 latencies) and meets the SLOs; a fabric is required."""
    kw = dict(
        qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=0.02, hardware=H.H100, precision="bf16",
        tp=[1, 2], max_num_seqs=64, max_gpus=8, progress=False,
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match="fabric"):
        plan_serving(M.Llama3_8B, **kw, disagg=True)
    plan = plan_serving(M.Llama3_8B, **kw, disagg=True, fabric="IB_NDR")
    rows = [i for i, name in enumerate(plan.columns["layout"]) if " disagg " in name]
    assert len(rows) == 4  # (prefill tp, decode tp) in {1, 2}^2
    for i in rows:
        r, row = plan.result(i), plan.row(i)
        assert type(r).__name__ == "DisaggServingResult" and not r.overloaded
        assert r.prefill_gpus + r.decode_gpus == row["gpus"]
        assert math.isclose(r.itl_p90.to("ms").magnitude, row["itl_p90"], rel_tol=1e-12)
        assert r.ttft_p90.to("s").magnitude <= 1.0 and r.itl_p90.to("s").magnitude <= 0.02
        assert row["slo_across_band"] is None


def test_8b_on_h100_tp1_when_relaxed_tp_when_itl_is_tight():
    """NVIDIA NIM for LLMs, Support Matrix, Llama 3.1 8B, "Optimized configurations"
    (https://docs.nvidia.com/nim/large-language-models/latest/support-matrix.html): on H100 SXM the
    throughput profiles (FP16 and FP8) use 1 GPU, the latency profiles 2 GPUs; the NIM "Optimization"
    page: throughput variants use the minimum number of GPUs that hosts the model, latency variants add
    GPUs to cut request latency at the cost of throughput per GPU. The planner, by cost per 1M tokens on
    H100 in bf16: tensor parallelism 1 at relaxed SLOs, more than 1 when the ITL SLO is below what one
    GPU's decode reaches (reading 16 GB of weights per step)."""
    kw = dict(qps=5, seq_len=2000, output_len=300, slo_ttft=1.0, hardware=H.H100, precision="bf16", progress=False)
    dc = mlsysim.Infra.Grids.US_Avg
    relaxed = plan_serving(M.Llama3_8B, slo_itl=0.05, datacenter=dc, **kw)
    tight = plan_serving(M.Llama3_8B, slo_itl=0.006, datacenter=dc, **kw)
    assert relaxed.feasible and relaxed.row(0)["tp"] == 1
    assert tight.feasible and tight.row(0)["tp"] > 1
    assert "ITL" in tight.binding


def test_infeasible_says_what_to_relax():
    plan = plan_serving(
        M.Llama3_8B, qps=5, seq_len=2000, output_len=300, slo_ttft=1.0, slo_itl=0.001, hardware=H.H100,
        precision="bf16", max_gpus=8, progress=False,
    )  # fmt: skip
    assert not plan.feasible
    assert "closest" in plan.binding and "ITL" in plan.binding and "Relax the ITL SLO" in plan.binding
    assert "ms >" in plan.binding


def test_extra_axes_are_layout_dimensions():
    plan = plan_serving(
        M.Llama3_8B, qps=2, seq_len=1024, output_len=128, slo_ttft=2.0, slo_itl=0.05, hardware=H.H100,
        precision="bf16", tp=1, max_num_seqs=64, max_gpus=2, axes={"kv_precision": ["bf16", "fp8"]}, progress=False,
    )  # fmt: skip
    assert set(plan.columns["kv_precision"]) == {"bf16", "fp8"}
    assert len(plan) == 2 and "kv_precision=" in plan.row(0)["layout"]
    assert "ServingResult" in plan.explain(0)


def test_bad_input_is_named():
    kw = dict(qps=5, seq_len=2000, output_len=300, slo_ttft=1.0, slo_itl=0.05)
    with pytest.raises(InvalidInputError, match="qps"):
        plan_serving(M.Llama3_8B, **{**kw, "qps": 0})
    with pytest.raises(InvalidInputError, match="objective"):
        plan_serving(M.Llama3_8B, objective="cost", **kw)
    with pytest.raises(InvalidInputError, match="slo_percentile"):
        plan_serving(M.Llama3_8B, slo_percentile=95, **kw)
    with pytest.raises(InvalidInputError, match="hardware"):
        plan_serving(M.Llama3_8B, hardware="H100", **kw)
    with pytest.raises(InvalidInputError, match="precision='fp3' is invalid: expected one of fp64"):
        plan_serving(M.Llama3_8B, precision="fp3", **kw)


def test_a_model_no_part_holds_is_an_infeasible_plan_naming_the_closest():
    """No engine holds one request: was a TypeError (``~`` of an empty float column) from the CLI and the API."""
    plan = plan_serving(
        M.Llama3_1_405B, qps=5, seq_len=2000, output_len=300, slo_ttft=1.0, slo_itl=0.04, hardware=[H.V100, H.A100],
        tp=1, progress=False,
    )  # fmt: skip
    assert not plan.feasible and len(plan) == 0
    # 405.9e9 parameters x 2 B (bf16) = 812 GB of weights on one A100 (V100 has no bf16 peak: invalid)
    assert plan.binding.startswith("no engine holds one request (prompt + output at batch 1); the closest, NVIDIA A100")
    need = float(plan.binding.split("needs ")[1].split(" GB")[0])
    assert need == pytest.approx(405.9 * 2, rel=0.01)


def test_pipeline_stages_count_in_the_replica():
    plan = plan_serving(
        M.Llama3_70B, qps=1, seq_len=1024, output_len=128, slo_ttft=5.0, slo_itl=0.2, hardware=H.H100,
        precision="bf16", tp=4, max_num_seqs=32, max_gpus=16, axes={"pp_size": [2]}, progress=False,
    )  # fmt: skip
    assert plan.feasible
    assert all(g % 8 == 0 for g in plan.columns["gpus"]) and "pp_size=2" in plan.row(0)["layout"]
    assert plan.result(0).gpus == 8


DRAFT = {"spec_draft": M.Llama3_2_1B, "spec_k": 4, "spec_accept": 0.8}


@pytest.mark.parametrize("itl", [0.006, 0.0075, 0.05])
def test_speculation_on_off_equals_brute_force(itl):
    """With speculation searched, the fewest GPUs equal solve() at every engine, replica count and setup."""
    kw = dict(hardware=[H.H100], precisions=["bf16"], tps=[1, 2], caps=[16, 64], budget=4)
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=itl, hardware=kw["hardware"],
        precision=kw["precisions"], tp=kw["tps"], max_num_seqs=kw["caps"], max_gpus=kw["budget"],
        speculative=[DRAFT, {"spec_draft_cost": 0.05, "spec_k": 3, "spec_accept": 0.7}], progress=False,
    )  # fmt: skip
    want = min(
        (g for s in ({}, DRAFT, {"spec_draft_cost": 0.05, "spec_k": 3, "spec_accept": 0.7})
         if (g := brute_force(M.Llama3_8B, kw["hardware"], kw["precisions"], kw["tps"], kw["caps"], kw["budget"],
                              1.0, itl, 90, s)) is not None),
        default=None,
    )  # fmt: skip
    assert plan.feasible == (want is not None), plan.binding
    if want is not None:
        assert plan.columns["gpus"][0] == want


def test_tight_itl_picks_speculation():
    """Llama-3.1-70B on H100 bf16 at 1 request/s (1024 + 256 tokens), p90 ITL <= 12 ms, tp 4 or 8, 8 GPUs:
    plain decoding misses it (best p90 ITL 15.05 ms, tp8); with a Llama-3.2-1B draft (k=4, alpha=0.8) tp4
    meets it at 10.23 ms (a mean 2.5 requests per replica, far below the break-even batch 204)."""
    kw = dict(
        qps=1.0, seq_len=1024, output_len=256, slo_ttft=1.0, slo_itl=0.012, hardware=H.H100, precision="bf16",
        tp=[4, 8], max_num_seqs=16, max_gpus=8, progress=False,
    )  # fmt: skip
    plain = plan_serving(M.Llama3_70B, **kw)
    assert not plain.feasible and "ITL" in plain.binding
    plan = plan_serving(M.Llama3_70B, **kw, speculative=DRAFT)
    assert plan.feasible and plan.row(0)["speculative"] == "Llama-3.2-1B k=4 a=0.8"
    assert plan.row(0)["gpus"] == 4 and plan.row(0)["itl_p90"] == pytest.approx(10.23, abs=0.01)
    (finding,) = plan.findings
    assert finding.startswith("speculation helps") and "nothing without it meets every constraint" in finding
    assert "15.05 ms > 12 ms" in finding and "memory-bound" in finding
    assert plan.result(0).spec_acceptance == 0.8  # the row re-solves with its draft


def test_relaxed_itl_keeps_plain_decoding():
    """With a 50 ms ITL SLO plain decoding already meets it on fewer or as many GPUs: speculation does not help."""
    plan = plan_serving(
        M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=0.05, hardware=H.H100,
        precision="bf16", tp=[1], max_num_seqs=64, max_gpus=2, speculative=[DRAFT], progress=False,
    )  # fmt: skip
    assert plan.row(0)["speculative"] == "off"
    assert plan.findings[0].startswith("speculation does not help")


def test_bad_speculative_setup_is_named():
    with pytest.raises(InvalidInputError, match=r"speculative\[0\]"):
        plan_serving(
            M.Llama3_8B, qps=RATE, seq_len=S, output_len=O, slo_ttft=1.0, slo_itl=0.05, hardware=H.H100,
            speculative=[{"spec_k": 4}], progress=False,
        )  # fmt: skip


@pytest.mark.parametrize(
    "setup", [{"spec_accept": 0.7}, {"spec_accept": 0.7, "spec_draft_cost": 0.05, "spec_draft": DRAFT["spec_draft"]}]
)
def test_a_speculative_setup_needs_exactly_one_proposer(setup):
    """spec_accept alone (nothing proposes the tokens) or both a draft and a draft cost: refused, naming the
    setup, instead of a plan of invalid rows."""
    with pytest.raises(InvalidInputError) as exc:
        plan_serving(
            mlsysim.Models.Llama3_8B,
            qps=1,
            seq_len=512,
            output_len=64,
            slo_ttft=1.0,
            slo_itl=0.05,
            speculative=[setup],
            progress=False,
        )
    assert exc.value.argument == "speculative[0]"


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (
            {"spec_draft_cost": 0.05, "spec_k": 0, "spec_accept": 0.7},
            "spec_k=0 is invalid: expected an integer in [1, 64]",
        ),
        ({"spec_draft_cost": 1.5, "spec_accept": 0.7}, "spec_draft_cost=1.5 is invalid: expected a finite number in"),
        ({"spec_draft_cost": 0.05, "spec_accept": 1.0}, "spec_accept=1.0 is invalid: expected a finite number in"),
    ],
)
def test_a_speculative_value_out_of_range_is_refused_before_the_search(setup, says):
    """spec_k=0 searched 52,600 configurations, every speculative one invalid, and the plan said 'speculation does
    not help'; ServingModel's own checks (mlsysim_serving.speculative.checked_values) now run once per setup."""
    with pytest.raises(InvalidInputError) as exc:
        plan_serving(
            mlsysim.Models.Llama3_8B, qps=1, seq_len=512, output_len=64, slo_ttft=1.0, slo_itl=0.05,
            speculative=[setup], progress=False,
        )  # fmt: skip
    assert str(exc.value).startswith(says)


def test_plan_serve_spec_k_without_a_draft_is_refused_as_serve_refuses_it():
    from click.testing import CliRunner

    from mlsysim_cli import main

    args = "plan serve Llama3_8B --qps 1 --seq-len 100 --output-len 10 --slo-ttft 1s --slo-itl 50ms --spec-k 5"
    out = CliRunner().invoke(main, args.split())
    assert out.exit_code == 1 and out.output == (
        "Error: --spec-k: 5 needs --spec-draft MODEL or --spec-draft-cost SHARE (4 without)\n"
    )
