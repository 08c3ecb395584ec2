"""Hand physics for the peer cross-check: each value from first principles, in a few lines.

Stated assumptions (the same for every configuration):
* Efficiencies: ETA_COMPUTE of the dense bf16 peak, ETA_MEMORY of HBM bandwidth, ETA_NETWORK of link
  bandwidth (peer_configs.py; mlsysim's documented defaults). Datasheet peaks from peer_configs.HARDWARE.
* No software overheads: no per-step or per-layer host cost, no kernel-launch or link latency, no
  collective launch cost. Hand values are the bandwidth/compute floor a model adds overheads to.
* A phase takes max(compute, memory) (roofline, Williams et al. 2009) plus its tensor-parallel
  all-reduces, which sit between layers on the critical path: 2 per layer per forward pass, ring
  2(n-1)/n * M / (link * ETA_NETWORK) (Patarasuk & Yuan 2009; Megatron-LM, Shoeybi et al. 2019).
* Serving: weights are read once per forward pass (the input embedding is a lookup of a few rows,
  the LM head is read); a decode step also reads the whole KV cache at context ISL; the LM head runs
  on the last prompt token only in prefill (vLLM prunes to the sampled positions); causal attention
  halves the S^2 term in prefill. Mixtral: a step with T tokens touches the expected share
  1 - (1 - k/E)^T of the routed experts.
* Training (Megatron-LM conventions, Narayanan et al. SC 2021): model FLOPs 6*P_matmul per token
  + 12*S*d_attn per token per layer; selective recomputation re-runs the attention core (+4*S*d_attn);
  pipeline fill/drain multiplies the micro-batch time by (m + p - 1); per micro-batch and layer 4
  tensor-parallel all-reduce volumes of mbs*S*h*2 B and 2 pipeline sends of mbs*S*h*2/t B. The
  data-parallel all-reduce of the fp32 gradients, 4 B * P/(t*p) (Megatron-LM reduces main_grad in
  fp32), runs after the last backward (not overlapped), on NVLink inside one node, else paced by the
  NICs: the data-parallel peers of one node share the message, each on its own NIC (NCCL's per-NIC
  rings / hierarchical all-reduce). With ZeRO-3 every micro-batch all-gathers the bf16 weights in
  forward and again in backward and reduce-scatters its fp32 gradients: (d-1)/d * P/(t*p) * (2+2+4) B
  per micro-batch (Rajbhandari et al. SC 2020, Sec. 7; DeepSpeed ZeRO-3 and FSDP FULL_SHARD free the
  gathered weights after use), none of it overlapped.
* Training memory per GPU: bf16 weights 2 B, fp32 gradients 4 B (Megatron-LM's main_grad buffer),
  Adam fp32 master + m + v 12 B per parameter held (P/(t*p)); ZeRO-1 shards the 12 B over dp, ZeRO-3
  everything; activations (18 + w*f/h)*S*mbs*h/t B per layer (selective recomputation with sequence
  parallelism, Korthikanti et al. 2022, Table 2: norms, linear inputs, masks and Q, K, V, attention output 18,
  the MLP's stored tensors w*f with w = 4 for a GeLU (its input and output; 34 at f = 4h) and 6 for a SwiGLU
  (gate, up and their product)) for L/p layers and min(m, p) micro-batches in flight (1F1B, first stage), or on
  the last stage one micro-batch plus the output layer (4*S*mbs*h + 6*S*mbs*V)/t (the LM head's inputs, the fp32
  logits the cross entropy keeps and their bf16 copy; Korthikanti Sec. 4.2.3), the larger of the two.
  Framework workspace and fragmentation are not counted.
"""

from __future__ import annotations

from peer_configs import ETA_COMPUTE, ETA_MEMORY, ETA_NETWORK, HARDWARE, MODELS

BF16 = 2.0
GRAD = 4.0  # fp32 gradients (Megatron-LM main_grad), kept and reduced in fp32
GPUS_PER_NODE = 8


def params(g: dict) -> dict:
    """Parameter counts (norms and biases omitted: < 0.1 %)."""
    d_h = g["hidden"] // g["heads"]
    attn = 2 * g["hidden"] * g["heads"] * d_h + 2 * g["hidden"] * g["kv_heads"] * d_h  # Q, O + K, V
    expert = (3 if g["gated"] else 2) * g["hidden"] * g["ffn"]
    experts, top_k = g.get("experts", 1), g.get("top_k", 1)
    embed = g["vocab"] * g["hidden"]
    layer_dense = attn + g["hidden"] * (experts if experts > 1 else 0)  # + router
    total = g["layers"] * (layer_dense + experts * expert) + embed * (1 if g["tied"] else 2)
    return {
        "attn_dim": g["heads"] * d_h,
        "kv_per_token": 2 * g["layers"] * g["kv_heads"] * d_h,
        "embed": embed,
        "layer_dense": layer_dense,
        "expert": expert,
        "experts": experts,
        "top_k": top_k,
        "total": total,
        "active_layers": g["layers"] * (layer_dense + top_k * expert),
    }


