"""LLM serving equations (prefill / decode, tensor parallel) as pure functions of SI floats or numpy
arrays, so one kernel serves a scalar ``solve()`` and a vectorized sweep.

Units: s, B (bytes), FLOP, FLOP/s, B/s, W, J. Notation: B concurrent sequences, S context tokens,
n tensor-parallel degree, P_matmul active matmul parameters, L layers, H*d_h attention width,
d hidden size, kv elements per token (2*L*h_kv*d_h for GQA, L*(r_kv+d_rope) for MLA), b, b_kv,
b_act bytes per weight / KV / activation element; ``kv_share`` = share of the KV cache one GPU
holds (1/min(n, h_kv) for GQA, 1 for MLA whose latent cache is replicated).
"""

from __future__ import annotations

import numpy as np

from mlsysim_core.physics import maximum, minimum, share, step_power


def weights_read(tokens, dense_params, expert_params, expert_share):
    """Parameters a step streams from memory: dense ones always, routed experts in the expected
    share touched by ``tokens`` tokens each picking k of E: 1 - (1 - k/E)^tokens
    (see mlsysim_core.physics.moe_expert_fraction). Dense models pass expert_params = 0."""
    return dense_params + expert_params * (1.0 - (1.0 - expert_share) ** tokens)


def prefill(
    batch, seq_len, n, b, b_kv, b_act, read_params, matmul_params, layers, attn_dim, hidden, kv_elements, kv_share
):
    """Prefill of B prompts of S tokens on each of n GPUs (Kaplan et al. 2020; Pope et al. 2022).

    FLOPs / GPU  = B * (2*P_matmul*S + 2*L*S^2*H*d_h) / n   (causal mask halves QK^T and AV)
    bytes / GPU  = P_read*b / n  +  B*S*kv*b_kv*kv_share    (weights stream once, KV written)
    all-reduce message = B*S*d*b_act  (two per layer, Megatron tensor parallelism)
    Returns (flops, bytes, message).
    """
    flops = batch * (2.0 * matmul_params * seq_len + 2.0 * layers * seq_len * seq_len * attn_dim) / n
    moved = read_params * b / n + batch * seq_len * kv_elements * b_kv * kv_share
    return flops, moved, batch * seq_len * hidden * b_act


def decode(
    batch, context, n, b, b_kv, b_act, read_params, matmul_params, layers, attn_dim, hidden, kv_elements, kv_share
):
    """One decode step: every one of B sequences emits one token attending to ``context`` tokens.

    FLOPs / GPU = B * (2*P_matmul + 4*L*S*H*d_h) / n
    bytes / GPU = P_read*b / n + B*(S+1)*kv*b_kv*kv_share    (weights + KV read, new token written)
    all-reduce message = B*d*b_act
    Returns (flops, bytes, message).
    """
    flops = batch * (2.0 * matmul_params + 4.0 * layers * context * attn_dim) / n
    moved = read_params * b / n + batch * (context + 1.0) * kv_elements * b_kv * kv_share
    return flops, moved, batch * hidden * b_act


def tp_allreduce(message, n, layers, link_bandwidth, link_latency, eta_network, launch):
    """Tensor-parallel communication of one forward pass: 2 all-reduces per layer, each a ring
    2(n-1)/n * M/(beta*eta) + 2(n-1)*alpha (Patarasuk & Yuan 2009) plus a per-call launch cost;
    0 when n == 1."""
    ring = 2.0 * (n - 1.0) / n * message / (link_bandwidth * eta_network) + 2.0 * (n - 1.0) * link_latency + launch
    return (
        np.where(n > 1, 2.0 * layers * ring, 0.0)
        if isinstance(n, np.ndarray)
        else (2.0 * layers * ring if n > 1 else 0.0)
    )


def phase_time(flops, moved, comm, peak, bandwidth, eta_c, eta_m, overhead):
    """t = max(FLOPs/(F*eta_c), bytes/(W*eta_m)) + t_comm + t_overhead (TP all-reduces sit on the
    critical path between layers; Williams et al. 2009 roofline). Returns (t, t_compute, t_memory)."""
    t_c = flops / (peak * eta_c)
    t_m = moved / (bandwidth * eta_m)
    return maximum(t_c, t_m) + comm + overhead, t_c, t_m


def memory_per_gpu(
    batch, max_context, n, b, b_kv, b_act, total_params, kv_elements, kv_share, chunk_tokens, hidden, ffn, vocab
):
    """Bytes one GPU must hold: weights P*b/n + KV B*S_max*kv*b_kv*kv_share + activation workspace
    of one prefill chunk, min(B*S, chunk) * (4*d + 2*d_ff) * b_act / n, plus fp32 logits B*V*4/n.
    Returns (weights, kv, workspace)."""
    weights = total_params * b / n
    kv = batch * max_context * kv_elements * b_kv * kv_share
    work = (minimum(batch * max_context, chunk_tokens) * (4.0 * hidden + 2.0 * ffn) * b_act + batch * vocab * 4.0) / n
    return weights, kv, work


def interleaved_itl(itl_mean, prefill_one, concurrency, output_len):
    """Continuous batching without chunked prefill: each of the C concurrent requests needs one
    prefill per ``output_len`` decode steps, and those prefills run between decode steps, so the
    mean gap between a request's tokens is ITL_mean + C/O * t_prefill(one prompt)
    (Orca, Yu et al. OSDI 2022 iteration-level scheduling; Sarathi-Serve, Agrawal et al. OSDI 2024
    on prefill stalls)."""
    return itl_mean + concurrency / output_len * prefill_one


def decode_span(output_len, itl_mean):
    """Time from the first to the last output token: (O - 1) * ITL_mean; 0 for one token even when a
    decode step would never end (0 * inf is 0 steps, not NaN)."""
    steps = output_len - 1
    if isinstance(steps, np.ndarray):
        return np.where(steps > 0, steps * itl_mean, 0.0)
    return steps * itl_mean if steps > 0 else 0.0


def continuous_rates(batch, seq_len, output_len, itl_mean, prefill_one):
    """Steady state of continuous batching at concurrency C (Orca, Yu et al. OSDI 2022): in the time
    of O decode steps every one of the C running requests finishes and C new prompts are prefilled,
    so one cycle lasts T = O*ITL_mean + C*t_prefill(one prompt) and serves C requests:
    requests/s = C/T, output tokens/s = C*O/T, input (prompt) tokens/s = C*S/T, and the share of
    the time spent prefilling = C*t_prefill/T (what the input tokens cost).
    Returns (requests/s, input tokens/s, output tokens/s, prefill share)."""
    cycle = output_len * itl_mean + batch * prefill_one
    rps = batch / cycle
    return rps, rps * seq_len, rps * output_len, share(batch * prefill_one, cycle)


def power_energy(tdp, t_compute, t_memory, t_step, idle_fraction, compute_fraction, memory_fraction):
    """Power and energy per GPU of one step: :func:`mlsysim_core.physics.step_power`."""
    return step_power(tdp, t_compute, t_memory, t_step, idle_fraction, compute_fraction, memory_fraction)
