"""The single-node equations as pure functions of SI floats or numpy arrays (one code path for a
scalar ``solve()`` and a vectorized sweep).

Units: s, B (bytes), FLOP, FLOP/s, B/s, W, J. Every function states its equation and source.
Notation: B batch, S context / sequence length, b bytes per weight element, b_kv bytes per KV
element, P parameters, L layers, H*d_h attention width, kv elements per token = 2*L*h_kv*d_h
(GQA) or L*(r_kv + d_rope) (MLA).
"""

from __future__ import annotations

from mlsysim_physics.equations import (
    activation_bytes_per_layer,
    adam_state_bytes,
    maximum,
    minimum,
    output_layer_bytes,
    step_power,
)

# --------------------------------------------------------------------------- work per step


def decoder_inference(
    batch,
    context,
    b,
    b_kv,
    dense_read_params,
    expert_params,
    expert_share,
    matmul_params,
    layers,
    attn_dim,
    kv_elements,
    total_params,
):
    """One decode step of ``batch`` sequences at ``context`` tokens (Kaplan et al. 2020, Table 1;
    Pope et al. 2022):

    FLOPs     = B * (2*P_matmul + 4*L*S*H*d_h)         (2 FLOP per MAC; QK^T and AV over S keys)
    bytes     = (P_dense + P_experts * (1 - (1-k/E)^B)) * b    weights read once for the batch
                + B*(S+1)*kv*b_kv                               KV cache read, new token written
    footprint = P_total*b + B*(S+1)*kv*b_kv

    ``dense_read_params`` excludes the untied input-embedding table (a lookup reads B rows);
    ``expert_share`` = k/E (1 for dense models); P_matmul counts active parameters only.
    Returns (flops, bytes, footprint).
    """
    kv = batch * (context + 1.0) * kv_elements * b_kv
    flops = batch * (2.0 * matmul_params + 4.0 * layers * context * attn_dim)
    weights_read = (dense_read_params + expert_params * (1.0 - (1.0 - expert_share) ** batch)) * b
    return flops, weights_read + kv, total_params * b + kv


def transformer_forward(
    batch,
    seq_len,
    b,
    b_kv,
    b_act,
    read_params,
    matmul_params,
    layers,
    attn_dim,
    hidden,
    ffn,
    kv_elements,
    total_params,
    attention_mult,
):
    """One forward pass of ``batch`` sequences of ``seq_len`` tokens each: an encoder (BERT, a ViT's or
    T5's encoder stack) or the prefill of a decoder (Kaplan et al. 2020, Table 1; Pope et al. 2022).

    FLOPs     = B * (2*P_matmul*S + m_attn*L*S^2*H*d_h)   (2 FLOP per MAC; QK^T and AV are S x S x H*d_h
                MACs each: m_attn = 4 bidirectional (encoder), 2 causal (decoder prefill: half the scores))
    bytes     = P_read*b + B*S*kv*b_kv + 2*B*S*L*d*b_act
                (weights streamed once for the batch; KV cache written by a decoder prefill, kv = 0 for an
                encoder; each layer reads and writes the residual stream of every token, the layer's inner
                tensors staying in fused kernels / L2)
    footprint = P_total*b + B*S*kv*b_kv + B*S*(4*d + 2*d_ff)*b_act  (one layer's live activations)
    Returns (flops, bytes, footprint).
    """
    tokens = batch * seq_len
    flops = batch * (2.0 * matmul_params * seq_len + attention_mult * layers * seq_len * seq_len * attn_dim)
    kv = tokens * kv_elements * b_kv
    moved = read_params * b + kv + 2.0 * tokens * layers * hidden * b_act
    return flops, moved, total_params * b + kv + tokens * (4.0 * hidden + 2.0 * ffn) * b_act


def fixed_inference(batch, flops_per_sample, params, activations, b):
    """Forward pass of ``batch`` samples of a fixed-shape network (CNN): weights read once for the
    batch, each sample's activations written once and read once (Williams et al. 2009 roofline).

    FLOPs = B*F_sample; bytes = P*b + 2*B*A*b; footprint = P*b + B*A*b (A = activation elements
    per sample; the footprint counts every activation live: an upper bound).
    Returns (flops, bytes, footprint).
    """
    act = batch * activations * b
    return batch * flops_per_sample, params * b + 2.0 * act, params * b + act


def training_state_bytes(b, grad_b, zero_stage, dp):
    """Bytes per parameter held for training with Adam: weights b, gradients grad_b and the optimizer
    from :func:`mlsysim_physics.equations.adam_state_bytes` (18 B with bf16 and fp32 gradients, 16 with
    fp16 or fp32, as DistributedModel); ZeRO stage 1/2/3 divides optimizer / +gradients / +weights
    by dp (Rajbhandari et al. 2020).
    Returns (held bytes per parameter, optimizer bytes per parameter before sharding).
    """
    w, g, opt = adam_state_bytes(b, grad_b)
    w = w / dp if zero_stage >= 3 else w
    g = g / dp if zero_stage >= 2 else g
    o = opt / dp if zero_stage >= 1 else opt
    return w + g + o, opt


