"""Catalog entries added for issue 19 (current open models, clusters from papers): each loads, resolves by
name, and carries the published figures its source states."""

from __future__ import annotations

import pytest

import mlsysim
from mlsysim_registry import hf

# HF config.json fields of each model (the sources named in models.toml) and its card's total parameters
CONFIGS = {
    "GPT_OSS_120B": (
        dict(
            hidden_size=2880,
            num_hidden_layers=36,
            num_attention_heads=64,
            num_key_value_heads=8,
            head_dim=64,
            intermediate_size=2880,
            num_local_experts=128,
            num_experts_per_tok=4,
            vocab_size=201088,
            max_position_embeddings=131072,
            tie_word_embeddings=False,
            model_type="gpt_oss",
            hidden_act="silu",
        ),
        116.83e9,  # gpt-oss model card, arXiv:2508.10925, Table 1
    ),
    "GPT_OSS_20B": (
        dict(
            hidden_size=2880,
            num_hidden_layers=24,
            num_attention_heads=64,
            num_key_value_heads=8,
            head_dim=64,
            intermediate_size=2880,
            num_local_experts=32,
            num_experts_per_tok=4,
            vocab_size=201088,
            max_position_embeddings=131072,
            tie_word_embeddings=False,
            model_type="gpt_oss",
            hidden_act="silu",
        ),
        20.91e9,  # same card, Table 1
    ),
    "Qwen3_30B_A3B": (
        dict(
            hidden_size=2048,
            num_hidden_layers=48,
            num_attention_heads=32,
            num_key_value_heads=4,
            head_dim=128,
            intermediate_size=6144,
            moe_intermediate_size=768,
            num_experts=128,
            num_experts_per_tok=8,
            vocab_size=151936,
            max_position_embeddings=40960,
            tie_word_embeddings=False,
            model_type="qwen3_moe",
            hidden_act="silu",
        ),
        30.5e9,  # Qwen3-30B-A3B model card: 30.5B total
    ),
}


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_new_models_match_their_config_and_card(key):
    cfg, card_total = CONFIGS[key]
    model = mlsysim.Models.Language.get(key)
    derived = hf.from_config(cfg)
    assert model.parameters == derived.parameters and model.active_parameters == derived.active_parameters
    assert model.layers == cfg["num_hidden_layers"] and model.hidden_dim == cfg["hidden_size"]
    assert model.parameters == pytest.approx(card_total, rel=2e-3)
    assert model.moe_layers == derived.fields["moe_layers"] == cfg["num_hidden_layers"]  # every layer MoE


#: layers whose FFN routes to experts, from each config: DeepSeek-V3/R1 first_k_dense_replace 3 of 61 (arXiv
#: 2412.19437 sec. 4.2), V2 1 of 60, Llama 4 Maverick interleave_moe_layer_step 2 of 48; the rest every layer
PARTLY_DENSE = {"DeepSeek_V3": 58, "DeepSeek_R1": 58, "DeepSeek_V2": 59, "Llama4_Maverick": 24}


def test_every_moe_model_states_its_moe_layers():
    ns = mlsysim.Models.Language
    moe = {k: ns.get(k) for k in dir(ns) if not k.startswith("_") and getattr(ns.get(k), "is_moe", False)}
    assert len(moe) >= 11
    for key, model in moe.items():
        assert model.moe_layers == PARTLY_DENSE.get(key, model.layers), key


def test_importer_counts_moe_layers_past_the_leading_dense_ones():
    cfg = dict(CONFIGS["Qwen3_30B_A3B"][0], mlp_only_layers=[0, 1], decoder_sparse_step=1)
    derived = hf.from_config(cfg)
    assert derived.fields["moe_layers"] == 46
    assert hf.from_config(dict(cfg, mlp_only_layers=[], decoder_sparse_step=2)).fields["moe_layers"] == 24
    # Qwen-MoE's MoE layers at step 2 are 1, 3, ..., 47 ((i + 1) % 2 == 0, Qwen2MoeDecoderLayer): layer 1 dense
    # leaves 23 (counted as i % 2 == 0 before: 0, 2, ..., 46, none excluded, 24)
    assert hf.from_config(dict(cfg, mlp_only_layers=[1], decoder_sparse_step=2)).fields["moe_layers"] == 23
    for key in ("decoder_sparse_step", "moe_layer_freq"):  # 0 was taken as 1 without a word
        with pytest.raises(mlsysim.InvalidInputError, match=f"config.{key}.*positive integer"):
            hf.from_config(dict(cfg, **{key: 0}))


