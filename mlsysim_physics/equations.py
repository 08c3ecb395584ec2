"""First-order equations shared by several solvers, on SI floats or numpy arrays (same code for both).

Every function is pure; its docstring states the equation and its source. Units: s, B, FLOP,
FLOP/s, B/s. Solver-specific equations live in each solver plugin.
"""

from __future__ import annotations

import functools

from mlsysim_core.lazy import lazy_numpy

np = lazy_numpy(__name__)  # numpy on first use: a solve on floats imports none


_float = float


def maximum(a, b):
    """np.maximum, with a fast path for two Python floats (scalar solve); arrays go to numpy."""
    if a.__class__ is _float and b.__class__ is _float:
        return a if a >= b else b
    return np.maximum(a, b)


def minimum(a, b):
    """np.minimum, with a fast path for two Python floats (scalar solve); arrays go to numpy."""
    if a.__class__ is _float and b.__class__ is _float:
        return a if a <= b else b
    return np.minimum(a, b)


# --------------------------------------------------------------------------- fleet power (economics, sustainability)

#: Idle draw of a node as a fraction of its rated maximum, used only when the catalog gives no
#: ``power_idle``. No primary measurement of GPU-server idle power was found
#: (shared/reference/infrastructure.md section 3); 0.3 is upstream mlsysim 0.1.1's stated idle share.
DEFAULT_IDLE_FRACTION = 0.3

#: Default utilization (position between idle and max power). Measured training draw is 76-82% of
#: rated node power (Latif et al. 2024; Newkirk et al. 2025); with idle at 30% of max,
#: u = 0.7 gives 0.3 + 0.7*0.7 = 79% of max. Pass ``utilization=`` for other loads.
DEFAULT_UTILIZATION = 0.7

#: Service life of AI servers (years of 365.25 days). Epoch AI assumes 5 years for AI servers from 2023
#: (training-cost-trends); Meta depreciates servers over 5-5.5 years, Microsoft and Alphabet over 6 (10-K
#: filings; shared/reference/infrastructure.md section 4). EconomicsModel amortizes over it; ReliabilityModel
#: calls a job whose expected completion exceeds it one that does not finish.
SERVICE_LIFE_YEARS = 5.0


def share(part, whole):
    """part / whole of a total that contains the part; None (NaN in arrays) when both are infinite
    (a step that never ends has no meaningful share)."""
    x = part / whole
    return None if x.__class__ is _float and x != x else x


def step_power(tdp, t_compute, t_memory, t_step, idle_fraction, compute_fraction, memory_fraction):
    """P = TDP * min(1, idle + f_c * t_c / t + f_m * t_m / t): awake-idle draw plus dynamic shares of
    the compute units and the memory system in proportion to how busy each is during a step of
    length t >= max(t_c, t_m); capped at TDP. Constants and sources: mlsysim_physics.efficiency.
    A step that never ends (t = inf) spent in an endless compute or memory phase counts that unit as
    busy the whole time (the limit of t_x / t), never NaN. Returns (power, energy = P * t)."""
    busy = (compute_fraction * t_compute + memory_fraction * t_memory) / t_step
    if isinstance(busy, np.ndarray):
        busy = np.where(
            np.isnan(busy), compute_fraction * (t_compute == t_step) + memory_fraction * (t_memory == t_step), busy
        )
    elif busy != busy:
        busy = compute_fraction * (t_compute == t_step) + memory_fraction * (t_memory == t_step)
    power = tdp * minimum(1.0, idle_fraction + busy)
    return power, power * t_step


def moe_expert_fraction(n_tokens, experts, active_experts):
    """Expected share of routed experts a step touches when n tokens each pick k of E experts
    uniformly (balanced router): 1 - (1 - k/E)^n (occupancy of E bins; Fedus et al. 2022 train
    routers toward uniform load). 1 for a dense model (E == k)."""
    return 1.0 - (1.0 - active_experts / experts) ** n_tokens


