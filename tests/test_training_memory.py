"""Training activation memory (mlsysim_physics.equations): the layer's widths and the output layer, by hand.

Korthikanti et al. 2022 count 34 s b h bytes a layer for multi-head attention and a 4h GeLU MLP; an MLP of
another width f, or a gated one (SwiGLU: three f-wide tensors), stores its own; the output layer keeps the
fp32 logits (Korthikanti Sec. 4.2.3) and, at its peak, their 16-bit copy (Megatron-LM's cross entropy).
"""

from __future__ import annotations

import pytest

import mlsysim
from mlsysim_core.types import TransformerWorkload
from mlsysim_physics.equations import (
    KORTHIKANTI_WIDTHS,
    activation_bytes_per_layer,
    layer_activation_widths,
    output_layer_bytes,
    transformer_activation_widths,
)


def test_korthikanti_layer_is_34_sbh():
    """A plain 4h MLP: replicated 10, split 24; FP8 inputs 8 and 19 (Korthikanti Table 2, DistributedModel's fp8)."""
    assert layer_activation_widths(1024.0, 4096.0, "gelu") == KORTHIKANTI_WIDTHS == (10, 24, 8, 19)


def test_swiglu_widths_by_hand():
    """Llama-3.2-1B: h 2048, SwiGLU f = 8192: split = attention 8 + gate, up and product 3 x 2 x 4 = 32;
    FP8 saves the projection input (1) and fc2 input (f/h = 4): 27; replicated 10 and 8 as Korthikanti's."""
    assert layer_activation_widths(2048.0, 8192.0, "swiglu") == pytest.approx((10, 32, 8, 27))
    # a GeLU MLP of the same width stores the activation's input and output only: 4 f / h = 16; a ReLU its
    # output: 2 f / h = 8 (FP8: the fc2 input, f / h = 4, in one byte: 8 + 8 - 1 - 4 = 11)
    assert layer_activation_widths(2048.0, 8192.0, "gelu") == pytest.approx((10, 24, 8, 19))
    assert layer_activation_widths(2048.0, 8192.0, "relu") == pytest.approx((10, 16, 8, 11))
    widths, notes = transformer_activation_widths(mlsysim.Models.Language.Llama3_2_1B)
    assert widths == pytest.approx((10, 32, 8, 27)) and notes == ()
    # Mixtral 8x7B: each token through 2 experts of f = 14336: 6 x 2 x 14336 / 4096 = 42, + 8
    widths, _ = transformer_activation_widths(mlsysim.Models.Language.Mixtral_8x7B)
    assert widths[1] == pytest.approx(50.0)


def test_activation_bytes_with_widths_by_hand():
    """Selective, S 1024, b 2, h 2048, the Llama-3.2-1B widths: 42 s b h without tp; with tp 4 and sequence
    parallelism 42/4; without it 10 + 32/4; FP8 with sequence parallelism 35/4."""
    w = layer_activation_widths(2048.0, 8192.0, "swiglu")
    sbh = 1024 * 2 * 2048
    assert activation_bytes_per_layer(1024, 2, 2048, 32, 1, True, "selective", 1.0, False, w) == pytest.approx(42 * sbh)
    assert activation_bytes_per_layer(1024, 2, 2048, 32, 4, True, "selective", 1.0, False, w) == pytest.approx(
        42 / 4 * sbh
    )
    assert activation_bytes_per_layer(1024, 2, 2048, 32, 4, False, "selective", 1.0, False, w) == pytest.approx(
        (10 + 32 / 4) * sbh
    )
    assert activation_bytes_per_layer(1024, 2, 2048, 32, 4, True, "selective", 1.0, True, w) == pytest.approx(
        35 / 4 * sbh
    )
    # full recomputation keeps each layer's input whatever its widths: 2 s b h
    assert activation_bytes_per_layer(1024, 2, 2048, 32, 1, True, "full", 1.0, False, w) == pytest.approx(2 * sbh)


def test_output_layer_by_hand():
    """S 2048, b 1, h 2048, V 128256 at 16 bits: 4 s b h + (4 + 2) s b V = 1.593 GB; vocab-parallel over tp 8:
    / 8; fp32 activations (scale 2): 8 s b h + 4 s b V (``.float()`` is the logits themselves)."""
    one = 2048 * (4 * 2048 + 6 * 128256)
    assert output_layer_bytes(2048, 1, 2048, 128256, 1) == pytest.approx(one)
    assert one == pytest.approx(1.593e9, rel=1e-3)
    assert output_layer_bytes(2048, 1, 2048, 128256, 8) == pytest.approx(one / 8)
    assert output_layer_bytes(2048, 1, 2048, 128256, 1, 2.0) == pytest.approx(2048 * (8 * 2048 + 4 * 128256))


def test_missing_geometry_is_stated_in_training_notes():
    """Without ffn_dim and mlp the MLP counted is a 4h GeLU one, and both solvers say so in training."""
    bare = TransformerWorkload(name="bare", parameters=10**8, layers=4, hidden_dim=1024, heads=16, vocab_size=1000)
    widths, notes = transformer_activation_widths(bare)
    assert widths == KORTHIKANTI_WIDTHS
    assert any("ffn_dim not given" in n for n in notes) and any("mlp not given" in n for n in notes)
    h100 = mlsysim.Hardware.Cloud.H100
    sn = mlsysim.SingleNodeModel().solve(bare, h100, is_training=True, seq_len=512)
    assert any("mlp not given" in n for n in sn.notes)
    inference = mlsysim.SingleNodeModel().solve(bare, h100, seq_len=512)
    assert not any("mlp not given" in n for n in inference.notes)  # only training stores the MLP's tensors


def test_catalog_states_every_transformer_mlp():
    """Every catalog transformer with an ffn_dim names its MLP (from its source's activation function)."""
    kinds = {"GPT2": "gelu", "GPT3": "gelu", "BERT_Base": "gelu", "BERT_Large": "gelu", "GPTJ_6B": "gelu"}
    kinds |= {"GPT_NeoX_20B": "gelu", "BLOOM_176B": "gelu", "MT_NLG_530B": "gelu", "OPT_175B": "relu"}
    kinds |= {"T5_11B": "relu", "Gemma2_9B": "geglu", "Gemma2_27B": "geglu"}
    seen = 0
    for key in mlsysim.Models.keys():
        m = mlsysim.Models[key]
        if isinstance(m, TransformerWorkload) and m.ffn_dim is not None:
            assert m.mlp == kinds.get(key, "swiglu"), key
            seen += 1
    assert seen >= 38