@pytest.mark.parametrize(
    ("key", "accelerators", "accelerator"),
    [
        ("Meta_RSC_6K", 6080, "A100"),  # Meta AI blog 2022-01-24: 760 DGX A100, 6,080 GPUs
        ("Meta_RSC_16K", 16000, "A100"),  # same blog: 16,000 GPUs when complete
        ("Meta_GenAI_24K_RoCE", 24576, "H100"),  # Meta Engineering 2024-03-12: two 24,576-GPU clusters
        ("Meta_GenAI_24K_IB", 24576, "H100"),
    ],
)
def test_clusters_from_papers(key, accelerators, accelerator):
    c = mlsysim.Systems.Clusters.get(key)
    assert c.total_accelerators == accelerators
    assert c.node.accelerator is mlsysim.Hardware.get(accelerator)
    assert "http" in c.source


def test_tpu_v3_and_v7_as_google_states_them():
    """TPU v3 (Cloud TPU docs, v3: 123 TFLOPS bf16, 32 GiB at 900 GBps) and v7 Ironwood (Hot Chips 2025:
    4,614 TFLOPS FP8, 192 GB at 7.3 TB/s); a peak the sources do not state is absent, not guessed."""
    v3, v7 = mlsysim.Hardware.get("TPUv3"), mlsysim.Hardware.get("TPU_Ironwood")
    assert v3.compute.peak("bf16") == pytest.approx(123e12)
    assert v3.memory.capacity.to("GiB").magnitude == pytest.approx(32)
    assert v3.memory.bandwidth.to("GB/s").magnitude == pytest.approx(900) and v3.tdp is None
    assert v7.compute.default_precision == "fp8" and set(v7.compute.precision_flops) == {"fp8"}
    assert v7.memory.capacity.to("GB").magnitude == pytest.approx(192)


# AWS Neuron docs' instance tables (trn2-arch.rst, trn3-arch.rst): per-device catalog figures x device count
# reproduce the published instance totals. (node, HBM GiB, HBM TB/s, {precision: published TFLOP/s total})
AWS_INSTANCES = {
    "Trn2_48xlarge": (16, 1536, 46.4, {}),
    "Trn2_UltraServer": (64, 6144, 185.6, {}),
    "Trn3_Gen1_UltraServer": (64, 9216, 313.6, {"fp8": 161088, "bf16": 42944, "fp32": 11712}),
    "Trn3_Gen2_UltraServer": (144, 20736, 705.6, {"fp8": 362448, "fp4": 362448, "bf16": 96624, "fp32": 26352}),
}


@pytest.mark.parametrize("key", sorted(AWS_INSTANCES))
def test_aws_instances_reproduce_their_published_totals(key):
    devices, hbm_gib, hbm_tbs, flops = AWS_INSTANCES[key]
    node = mlsysim.Systems.Nodes.get(key)
    hw = node.accelerator
    assert node.accelerators_per_node == devices
    assert (hw.memory.capacity * devices).to("GiB").magnitude == pytest.approx(hbm_gib)
    assert (hw.memory.bandwidth * devices).to("TB/s").magnitude == pytest.approx(hbm_tbs)
    for precision, total in flops.items():
        assert hw.compute.peak(precision) * devices == pytest.approx(total * 1e12)
    assert node.power_max is None  # unpublished: left out, not guessed


def test_trn2_instance_rounds_to_the_published_pflops():
    """AWS rounds the trn2-16 totals: BF16 10 PFLOPS (16 x 667 = 10.67), FP8 20 PFLOPS (16 x 1,299 = 20.8)."""
    hw = mlsysim.Systems.Nodes.Trn2_48xlarge.accelerator
    assert 10 <= hw.compute.peak("bf16") * 16 / 1e15 < 11
    assert 20 <= hw.compute.peak("fp8") * 16 / 1e15 < 21


def test_new_nodes_carry_their_sourced_links_and_leave_unknowns_out():
    nodes = mlsysim.Systems.Nodes
    hgx = nodes.HGX_B300
    assert hgx.accelerators_per_node == 8 and hgx.intra_node.bandwidth.to("GB/s").magnitude == 1800 / 2
    gaudi = nodes.Gaudi3_8x
    assert gaudi.nics_per_node == 8 * 3  # three on-die 200 GbE scale-out ports per card
    assert gaudi.intra_node.bandwidth.to("GB/s").magnitude == 1050 / 2  # Intel: 1,050 GB/s bidirectional
    assert nodes.MI355X_8x.intra_node.bandwidth.to("GB/s").magnitude == pytest.approx(7 * 153.6 / 2)  # 7 links
    for node in (hgx, gaudi, nodes.MI355X_8x):
        assert node.power_max is None and "Unknown fields" in node.source