#: Adam's two moments per parameter, fp32 (Kingma & Ba 2015; Megatron-LM and DeepSpeed keep them in fp32).
ADAM_MOMENT_BYTES = 8.0


def dispatch_copies(k, w, local, node_limit=None):
    """Copies of one token's activation a MoE dispatch sends over the scale-up and over the scale-out
    link, the k experts spread uniformly over w GPUs in N = w/g scale-up domains of g = ``local`` GPUs.
    Returns (c_up, c_out). Without ``node_limit`` each copy goes straight to its expert's GPU (decode:
    DeepEP's low-latency kernels): c_up = k*(g-1)/w, c_out = k*(w-g)/w. With node-limited routing M
    (DeepSeek-V3 report, arXiv 2412.19437, sec. 2.1.2 and 3.2.2; prefill: DeepEP's normal kernels, NVLink
    to RDMA forwarding) the k experts lie in at most M domains, the token crosses the fabric once per
    target domain but its own (to the GPU of the same in-node index) and is forwarded over the scale-up
    link to the experts there: m = min(k, M, N), c_out = m*(N-1)/N, c_up = k*(g-1)/g."""
    if node_limit is None:
        return k * (local - 1.0) / w, k * (w - local) / w
    domains = w / local
    return k * (local - 1.0) / local, min(k, node_limit, domains) * (domains - 1.0) / domains


def default_grad_precision(precision):
    """Gradient dtype of mixed-precision training unless given (Megatron-LM's): fp16 when training in
    fp16 (loss-scaled fp16 gradients: Megatron's fp16 optimizer, DeepSpeed), else fp32
    (``accumulate_allreduce_grads_in_fp32``, forced on with bf16; fp32 training)."""
    return "fp16" if precision == "fp16" else "fp32"


def adam_state_bytes(weight_bytes, grad_bytes, master_bytes=4.0):
    """Training state per parameter with Adam, (weights, gradients, optimizer) in bytes: optimizer =
    8 B of fp32 moments + the master copy of the weights when they are held narrower than it, so
    2 + 2 + 12 = 16 B with fp16 gradients (Rajbhandari et al., "ZeRO", SC 2020, Sec. 3.1) and
    2 + 4 + 12 = 18 B with Megatron-LM's fp32 gradient buffers (bf16); 4 + 4 + 8 = 16 B in fp32."""
    return weight_bytes, grad_bytes, ADAM_MOMENT_BYTES + (master_bytes if master_bytes > weight_bytes else 0.0)


#: Activation recomputation in training (Korthikanti et al. 2022): "selective" keeps every activation but the
#: attention core's (the S x S scores, their softmax and dropout), recomputed in the backward as a flash-attention
#: kernel does (Dao et al., "FlashAttention", 2022: it stores O(S) softmax statistics, never the scores);
#: "full" keeps each layer's input and re-runs its forward; "none" stores everything, scores included (attention
#: without a fused kernel). Upstream 0.1.1's booleans: True -> "full", False -> "none".
RECOMPUTE_MODES = ("selective", "full", "none")
RECOMPUTE_OF_BOOL = {True: "full", False: "none"}


def recompute_mode(value):
    """``activation_recomputation`` as one of :data:`RECOMPUTE_MODES` (upstream's booleans mapped by
    :data:`RECOMPUTE_OF_BOOL`); anything else is an InvalidInputError naming the valid values (SingleNodeModel and
    DistributedModel)."""
    if value is True or value is False:
        return RECOMPUTE_OF_BOOL[value]
    if type(value) is not str or value not in RECOMPUTE_MODES:  # a list or an array made `in` raise
        from mlsysim_core.errors import InvalidInputError

        raise InvalidInputError("activation_recomputation", value, "one of 'selective', 'full', 'none' (or True/False)")
    return value


