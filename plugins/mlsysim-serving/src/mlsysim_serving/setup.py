"""The checked configuration of one ServingModel layout (everything but the lengths and the
traffic): model shape, precisions (:mod:`.precisions`), efficiencies, tensor parallelism and its link,
the wider parallel layout (:mod:`.parallel`), as SI floats in one frozen :class:`Setup` that
``solve()``, sweeps and the traffic model all read.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import attrs

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import CNNWorkload, HardwareNode, TransformerWorkload, Workload
from mlsysim_physics import efficiency as E
from mlsysim_uncertainty.calibration import CALIBRATION_KEYS, checked, scoped

from . import parallel, request_path
from .memo import Memo, PartKeyed, SameObjects
from .precisions import resolve

#: Largest tensor-parallel group when the part has a scale-up link (NVLink/Infinity Fabric/ICI)
#: that states no ``domain`` and no ``gpus_per_node`` is given: one 8-GPU node (DGX/HGX, MI300X OAM
#: platform); the result's notes say when it was used.
DEFAULT_GPUS_PER_NODE = 8

MAX_COUNT = V.MAX_COUNT


class ModelShape:
    """Per-model numbers derived once (SI floats), cached by model identity (:func:`model_shape`)."""

    __slots__ = (
        "model",
        "name",
        "layers",
        "params",
        "dense_read",
        "experts_params",
        "expert_share",
        "moe_layers",
        "matmul",
        "attn_dim",
        "decode_attn",
        "prefill_attn",
        "kv",
        "hidden",
        "ffn",
        "vocab",
        "heads",
        "kv_heads",
        "mla",
        "max_seq",
    )

    def __init__(self, model: TransformerWorkload):
        si = model.si
        self.model = model
        self.name = model.name
        self.layers = float(model.layers)
        total = float(model.parameters)
        self.params = total
        embed = float((model.vocab_size or 0) * model.hidden_dim) if not model.tied_embeddings else 0.0
        active = float(si.active_parameters)
        e, k = model.experts, model.active_experts
        if e is not None and k is not None and model.is_moe and e > k and active < total:
            experts = (total - active) / (e - k) * e
            self.expert_share = k / e
        else:
            experts, self.expert_share = 0.0, 1.0
        # layers whose FFN routes to experts (DeepSeek-V3: the first 3 of 61 are dense); 0 for a dense model
        self.moe_layers = float(model.moe_layers or model.layers) if experts else 0.0
        read = total - embed - experts
        self.dense_read = read if read > 0 else total - experts
        self.experts_params = experts
        self.matmul = float(si.matmul_parameters)
        self.attn_dim = float(si.attn_dim)
        self.prefill_attn, self.decode_attn = attention_flops(model)
        self.kv = float(si.kv_elements_per_token)
        self.hidden = float(model.hidden_dim)
        self.ffn = float(model.ffn_dim or 4 * model.hidden_dim)
        self.vocab = float(model.vocab_size or 0)
        self.heads = model.heads
        self.kv_heads = si.kv_heads
        self.mla = model.kv_lora_rank is not None
        self.max_seq = model.max_seq_len or MAX_COUNT


def attention_flops(model: TransformerWorkload) -> tuple[float, float]:
    """(prefill, decode) attention FLOPs of one query token against one cached token, over all layers.

    Multi-head form (prefill; any decode without MLA): QK^T and AV over the heads' width H*d_h,
    4*L*H*d_h (Vaswani et al. 2017). MLA decode runs in the weight-absorbed form (DeepSeek-V2 report,
    arXiv 2405.04434, sec. 2.1.3: W_UK absorbed into W_Q, W_UV into W_O): each of the H heads scores
    the latent c_KV and the shared RoPE key (r + d_R values) and sums the latent (r values),
    2*L*H*(2r + d_R) (DeepSeek-V3: 2*61*128*1088); engines run MLA prefill in the multi-head form and
    decode absorbed (vLLM vllm/v1/attention/backends/mla/common.py module docstring: "compute friendly
    approach for prefill ... data-movement friendly approach for decode")."""
    si = model.si
    mha = 4.0 * float(model.layers) * float(si.attn_dim)
    if model.kv_lora_rank is None:
        return mha, mha
    # no decoupled RoPE key stated: none, as the KV-cache count (TransformerWorkload.kv_elements_per_token)
    rope = 0.0 if model.qk_rope_head_dim is None else float(model.qk_rope_head_dim)
    r = float(model.kv_lora_rank)
    return mha, 2.0 * float(model.layers) * float(model.heads) * (2.0 * r + rope)


_shapes = Memo(4096)


def model_shape(model: Any) -> ModelShape:
    """The :class:`ModelShape` of ``model`` (checked: a TransformerWorkload object)."""
    s = _shapes.get(id(model))
    if s is None or s.model is not model:
        if isinstance(model, str):
            raise InvalidInputError(
                "model",
                model,
                f"a TransformerWorkload object, not a name (a catalog name was given: pass mlsysim.Models.{model})",
            )
        if not isinstance(model, TransformerWorkload):
            what = "a CNN or other workload"
            if isinstance(model, Workload):
                what = f"{model.name} is {'a CNN' if isinstance(model, CNNWorkload) else 'not a transformer'}: it"
            raise InvalidInputError(
                "model",
                model,
                f"a TransformerWorkload (an LLM, e.g. mlsysim.Models.Language.Llama3_8B); {what} has no "
                "prefill/decode: use SingleNodeModel",
            )
        s = ModelShape(model)
        _shapes.put(id(model), s)
    return s


def step_overhead(dispatch_tax: float, layers: float, engine_overhead: Any) -> Any:
    """Fixed cost of one engine step (s): dispatch tax + layers * per-layer overhead + engine overhead
    (mlsysim_physics.efficiency, with sources; the engine overhead defaults to STEP_OVERHEAD_S)."""
    return dispatch_tax + layers * E.LAYER_OVERHEAD_S + engine_overhead


def check_efficiency(v: Any) -> float:
    if v.__class__ is float and 0.0 < v <= 1.0:  # the common case without the abc checks of V.number
        return v
    return V.fraction("efficiency", v)


def check_memory_efficiency(v: Any) -> float:
    if v.__class__ is float and 0.0 < v <= 1.0:
        return v
    return V.fraction("memory_efficiency", v)


def check_network_efficiency(v: Any) -> float:
    if v.__class__ is float and 0.0 < v <= 1.0:
        return v
    return V.fraction("network_efficiency", v)


def check_power_share(name: str, v: Any) -> float:
    """A share of TDP of the accelerator power model (``power_idle``, ``power_compute``, ``power_memory``): (0, 1]."""
    if v.__class__ is float and 0.0 < v <= 1.0:
        return v
    return V.fraction(name, v)


check_power_idle = partial(check_power_share, "power_idle")
check_power_compute = partial(check_power_share, "power_compute")
check_power_memory = partial(check_power_share, "power_memory")


def check_engine_overhead(v: Any) -> float:
    """engine_overhead in seconds: a time Quantity, a text such as "4 ms" or a number of seconds, in [0, 1 s]."""
    if v.__class__ is float and 0.0 <= v <= 1.0:
        return v
    return request_path.host_seconds("engine_overhead", v, 1.0)


@attrs.frozen(weakref_slot=False)
class Setup:
    """One checked serving layout: what every prefill/decode/step-cost equation needs but the
    lengths and the traffic. Rates in FLOP/s and B/s, sizes in bytes, times in s. Slotted: every solve reads
    its fields a few hundred times, and a slot reads faster than the instance dict a frozen dict class fills
    (a static solve 301 -> 278 k instructions). :func:`prepare` fills one through :class:`_Filling` (plain slot
    stores, ~5 k instructions where this class's __init__, 28 calls of object.__setattr__, took ~32 k). No
    ``__weakref__`` slot: nothing refers to a Setup weakly, and with one the layouts would not match."""

    shape: ModelShape  #: per-model numbers (layers, parameters, KV elements per token, ...)
    hardware: HardwareNode  #: one accelerator of the tensor-parallel group
    precision: str  #: weights precision
    activation_precision: str  #: the precision the matmuls run in (its dense peak is ``peak``)
    peak: float  #: dense peak FLOP/s of one GPU at ``activation_precision``
    attn_peak: (
        float  #: dense peak FLOP/s of the attention matmuls (at the KV precision, :func:`.precisions.attention_peak`)
    )
    b: float  #: bytes per weight
    kv_precision: str  #: KV-cache precision
    b_kv: float  #: bytes per KV element
    b_act: float  #: bytes per activation element in memory and on links (16-bit at least)
    eta_c: float  #: achieved fraction of peak FLOP/s
    eta_m: float  #: achieved fraction of peak memory bandwidth
    eta_n: float  #: achieved fraction of a link's bandwidth in collectives, stage hops and KV transfers
    engine_overhead: float  #: host time of one engine iteration (part of ``overhead``)
    request_overhead: float  #: host time of a request outside the engine's steps (:mod:`.request_path`)
    request_notes: tuple[str, ...]  #: what was assumed for it (a loaded answer's notes)
    tp_size: int  #: tensor-parallel degree n
    layout: parallel.Layout  #: pipeline stages, expert and attention data parallelism, their links
    kv_share: float  #: share of the KV cache one GPU holds (1/min(n, kv_heads); 1 for MLA)
    link: Any  #: the link the TP all-reduces use (scale-up, else the host link; None without TP)
    link_bandwidth: float  #: its bandwidth (1.0 as a neutral divisor when tp_size == 1)
    link_latency: float  #: its per-hop latency (0 when tp_size == 1)
    overhead: float  #: fixed cost of one engine step (:func:`step_overhead`)
    memory_fraction: float  #: share of the reported capacity a deployment fills
    power_idle: float  #: accelerator power: awake-idle share of TDP (mlsysim_physics.equations.step_power)
    power_compute: float  #: share of TDP the compute units draw while busy
    power_memory: float  #: share of TDP the memory system draws while busy
    #: every default taken for a value the catalog or the caller did not give (but the parallel layout's where prepared
    #: without them: :func:`prepare`'s ``layout_notes``)
    notes: tuple[str, ...]


class _Filling:
    """:class:`Setup`'s slots without its frozen ``__setattr__``: :func:`prepare` stores each field with a plain slot
    store, then makes the object a Setup (``__class__`` assignment: the same slots, so the same layout). Setup has no
    validators, converters or defaults to apply, so the value is the one ``Setup(**fields)`` makes
    (test_prepared_serving holds them equal field by field); prepare checks every argument before. Only for
    :func:`prepare`: a Setup is frozen once made."""

    __slots__ = tuple(field.name for field in attrs.fields(Setup))


def tp_limit(hardware: Any, gpus_per_node: Any) -> int:
    """The most GPUs one tensor-parallel group of ``hardware`` may span: ``gpus_per_node`` when given, else its
    scale-up domain (DEFAULT_GPUS_PER_NODE where the catalog states no domain size; 1 without a scale-up link);
    :func:`tp_limit_reason` says which."""
    link = hardware.scale_up
    if gpus_per_node is not None:
        return V.integer("gpus_per_node", gpus_per_node, 1, 1 << 20)
    if link is None:
        return 1
    return DEFAULT_GPUS_PER_NODE if link.domain is None else link.domain


def tp_limit_reason(hardware: Any, gpus_per_node: Any) -> str:
    """Why :func:`tp_limit` is what it is, in an error's or a note's words (made only where one is: formatting it
    cost every layout ~0.85 k instructions)."""
    link = hardware.scale_up
    if gpus_per_node is not None:
        return "gpus_per_node"
    if link is None:
        return f"{hardware.name} has no scale-up link in the catalog"
    if link.domain is None:
        return f"DEFAULT_GPUS_PER_NODE: {link.name} states no domain size"
    return f"GPUs in one {link.name} scale-up domain of {hardware.name}"


def prepare(
    model: Any,
    hardware: Any,
    precision: Any,
    tp_size: Any,
    kv_precision: Any,
    efficiency: Any,
    memory_efficiency: Any,
    gpus_per_node: Any,
    raise_errors: Any,
    memory_fraction: Any,
    weight_precision: Any = None,
    activation_precision: Any = None,
    pp_size: Any = 1,
    ep_size: Any = 1,
    dp_attention: Any = 1,
    expert_imbalance: Any = None,
    fabric: Any = None,
    engine_overhead: Any = None,
    redundant_experts: Any = 0,
    ep_overlap: Any = False,
    engine: Any = None,
    request_overhead: Any = None,
    network_efficiency: Any = None,
    power_idle: Any = None,
    power_compute: Any = None,
    power_memory: Any = None,
    layout_notes: bool = True,
) -> Setup:
    """Check every argument of ``ServingModel.solve`` but the lengths and the traffic (each error
    names argument, value and valid range) and return the :class:`Setup`; ``layout_notes`` False: its notes without
    the parallel layout's (:func:`.parallel.layout_notes` makes them where they are read: a disaggregated pool's)."""
    shape = model_shape(model)
    if not isinstance(hardware, HardwareNode):
        V.instance("hardware", hardware, HardwareNode, "a HardwareNode")
    prec = _precisions(hardware, precision, weight_precision, activation_precision, kv_precision)
    frac = E.USABLE_MEMORY_FRACTION if memory_fraction is None else V.fraction("memory_fraction", memory_fraction)
    if engine is not None and (not isinstance(engine, str) or not engine.strip()):
        raise InvalidInputError("engine", engine, "the name of a serving engine (e.g. 'vllm', 'nim') or None")
    # (cal: the part's calibrated values, ``mlsysim calibrate``: each where it has one, else its default)
    memory_note, cal, cal_notes = _hardware_terms(hardware, frac, engine)
    notes = [*prec.notes, memory_note, *model.omissions(), *cal_notes]
    eta_c = (
        cal.get("compute", E.compute_efficiency(prec.b_matmul)) if efficiency is None else check_efficiency(efficiency)
    )
    eta_m = (
        cal.get("memory", E.MEMORY_STREAM) if memory_efficiency is None else check_memory_efficiency(memory_efficiency)
    )
    host = (
        cal.get("engine_overhead", E.STEP_OVERHEAD_S)
        if engine_overhead is None
        else check_engine_overhead(engine_overhead)
    )
    eta_n = E.NETWORK if network_efficiency is None else check_network_efficiency(network_efficiency)
    t_req, req_notes = request_path.resolve(request_overhead, cal, engine)
    if raise_errors is not True and raise_errors is not False:
        V.instance("raise_errors", raise_errors, bool, "True or False")
    link = hardware.scale_up
    gpus = tp_limit(hardware, gpus_per_node)
    if gpus_per_node is not None and link is None:
        link = hardware.interconnect  # GPUs of a node without a scale-up fabric talk over the host link
    if tp_size.__class__ is not int or tp_size < 1:
        tp_size = V.integer("tp_size", tp_size, 1, gpus)
    kv_share = 1.0 if tp_size == 1 else _check_tp(tp_size, shape, gpus, hardware, gpus_per_node)
    link_lat, link_bw = 0.0, 1.0
    if tp_size > 1:
        if link is None:
            raise InvalidInputError(
                "tp_size", tp_size, f"1: {hardware.name} has neither a scale-up nor a host link in the catalog"
            )
        if gpus_per_node is None and link.domain is None:
            notes.append(f"tensor-parallel group limit: {gpus} GPUs ({tp_limit_reason(hardware, None)})")
        link_lat, note = E.link_latency(link, f"{hardware.name} {link.name}")
        if note:
            notes.append(note)
        link_bw = link.si.bandwidth
    if (
        pp_size == 1
        and ep_size == 1
        and dp_attention == 1
        and fabric is None
        and expert_imbalance is None
        and redundant_experts == 0
        and ep_overlap is False
    ):
        layout = parallel.tensor_only(tp_size)
    else:
        up_lat = link_lat
        if link is not None and tp_size == 1:
            up_lat, note = E.link_latency(link, f"{hardware.name} {link.name}")
            if note:
                notes.append(note)
        layout = parallel.check(
            shape,
            hardware,
            tp_size,
            gpus,
            link,
            up_lat,
            pp_size,
            ep_size,
            dp_attention,
            expert_imbalance,
            fabric,
            redundant_experts,
            ep_overlap,
            layout_notes,
        )
        notes += layout.notes
    s: Any = _Filling()  # (a Setup made as Setup(**fields) would make it: :class:`_Filling`)
    s.shape = shape
    s.hardware = hardware
    s.precision = prec.weights
    s.activation_precision = prec.activations
    s.peak = prec.peak
    s.attn_peak = prec.attn_peak
    s.b = prec.b
    s.kv_precision = prec.kv
    s.b_kv = prec.b_kv
    s.b_act = prec.b_act
    s.eta_c = eta_c
    s.eta_m = eta_m
    s.eta_n = eta_n
    s.engine_overhead = host
    s.request_overhead = t_req
    s.request_notes = req_notes
    s.tp_size = tp_size
    s.layout = layout
    s.kv_share = kv_share
    s.link = link
    s.link_bandwidth = link_bw
    s.link_latency = link_lat
    s.overhead = step_overhead(hardware.si.dispatch_tax, shape.layers, host)
    s.memory_fraction = frac
    s.power_idle = E.POWER_IDLE_FRACTION if power_idle is None else check_power_idle(power_idle)
    s.power_compute = E.POWER_COMPUTE_FRACTION if power_compute is None else check_power_compute(power_compute)
    s.power_memory = E.POWER_MEMORY_FRACTION if power_memory is None else check_power_memory(power_memory)
    s.notes = tuple(notes)
    s.__class__ = Setup
    return s


def hardware_terms(hardware: HardwareNode, fraction: float, engine: str | None) -> tuple[str, dict, tuple[str, ...]]:
    """(usable-memory note, calibration, its notes) of ``hardware`` at the usable ``fraction`` of its memory: the
    calibration table checked and scoped to ``engine`` (:mod:`mlsysim_uncertainty.calibration`; read-only), with
    a note naming its source where it has one."""
    cal = scoped(checked(hardware.calibration), engine)
    notes: tuple[str, ...] = ()
    if CALIBRATION_KEYS.keys() & cal.keys():  # a fit that kept the defaults (source and points only) calibrates nothing
        scope = f" (engine {engine})" if engine in hardware.calibration.get("engines", {}) else ""
        notes = (f"efficiencies calibrated for {hardware.name}{scope}: {cal.get('source', 'catalog calibration')}",)
    fits = (hardware.calibration or {}).get("engines") or {}
    if engine is not None and fits and engine not in fits:  # a misspelt engine fell back without a word
        notes += (f"engine {engine!r}: {hardware.name} has no fit scoped to it (engines: {', '.join(fits)})",)
    return E.usable_memory_note(hardware, fraction), cal, notes


#: :func:`hardware_terms` memoized by the identity of the part (a catalog part and its calibration are immutable) and
#: the values of the usable fraction and the engine name (checked before): the layouts of one part a disaggregated
#: solve sets up check its calibration once (its bound ``__call__``, as :data:`prepared`)
_hardware_terms = PartKeyed(hardware_terms).__call__

#: :func:`.precisions.resolve` memoized by the identity of the hardware and the values of the precision arguments (a
#: call that answers was given names or None): the layouts of one part that a disaggregated solve sets up (its pools
#: and the aggregated layouts) resolve them once (its bound ``__call__``, as :data:`prepared`)
_precisions = PartKeyed(resolve).__call__

#: :func:`prepare` memoized by the identity of its arguments, given positionally in its order (catalog objects,
#: names and numbers: immutable, so the same arguments give the same Setup), keyed by the model, the part, the tensor
#: degree and the efficiency (:class:`.memo.SameObjects`: a cold call's key of 4 ids, not 26). Its bound ``__call__``:
#: a method call is a vectorcall, where calling the instance goes through ``slot_tp_call`` (~0.7 k instructions more)
prepared = SameObjects(prepare, lambda args: (id(args[0]), id(args[1]), id(args[3]), id(args[5]))).__call__


def _check_tp(tp: int, shape: ModelShape, gpus: int, hardware: Any, gpus_per_node: Any) -> float:
    """Validate tp against the scale-up domain (``gpus``: :func:`tp_limit` of ``hardware`` and ``gpus_per_node``) and
    the heads; return the share of the KV cache one GPU holds."""
    if tp > gpus:
        why = tp_limit_reason(hardware, gpus_per_node)
        raise InvalidInputError("tp_size", tp, f"an integer in [1, {gpus}] ({why}; pass gpus_per_node to change)")
    if shape.heads % tp:
        raise InvalidInputError("tp_size", tp, f"a divisor of heads={shape.heads}")
    if shape.mla:
        return 1.0  # MLA's latent KV is shared by all heads: every TP rank holds all of it
    kvh = shape.kv_heads
    if tp <= kvh:
        if kvh % tp:
            raise InvalidInputError(
                "tp_size", tp, f"a divisor of kv_heads={kvh} (or a multiple of it, replicating KV heads)"
            )
        return 1.0 / tp
    if tp % kvh:
        raise InvalidInputError("tp_size", tp, f"a divisor or a multiple of kv_heads={kvh}")
    return 1.0 / kvh  # each KV head replicated tp/kv_heads times