# Per-direction intra-node link = half the vendor's per-device total (AWS NeuronLink, AMD 7 x 153.6 GB/s links)
NODE_LINKS_GB_S = {
    "MI355X_8x": 7 * 153.6 / 2,
    "Trn2_48xlarge": 1024 / 2,
    "Trn2_UltraServer": (1024 + 256) / 2,
    "Trn3_Gen1_UltraServer": 2048 * 2**30 / 1e9 / 2,
    "Trn3_Gen2_UltraServer": 2048 * 2**30 / 1e9 / 2,
}


@pytest.mark.parametrize("key", sorted(NODE_LINKS_GB_S))
def test_distributed_model_answers_on_nodes_with_their_new_links(key):
    """Issue 19: these nodes had no intra-node link, so DistributedModel refused them; it now answers and its
    tensor-parallel traffic runs on the catalog link (a slower link takes longer)."""
    import attrs

    node = mlsysim.Systems.Nodes.get(key)
    assert node.intra_node.bandwidth.to("GB/s").magnitude == pytest.approx(NODE_LINKS_GB_S[key])
    fabric = mlsysim.Systems.Fabrics.InfiniBand_NDR

    def tp_time(n: object) -> float:
        fleet = mlsysim.Fleet(name=key, node=n, count=2, fabric=fabric)
        batch = 2 * node.accelerators_per_node  # a multiple of dp = 2 nodes x devices / tp 8
        r = mlsysim.DistributedModel().solve(mlsysim.Models.Llama3_70B, fleet, batch_size=batch, tp_size=8)
        assert r.step_time.to("s").magnitude > 0
        return float(r.tp_communication_latency.to("s").magnitude)

    slow = attrs.evolve(node, intra_node=attrs.evolve(node.intra_node, bandwidth=node.intra_node.bandwidth / 2))
    assert tp_time(slow) > tp_time(node) > 0


def test_google_fleet_wue_is_derived_from_the_per_prompt_figures():
    """Elsworth et al. 2025 (arXiv:2508.15734): 0.24 Wh and 0.26 mL per median Gemini prompt, 8 % of the
    energy data-center overhead; WUE per IT kWh = water / (energy x (1 - overhead))."""
    dc = mlsysim.Infra.Datacenters.Google_Fleet_2024
    assert dc.wue.to("L/kWh").magnitude == pytest.approx(0.26e-3 / (0.24e-3 * (1 - 0.08)), rel=5e-3)
    assert dc.pue == pytest.approx(1 / (1 - 0.08), abs=0.01)  # the report's 1.09 and the paper's overhead agree


@pytest.mark.parametrize(
    ("node", "fp4_pflops", "hbm_tb", "hbm_tbs"),
    [
        # NVIDIA GB300 NVL72 page: FP4 "1,440 | 1,080 PFLOPS" (sparse | dense), 576 TB/s; HBM 72 x 279 GB = 20.1 TB
        ("GB300_NVL72", 1080, 20.1, 576),
        # NVIDIA GB200 NVL72 page: FP4 1,440 PFLOPS with sparsity = 720 dense, 576 TB/s; HBM alone 13.4 TB
        ("GB200_NVL72", 720, 13.4, 576),
    ],
)
def test_nvl72_racks_reproduce_nvidias_rack_totals(node, fp4_pflops, hbm_tb, hbm_tbs):
    rack = mlsysim.Systems.Nodes.get(node)
    gpu, n = rack.accelerator, rack.accelerators_per_node
    assert n == 72
    assert gpu.compute.peak("fp4") * n / 1e15 == pytest.approx(fp4_pflops)
    assert (gpu.memory.capacity * n).to("TB").magnitude == pytest.approx(hbm_tb, abs=0.05)
    assert (gpu.memory.bandwidth * n).to("TB/s").magnitude == pytest.approx(hbm_tbs)
    # NVLink "130 TB/s" total = 72 GPUs x 1.8 TB/s bidirectional (2 x the per-direction intra_node link)
    assert 2 * rack.intra_node.bandwidth.to("TB/s").magnitude * n == pytest.approx(130, rel=0.01)