def _allreduce(message: float, n: int, link: float) -> float:
    """Ring all-reduce time of ``message`` bytes over n ranks."""
    return 0.0 if n == 1 else 2 * (n - 1) / n * message / (link * ETA_NETWORK)


def _layer_bytes_read(p: dict, layers: int, tokens: float) -> float:
    """Weights of all layers a forward pass over ``tokens`` tokens reads."""
    share = 1.0 if p["experts"] == 1 else 1.0 - (1.0 - p["top_k"] / p["experts"]) ** tokens
    return layers * (p["layer_dense"] + p["experts"] * p["expert"] * share) * BF16


def serving(c: dict) -> dict:
    """TTFT of the batch and ITL at context ISL (and the ITL's all-reduce share), in seconds."""
    g, hw = MODELS[c["model"]], HARDWARE[c["hw"]]
    p, n, B, S, L = params(g), c["tp"], c["batch"], c["isl"], g["layers"]
    kv_share = 1.0 / min(n, g["kv_heads"])
    head = p["embed"] * BF16  # LM head read once per pass
    compute, memory = hw["peak"] * ETA_COMPUTE, hw["hbm"] * ETA_MEMORY

    f_pre = B * (2 * p["active_layers"] * S + 2 * L * S * S * p["attn_dim"] + 2 * p["embed"]) / n
    m_pre = (_layer_bytes_read(p, L, B * S) + head) / n + B * S * p["kv_per_token"] * BF16 * kv_share
    comm_pre = 2 * L * _allreduce(B * S * g["hidden"] * BF16, n, hw["nvlink"])
    ttft = max(f_pre / compute, m_pre / memory) + comm_pre

    f_dec = B * (2 * (p["active_layers"] + p["embed"]) + 4 * L * S * p["attn_dim"]) / n
    m_dec = (_layer_bytes_read(p, L, B) + head) / n + B * S * p["kv_per_token"] * BF16 * kv_share
    comm_dec = 2 * L * _allreduce(B * g["hidden"] * BF16, n, hw["nvlink"])
    itl = max(f_dec / compute, m_dec / memory) + comm_dec
    return {"ttft": ttft, "itl": itl, "itl_comm": comm_dec}


def training(c: dict) -> dict:
    """Step time (s) and memory per GPU (bytes) of one training step."""
    g, hw = MODELS[c["model"]], HARDWARE[c["hw"]]
    p = params(g)
    t, pp, d, m = c["tp"], c["pp"], c["dp"], c["microbatches"]
    mbs, S, L, h = c["mbs"], c["seq"], g["layers"], g["hidden"]
    matmul = p["active_layers"] + p["embed"]  # LM head on every token
    flops_token = 6 * matmul + L * (12 + 4) * S * p["attn_dim"]  # + selective recompute of attention
    t_compute_mb = mbs * S * flops_token / (t * pp) / (hw["peak"] * ETA_COMPUTE)
    t_tp_mb = (L / pp) * 4 * _allreduce(mbs * S * h * BF16, t, hw["nvlink"])
    t_pp_mb = 0.0
    if pp > 1:
        link_pp = hw["nvlink"] if t * pp <= GPUS_PER_NODE else hw["nic"]
        t_pp_mb = 2 * mbs * S * h * BF16 / t / (link_pp * ETA_NETWORK)
    pipeline = (m + pp - 1) * (t_compute_mb + t_tp_mb + t_pp_mb)
    held = p["total"] / (t * pp)
    local = max(1, min(d, GPUS_PER_NODE // (t * pp)))  # data-parallel peers sharing one node
    link = hw["nvlink"] if t * pp * d <= GPUS_PER_NODE else hw["nic"] * local
    if c["zero"] >= 3:  # per micro-batch: gather bf16 weights for forward and backward, reduce-scatter fp32 grads
        t_dp = m * (d - 1) / d * held * (2 * BF16 + GRAD) / (link * ETA_NETWORK)
    else:
        t_dp = _allreduce(held * GRAD, d, link)
    step = pipeline + t_dp

    weights = held * BF16 / (d if c["zero"] >= 3 else 1)
    grads = held * GRAD / (d if c["zero"] >= 2 else 1)
    optimizer = held * 12.0 / (d if c["zero"] >= 1 else 1)
    layer = (18 + (6 if g["gated"] else 4) * g["ffn"] * p["top_k"] / h) * S * mbs * h / t
    output = (4 * h + 6 * g["vocab"]) * S * mbs / t
    first, last = layer * (L / pp) * min(m, pp), layer * (L / pp) + output
    acts = first + output if pp == 1 else max(first, last)
    return {"step_time": step, "memory": weights + grads + optimizer + acts}


def compute(c: dict) -> dict:
    """Hand values of one configuration, in SI units."""
    return serving(c) if c["kind"] == "serving" else training(c)


if __name__ == "__main__":
    from peer_configs import CONFIGS

    for cfg in CONFIGS:
        print(cfg["id"], {k: f"{v:.4g}" for k, v in compute(cfg).items()})
