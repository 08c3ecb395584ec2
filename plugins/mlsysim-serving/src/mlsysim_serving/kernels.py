"""LLM serving equations (prefill / decode, tensor parallel) as pure functions of SI floats or numpy
arrays, so one kernel serves a scalar ``solve()`` and a vectorized sweep.

Units: s, B (bytes), FLOP, FLOP/s, B/s, W, J. Notation: B concurrent sequences, S context tokens,
n tensor-parallel degree, P_matmul active matmul parameters, L layers, H*d_h attention width,
d hidden size, kv elements per token (2*L*h_kv*d_h for GQA, L*(r_kv+d_rope) for MLA), b, b_kv,
b_act bytes per weight / KV / activation element; ``kv_share`` = share of the KV cache one GPU
holds (1/min(n, h_kv) for GQA, 1 for MLA whose latent cache is replicated).

Beyond tensor parallelism (:mod:`.parallel`): ``dp`` attention data-parallel ranks each take B/dp of
the sequences (their attention, dense matmuls and KV cache); routed experts (P_e active matmul
parameters per token) are spread over ``w`` GPUs and the busiest one carries ``imbalance`` times the
mean share. Without expert or attention parallelism w = n, dp = 1, imbalance = 1 and every formula
is the tensor-parallel one. Pipeline stages: :func:`pipeline`.
"""

from __future__ import annotations

from mlsysim_core.lazy import lazy_numpy
from mlsysim_physics.equations import maximum, minimum, share, step_power

np = lazy_numpy(__name__)  # numpy on first use: a solve on floats imports none


def weights_read(tokens, dense_params, expert_params, expert_share, n=1.0, w=1.0, imbalance=1.0):
    """Parameters one GPU streams in a step: its dense share P_dense/n always, and of its P_experts/w
    routed-expert share the part touched by ``tokens`` tokens each picking k of E, the busiest GPU
    seeing ``imbalance`` times the mean load: 1 - (1 - k/E)^(imbalance*tokens)
    (see mlsysim_physics.equations.moe_expert_fraction). Dense models pass expert_params = 0."""
    return dense_params / n + expert_params / w * (1.0 - (1.0 - expert_share) ** (imbalance * tokens))


def prefill(
    batch,
    seq_len,
    n,
    b,
    b_kv,
    b_act,
    read_params,
    matmul_params,
    attn,
    hidden,
    kv_elements,
    kv_share,
    dp=1.0,
    expert_matmul=0.0,
    w=1.0,
    imbalance=1.0,
):
    """Prefill of B prompts of S tokens (Kaplan et al. 2020; Pope et al. 2022), per GPU.

    FLOPs / GPU  = B/dp * (2*(P_matmul - P_e)*S + a*S^2/2) / n + imbalance*B*2*P_e*S / w
                   (a = attention FLOPs of one token against one, all layers, 4*L*H*d_h: setup.attention_flops;
                   causal mask halves QK^T and AV; P_e = 0 for a dense model, w = n, dp = 1 for TP)
    bytes / GPU  = P_read*b  +  B/dp*S*kv*b_kv*kv_share   (P_read per GPU: weights_read; KV written)
    all-reduce message = B/dp*S*d*b_act  (Megatron tensor parallelism)
    Returns (flops, bytes, message, attention flops), the last a part of the first.
    """
    rank = batch / dp
    dense = matmul_params - expert_matmul
    attention = rank * attn * seq_len * seq_len / 2.0 / n
    flops = rank * 2.0 * dense * seq_len / n + attention + imbalance * batch * 2.0 * expert_matmul * seq_len / w
    moved = read_params * b + rank * seq_len * kv_elements * b_kv * kv_share
    return flops, moved, rank * seq_len * hidden * b_act, attention


def decode(
    batch,
    context,
    n,
    b,
    b_kv,
    b_act,
    read_params,
    matmul_params,
    attn,
    hidden,
    kv_elements,
    kv_share,
    dp=1.0,
    expert_matmul=0.0,
    w=1.0,
    imbalance=1.0,
):
    """One decode step: every one of B sequences emits one token attending to ``context`` tokens.

    FLOPs / GPU = B/dp * (2*(P_matmul - P_e) + a*S) / n + imbalance*B*2*P_e / w
                  (a = decode attention FLOPs of one token against one cached token, all layers: 4*L*H*d_h,
                  MLA's absorbed form 2*L*H*(2r + d_R); setup.attention_flops)
    bytes / GPU = P_read*b + B/dp*(S+1)*kv*b_kv*kv_share    (weights + KV read, new token written)
    all-reduce message = B/dp*d*b_act
    Returns (flops, bytes, message, attention flops), the last a part of the first.
    """
    rank = batch / dp
    dense = matmul_params - expert_matmul
    attention = rank * attn * context / n
    flops = rank * 2.0 * dense / n + attention + imbalance * batch * 2.0 * expert_matmul / w
    moved = read_params * b + rank * (context + 1.0) * kv_elements * b_kv * kv_share
    return flops, moved, rank * hidden * b_act, attention


