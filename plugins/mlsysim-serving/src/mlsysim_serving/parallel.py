"""The parallel layout of one serving replica: tensor (tp), pipeline (pp), expert (ep) and attention
data (dp_attention) parallel degrees, checked against the model and placed on the hardware's links.

A replica has ``pp`` stages of ``tp * dp_attention`` GPUs each. Inside a stage, attention and the
dense layers run as ``dp_attention`` data-parallel ranks of ``tp`` GPUs each (every rank holds the
non-expert weights split ``tp`` ways and its own share of the sequences and their KV cache,
DeepSeek-V3 sec. 3.4 "attention ... with DP"); with ``ep > 1`` the routed experts are spread over
all ``ep = tp * dp_attention`` GPUs of the stage, whole experts per GPU (vLLM's expert parallel size
= TP x DP; SGLang's ``--ep`` = ``--tp``), tokens reaching them by an all-to-all dispatch and
returning by an all-to-all combine. Stages pass activations point to point.

Placement: GPUs fill one scale-up domain (NVLink board, NVL72 rack) before the next; a collective or
a stage boundary that leaves the domain uses ``fabric`` (one port per GPU, as DGX/HGX nodes with one
NIC per GPU), with its bandwidth and latency. Tensor parallelism stays inside one domain.

Expert load imbalance: routing is not uniform, so the busiest expert-parallel rank receives more
than the mean share of tokens and every MoE layer waits for it. ``expert_imbalance`` = max/mean
tokens per rank scales that rank's expert compute, expert weights touched and all-to-all bytes.
Default :data:`EXPERT_IMBALANCE`.

Two-batch overlap (``ep_overlap``; DeepSeek-V3 technical report sec. 3.4: two micro-batches processed
together, the attention and MoE of one overlapping the dispatch and combine of the other; SGLang
``--enable-two-batch-overlap``): the step runs as two half batches, each streaming the weights,
and lasts max(compute of both halves, all-to-all): the second weight stream is its cost. SGLang
measured -27 % at 32 tokens per GPU and +25.5 % at 256 (LMSYS blog 2025-05-05, "Ablation Study:
Two-batch Overlap"); the small-batch loss comes mostly from kernel efficiency at half batches, which
is not modelled.

Redundant experts (``redundant_experts`` r, vLLM ``--num-redundant-experts``, SGLang
``--ep-num-redundant-experts``; DeepSeek's EPLB): r extra physical copies of hot experts, E + r
physical experts over the ep GPUs (DeepSeek-V3's 256 + 32 = 288 allow EP 72, SGLang large-scale EP
blog "Expert Parallelism Load Balancer"). Each GPU holds (E + r)/ep experts' weights; a token's k
experts are found among E + r physical ones.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import NetworkFabric
from mlsysim_physics import efficiency as E
from mlsysim_physics.equations import dispatch_copies

#: Throughput lost to expert imbalance with the default expert placement under expert parallelism:
#: SGLang team, "Deploying DeepSeek with PD Disaggregation and Large-scale Expert Parallelism on 96
#: H100 GPUs" (LMSYS blog, 2025-05-05), "Profile Results", prefill table: DeepSeek-V3, 4,096-token
#: prompts, 16,384 tokens per device, EP32 on 4x8 H100: 50,302 tokens/s per node with the default
#: expert distribution vs 59,337 with a simulated perfect EPLB, 59,337 / 50,302 = 1.18. The same
#: post reports EPLB speedups of 1.49x (prefill) and 2.54x (decode) at larger scale without any
#: rebalancing, so 1.18 is a balanced deployment's figure, not a worst case.
EXPERT_IMBALANCE = 59_337 / 50_302
#: its figure in the notes, formatted once (a float's formatting costs a layout ~2 k instructions)
_IMBALANCE_TEXT = f"{EXPERT_IMBALANCE:.3g}"


# (no __weakref__ slot: nothing refers to a Layout weakly; with one, :class:`_Filling`'s object layout would not match)
@attrs.frozen(weakref_slot=False)
class Layout:
    """Checked degrees and what the kernels need (SI floats): ``n`` tp, ``p`` pp, ``d`` dp_attention,
    ``w`` = n*d GPUs per stage (expert divisor), ``imbalance`` of the busiest expert rank (1 without
    expert parallelism), ``a2a`` whether MoE layers exchange tokens all-to-all, ``a2a_up_copies`` and
    ``a2a_out_copies`` the copies of a token a decode dispatch sends inside the scale-up domain and over
    the fabric, each straight to its expert's GPU, ``prefill_copies`` those of a prefill dispatch, node-
    limited and forwarded where the model states a node limit (0 for a dense model;
    :func:`mlsysim_physics.equations.dispatch_copies`), ``copies`` = (E + r)/E physical experts per logical one
    (``redundant`` = r), ``overlap`` two-batch overlap of the all-to-all with compute, the links of each
    collective (bandwidth B/s, latency s): tensor parallel ``tp_link``, all-to-all within and beyond the
    domain, stage hops (``hops_up`` inside a domain, ``hops_out`` over the fabric)."""

    n: int
    p: int
    d: int
    w: int
    gpus: int
    imbalance: float
    a2a: bool
    a2a_up_copies: float
    copies: float
    redundant: int
    overlap: bool
    up_bw: float
    up_lat: float
    out_bw: float
    out_lat: float
    a2a_out_copies: float
    hops_up: int
    hops_out: int
    notes: tuple[str, ...]
    #: layers / layers of the largest stage: per-GPU weights and KV divide by it (= p when p divides them)
    depth: float = 1.0
    prefill_copies: tuple[float, float] = (0.0, 0.0)
    #: layers that exchange tokens all-to-all (the model's MoE layers with expert parallelism, else 0)
    moe_layers: float = 0.0
    #: what :func:`layout_notes` reads beyond the degrees: GPUs of a stage in one scale-up domain, the fabric's latency
    #: note (:func:`mlsysim_physics.efficiency.link_latency`'s, where the group spans the fabric and the catalog has
    #: none) and whether the expert imbalance is the default (none given)
    local: int = 1
    fabric_note: str | None = None
    default_imbalance: bool = False


_TENSOR_ONLY: dict[int, Layout] = {}


class _Filling:
    """:class:`Layout`'s slots without its frozen ``__setattr__``: :func:`check` stores each field with a plain slot
    store, then makes the object a Layout (``__class__`` assignment: the same slots, so the same layout), where
    Layout's __init__ took ~190 opcodes (22 keyword arguments, 22 calls of object.__setattr__). Layout has no
    validators or converters, and check stores every field, defaults included: the value ``Layout(**fields)`` makes
    (test_parallel_serving holds them equal). Only for :func:`check`: a Layout is frozen once made."""

    __slots__ = Layout.__slots__  # type: ignore[attr-defined]  # (attrs sets them: the fields)


def tensor_only(tp_size: int) -> Layout:
    """The layout of one tensor-parallel group of ``tp_size`` GPUs (nothing else to check)."""
    lay = _TENSOR_ONLY.get(tp_size)
    if lay is None:
        lay = Layout(tp_size, 1, 1, tp_size, tp_size, 1.0, False, 0.0, 1.0, 0, False, 1.0, 0.0, 1.0, 0.0, 0.0, 0, 0, ())
        _TENSOR_ONLY[tp_size] = lay
    return lay


def check(
    shape: Any,
    hardware: Any,
    tp_size: int,
    domain_gpus: int,
    up_link: Any,
    up_lat: float,
    pp_size: Any,
    ep_size: Any,
    dp_attention: Any,
    expert_imbalance: Any,
    fabric: Any,
    redundant_experts: Any = 0,
    ep_overlap: Any = False,
    notes: bool = True,
) -> Layout:
    """The layout from checked degrees (tp_size was checked by the caller against heads and domain).

    Errors name the argument, the value and the valid range: pp_size at most the layers (uneven
    stages: the first L mod p hold one layer more, the largest binds),
    dp_attention and ep_size apply to MoE models only, ep_size must equal tp_size * dp_attention
    and divide the experts, a group larger than the scale-up domain needs a fabric. ``notes`` False: the layout's
    notes left out (``()``: :func:`layout_notes` makes them where they are read)."""
    layers = int(shape.layers)
    # (the integers checked in line where they are plain ints in range: V.integer's call for the rest)
    p = pp_size if pp_size.__class__ is int and 1 <= pp_size <= layers else V.integer("pp_size", pp_size, 1, layers)
    largest = -(-layers // p)
    d = dp_attention
    if d.__class__ is not int or not 1 <= d <= 1 << 16:
        d = V.integer("dp_attention", dp_attention, 1, 1 << 16)
    e = ep_size
    if e.__class__ is not int or not 1 <= e <= 1 << 16:
        e = V.integer("ep_size", ep_size, 1, 1 << 16)
    experts = int(shape.model.experts or 0) if shape.experts_params > 0.0 else 0
    if not experts and (d > 1 or e > 1):
        arg, val = ("dp_attention", d) if d > 1 else ("ep_size", e)
        raise InvalidInputError(
            arg, val, f"1: {shape.name} is dense (attention data parallelism pairs with expert-parallel MoE layers)"
        )
    n = tp_size
    w = n * d
    if d > 1 and e != w:
        raise InvalidInputError(
            "ep_size", e, f"tp_size * dp_attention = {w} (the attention ranks share the experts, as vLLM and SGLang)"
        )
    r = redundant_experts
    # (r = 0, the common case, is valid without the bound's max() call)
    if r.__class__ is not int or (r != 0 and not 0 < r <= max(experts, 1) * 16):
        r = V.integer("redundant_experts", redundant_experts, 0, max(experts, 1) * 16)
    if r and e == 1:
        raise InvalidInputError("redundant_experts", r, "0 without expert parallelism (ep_size = 1)")
    if e > 1:
        if e != w:
            raise InvalidInputError("ep_size", e, f"1 or tp_size * dp_attention = {w}")
        if (experts + r) % e:
            what = "experts + redundant_experts" if r else "experts"
            raise InvalidInputError("ep_size", e, f"a divisor of {what}={experts + r}")
    a2a = e > 1
    if ep_overlap is not False and (ep_overlap is not True or not a2a):
        raise InvalidInputError("ep_overlap", ep_overlap, "True or False; True needs expert parallelism (ep_size > 1)")
    if expert_imbalance is None:
        imbalance = EXPERT_IMBALANCE if a2a else 1.0
    else:
        imbalance = V.number("expert_imbalance", expert_imbalance, 1.0, float(e))
    gpus = w * p
    up_bw = up_link.si.bandwidth if up_link is not None else math.inf
    out_bw = out_lat = 0.0
    fabric_note = None
    if gpus > domain_gpus:
        if not isinstance(fabric, NetworkFabric):
            raise InvalidInputError(
                "fabric",
                fabric,
                f"a NetworkFabric (e.g. mlsysim.Systems.Fabrics.InfiniBand_NDR): {gpus} GPUs "
                f"(tp {n} x dp_attention {d} x pp {p}) span more than one scale-up domain of {domain_gpus} "
                f"on {hardware.name}",
            )
        out_bw = fabric.si.bandwidth
        out_lat, fabric_note = E.link_latency(fabric, fabric.name)
    elif fabric is not None and not isinstance(fabric, NetworkFabric):
        V.instance("fabric", fabric, NetworkFabric, "a NetworkFabric or None")
    # stages fill domains in order: a boundary crossing a domain edge goes over the fabric
    # (w <= domain: at least one stage per domain, and hops // it at most the hops)
    stages_per_domain = domain_gpus // w if w <= domain_gpus else 0
    hops = p - 1
    hops_out = hops if stages_per_domain == 0 else hops // stages_per_domain
    up_copies = out_copies = 0.0  # (no all-to-all: no dispatch, no copies, as :func:`tensor_only`'s layout)
    prefill_copies = (0.0, 0.0)
    local = w if w <= domain_gpus else domain_gpus  # (GPUs of a stage in one scale-up domain; min, inline)
    if a2a:
        k = shape.expert_share * experts
        up_copies, out_copies = dispatch_copies(k, w, local)
        # prefill dispatches with DeepEP's normal kernels (NVLink-to-RDMA forwarding, node-limited routing),
        # decode with its low-latency kernels, each copy straight to its expert (DeepEP README)
        node_limit = shape.model.routing_node_limit if local < w else None
        # (without a node limit a prefill dispatch sends the decode's copies)
        prefill_copies = (up_copies, out_copies) if node_limit is None else dispatch_copies(k, w, local, node_limit)
    lay: Any = _Filling()  # (a Layout made as Layout(**fields) would make it: :class:`_Filling`)
    lay.n = n
    lay.p = p
    lay.d = d
    lay.w = w
    lay.gpus = gpus
    lay.imbalance = imbalance
    lay.a2a = a2a
    lay.a2a_up_copies = up_copies
    lay.copies = (experts + r) / experts if experts else 1.0
    lay.redundant = r
    lay.overlap = ep_overlap
    lay.up_bw = up_bw
    lay.up_lat = up_lat
    lay.out_bw = out_bw
    lay.out_lat = out_lat
    lay.a2a_out_copies = out_copies
    lay.hops_up = hops - hops_out
    lay.hops_out = hops_out
    lay.depth = layers / largest
    lay.prefill_copies = prefill_copies
    lay.moe_layers = shape.moe_layers if a2a else 0.0
    lay.local, lay.fabric_note, lay.default_imbalance = local, fabric_note, expert_imbalance is None
    lay.notes = layout_notes(shape, lay) if notes else ()
    lay.__class__ = Layout
    return lay


def layout_notes(shape: Any, lay: Any) -> tuple[str, ...]:
    """The notes of the checked layout ``lay`` (:func:`check`'s, its fields set) of ``shape``: uneven pipeline stages,
    the default expert imbalance (:attr:`Layout.default_imbalance`), the fabric's latency where the catalog has none
    (:attr:`Layout.fabric_note`) and node-limited routing in prefill (stages wider than :attr:`Layout.local`).
    Formatting them costs ~20 k instructions on a MoE layout: a layout checked without them (:func:`check`'s
    ``notes``) has them made here where they are read."""
    notes = []
    p, w, local, layers = lay.p, lay.w, lay.local, int(shape.layers)
    if layers % p:
        largest, small = -(-layers // p), layers // p
        notes.append(
            f"pipeline: {layers} layers over pp {p} as {layers % p} stage(s) of {largest} and {p - layers % p} of "
            f"{small}; the {largest}-layer stage binds"
        )
    if lay.a2a and lay.default_imbalance:
        notes.append(
            f"expert imbalance: busiest of {w} expert ranks at {_IMBALANCE_TEXT}x the mean load (EXPERT_IMBALANCE, "
            "SGLang large-scale EP blog 2025, default vs perfect EPLB)"
        )
    if lay.fabric_note:
        notes.append(lay.fabric_note)
    node_limit = shape.model.routing_node_limit if lay.a2a and local < w else None
    if node_limit is not None:
        k = shape.expert_share * int(shape.model.experts)
        up, out = lay.prefill_copies
        notes.append(
            f"node-limited routing in prefill: each token's {k:g} experts in at most {node_limit} of the "
            f"{w / local:g} scale-up domains (routing_node_limit of {shape.name}), {out:.3g} copies "
            f"per token over the fabric, {up:.3g} forwarded inside a domain (DeepSeek-V3 report "
            f"sec. 3.2.2); decode sends each copy to its expert directly ({lay.a2a_out_copies:.3g} over the fabric; "
            "DeepEP low-latency kernels)"
        )
    return tuple(notes)
