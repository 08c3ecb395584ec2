"""The equations of DistributedModel: pure functions of SI floats (s, B, FLOP, FLOP/s, B/s).

Nothing here validates, warns, or builds a Quantity: :mod:`.solver` does that at the boundary.
Physical quantities (bytes, bandwidths, latencies, FLOP/s, efficiencies) may be numpy arrays for
sweeps, and so may the tensor and pipeline degrees and stage layer counts of the training-step kernels
(a sweep evaluates many layouts at once); context and expert degrees are scalars (they pick a branch).
Each function states its equation and source. Notation: t tensor-, p pipeline-, d data-parallel degree, e expert degree,
v interleaved chunks per stage, m micro-batches per step, b micro-batch size (sequences),
S sequence length, h hidden size, a attention heads, L layers, V vocabulary.

Shared collectives (ring all-reduce, reduce-scatter, all-to-all, p2p, bubble fraction) come from
:mod:`mlsysim_physics.equations`.
"""

from __future__ import annotations

import math

import numpy as np

from mlsysim_physics.equations import activation_bytes_per_layer, output_layer_bytes

from .collectives import (
    all_to_all_time,
    forwarded_all_to_all_time,
    p2p_time,
    pipeline_bubble_fraction,
    ring_allreduce_time,
    ring_reduce_scatter_time,
)

__all__ = [
    "activation_bytes_per_layer",
    "activation_bytes_per_gpu",
    "all_to_all_time",
    "cp_kv_exchange_time",
    "dp_gradient_sync_time",
    "forwarded_all_to_all_time",
    "hierarchical_allreduce_time",
    "layer_flops_per_token",
    "model_state_bytes",
    "optimizer_update_bytes",
    "output_layer_bytes",
    "optimizer_update_time",
    "overlapped",
    "pipeline_bubble_fraction",
    "pipeline_step_time",
    "ring_allreduce_time",
    "stage_layers",
    "tp_overlap_exposed",
]

#: Collectives per transformer layer per micro-batch in training: TP 2 forward + 2 backward
#: all-reduces (Megatron: after attention and after the MLP, conjugate in backward; with sequence
#: parallelism each becomes a reduce-scatter + all-gather of equal volume), EP 2 forward + 2 backward
#: all-to-alls (dispatch and combine). Full recomputation re-runs the forward: 2 more of each.
COLLECTIVES_PER_LAYER = 4.0
RECOMPUTE_EXTRA_COLLECTIVES = {"none": 0.0, "selective": 0.0, "full": 2.0}


def _min(a, b):
    """min() for floats, np.minimum for arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a < b else b


def _max(a, b):
    """max() for floats, np.maximum for arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return a if a >= b else b


# --------------------------------------------------------------------------- FLOPs


def layer_flops_per_token(params_per_layer, seq_len, attn_dim, recompute="selective"):
    """Training FLOPs of one transformer layer for one token: (model, hardware).

    model    = 6 * P_layer + 12 * S * d_attn
               (forward 2*P_layer + 4*S*d_attn for QK^T and AV over the full S x S score matrix, and
               backward twice the forward: Narayanan et al., SC 2021, Eq. 3 generalised; for a GPT
               layer P_layer = 12 h^2 and d_attn = h, so L * model * B * S = 72 B S L h^2 (1 + S/(6h))).
    hardware = model + recomputed forward work: full recomputation + 2 * P_layer + 4 * S * d_attn
               (the 96 instead of 72 of Eq. 3); selective recomputation re-runs only the attention
               core, + 4 * S * d_attn (Korthikanti et al. 2022, Sec. 5); none adds nothing.
    """
    attn = 4.0 * seq_len * attn_dim
    model = 6.0 * params_per_layer + 3.0 * attn
    if recompute == "full":
        extra = 2.0 * params_per_layer + attn
    elif recompute == "selective":
        extra = attn
    else:
        extra = 0.0
    return model, model + extra


def stage_layers(layers, p, v=1):
    """Layers on the busiest pipeline stage: v chunks of ceil(L / (p*v)) layers each.

    The slowest stage paces a synchronous pipeline (Narayanan et al. 2021, Sec. 2.2); with L
    divisible by p*v this is L/p.
    """
    return v * math.ceil(layers / (p * v))


# --------------------------------------------------------------------------- memory


def model_state_bytes(params_total, params_expert, t, p, d, e, zero_stage, weight_bytes, grad_bytes, optimizer_bytes):
    """Weights, gradients and optimizer state on one GPU, in bytes: (weights, gradients, optimizer).

    Each GPU holds 1/(t*p) of the dense parameters and 1/(e*t*p) of the routed-expert parameters:
    n = ((P - P_exp) + P_exp / e) / (t * p). ZeRO stage 1 shards the optimizer state over the d data
    parallel replicas, stage 2 also the gradients, stage 3 also the weights; a sharded term holds
    P / (d*t*p) parameters (experts are sharded over the d/e replicas that hold the same experts,
    which gives the same P / N). Rajbhandari et al., "ZeRO", SC 2020, Sec. 5 and Fig. 1.
    """
    held = ((params_total - params_expert) + params_expert / e) / (t * p)
    sharded = params_total / (d * t * p)
    w = (sharded if zero_stage >= 3 else held) * weight_bytes
    g = (sharded if zero_stage >= 2 else held) * grad_bytes
    o = (sharded if zero_stage >= 1 else held) * optimizer_bytes
    return w, g, o