#: Korthikanti et al.'s layer (2022, Sec. 4.1, Table 2): multi-head attention (Q, K and V each h wide) and a 4h GeLU
#: MLP, as multiples of s*b*h bytes at 16 bits: (replicated without sequence parallelism, split by tp; the same two
#: with FP8 casts of the linear layers' inputs): 10 + 24/t and 8 + 19/t (:func:`layer_activation_widths`).
KORTHIKANTI_WIDTHS = (10.0, 24.0, 8.0, 19.0)


#: Bytes a token an MLP of intermediate width f stores for its backward at 16 bits, in units of f (besides its
#: h-wide input): a GeLU's input and output, 2 + 2 (Korthikanti et al. 2022, Sec. 4.1: 8 s b h + 8 s b h at f = 4h);
#: a ReLU's output only, 2 (its backward needs only the output's sign: PyTorch's ``threshold_backward(grad,
#: result, 0)``, derivatives.yaml; the output is also the second linear layer's input); a gated MLP (SwiGLU/GeGLU,
#: y = W_d (act(W_g x) * W_u x); Shazeer 2020, "GLU Variants Improve Transformer") the gate and up projections'
#: outputs, the activation's inputs, 2 + 2, and their product, the down projection's input, 2 (Megatron-LM's fused
#: ``bias_swiglu`` saves the 2f-wide fc1 output and recomputes act(gate) in its backward; an unfused PyTorch SiLU
#: and multiply also keeps act(gate), 2 more).
MLP_STORED = {"gelu": 4.0, "relu": 2.0, "swiglu": 6.0, "geglu": 6.0}


def layer_activation_widths(hidden, ffn, mlp):
    """What one transformer layer stores for its backward, per token, as multiples of h bytes at 16 bits:
    (replicated, split by tp, replicated with FP8 linear inputs, split with FP8 linear inputs), the terms of
    Korthikanti et al. 2022, Sec. 4.1, with the MLP ``mlp`` (:data:`MLP_STORED`) of intermediate width f per token:

      replicated without sequence parallelism: the two norms' inputs 2 + 2, the QKV and first MLP linear
          inputs 2 + 2, the attention and MLP dropout masks 1 + 1 = 10
      split by tp: attention Q, K, V and the output projection's input 2 + 2 + 2 + 2 = 8 (the S x S scores:
          ``recompute="none"`` only), and the MLP's MLP_STORED[mlp] x f / h
      FP8 (Transformer Engine's linear layers save their FP8 input cast, 1 byte instead of 2): the QKV and
          fc1 inputs (replicated, -2) and the projection and fc2 inputs (split, -1 - f/h)

    A GeLU f = 4h MLP gives (10, 24, 8, 19), Korthikanti's 34 s b h; Llama-3's SwiGLU (f = 3.5h) 10 + 8 + 21 =
    39 s b h. A MoE layer passes each token through its k routed experts: f = k x the expert's width (the
    dispatched copies of the MLP input and a shared expert are not counted). Attention keeps Korthikanti's h-wide
    Q, K, V and output (GQA's narrower K and V, attention wider than h and MLA's up-projected heads are not
    resolved here)."""
    split = 8.0 + MLP_STORED[mlp] * ffn / hidden
    return 10.0, split, 8.0, split - 1.0 - ffn / hidden


@functools.lru_cache(maxsize=256)
def transformer_activation_widths(model):
    """:func:`layer_activation_widths` of a ``TransformerWorkload``'s geometry, and the notes of what it assumed:
    f = ffn_dim (x the active experts of a MoE), the catalog's ``mlp``. Without ``ffn_dim`` f = 4h, without
    ``mlp`` a GeLU MLP (Korthikanti's), each stated in a note. Kept per model (a frozen object, hashed by identity:
    a banded call's corner layouts read it again)."""
    notes = ()
    ffn = model.ffn_dim
    if ffn is None:
        ffn = 4 * model.hidden_dim
        notes += (f"{model.name}: ffn_dim not given, training activations count an MLP 4 x hidden_dim wide",)
    mlp = model.mlp
    if mlp is None:
        mlp = "gelu"
        notes += (f"{model.name}: mlp not given, training activations count a GeLU MLP (4 x ffn_dim bytes a token)",)
    experts = float(model.active_experts) if model.is_moe and model.active_experts else 1.0
    return layer_activation_widths(float(model.hidden_dim), experts * ffn, mlp), notes