def all_to_all(
    tokens, up_copies, out_copies, hidden, b_act, w, imbalance, layers, up_bw, up_lat, out_bw, out_lat, eta, launch
):
    """Expert-parallel dispatch and combine of one forward pass through the L_moe = ``layers`` MoE
    layers (DeepSeek-V3 sec. 3.2.2; DeepEP; its first 3 of 61 layers are dense, sec. 4.2): each of the
    w GPUs sends its T/w tokens to their experts on other GPUs, ``up_copies`` c_up per token inside its
    scale-up domain and ``out_copies`` c_out over the fabric (:func:`mlsysim_physics.equations.dispatch_copies`),
    and receives the results back; the busiest GPU moves ``imbalance`` times the mean bytes, both links
    working at once: M_x = imbalance * T/w * c_x * d * b_act,
    t = 2L_moe * (max(M_up/(beta_up*eta), M_out/(beta_out*eta)) + alpha + launch),
    alpha that of the slowest path (the fabric's when c_out > 0). 0 when w = 1. Affine in T: :func:`all_to_all_line`'s
    t0 + t1 * T."""
    t0, t1 = all_to_all_line(
        up_copies, out_copies, hidden, b_act, w, imbalance, layers, up_bw, up_lat, out_bw, out_lat, eta, launch
    )
    return t0 + t1 * tokens


def all_to_all_line(
    up_copies, out_copies, hidden, b_act, w, imbalance, layers, up_bw, up_lat, out_bw, out_lat, eta, launch
):
    """(t0, t1): :func:`all_to_all` of T tokens is t0 + t1 * T, t0 = 2L_moe * (alpha + launch) and t1 = 2L_moe *
    max(m_up/(beta_up*eta), m_out/(beta_out*eta)), m_x = imbalance/w * c_x * d * b_act the bytes one token puts on
    the busiest GPU's link x (both grow with T alike: the larger one per token is the larger one at any T > 0);
    (0, 0) when w = 1."""
    if w <= 1:
        return 0.0, 0.0
    moved = imbalance / w * hidden * b_act
    t_up = moved * up_copies / (up_bw * eta)
    if out_copies > 0.0:
        t_link = maximum(t_up, moved * out_copies / (out_bw * eta))
        alpha = out_lat
    else:
        t_link, alpha = t_up, up_lat
    return 2.0 * layers * (alpha + launch), 2.0 * layers * t_link


def all_to_all_bytes(up_copies, out_copies, hidden, b_act, layers):
    """Bytes one token sends to other GPUs' experts and receives back over a forward pass through the
    L_moe = ``layers`` MoE layers, its c_up + c_out copies (:func:`mlsysim_physics.equations.dispatch_copies`):
    2L_moe * (c_up + c_out) * d * b_act (dispatch + combine; DeepSeek-V3 sec. 3.2.2); without a node limit
    c_up + c_out = k*(w-1)/w."""
    return 2.0 * layers * (up_copies + out_copies) * hidden * b_act


def stage_hops(tokens, hidden, b_act, dp, hops_up, up_bw, up_lat, hops_out, out_bw, out_lat, eta):
    """Point-to-point sends between pipeline stages for one micro-batch of T tokens: each of the p-1
    boundaries carries the T/dp tokens' activations T/dp*d*b_act, ``hops_up`` of them inside a scale-up
    domain and ``hops_out`` over the fabric: sum of alpha + bytes/(beta*eta) per hop (GPipe, Huang et al.
    2019). Affine in T: :func:`stage_hops_line`'s t0 + t1 * T."""
    t0, t1 = stage_hops_line(hidden, b_act, dp, hops_up, up_bw, up_lat, hops_out, out_bw, out_lat, eta)
    return t0 + t1 * tokens


def stage_hops_line(hidden, b_act, dp, hops_up, up_bw, up_lat, hops_out, out_bw, out_lat, eta):
    """(t0, t1): :func:`stage_hops` of T tokens is t0 + t1 * T, t0 = hops_up * alpha_up + hops_out * alpha_out and
    t1 = (hops_up / (beta_up*eta) + hops_out / (beta_out*eta)) * d*b_act/dp (d*b_act/dp: the bytes one token adds to
    each hop's message)."""
    message = hidden * b_act / dp
    t0 = t1 = 0.0
    if hops_up:
        t0, t1 = hops_up * up_lat, hops_up * message / (up_bw * eta)
    if hops_out:
        t0, t1 = t0 + hops_out * out_lat, t1 + hops_out * message / (out_bw * eta)
    return t0, t1