# Google's efficiency page (https://datacenters.google/efficiency/, copied 2025-10-16 by emielkwakkel/sustainable-ai,
# docs/pue-data.md): campus -> (catalog key, trailing-twelve-month PUE, grid of the utility that serves it)
GOOGLE_CAMPUSES = {
    "The Dalles, Oregon": ("Google_The_Dalles", 1.10, "Oregon"),
    "The Dalles, Oregon (2nd facility)": ("Google_The_Dalles_2", 1.07, "Oregon"),
    "Council Bluffs, Iowa": ("Google_Council_Bluffs", 1.11, "Iowa"),
    "Council Bluffs, Iowa (2nd facility)": ("Google_Council_Bluffs_2", 1.07, "Iowa"),
    "Douglas County, Georgia": ("Google_Douglas_County", 1.09, "Georgia"),
    "Loudoun County, Virginia": ("Google_Loudoun_County", 1.09, "Virginia"),
    "Loudoun County, Virginia (2nd facility)": ("Google_Loudoun_County_2", 1.08, "Virginia"),
    "Midlothian, Texas": ("Google_Midlothian", 1.10, "Texas"),
    "Hamina, Finland": ("Google_Hamina", 1.10, "Finland"),
    "Dublin, Ireland": ("Google_Dublin", 1.08, "Ireland"),
    "Eemshaven, Netherlands": ("Google_Eemshaven", 1.08, "Netherlands"),
    "Singapore": ("Google_Singapore", 1.13, "Singapore"),
    "Singapore (2nd facility)": ("Google_Singapore_2", 1.15, "Singapore"),
    "Changua County, Taiwan": ("Google_Changhua_County", 1.12, "Taiwan"),
    "Berkeley County, South Carolina": ("Google_Berkeley_County", 1.10, "South_Carolina"),
    "Central Ohio (Columbus), Ohio": ("Google_Columbus", 1.05, "Ohio"),
    "Central Ohio (Lancaster), Ohio": ("Google_Lancaster", 1.04, "Ohio"),
    "Central Ohio (New Albany), Ohio": ("Google_New_Albany", 1.06, "Ohio"),
    "Fredericia, Denmark": ("Google_Fredericia", 1.07, "Denmark_West"),
    "Henderson, Nevada": ("Google_Henderson", 1.09, "Nevada"),
    "Jackson County, Alabama": ("Google_Jackson_County", 1.10, "Alabama_TVA"),
    "Lenoir, North Carolina": ("Google_Lenoir", 1.13, "North_Carolina"),
    "Mayes County, Oklahoma": ("Google_Mayes_County", 1.11, "Oklahoma"),
    "Montgomery County, Tennessee": ("Google_Montgomery_County", 1.10, "Tennessee"),
    "Papillion, Nebraska": ("Google_Papillion", 1.09, "Nebraska"),
    "Quilicura, Chile": ("Google_Quilicura", 1.09, "Chile"),
    "St. Ghislain, Belgium": ("Google_St_Ghislain", 1.08, "Belgium"),
    "Storey County, Nevada": ("Google_Storey_County", 1.14, "Nevada"),
}
# Inzai (Japan) carries the page's quarterly PUE (no TTM: under twelve months of data); the two new campuses
# ('RLF- New Campus', 'UNO- New Campus') are not placed: the page names no place for them.


def test_inzai_carries_the_quarterly_pue_google_reports_and_says_so():
    dc = mlsysim.Infra.Datacenters.get("google_inzai")
    assert dc.pue == 1.12 and dc.grid is mlsysim.Infra.Grids.Tokyo
    assert "the quarterly PUE of the campus 'Inzai, Japan'" in dc.source
    assert "no trailing-twelve-month value" in dc.source
    assert "trailing-twelve-month (TTM) PUE of the campus" not in dc.source