def output_layer_bytes(seq_len, micro_batch, hidden, vocab, t, bytes_scale=1.0):
    """Memory of the output layer at its peak, one micro-batch, in bytes: Korthikanti et al. 2022, Sec. 4.2.3,
    4 s b h (the final norm's and the LM head's 16-bit inputs) + 4 s b V (the logits in fp32, what the cross
    entropy keeps: Megatron-LM's ``vocab_parallel_cross_entropy`` casts them with ``.float()`` and saves their
    softmax, in place), each split by tp (vocab-parallel LM head and loss), plus 2 s b V/t: the 16-bit logits
    the LM head writes, alive next to their fp32 copy at the end of the forward, and the 16-bit gradient
    autograd casts the loss's fp32 gradient to (Megatron computes that gradient in place in the saved softmax)
    at the start of the backward, while every layer's activations are still held. With fp32 activations
    (``bytes_scale`` 2) ``.float()`` returns the logits themselves: 4 s b V. A loss fused with the LM head
    (Liger's, Apple's Cut Cross-Entropy) stores less; PyTorch's unfused ``F.cross_entropy`` (log_softmax and
    nll_loss) more: its saved log-probabilities and two fp32 gradients, 12 s b V at the backward's start."""
    sb = seq_len * micro_batch
    narrow = 2.0 * bytes_scale if bytes_scale < 2.0 else 0.0
    return sb * (4.0 * hidden * bytes_scale + (4.0 + narrow) * vocab) / t


def activation_bytes_per_layer(
    seq_len,
    micro_batch,
    hidden,
    heads,
    t,
    sequence_parallel=True,
    recompute="selective",
    bytes_scale=1.0,
    fp8=False,
    widths=KORTHIKANTI_WIDTHS,
):
    """Activation memory of one transformer layer for one micro-batch, in bytes (DistributedModel, and
    SingleNodeModel with t = 1).

    Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models", 2022,
    Sec. 4 and Table 2, 16-bit activations (scale by bytes_scale for other widths), with the layer's
    ``widths`` (r, p, r8, p8) of :func:`layer_activation_widths` ((10, 24, 8, 19) for Korthikanti's layer):
      no recomputation        s*b*h*(r + p/t + 5*a*s/(h*t))   (sequence parallel: s*b*h*((r + p)/t + 5*a*s/(h*t)))
      selective recomputation s*b*h*(r + p/t)                 (sequence parallel: s*b*h*(r + p)/t)
      full recomputation      2*s*b*h                         (sequence parallel: 2*s*b*h/t)
    With t = 1 both forms agree (34 s b h + 5 a s^2 b for Korthikanti's layer). "selective" is what a
    flash-attention kernel stores (Dao et al. 2022: O(s) softmax statistics, the scores recomputed in its
    backward); "none" adds the s x s scores, softmax and dropout mask of eq. 2 (5 a s^2 b), stored only by
    attention without a fused kernel. fp8: the inputs of the four linear layers are kept as their FP8 casts
    for the backward, 1 byte instead of 2 (Transformer Engine's Linear / LayerNormLinear / LayerNormMLP save
    the FP8 input; DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024, Sec. 3.3.3 caches them in FP8): (r8, p8).
    """
    sbh = seq_len * micro_batch * hidden
    if recompute == "full":
        per = 2.0 / t if sequence_parallel else 2.0
    else:
        rep, split = (widths[2], widths[3]) if fp8 else (widths[0], widths[1])
        per = (rep + split) / t if sequence_parallel else rep + split / t
        if recompute == "none":
            per = per + 5.0 * heads * seq_len / (hidden * t)
    return sbh * per * bytes_scale
