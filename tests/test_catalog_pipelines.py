"""Diffusion pipelines as catalog workloads (issue 19): each component's parameters and FLOPs recounted
by hand from its config, each pipeline's per-image totals composed by hand from its components, and a
per-image solve."""

from __future__ import annotations

import pytest

import mlsysim

G = mlsysim.Models.GenerativeVision


def clip_text(hidden: int, layers: int, ffn: int, projection: int = 0, vocab: int = 49408, seq: int = 77):
    """(parameters, FLOPs of one prompt) of a CLIP text transformer from its config.json geometry."""
    per_layer = 4 * (hidden * hidden + hidden) + 4 * hidden + (hidden * ffn + ffn) + (ffn * hidden + hidden)
    params = vocab * hidden + seq * hidden + layers * per_layer + 2 * hidden + projection * hidden
    macs = layers * (seq * (4 * hidden**2 + 2 * hidden * ffn) + 2 * seq * seq * hidden) + projection * hidden
    return params, 2 * macs


def vae_decoder(latent_px: int, z: int = 4, post_quant: bool = True, channels=(128, 256, 512, 512), per_block=2):
    """(parameters, FLOPs) of the diffusers AutoencoderKL Decoder (+ post_quant_conv) on a latent_px^2 latent."""

    def conv(cin, cout, px, k=3):
        return k * k * cin * cout, k * k * cin * cout * px * px

    def resnet(cin, cout, px):
        p1, m1 = conv(cin, cout, px)
        p2, m2 = conv(cout, cout, px)
        params, macs = p1 + cout + p2 + cout + 2 * cin + 2 * cout, m1 + m2
        if cin != cout:
            p3, m3 = conv(cin, cout, px, 1)
            params, macs = params + p3 + cout, macs + m3
        return params, macs

    parts = [conv(z, z, latent_px, 1)] if post_quant else []
    parts.append(conv(z, channels[-1], latent_px))
    biases = (z if post_quant else 0) + channels[-1]
    top, px = channels[-1], latent_px
    parts += [resnet(top, top, px), resnet(top, top, px)]
    tokens = px * px  # single-head attention over the latent pixels: 4 projections + 2 matmuls
    parts.append((2 * top + 4 * (top * top + top), 4 * tokens * top * top + 2 * tokens * tokens * top))
    prev = top
    for i, c in enumerate(reversed(channels)):
        parts += [resnet(prev, c, px)] + [resnet(c, c, px) for _ in range(per_block)]
        prev = c
        if i < len(channels) - 1:
            px *= 2
            parts.append(conv(c, c, px))
            biases += c
    parts.append((2 * channels[0], 0))  # conv_norm_out
    parts.append(conv(channels[0], 3, px))
    biases += 3
    return sum(p for p, _ in parts) + biases, 2 * sum(m for _, m in parts)


def t5_encoder(d=4096, ff=10240, layers=24, heads=64, d_kv=64, vocab=32128, seq=512):
    """(parameters, FLOPs of one prompt) of a T5 v1.1 (gated-GELU, bias-free) encoder from its config."""
    inner = heads * d_kv
    params = vocab * d + layers * (4 * d * inner + 3 * d * ff + 2 * d) + 32 * heads + d
    return params, 2 * layers * (seq * (4 * d * inner + 3 * d * ff) + 2 * seq * seq * inner)


def flux_transformer(double=19, single=38, dim=3072, head_dim=128, image_tokens=4096, text_tokens=512):
    """(parameters, FLOPs of one step) of the diffusers FluxTransformer2DModel (with guidance embedder)."""

    def lin(i, o):
        return i * o + o

    mlp, n = 4 * dim, image_tokens + text_tokens
    embed = 2 * (lin(256, dim) + lin(dim, dim)) + lin(768, dim) + lin(dim, dim) + lin(4096, dim) + lin(64, dim)
    block = 2 * lin(dim, 6 * dim) + 8 * lin(dim, dim) + 4 * head_dim + 2 * (lin(dim, mlp) + lin(mlp, dim))
    sblock = lin(dim, 3 * dim) + lin(dim, mlp) + lin(dim + mlp, dim) + 3 * lin(dim, dim) + 2 * head_dim
    params = embed + double * block + single * sblock + lin(dim, 2 * dim) + lin(dim, 64)
    macs = image_tokens * 64 * dim + text_tokens * 4096 * dim + 3 * dim * dim + 2 * 256 * dim + 768 * dim
    macs += double * 12 * dim * dim + single * 3 * dim * dim + 2 * dim * dim  # modulation of the vector
    macs += double * (n * (4 * dim * dim + 2 * dim * mlp) + 2 * n * n * dim)
    macs += single * (n * (3 * dim * dim + dim * mlp + (dim + mlp) * dim) + 2 * n * n * dim)
    return params, 2 * (macs + image_tokens * dim * 64)