def optimizer_update_bytes(weight_bytes, grad_bytes, optimizer_bytes, master):
    """HBM bytes one mixed-precision Adam(W) step moves per parameter it updates.

    The update is one memory-bound elementwise pass (PyTorch ``torch.optim.AdamW(fused=True)``,
    apex/Transformer Engine ``FusedAdam`` as Megatron-LM's distributed optimizer runs it): it reads the
    gradient, reads and writes the optimizer state (the fp32 moments m and v and, with mixed precision,
    the fp32 master weights: ``optimizer_bytes``) and writes the working weights from the master copy
    (Micikevicius et al., "Mixed Precision Training", ICLR 2018, Sec. 3.1); without a master copy it reads
    and writes the weights themselves:
        bytes = b_g + 2 b_opt + b_w           (master copy: 4 + 2 x 12 + 2 = 30 B with bf16 + fp32 grads)
        bytes = b_g + 2 b_opt + 2 b_w         (no master copy: 4 + 16 + 8 = 28 B in fp32)
    """
    return grad_bytes + 2.0 * optimizer_bytes + (1.0 if master else 2.0) * weight_bytes


def optimizer_update_time(params, bytes_per_param, hbm_bandwidth, memory_efficiency):
    """Seconds of the optimizer update on one GPU: params x bytes / (HBM bandwidth x memory efficiency).

    ``params``: the parameters whose optimizer state the GPU holds (:func:`model_state_bytes`'s optimizer
    term: ((P - P_exp) + P_exp/e)/(t p), or P/(d t p) when ZeRO-1+ shards the state, the update then
    running on the shard only; the all-gather of the updated weights is a separate communication term).
    It runs after the gradient reduction and before the next forward, on the critical path (Megatron-LM's
    distributed optimizer steps after the reduce-scatter; Rajbhandari et al., "ZeRO", SC 2020, Sec. 5.1).
    """
    return params * bytes_per_param / (hbm_bandwidth * memory_efficiency)


def activation_bytes_per_gpu(per_layer, layers_on_stage, in_flight, p, output_bytes=0.0):
    """Activations held by the busiest pipeline stage, in bytes.

    The first stage keeps ``in_flight`` micro-batches of its layers' activations (the schedule's:
    :func:`mlsysim_distributed.schedules.in_flight`, min(m, p) for 1F1B). The last stage keeps one
    micro-batch in flight plus the output layer (``output_bytes``: final norm, logits and loss,
    :func:`mlsysim_physics.equations.output_layer_bytes`, (4*s*b*h + 6*s*b*V)/t at 16 bits); the larger of the
    two (Korthikanti et al. 2022, Sec. 4.2.3).
    """
    first = per_layer * layers_on_stage * in_flight
    last = per_layer * layers_on_stage + output_bytes
    if isinstance(p, np.ndarray):
        return np.where(p == 1, first + output_bytes, np.maximum(first, last))
    return first + output_bytes if p == 1 else _max(first, last)


# --------------------------------------------------------------------------- communication


def hierarchical_allreduce_time(message_bytes, n, local, bw_intra, lat_intra, bw_inter, lat_inter):
    """All-reduce of ``message_bytes`` over n ranks, ``local`` of them per node.

    local >= n: a ring inside the node. local == 1: a ring over the fabric. Otherwise the better of
    a flat ring paced by the fabric and the hierarchical form: reduce-scatter inside the node
    ((g-1)/g * M / beta_intra), an all-reduce of M/g across the n/g nodes, an all-gather inside the
    node ((g-1)/g * M / beta_intra) (Thakur et al. 2005; NCCL tree/ring hierarchies). Not two full
    intra-node all-reduces (upstream 0.1.1's double count).
    """
    if n <= 1:
        return 0.0 * message_bytes
    if local >= n:
        return ring_allreduce_time(message_bytes, n, bw_intra, lat_intra)
    flat = ring_allreduce_time(message_bytes, n, bw_inter, lat_inter)
    if local <= 1:
        return flat
    hier = 2.0 * ring_reduce_scatter_time(message_bytes, local, bw_intra, lat_intra) + ring_allreduce_time(
        message_bytes / local, n / local, bw_inter, lat_inter
    )
    return _min(hier, flat)