def pipeline(tokens, p, prefill, depth):
    """Micro-batches of a step on p pipeline stages and the time factor on one micro-batch's pass.

    The step's T tokens split into m = min(p, T) micro-batches of T/m tokens (decode: sequences;
    prefill: chunks of prompts, which pass the stages in order). A micro-batch crosses the p stages
    in turn, so its pass through the whole pipeline lasts t_pass(T/m), the time of all layers on T/m
    tokens. The largest stage holds ceil(L/p) layers and binds: a stage slot lasts t_pass/depth,
    depth = L/ceil(L/p) (= p when p divides L; DeepSeek-V3's 61 layers over 4 stages of 16/15/15/15:
    61/16). Decode runs micro-batches round robin, each token needing the previous one: a round (one
    token for every sequence) lasts max(t_pass, m slots), stages busy m/(p * factor) of it (the bubble
    at low load). A prefill of m micro-batches fills and drains the pipeline: (m + p - 1) slots
    (GPipe, Huang et al. 2019). Returns (m, factor)."""
    m = tokens * 1.0  # (an int count takes the scalar path: a float, not numpy's)
    if m.__class__ is float and p.__class__ is float:  # the max and the min inline on floats (no equations frames)
        m = m if m >= 1.0 else 1.0
        m = m if m <= p else p
    else:
        m = minimum(maximum(m, 1.0), p)
    if prefill:
        return m, (m + p - 1.0) / depth
    f = m / depth
    return m, (f if f >= 1.0 else 1.0) if f.__class__ is float else maximum(f, 1.0)


def tp_allreduce(message, n, calls, link_bandwidth, link_latency, eta_network, launch):
    """Tensor-parallel communication of one forward pass: ``calls`` all-reduces, 2 per layer (after
    attention and after the MLP, Megatron) but 1 in a MoE layer that exchanges tokens all-to-all
    instead (calls = 2L - L_a2a), each a ring 2(n-1)/n * M/(beta*eta) + 2(n-1)*alpha (Patarasuk & Yuan
    2009) plus a per-call launch cost; 0 when n == 1."""
    ring = 2.0 * (n - 1.0) / n * message / (link_bandwidth * eta_network) + 2.0 * (n - 1.0) * link_latency + launch
    return np.where(n > 1, calls * ring, 0.0) if isinstance(n, np.ndarray) else (calls * ring if n > 1 else 0.0)


def phase_time(flops, moved, comm, peak, bandwidth, eta_c, eta_m, overhead):
    """t = max(FLOPs/(F*eta_c), bytes/(W*eta_m)) + t_comm + t_overhead (TP all-reduces sit on the
    critical path between layers; Williams et al. 2009 roofline). Returns (t, t_compute, t_memory)."""
    t_c = flops / (peak * eta_c)
    t_m = moved / (bandwidth * eta_m)
    return maximum(t_c, t_m) + comm + overhead, t_c, t_m


def weights_per_gpu(total_params, b, n, p=1.0, expert_params=0.0, w=1.0, copies=1.0):
    """Weight bytes one GPU holds: ((P - P_experts)/n + P_experts*c/w) * b / p: its stage's share of the
    layers, its tensor share of the dense weights, its share of the routed experts (c = physical
    copies per expert, (E + redundant)/E)."""
    return ((total_params - expert_params) / n + expert_params * copies / w) * b / p


def memory_per_gpu(
    batch,
    max_context,
    n,
    b,
    b_kv,
    b_act,
    total_params,
    kv_elements,
    kv_share,
    chunk_tokens,
    hidden,
    ffn,
    vocab,
    p=1.0,
    dp=1.0,
    expert_params=0.0,
    w=1.0,
    copies=1.0,
):
    """Bytes one GPU must hold: weights ((P - P_experts)/n + P_experts*c/w)*b/p (its stage's layers,
    its tensor share of the dense ones, its experts) + KV B/dp*S_max*kv*b_kv*kv_share/p + activation
    workspace of one prefill chunk of its attention rank, min(B/dp*S, chunk) * (4*d + 2*d_ff) * b_act / n,
    plus fp32 logits B/dp*V*4/n (each of the dp ranks runs its own B/dp sequences). Returns (weights, kv,
    workspace)."""
    weights = weights_per_gpu(total_params, b, n, p, expert_params, w, copies)
    rank = batch / dp
    kv = rank * max_context * kv_elements * b_kv * kv_share / p
    work = (minimum(rank * max_context, chunk_tokens) * (4.0 * hidden + 2.0 * ffn) * b_act + rank * vocab * 4.0) / n
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
    """Power and energy per GPU of one step: :func:`mlsysim_physics.equations.step_power`."""
    return step_power(tdp, t_compute, t_memory, t_step, idle_fraction, compute_fraction, memory_fraction)