def decoder_training(
    batch,
    seq_len,
    b,
    grad_b,
    b_act,
    matmul_params,
    layers,
    hidden,
    heads,
    attn_dim,
    total_params,
    state_per_param,
    opt_per_param,
    recompute,
    widths,
    vocab,
    attention_mult=2.0,
):
    """One training step of ``batch`` sequences of ``seq_len`` tokens; ``recompute`` one of
    :data:`mlsysim_physics.equations.RECOMPUTE_MODES`.

    FLOPs = B * (3*F + R), F = 2*P_matmul*S + m_attn*L*S^2*H*d_h the forward
            (2 FLOP/MAC, backward 2x forward: Narayanan et al. 2021 eq. 3; m_attn = 2 causal (a decoder:
            the mask halves QK^T and AV), 4 bidirectional (an encoder)) and R the recomputed forward work:
            full recomputation R = F (the 4x of eq. 3's 96), selective the attention core
            R = m_attn*L*S^2*H*d_h (Korthikanti et al. 2022, Sec. 5; a flash-attention backward recomputes
            the scores: Dao et al. 2022), none R = 0 (as DistributedModel's ``layer_flops_per_token``).
    activations = L * :func:`mlsysim_physics.equations.activation_bytes_per_layer` at t = 1 of the layer's
            ``widths`` (:func:`mlsysim_physics.equations.layer_activation_widths`; Korthikanti et al. 2022, Table 2,
            bytes at b_act): selective S*B*d*w (w = 34 for MHA and a 4d GeLU MLP), none S*B*d*(w + 5*a*S/d)
            (eq. 2: the S x S scores stored), full 2*S*B*d (the layer inputs), each * b_act/2
            + the output layer at its peak, :func:`mlsysim_physics.equations.output_layer_bytes` at t = 1
            (4*S*B*d + 6*S*B*V at 16 bits: the LM head's inputs, the fp32 logits the loss keeps and their
            16-bit copy; Korthikanti Sec. 4.2.3, Megatron-LM's cross entropy).
    bytes = 2*P*b (weights read forward and backward) + P*(2*b_g + b + 2*opt) (gradients written
            and read, weights written, optimizer state read and written) + 2 * activations.
    footprint = P * state_per_param + activations.
    Returns (flops, bytes, footprint).
    """
    attn = attention_mult * layers * seq_len * seq_len * attn_dim
    fwd = 2.0 * matmul_params * seq_len + attn
    extra = fwd if recompute == "full" else attn if recompute == "selective" else 0.0
    act = layers * activation_bytes_per_layer(
        seq_len, batch, hidden, heads, 1.0, True, recompute, b_act / 2.0, False, widths
    ) + output_layer_bytes(seq_len, batch, hidden, vocab, 1.0, b_act / 2.0)
    bytes_moved = 2.0 * total_params * b + total_params * (2.0 * grad_b + b + 2.0 * opt_per_param) + 2.0 * act
    return batch * (3.0 * fwd + extra), bytes_moved, total_params * state_per_param + act


def fixed_training(batch, flops_per_sample, params, activations, b, grad_b, state_per_param, opt_per_param):
    """One training step of a fixed-shape network: FLOPs = 3*B*F_sample; activations B*A*b stored
    for the backward pass; bytes and footprint as :func:`decoder_training`."""
    act = batch * activations * b
    bytes_moved = 2.0 * params * b + params * (2.0 * grad_b + b + 2.0 * opt_per_param) + 2.0 * act
    return 3.0 * batch * flops_per_sample, bytes_moved, params * state_per_param + act


# --------------------------------------------------------------------------- roofline


def offload_bytes(footprint, usable, bytes_moved):
    """Bytes that do not fit (footprint - usable memory, >= 0) and are fetched over the host link
    every step, at most the bytes the step moves. Returns (spill, host_bytes)."""
    spill = maximum(footprint - usable, 0.0)
    return spill, minimum(spill, bytes_moved)


def roofline(
    flops,
    bytes_moved,
    host_bytes,
    host_seconds_per_byte,
    peak,
    bandwidth,
    eta_c,
    eta_m,
    overhead,
    tdp,
    idle_fraction,
    compute_fraction,
    memory_fraction,
):
    """Roofline step (Williams, Waterman, Patterson, CACM 2009) with an offload term and power.

    t_compute = FLOPs / (F * eta_c)
    t_memory  = (bytes - host_bytes) / (W * eta_m) + host_bytes * (1 / (host_bw * eta_net))
    latency   = max(t_compute, t_memory) + t_overhead
    MFU       = FLOPs / (latency * F)
    power     = TDP * min(1, idle + f_c * t_compute/latency + f_m * t_memory/latency)
    energy    = power * latency
    ``host_seconds_per_byte`` is 0 when nothing spills (pass inf only where host_bytes > 0 and the
    part has no host link). Returns (latency, t_compute, t_memory, mfu, power, energy).
    """
    t_c = flops / (peak * eta_c)
    t_m = (bytes_moved - host_bytes) / (bandwidth * eta_m) + host_bytes * host_seconds_per_byte
    latency = maximum(t_c, t_m) + overhead
    mfu = flops / (latency * peak)
    power, energy = step_power(tdp, t_c, t_m, latency, idle_fraction, compute_fraction, memory_fraction)
    return latency, t_c, t_m, mfu, power, energy