def dp_gradient_sync_time(dense_bytes, expert_bytes, d, e, local, bw_intra, lat_intra, bw_inter, lat_inter):
    """All-reduce over the data-parallel replicas: the dense shard over d replicas plus the expert
    shard over the d/e replicas holding the same experts. ``local`` is the number of data-parallel
    peers on one node (max(1, g/(t*p)) in the t -> p -> d rank layout); expert peers are e times
    sparser. Used for the gradients of ZeRO 0-2 (once per step, after the micro-batches accumulate;
    message in the gradient dtype) and, halved, for each all-gather / reduce-scatter of ZeRO-3."""
    t = hierarchical_allreduce_time(dense_bytes, d, local, bw_intra, lat_intra, bw_inter, lat_inter)
    if e > 1:
        t = t + hierarchical_allreduce_time(
            expert_bytes, d / e, max(1.0, local / e), bw_intra, lat_intra, bw_inter, lat_inter
        )
    return t


def zero3_microbatch_time(allreduce_weights, allreduce_grads):
    """ZeRO-3 communication of one micro-batch: the sharded weights are all-gathered before its
    forward and again before its backward (they are freed in between), and its gradients are
    reduce-scattered to their owners as the backward produces them (Rajbhandari et al., "ZeRO",
    SC 2020, Sec. 7.2.2: 3 x the parameter volume per pass; DeepSpeed stage 3 and PyTorch FSDP
    FULL_SHARD re-gather per micro-batch). An all-gather or reduce-scatter moves half an
    all-reduce: t = 2 x AR(weights)/2 + AR(gradients)/2; with m micro-batches a step pays m times
    this, which is why ZeRO-3 throughput falls with gradient accumulation at scale."""
    return allreduce_weights + 0.5 * allreduce_grads


def cp_kv_exchange_time(kv_bytes, cp, variant, bandwidth, latency, attn_fwd_time, fwd_passes=1.0):
    """Context parallelism's K/V exchange for one layer and one micro-batch: (moved, exposed) in s.

    ``kv_bytes``: K and V of the whole sequence on one tensor-parallel rank (2 S b h_kv d_h / t x bytes);
    each of the cp ranks holds S/cp of it. ``attn_fwd_time``: the rank's forward attention-core time.
    all-gather (Llama 3, Grattafiori et al. 2024, Sec. 3.3.2): each forward pass all-gathers K and V,
        (cp-1)/cp * kv/beta + (cp-1) alpha, and the backward reduce-scatters dK and dV, the same; Llama 3
        does not overlap it (exposed: small against attention with GQA).
    ring (Liu et al., "Ring Attention", 2023; Megatron-Core CP): cp-1 steps pass a K/V block of kv/cp
        to the next rank, each behind the attention of the block in hand; the backward passes K, V and
        dK, dV (2x the bytes and 2x the attention work): exposed = max(0, comm - attention) per pass.
    ``fwd_passes``: forward passes per micro-batch (2 with full recomputation).
    """
    if cp <= 1:
        return 0.0 * kv_bytes, 0.0 * kv_bytes
    if variant == "all-gather":
        one = ring_reduce_scatter_time(kv_bytes, cp, bandwidth, latency)
        moved = (fwd_passes + 1.0) * one
        return moved, moved
    one = (cp - 1.0) * p2p_time(kv_bytes / cp, bandwidth, latency)
    moved = (fwd_passes + 2.0) * one
    exposed = fwd_passes * _max(one - attn_fwd_time, 0.0 * one) + _max(2.0 * one - 2.0 * attn_fwd_time, 0.0 * one)
    return moved, exposed


def tp_overlap_exposed(comm_time, gemm_time, t):
    """Exposed part of tensor-parallel communication that is decomposed and overlapped with the GEMMs
    it feeds or drains (Wang et al., "Overlap Communication with Dependent Computation via
    Decomposition in Large Deep Learning Models", ASPLOS 2023, Sec. 3; Megatron-Core
    ``--tp-comm-overlap`` with Transformer Engine's ring-exchange userbuffers): the collective is
    split into t ring steps, each behind the GEMM of the chunk in hand, so one step (comm / t) stays
    exposed plus whatever of the other t-1 steps the GEMM time cannot cover:
    exposed = comm/t + max(0, comm (t-1)/t - t_gemm)."""
    step = comm_time / t
    return step + _max(comm_time - step - gemm_time, 0.0 * comm_time)


def overlapped(comm_time, window, fraction):
    """Exposed part of a collective that may hide ``fraction`` of itself behind ``window`` seconds
    of compute: comm - min(fraction * comm, window)."""
    return comm_time - _min(fraction * comm_time, window)


# --------------------------------------------------------------------------- pipeline


def pipeline_step_time(t_microbatch, m, p, v=1):
    """Pipelined forward+backward of m micro-batches: t_mb * (m + (p-1)/v)
    = ideal * (1 + (p-1)/(v*m)) (Narayanan et al. 2021, Sec. 2.2.1-2.2.2)."""
    return t_microbatch * (m + (p - 1.0) / v)


def p2p_stage_time(message_bytes, p, v, bandwidth, latency):
    """Point-to-point activations per micro-batch on one stage: one send forward and one backward per
    chunk, 2*v*(alpha + M/beta), when p > 1 (Hockney model)."""
    return (p > 1) * 2.0 * v * p2p_time(message_bytes, bandwidth, latency)