# Microsoft's efficiency page (https://datacenters.microsoft.com/sustainability/efficiency/, same copy): geography ->
# (catalog key, PUE, grid)
MICROSOFT_GEOGRAPHIES = {
    "Iowa": ("Microsoft_Iowa", 1.16, "Iowa"),
    "Texas": ("Microsoft_Texas", 1.28, "Texas"),
    "Virginia": ("Microsoft_Virginia", 1.14, "Virginia"),
    "Singapore": ("Microsoft_Singapore", 1.30, "Singapore"),
    "Ireland": ("Microsoft_Ireland", 1.18, "Ireland"),
    "Netherlands": ("Microsoft_Netherlands", 1.14, "Netherlands"),
    "Sweden": ("Microsoft_Sweden", 1.16, "Sweden"),
    "Poland": ("Microsoft_Poland", 1.19, "Poland"),
    "Illinois": ("Microsoft_Illinois", 1.25, "Illinois"),
    "Washington": ("Microsoft_Washington", 1.16, "Washington"),
    "Arizona": ("Microsoft_Arizona", 1.13, "Arizona"),  # West Valley sites, sited with APS: zone US-SW-AZPS
}
# Not placed: Wyoming (no sourced Wyoming industrial price: the grid it would need has none). Only EIA's 2018
# industrial average was found, 6.71 cents/kWh as https://datacenters.blackhillsenergy.com/resources/dont-let-charts-fool-you
# quotes it, and no source read names the balancing area (Electricity Maps zone) of the Cheyenne sites.
OPERATOR_SITES = [("trailing-twelve-month", c, *v) for c, v in GOOGLE_CAMPUSES.items()] + [
    ("the PUE Microsoft lists", g, *v) for g, v in MICROSOFT_GEOGRAPHIES.items()
]


@pytest.mark.parametrize(("kind", "site", "key", "pue", "grid"), OPERATOR_SITES, ids=[s[2] for s in OPERATOR_SITES])
def test_operator_sites_carry_their_published_pue_on_their_grid(kind, site, key, pue, grid):
    dc = mlsysim.Infra.Datacenters.get(key.lower())  # resolves case-insensitively
    assert dc is getattr(mlsysim.Infra.Datacenters, key)
    assert dc.pue == pue and dc.grid is getattr(mlsysim.Infra.Grids, grid)
    assert f"PUE {pue:.2f} = " in dc.source and kind in dc.source and f"'{site}'" in dc.source
    assert dc.provenance["pue"][0] == "measured"  # (tier, range ...)


def test_a_google_campus_scales_it_energy_by_its_own_pue():
    """Facility energy = IT energy x the campus PUE, against the grid's typical datacenter (Uptime 1.56)."""
    cluster = mlsysim.Systems.Clusters.Research_256
    site = mlsysim.SustainabilityModel().solve(cluster, 30, datacenter=mlsysim.Infra.Datacenters.Google_Hamina)
    typical = mlsysim.SustainabilityModel().solve(cluster, 30, datacenter=mlsysim.Infra.Grids.Finland)
    assert site.it_energy.to("kWh").magnitude == pytest.approx(typical.it_energy.to("kWh").magnitude)
    ratio = site.facility_energy / typical.facility_energy
    assert ratio.to("").magnitude == pytest.approx(1.10 / 1.56)


def test_mi355x_part_has_the_scale_up_link_of_its_node_so_tensor_parallel_serving_answers():
    """7 Infinity Fabric links x 153.6 GB/s bidirectional / 2, as the MI355X_8x node's intra_node; before the
    part had a scale_up link, ServingModel refused tp_size > 1 on it."""
    part = mlsysim.Hardware.Cloud.MI355X
    node = mlsysim.Systems.Nodes.MI355X_8x
    assert part.scale_up.bandwidth.to("GB/s").magnitude == pytest.approx(7 * 153.6 / 2)
    assert part.scale_up.bandwidth == node.intra_node.bandwidth and part.scale_up.domain == 8
    tp8 = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_70B, part, seq_len=2048, batch_size=8, tp_size=8)
    tp1 = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_70B, part, seq_len=2048, batch_size=8)
    assert 0 < tp8.ttft < tp1.ttft


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"num_experts": "128"}, "config.num_experts='128' is invalid: expected a non-negative integer (experts)"),
        ({"num_experts_per_tok": 2.5}, "config.num_experts_per_tok=2.5 is invalid: expected a non-negative integer"),
        ({"moe_intermediate_size": 768.5}, "config.moe_intermediate_size=768.5 is invalid: expected a non-negative"),
        ({"num_experts_per_tok": None}, "config.num_experts_per_tok=None is invalid: expected experts per token >= 1"),
        ({"hidden_size": None}, "config.hidden_size=None is invalid: expected hidden size in the config: one of"),
    ],
)
def test_importer_refuses_a_count_that_is_not_an_integer_by_its_key(change, says):
    """A string experts count raised a TypeError traceback (`mlsysim catalog import-hf`); a float expert FFN width
    was floored by int(); a missing value was named as the argument's value ("config='missing ...'")."""
    cfg = {k: v for k, v in {**CONFIGS["Qwen3_30B_A3B"][0], **change}.items() if v is not None}
    with pytest.raises(mlsysim.InvalidInputError) as exc:
        hf.from_config(cfg)
    assert str(exc.value).startswith(says)
