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