@pytest.mark.parametrize(
    ("key", "counted"),
    [
        ("CLIP_L_TextEncoder", clip_text(768, 12, 3072)),
        ("OpenCLIP_bigG_TextEncoder", clip_text(1280, 32, 5120, projection=1280)),
        ("SDXL_VAE_Decoder", vae_decoder(128)),
        ("T5_XXL_Encoder", t5_encoder()),
        ("Flux1_Dev_Transformer", flux_transformer()),
        ("Flux_VAE_Decoder", vae_decoder(128, z=16, post_quant=False)),
    ],
)
def test_components_match_a_count_from_their_config(key, counted):
    w = G.get(key)
    params, flops = counted
    assert w.parameters == params
    assert w.si.flops_per_sample == pytest.approx(flops, rel=1e-12)


# pipeline: (text encoders run once, denoiser, steps, passes per step, decoder run once)
SDXL_TEXT, FLUX_TEXT = ("CLIP_L_TextEncoder", "OpenCLIP_bigG_TextEncoder"), ("CLIP_L_TextEncoder", "T5_XXL_Encoder")
PIPELINES = {
    "SDXL_Pipeline": (SDXL_TEXT, "SDXL_UNet", 50, 2, "SDXL_VAE_Decoder"),
    "SDXL_Pipeline_20Steps": (SDXL_TEXT, "SDXL_UNet", 20, 2, "SDXL_VAE_Decoder"),
    "Flux1_Dev_Pipeline": (FLUX_TEXT, "Flux1_Dev_Transformer", 28, 1, "Flux_VAE_Decoder"),
}


@pytest.mark.parametrize("key", sorted(PIPELINES))
def test_pipeline_totals_composed_by_hand(key):
    """One image = text encoders + steps x passes x denoiser + decoder; every component resident."""
    encoders, denoiser, steps, passes, decoder = PIPELINES[key]
    enc, den, dec = [G.get(k) for k in encoders], G.get(denoiser), G.get(decoder)
    by_hand = sum(w.si.flops_per_sample for w in enc) + steps * passes * den.si.flops_per_sample
    by_hand += dec.si.flops_per_sample
    pipeline = G.get(key)
    assert pipeline.si.flops_per_sample == pytest.approx(by_hand, rel=1e-12)
    assert pipeline.parameters == sum(w.parameters for w in enc) + den.parameters + dec.parameters


def test_the_decoder_is_a_few_percent_of_an_mlperf_sdxl_image():
    share = G.SDXL_VAE_Decoder.si.flops_per_sample / G.SDXL_Pipeline_20Steps.si.flops_per_sample
    assert share == pytest.approx(0.037, abs=0.002)
    assert G.Flux1_Dev_Transformer.parameters == pytest.approx(12e9, rel=0.01)  # the card's "12 billion"


def test_a_pipeline_solves_to_a_per_image_latency():
    p, h100 = G.SDXL_Pipeline, mlsysim.Hardware.Cloud.H100
    r = mlsysim.SingleNodeModel().solve(p, h100, batch_size=1, precision="fp16")
    assert r.bottleneck == "Compute"
    assert r.latency.to("s").magnitude >= p.si.flops_per_sample / h100.compute.peak("fp16")
    assert r.feasible and r.memory_footprint.to("GB").magnitude == pytest.approx(2 * p.parameters / 1e9, rel=0.05)
