"""DistributedModel: a first-order model of one 3D/4D-parallel training step.

Layout and conventions (stated once, used everywhere):

* N = dp x tp x pp is the whole fleet (fleet.count x accelerators_per_node). Expert parallelism
  reuses data-parallel ranks (Megatron-Core / DeepSpeed-MoE convention): ep must divide dp, and
  routed experts are sharded ep ways. So tp*pp*ep must divide N.
* Ranks are laid out tp innermost, then pp, then dp (so tensor-parallel peers share a node, pipeline
  stages fill a node next, and data-parallel peers are the farthest apart). With tp*pp >= GPUs per
  node every data-parallel peer sits on another node; with fewer, g/(tp*pp) of them share a node and
  the gradient all-reduce may go hierarchical.
* ``batch_size`` is the global batch in sequences. It must be a multiple of dp (an error otherwise:
  a replica without data, or replicas with unequal data, is not a data-parallel step). Each replica
  splits its B/dp sequences into ``microbatch_count`` micro-batches of B/(dp*m) sequences; if that is
  below one sequence or not whole, a :class:`MicrobatchWarning` says so and the step is priced with
  the fractional micro-batch (total work is unchanged; the bubble uses m as given).
* ``seq_len`` defaults to min(2048, model.max_seq_len) (upstream 0.1.1's 2048).
* ``activation_recomputation``: "selective" (default; Korthikanti et al. 2022), "full" or "none";
  upstream's booleans are accepted: True -> "full" (upstream priced True as full recompute cost),
  False -> "none".
* Mixed precision: weights in max(precision, 16-bit) bytes; gradients in ``grad_precision``
  (Megatron-LM's default: fp32 buffers and fp32 gradient all-reduce with bf16, fp16 with fp16);
  Adam's fp32 moments (8 B) plus an fp32 master copy (``master_precision``) when the weights are
  narrower: 2 + 4 + 4 + 8 = 18 B/param with bf16, 16 with fp16 or fp32; activations and messages
  in max(precision, 2) bytes.
* ZeRO-3 gathers the sharded weights for every micro-batch, forward and backward, and
  reduce-scatters each micro-batch's gradients: its communication grows with ``microbatch_count``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.solver import PreparedCache, Solver
from mlsysim_core.sweep import PointErrors, checked
from mlsysim_core.types import PRECISION_BYTES, Fleet, TransformerWorkload, Workload
from mlsysim_core.validate import MAX_COUNT, instance, integer, number
from mlsysim_physics.efficiency import MEMORY_STREAM, link_latency
from mlsysim_physics.equations import (
    ADAM_MOMENT_BYTES,
    adam_state_bytes,
    default_grad_precision,
    dispatch_copies,
    recompute_mode,
    transformer_activation_widths,
)

from . import kernels as K
from . import layouts as LAY
from . import schedules as SCH
from .defaults import TRAINING, TrainingEfficiency
from .results import DistributedResult

DEFAULT_SEQ_LEN = 2048
CP_VARIANTS = ("ring", "all-gather")


#: the layout's integer arguments a sweep takes as arrays (many layouts in one block: :mod:`.layouts`)
_LAYOUT_VECTOR = ("tp_size", "pp_size", "cp_size", "ep_size", "v_stages", "zero_stage")
#: result fields a layout decides besides its degrees (the others are the same for all layouts of a group)
_LAYOUT_FIELDS = ("schedule", "weights_memory", "gradients_memory", "optimizer_memory")
#: :func:`_prepare`'s arguments, in order
_PREPARE_ARGS = (
    "model",
    "fleet",
    "tp_size",
    "pp_size",
    "ep_size",
    "precision",
    "zero_stage",
    "activation_recomputation",
    "sequence_parallel",
    "overlap_comm",
    "overlap_efficiency",
    "v_stages",
    "efficiency",
    "tokens",
    "strict",
    "grad_precision",
    "master_precision",
    "cp_size",
    "cp_variant",
    "schedule",
    "fp8",
    "tp_overlap",
)


class DistributedWarning(UserWarning):
    """A legal but unusual distributed configuration (the answer is still given)."""


class TensorParallelAcrossNodesWarning(DistributedWarning):
    """tp_size is larger than a node: tensor-parallel all-reduces cross the fabric."""


class MicrobatchWarning(DistributedWarning):
    """Fewer sequences per data-parallel rank than micro-batches, or micro-batches of a fractional size; ``refusal``:
    the error ``mlsysim train`` gives instead (it refuses, as Megatron-LM does), naming the valid counts."""

    refusal: str | None = None


def _efficiency(value: Any) -> TrainingEfficiency:
    if value is None:
        return TRAINING
    if isinstance(value, TrainingEfficiency):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # upstream 0.1.1: a float is the compute efficiency
        return TrainingEfficiency(compute=value, network=TRAINING.network, overlap=TRAINING.overlap)
    compute = getattr(value, "compute", None)
    network = getattr(value, "network", None)
    if compute is None or network is None:
        raise InvalidInputError(
            "efficiency",
            value,
            "None, a compute efficiency in (0, 1], or an object with .compute and .network fractions "
            "(mlsysim_distributed.TrainingEfficiency or mlsysim_physics.efficiency.Efficiency)",
        )
    return TrainingEfficiency(compute=compute, network=network, overlap=getattr(value, "overlap", TRAINING.overlap))


def _bool(name: str, value: Any) -> bool:
    if value is True or value is False:
        return value
    raise InvalidInputError(name, value, "True or False")


class DistributedModel(Solver):
    """Step time, communication, pipeline bubble, memory per GPU and MFU of distributed training.

    Equations: Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
    Megatron-LM", SC 2021 (FLOPs, 1F1B/interleaved bubble, TP/PP communication); Korthikanti et al.,
    "Reducing Activation Recomputation in Large Transformer Models", 2022 (activation memory,
    sequence parallelism, selective recomputation); Rajbhandari et al., "ZeRO", SC 2020 (model state
    sharding and its communication). The kernels are in :mod:`mlsysim_distributed.kernels`.
    """

    name = "DistributedModel"
    consumes = (Workload, Fleet)
    produces = DistributedResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("batch_size", "microbatch_count", "seq_len", *_LAYOUT_VECTOR)
    #: the TrainingEfficiency shares -> where the result holds the value used, and the headline fields
    #: that get a (low, high) band (mlsysim_uncertainty.banded evaluates them at the corners of their ranges)
    band_arguments = {"efficiency.compute": "efficiency.compute", "efficiency.network": "efficiency.network"}
    band_fields = (
        "step_time",
        "compute_latency",
        "pipeline_bubble_latency",
        "communication_latency",
        "exposed_communication_latency",
        "time_to_train",
        "throughput",
        "tokens_per_second",
        "achieved_flops_per_gpu",
    )

    def solve(
        self,
        model: Workload,
        fleet: Fleet,
        batch_size: int,
        tp_size: int = 1,
        pp_size: int = 1,
        ep_size: int = 1,
        microbatch_count: int = 1,
        precision: str | None = None,
        seq_len: int | None = None,
        zero_stage: int = 0,
        activation_recomputation: Any = "selective",
        sequence_parallel: bool = True,
        overlap_comm: bool = False,
        overlap_efficiency: float | None = None,
        v_stages: int = 1,
        efficiency: Any = None,
        tokens: float | None = None,
        strict: bool = False,
        grad_precision: str | None = None,
        master_precision: str = "fp32",
        cp_size: int = 1,
        cp_variant: str = "ring",
        schedule: str | None = None,
        fp8: bool = False,
        tp_overlap: bool = False,
    ) -> DistributedResult:
        """Solve one training step.

        Args:
            model: a TransformerWorkload (any Workload with ``flops_per_sample`` for pure data
                parallelism, e.g. a CNN).
            fleet: the Fleet (all of its accelerators are used: N = dp * tp * pp).
            batch_size: global batch in sequences; a multiple of dp = N / (tp * pp).
            tp_size, pp_size, ep_size: tensor, pipeline and expert parallel degrees (ep | dp, MoE only).
            microbatch_count: micro-batches per step per DP rank (m).
            precision: compute precision; its dense peak comes from the accelerator (default: the
                accelerator's ``default_precision``, stated in ``notes``).
            seq_len: tokens per sequence (default min(2048, model.max_seq_len)).
            zero_stage: 0-3 (ZeRO-1 shards optimizer state, -2 also gradients, -3 also weights, over dp).
            activation_recomputation: "selective" | "full" | "none" (True -> "full", False -> "none").
            sequence_parallel: Megatron sequence parallelism (activations / tp) when tp > 1.
            overlap_comm: hide up to ``overlap_efficiency`` of the DP gradient sync behind backward.
            overlap_efficiency: fraction hidden when overlapping (default efficiency.overlap, 0.85).
            v_stages: interleaved virtual stages per pipeline rank (v).
            efficiency: None (defaults.TRAINING), a float compute efficiency, or a TrainingEfficiency.
            tokens: training tokens, to report ``time_to_train``.
            strict: raise InfeasibleError instead of returning feasible=False.
            grad_precision: dtype of the gradient buffers and of the data-parallel gradient
                reduction. Default: Megatron-LM's, fp32 (``accumulate_allreduce_grads_in_fp32``, forced
                on with bf16) except fp16 training, whose loss-scaled gradients stay fp16 (Megatron's
                fp16 optimizer; DeepSpeed's 16 B/param accounting), and fp32 training.
            master_precision: dtype of the optimizer's master copy of the weights (default fp32, as
                Megatron-LM and DeepSpeed keep it); none is kept when the weights are already that
                wide. Adam's moments are fp32. Default state per parameter with bf16: 2 + 4 + 4 + 8 =
                18 B (Megatron-LM), with fp16: 2 + 2 + 4 + 8 = 16 B.
            cp_size: context-parallel degree: each sequence split over cp ranks (cp | N/(tp*pp)).
            cp_variant: "ring" (K/V blocks passed around the ring behind the attention, Megatron-Core)
                or "all-gather" (K/V all-gathered before the attention, Llama 3).
            schedule: pipeline schedule, one of "gpipe", "1f1b", "interleaved", "zb-h1", "zb-v",
                "dualpipe" (default: "interleaved" when v_stages > 1, else "1f1b").
            fp8: FP8 GEMMs (linear layers and experts) at the accelerator's fp8 peak; the attention
                core, the LM head and everything else at ``precision`` (Transformer Engine, DeepSeek-V3);
                the linear layers' saved inputs are held in FP8.
            tp_overlap: overlap the tensor-parallel (sequence-parallel) all-gathers and reduce-scatters
                with the GEMMs they feed, as Megatron-Core's ``--tp-comm-overlap`` does (needs
                sequence_parallel); the exposed part is ``tp_exposed_latency``.
        """
        return DistributedResult(**_step(locals())[0])

    def solve_corners(self, corners: Any, /, *args: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
        """(nominal, fast, slow): ``solve(*args, **kwargs)`` and the same at the two corners ``corners(nominal)``
        gives (None: no corner): its efficiency at the ends of its ranges, where the caller left it out
        (``band_arguments``, mlsysim_uncertainty.bands.corner_moves): the batch, micro-batches and sequence are
        checked and the step's work (:func:`_work`) done once; each corner's layout is the nominal layout's
        at the corner's efficiency (:func:`_corner_group`: made once, its efficiency object the same one on
        every banded call) and times that work (:func:`_corner`), unbuilt (``Pending``: the fields it moves),
        built on first use."""
        from mlsysim_uncertainty.bands import Pending, bound_arguments

        a = bound_arguments(DistributedModel.solve, args, kwargs)
        if a is None:  # Python refuses the call: solve() says why
            return self.solve(*args, **kwargs), None, None
        fields, batch, work, g = _step(a)
        nominal = DistributedResult(**fields)
        over = corners(nominal)
        if over is None:
            return nominal, None, None
        fast, slow = (_corner(_corner_group(g, a, o["efficiency"]), work, batch, fields, Pending) for o in over)
        return nominal, fast, slow

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): the batch arguments and the layout's integer
        degrees (tp, pp, cp, ep, v_stages, zero_stage) as arrays. Each distinct layout goes through
        solve()'s checks once (:func:`_prepare`); the points of the layouts that share a schedule and a
        context and expert degree go through :func:`_evaluate` in one call, the layouts' values stacked
        (:mod:`.layouts`). One MicrobatchWarning per block (for its first fractional point); with
        ``strict`` the first infeasible point raises."""
        a = args
        prepare = _prepared if a["efficiency"] is None or type(a["efficiency"]) in _FROZEN_EFFICIENCY else _prepare
        errors = PointErrors(n)
        layouts, combo = LAY.distinct(vectors, _LAYOUT_VECTOR, n)
        groups: list[Any] = []
        for values in layouts:
            kw = {**a, **values}
            try:
                groups.append(prepare(*(kw[k] for k in _PREPARE_ARGS)))
            except InvalidInputError as exc:  # solve() raises it for every point of this layout
                groups.append(str(exc))
        failed = np.array([isinstance(g, str) for g in groups])[combo]
        errors.messages[failed] = LAY.objects(groups)[combo[failed]]
        errors.ok &= ~failed
        made = [g for g in groups if not isinstance(g, str)]
        if not made:
            return {"valid": errors.ok, "error": errors.messages}
        for text in dict.fromkeys(g.warning for g in made if g.warning):
            warnings.warn(text, TensorParallelAcrossNodesWarning, stacklevel=2)
        first = made[0]
        d = np.array([1 if isinstance(g, str) else g.d for g in groups])[combo]
        B = checked(errors, "batch_size", vectors, a, _whole_batch)
        errors.check(
            (B < d) | (B % d != 0),
            np.column_stack([np.broadcast_to(B, n), combo]),
            lambda i: _batch(_point(vectors, a, "batch_size", i), groups[combo[i]]),
        )
        m = checked(errors, "microbatch_count", vectors, a, _microbatches)
        S = checked(errors, "seq_len", vectors, a, lambda x: _seq(x, first))
        ok = errors.ok
        # the expert all-to-all's form (its forwarding copies and links, a tuple) branches too
        branch = [None if isinstance(g, str) else (g.sched, g.cp, g.e, g.ep_forward) for g in groups]
        kinds = {k: i for i, k in enumerate(dict.fromkeys(k for k in branch if k is not None))}
        kind = np.array([-1 if k is None else kinds[k] for k in branch])[combo]
        f: dict[str, Any] = {}
        for k in kinds.values():
            rows = np.flatnonzero(ok & (kind == k))
            if len(rows):
                G = LAY.stack(groups, combo[rows])
                LAY.scatter(f, _evaluate(G, LAY.take(B, rows), LAY.take(m, rows), LAY.take(S, rows)), rows, n)
        if not f:
            return {"valid": ok, "error": errors.messages}
        local, mb, m = f["local_batch_size"], f["micro_batch_size"], np.broadcast_to(m, n)
        fractional = ok & ((local < m) | (local % m != 0))
        notes = LAY.objects([() if isinstance(g, str) else g.notes for g in groups])[combo]
        if fractional.any():
            i = int(np.argmax(fractional))
            warnings.warn(_fractional_warning(int(local[i]), int(m[i]), float(mb[i])), stacklevel=2)
            notes[fractional] = LAY.per_pair(
                combo[fractional],
                mb[fractional],
                lambda j, x: (f"fractional micro-batch: {x:g} sequences",) + groups[j].notes,
            )
        share = np.broadcast_to(f["bubble_fraction"], n)
        for i in np.flatnonzero(ok & (share > BUBBLE_NOTE)).tolist():  # rare: pp > 1 with few micro-batches
            notes[i] = _bubble_note(float(share[i]), int(m[i])) + notes[i]
        reason = np.full(n, "", dtype=object)
        infeasible = ok & ~f["feasible"]
        if infeasible.any():
            total, acts = f["memory_per_gpu"], f["activation_memory"]
            if first.strict:
                i = int(np.argmax(infeasible))
                g = groups[combo[i]]
                raise InfeasibleError(
                    f"DistributedModel: {_reason(g, float(total[i]), float(acts[i]))}",
                    required=float(total[i]),
                    available=g.cap,
                )
            reason[infeasible] = LAY.per_pair(
                combo[infeasible], acts[infeasible], lambda j, x: _reason(groups[j], groups[j].state_memory + x, x)
            )
        for name in ("global_batch_size", "local_batch_size", "microbatch_count", "seq_len"):
            if isinstance(f[name], np.ndarray):
                f[name] = np.where(ok, f[name], 0).astype(np.int64)
        for name, value in first.fields.items():
            f[name] = (
                vectors[name]
                if name in vectors
                else LAY.column(_of(groups, "fields", name), combo)
                if name in _LAYOUT_FIELDS
                else value
            )
        f.update(
            parallelism=LAY.objects(_of(groups, "parallelism"))[combo],
            infeasible_reason=reason,
            notes=notes,
            valid=ok,
            error=errors.messages,
        )
        return f


def _group(a: dict[str, Any]) -> _Group:
    """The checked layout of solve()'s arguments ``a`` (by name), cached where its efficiency cannot
    change between calls."""
    a["model"], a["fleet"] = V.named("model", a["model"], "models"), V.named("fleet", a["fleet"], "clusters")
    # an efficiency object of the caller's own class could change between calls: not cached
    prepare = _prepared if a["efficiency"] is None or type(a["efficiency"]) in _FROZEN_EFFICIENCY else _prepare
    return prepare(*(a[k] for k in _PREPARE_ARGS))


#: corner layouts kept per nominal layout (``_Group.corners``): a banded call makes two; more: a long run of
#: banded calls whose calibrated ranges differ
_CORNERS_KEPT = 8


def _corner_group(g: _Group, a: dict[str, Any], efficiency: TrainingEfficiency) -> _Group:
    """The layout of a band corner: the nominal layout ``g`` of solve()'s arguments ``a`` (checked by
    :func:`_group`) at the corner's ``efficiency`` (the default efficiency evolved: a caller's own is held,
    with no corner), through the preparation cache, kept on ``g`` by the efficiency object's identity (the
    entry keeps it alive, so an id is not reused): a repeated banded call finds it there."""
    kept = g.corners.get(id(efficiency))
    if kept is not None and kept[0] is efficiency:
        return kept[1]
    made = _prepared(*(efficiency if k == "efficiency" else a[k] for k in _PREPARE_ARGS))
    if len(g.corners) >= _CORNERS_KEPT:
        g.corners.clear()
    g.corners[id(efficiency)] = (efficiency, made)
    return made


def _corner(g: _Group, work: dict[str, Any], batch: tuple[int, int, int], nominal: dict[str, Any], pending: Any) -> Any:
    """A band corner's result, unbuilt (``pending``: ``Pending``): the nominal's ``work`` timed on the
    corner's layout ``g``, the rest (notes, memory, layout fields: no efficiency moves them) the nominal's."""
    return pending(DistributedResult, dict(_timed(g, work, *batch), efficiency=g.fields["efficiency"]), nominal)


def _step(a: dict[str, Any]) -> tuple[dict[str, Any], tuple[int, int, int], dict[str, Any], _Group]:
    """solve() on its arguments ``a`` (by name): (the DistributedResult's fields, the checked global
    batch, micro-batch count and sequence length, the step's :func:`_work`, the layout). Warns as solve()
    does (at its caller)."""
    g = _group(a)
    if g.warning:
        warnings.warn(g.warning, TensorParallelAcrossNodesWarning, stacklevel=3)
    batch = _batch(a["batch_size"], g), _microbatches(a["microbatch_count"]), _seq(a["seq_len"], g)
    work = _work(g, *batch)
    f = _fields(g, work, *batch)
    local, m, mb = f["local_batch_size"], batch[1], f["micro_batch_size"]
    if local < m or local % m:
        warnings.warn(_fractional_warning(local, m, mb), stacklevel=3)
    if f["infeasible_reason"] and g.strict:
        raise InfeasibleError(
            f"DistributedModel: {f['infeasible_reason']}", required=f["memory_per_gpu"], available=g.cap
        )
    return f, batch, work, g


def _fields(g: _Group, work: dict[str, Any], B: int, m: int, S: int) -> dict[str, Any]:
    """The DistributedResult's fields for layout ``g`` doing ``work`` (:func:`_work`) at checked
    global batch ``B``, ``m`` micro-batches and sequence length ``S``."""
    f = _timed(g, work, B, m, S)
    local, mb = f["local_batch_size"], f["micro_batch_size"]
    notes = g.notes
    if local < m or local % m:
        notes = (f"fractional micro-batch: {mb:g} sequences",) + notes
    notes = _bubble_note(f["bubble_fraction"], m) + notes
    reason = "" if f["feasible"] else _reason(g, f["memory_per_gpu"], f["activation_memory"])
    f.update(g.fields, parallelism=dict(g.parallelism), infeasible_reason=reason, notes=notes)
    return f


def _of(groups: list[Any], slot: str, key: str | None = None) -> list[Any]:
    """Each prepared layout's ``slot`` (``[key]`` of it), None for a layout that failed its checks."""
    return [None if isinstance(g, str) else getattr(g, slot) if key is None else getattr(g, slot)[key] for g in groups]


def _point(vectors: dict[str, np.ndarray], args: dict[str, Any], name: str, i: int) -> Any:
    """Argument ``name`` of point ``i`` as solve() gets it."""
    return vectors[name][i].item() if name in vectors else args[name]


def _per_value(values: np.ndarray, fn: Any) -> np.ndarray:
    """``fn(v)`` for each of ``values`` (an object array), computed once per distinct value."""
    distinct, inverse = np.unique(values, return_inverse=True)
    out = np.empty(len(distinct), dtype=object)
    out[:] = [fn(v) for v in distinct.tolist()]
    return out[inverse.ravel()]


#: The pipeline bubble's share of the step above which a note says it (a quarter of the step idle) and
#: :data:`BUBBLE_TARGET`, the share the note's suggested micro-batch count brings it under
BUBBLE_NOTE, BUBBLE_TARGET = 0.25, 0.10


def _bubble_note(share: float, m: int) -> tuple[str, ...]:
    """A note when the bubble's share of the pipelined step, u/(m + u) (:func:`.kernels.pipeline_step_time`:
    t_mb (m + u), u the schedule's idle micro-batch times, (p-1)/v for 1F1B and interleaved: Narayanan et al.
    2021, Sec. 2.2.1-2.2.2), exceeds BUBBLE_NOTE: u = share m / (1 - share), and the fewest micro-batches
    whose bubble is under BUBBLE_TARGET, u/(m' + u) < t <=> m' > u (1 - t)/t. No result value changes."""
    if not share > BUBBLE_NOTE:
        return ()
    u = share * m / (1.0 - share)
    need = math.floor(u * (1.0 - BUBBLE_TARGET) / BUBBLE_TARGET + 1e-9) + 1
    return (
        f"pipeline bubble: {share:.0%} of the step ({u:g} idle micro-batch times over m + {u:g}, m = {m}); "
        f"{need} micro-batches would bring it under {BUBBLE_TARGET:.0%} ({u / (need + u):.1%})",
    )


def _fractional_warning(local: int, m: int, mb: float) -> MicrobatchWarning:
    """The warning, with the command line's refusal (``refusal``: ``mlsysim train`` refuses, as Megatron-LM does)."""
    w = MicrobatchWarning(
        f"{local} sequences per data-parallel rank in {m} micro-batches gives micro-batches of {mb:g} "
        f"sequences; priced as fractional micro-batches (same total work; bubble uses m={m}). "
        f"Use microbatch_count dividing {local} for a realizable schedule."
    )
    small = [k for k in range(1, min(local, 4096) + 1) if local % k == 0]
    shown = ", ".join(map(str, small[:12])) + (", ..." if len(small) > 12 or local > 4096 else "")
    w.refusal = (
        f"{m} micro-batches do not divide the {local} sequences of each data-parallel rank (batch_size / dp): "
        f"a divisor of {local} ({shown})"
    )
    return w


def _reason(g: _Group, total: float, acts: float) -> str:
    """Why a configuration does not fit: memory per GPU against the accelerator's HBM."""
    cap = g.cap
    return (
        f"needs {total / 1e9:.1f} GB per GPU (weights {g.w_mem / 1e9:.1f} + gradients {g.g_mem / 1e9:.1f} "
        f"+ optimizer {g.o_mem / 1e9:.1f} + activations {acts / 1e9:.1f}) but {g.acc_name} has "
        f"{cap / 1e9:.1f} GB: {total / cap:.2f}x, over by {(total - cap) / 1e9:.1f} GB"
    )


def _dtype_bytes(name: str, dtype: Any) -> float:
    """Bytes per element of a gradient or master-weight dtype (16-bit or wider)."""
    b = PRECISION_BYTES.get(dtype) if type(dtype) is str else None
    if b is None or b < 2.0:
        raise InvalidInputError(name, dtype, "one of " + ", ".join(k for k, v in PRECISION_BYTES.items() if v >= 2.0))
    return b


def _schedule(schedule: Any, v: int) -> tuple[str, int]:
    """The pipeline schedule and its chunks per stage: the default is today's (interleaved when
    v_stages > 1, else 1F1B); "interleaved" needs v_stages >= 2, "zb-v" runs two chunks, the
    others one."""
    if schedule is None:
        return ("interleaved" if v > 1 else "1f1b"), v
    if type(schedule) is not str or schedule not in SCH.SCHEDULES:
        raise InvalidInputError("schedule", schedule, "one of " + ", ".join(repr(x) for x in SCH.SCHEDULES))
    chunks = SCH.CHUNKS[schedule]
    if chunks is None:
        if v < 2:
            raise InvalidInputError("v_stages", v, "an integer >= 2 for schedule='interleaved' (chunks per stage)")
        return schedule, v
    if v != 1 and v != chunks:
        raise InvalidInputError(
            "v_stages", v, f"1 (or {chunks}) for schedule={schedule!r}, which runs {chunks} chunk(s) per stage"
        )
    return schedule, chunks


def _whole_batch(batch_size: Any) -> int:
    """The global batch: a positive integer."""
    B = batch_size
    return B if type(B) is int and 1 <= B <= MAX_COUNT else integer("batch_size", B)


def _batch(batch_size: Any, g: _Group) -> int:
    """The global batch: an integer multiple of dp."""
    B = _whole_batch(batch_size)
    d = g.d
    if B < d or B % d:
        raise InvalidInputError(
            "batch_size",
            B,
            f"a multiple of dp={d} (N={g.N} / (tp*cp*pp={g.t * g.cp * g.p})), e.g. {d}, {2 * d}, {4 * d}",
        )
    return B


def _microbatches(microbatch_count: Any) -> int:
    m = microbatch_count
    return m if type(m) is int and 1 <= m <= MAX_COUNT else integer("microbatch_count", m)


def _seq(seq_len: Any, g: _Group) -> int:
    """Tokens per sequence: the argument, else min(2048, max_seq_len); 1 for a non-transformer, which takes no
    seq_len (one given was ignored: a ResNet-50 step the same at any seq_len)."""
    if not g.transformer:
        if seq_len is not None:
            raise InvalidInputError(
                "seq_len",
                seq_len,
                "None: the model is not a transformer (no sequence): its catalog entry gives work per sample, so a "
                "seq_len would be ignored",
            )
        return 1
    S = seq_len if seq_len is not None else g.default_seq
    if type(S) is not int or not 1 <= S <= g.max_seq:
        # beyond max_seq_len the model has no positions (GPT-2's 1024 learned ones), as roofline and serve refuse
        S = integer("seq_len", S, 1, g.max_seq)
    return S


class _Group:
    """Checked arguments of one configuration but batch_size, microbatch_count and seq_len: the
    layout, links, per-layer work and model-state memory (SI floats)."""

    __slots__ = (
        "fp8",
        "tp_ov",
        "cp",
        "cpv",
        "sched",
        "gemm_hw",
        "peak16",
        "peak_gemm",
        "bw_cp",
        "lat_cp",
        "kv_dim",
        "widths",
        "t",
        "p",
        "e",
        "v",
        "rc",
        "sp",
        "ov",
        "ov_frac",
        "eta_c",
        "peak",
        "N",
        "d",
        "transformer",
        "b_act",
        "P",
        "tokens",
        "strict",
        "bw_tp",
        "lat_tp",
        "bw_pp",
        "lat_pp",
        "bw_ep",
        "lat_ep",
        "L",
        "h",
        "a",
        "V",
        "head_params",
        "layer_params",
        "attn_dim",
        "P_exp",
        "k",
        "Ls",
        "Ls_moe",
        "ep_forward",
        "n_coll",
        "default_seq",
        "max_seq",
        "fwd",
        "acts_per_sample",
        "dp_c",
        "dp_ag",
        "z3_mb",
        "w_mem",
        "g_mem",
        "o_mem",
        "state_memory",
        "t_opt",
        "cap",
        "acc_name",
        "notes",
        "warning",
        "parallelism",
        "fields",
        "corners",
    )
    fp8: Any
    tp_ov: Any
    cp: Any
    cpv: Any
    sched: Any
    gemm_hw: Any
    peak16: Any
    peak_gemm: Any
    bw_cp: Any
    lat_cp: Any
    kv_dim: Any
    t: Any
    p: Any
    e: Any
    v: Any
    rc: Any
    sp: Any
    ov: Any
    ov_frac: Any
    eta_c: Any
    peak: Any
    N: Any
    d: Any
    transformer: Any
    b_act: Any
    P: Any
    tokens: Any
    strict: Any
    bw_tp: Any
    lat_tp: Any
    bw_pp: Any
    lat_pp: Any
    bw_ep: Any
    lat_ep: Any
    L: Any
    h: Any
    a: Any
    V: Any
    widths: Any
    head_params: Any
    layer_params: Any
    attn_dim: Any
    P_exp: Any
    k: Any
    Ls: Any
    Ls_moe: Any
    ep_forward: Any
    n_coll: Any
    default_seq: Any
    max_seq: Any
    fwd: Any
    acts_per_sample: Any
    dp_c: Any
    z3_mb: Any
    dp_ag: Any
    w_mem: Any
    g_mem: Any
    o_mem: Any
    state_memory: Any
    t_opt: Any
    cap: Any
    acc_name: Any
    notes: Any
    warning: Any
    parallelism: Any
    fields: Any
    corners: dict[int, tuple[Any, _Group]]  #: band corner layouts made from this one (:func:`_corner_group`)


def _prepare(
    model: Any,
    fleet: Any,
    tp_size: Any,
    pp_size: Any,
    ep_size: Any,
    precision: Any,
    zero_stage: Any,
    activation_recomputation: Any,
    sequence_parallel: Any,
    overlap_comm: Any,
    overlap_efficiency: Any,
    v_stages: Any,
    efficiency: Any,
    tokens: Any,
    strict: Any,
    grad_precision: Any = None,
    master_precision: Any = "fp32",
    cp_size: Any = 1,
    cp_variant: Any = "ring",
    schedule: Any = None,
    fp8: Any = False,
    tp_overlap: Any = False,
) -> _Group:
    """Check every argument but batch_size, microbatch_count and seq_len (errors name argument, value
    and valid range); ``warning``: the TensorParallelAcrossNodesWarning text, if any (the caller
    warns: a cached preparation warns on every call)."""
    if not isinstance(model, Workload):
        instance("model", model, Workload, "a Workload (e.g. mlsysim.Models.Language.Llama3_70B)")
    if not isinstance(fleet, Fleet):
        instance("fleet", fleet, Fleet, "a Fleet (e.g. mlsysim.Systems.Clusters.Frontier_8K)")
    G = _Group()
    G.corners = {}
    G.t = t = tp_size if type(tp_size) is int and 1 <= tp_size <= MAX_COUNT else integer("tp_size", tp_size)
    G.p = p = pp_size if type(pp_size) is int and 1 <= pp_size <= MAX_COUNT else integer("pp_size", pp_size)
    G.e = e = ep_size if type(ep_size) is int and 1 <= ep_size <= MAX_COUNT else integer("ep_size", ep_size)
    G.v = v = v_stages if type(v_stages) is int and 1 <= v_stages <= MAX_COUNT else integer("v_stages", v_stages)
    G.cp = cp = cp_size if type(cp_size) is int and 1 <= cp_size <= MAX_COUNT else integer("cp_size", cp_size)
    if type(cp_variant) is not str or cp_variant not in CP_VARIANTS:
        raise InvalidInputError("cp_variant", cp_variant, "one of 'ring', 'all-gather'")
    G.cpv = cp_variant
    G.sched, v = _schedule(schedule, v)
    G.v = v
    G.fp8 = fp8 = fp8 if fp8 is True or fp8 is False else _bool("fp8", fp8)
    G.tp_ov = tp_overlap if tp_overlap is True or tp_overlap is False else _bool("tp_overlap", tp_overlap)
    if type(zero_stage) is not int or not 0 <= zero_stage <= 3:
        raise InvalidInputError("zero_stage", zero_stage, "one of 0, 1, 2, 3 (an int)")
    G.rc = rc = recompute_mode(activation_recomputation)
    G.sp = (
        sequence_parallel
        if sequence_parallel is True or sequence_parallel is False
        else _bool("sequence_parallel", sequence_parallel)
    )
    if G.tp_ov and not G.sp:
        raise InvalidInputError(
            "tp_overlap",
            True,
            "False with sequence_parallel=False (the overlap decomposes the sequence-parallel all-gathers and "
            "reduce-scatters: Megatron-Core's --tp-comm-overlap requires --sequence-parallel)",
        )
    G.ov = overlap_comm if overlap_comm is True or overlap_comm is False else _bool("overlap_comm", overlap_comm)
    if strict is not True and strict is not False:
        _bool("strict", strict)
    G.strict = strict
    eff = _efficiency(efficiency)
    G.ov_frac = (
        eff.overlap if overlap_efficiency is None else number("overlap_efficiency", overlap_efficiency, 0.0, 1.0)
    )
    acc = fleet.node.accelerator
    precision, note = acc.precision_or_default(precision)
    notes: tuple = (note,) if note else ()
    b = PRECISION_BYTES[precision]
    G.peak = G.peak16 = G.peak_gemm = acc.compute.si.peaks[precision]
    if fp8:
        G.peak_gemm = acc.compute.si.peaks.get("fp8")
        if G.peak_gemm is None:
            raise InvalidInputError("fp8", True, f"False: {acc.name} has no fp8 peak in the catalog")
        notes += ("fp8 GEMMs: per-tensor scaling (amax) work not counted",)
    G.tokens = None if tokens is None else number("tokens", tokens, 0.0, math.inf, low_open=True)

    # ------------------------------------------------------------ layout
    g = fleet.node.accelerators_per_node
    G.N = N = fleet.count * g
    tpp = t * cp * p  # ranks of one data-parallel replica: tp innermost, then cp, then pp
    if N % tpp:
        raise InvalidInputError(
            "tp_size*cp_size*pp_size" if cp > 1 else "tp_size*pp_size",
            tpp,
            f"a divisor of the fleet's {N} accelerators (tp_size={t}, cp_size={cp}, pp_size={p})",
        )
    G.d = d = N // tpp
    G.transformer = transformer = isinstance(model, TransformerWorkload)
    if e > 1:
        if not (transformer and model.is_moe):
            raise InvalidInputError(
                "ep_size", e, "1 for a dense model (expert parallelism needs a MoE model with experts > 1)"
            )
        if d % e:
            raise InvalidInputError(
                "ep_size",
                e,
                f"a divisor of dp={d} (expert parallelism reuses data-parallel ranks: tp*pp*ep must divide N={N})",
            )
        if model.experts % e:
            raise InvalidInputError("ep_size", e, f"a divisor of the model's {model.experts} experts")
    if not transformer and (t > 1 or p > 1 or cp > 1):
        name, value = ("tp_size", t) if t > 1 else ("pp_size", p) if p > 1 else ("cp_size", cp)
        raise InvalidInputError(name, value, "1 for a non-transformer workload (only data parallelism is modelled)")

    # links (SI floats, with the network efficiency)
    node = fleet.node
    eta_n = eff.network
    if g > 1:
        bw_intra = node.si.intra_bandwidth
        if bw_intra is None:
            raise InvalidInputError(
                "fleet.node.intra_node", None, f"an intra-node link (NetworkFabric) for a node of {g} accelerators"
            )
        bw_intra *= eta_n
    else:
        bw_intra = math.inf
    lat_intra = 0.0
    if g > 1:
        lat_intra, note = link_latency(node.intra_node, f"{node.name} intra-node link")
        notes += (note,) if note else ()
    if fleet.count > 1:
        fab = fleet.fabric
        if fab is None or node.nics_per_node < 1:
            raise InvalidInputError(
                "fleet.fabric", fab, f"a NetworkFabric and nics_per_node >= 1 for a fleet of {fleet.count} nodes"
            )
        bw_nic = fab.si.bandwidth * node.nics_per_node / g * eta_n
        lat_inter, note = link_latency(fab, f"{fab.name} fabric")
        notes += (note,) if note else ()
    else:
        bw_nic, lat_inter = bw_intra, lat_intra
    # gradient peers (same tp and pp index, any cp and dp index) on one node
    if tpp <= g and g % tpp == 0:
        local_dp = g // tpp * cp
    elif t * cp <= g:
        local_dp = cp
    else:
        local_dp = 1
    if local_dp > d * cp:
        local_dp = d * cp
    G.warning = None
    if t > g:
        G.warning = (
            f"tp_size={t} is larger than a node ({g} accelerators): tensor-parallel all-reduces cross "
            f"the fabric ({bw_nic / eta_n / 1e9:g} GB/s per GPU instead of the intra-node link)"
        )
        G.bw_tp, G.lat_tp = bw_nic, lat_inter
        notes += ("tensor parallelism priced on the fabric",)
    else:
        G.bw_tp, G.lat_tp = bw_intra, lat_intra
    # context-parallel peers come right after the tensor-parallel ones: inside the node when t*cp fits
    G.bw_cp, G.lat_cp = (bw_intra, lat_intra) if t * cp <= g else (bw_nic, lat_inter)
    G.bw_pp, G.lat_pp = (bw_intra, lat_intra) if tpp <= g else (bw_nic, lat_inter)
    G.bw_ep, G.lat_ep = (bw_intra, lat_intra) if tpp * e <= g else (bw_nic, lat_inter)
    G.ep_forward = None  # (copies up and out, nodes, ranks per node, links) with node-limited routing

    # bytes per element: weights and activations at least 16-bit; gradient and master dtypes explicit
    b_w = b if b > 2.0 else 2.0
    if grad_precision is None:
        grad_precision = default_grad_precision(precision)
    _, b_g, b_opt = adam_state_bytes(
        b_w, _dtype_bytes("grad_precision", grad_precision), _dtype_bytes("master_precision", master_precision)
    )
    G.b_act = b_w
    G.eta_c = eff.compute
    G.P = P = float(model.parameters)

    if transformer:
        si = model.si
        G.default_seq = (
            DEFAULT_SEQ_LEN if model.max_seq_len is None or model.max_seq_len > DEFAULT_SEQ_LEN else model.max_seq_len
        )
        G.max_seq = MAX_COUNT if model.max_seq_len is None else min(int(model.max_seq_len), MAX_COUNT)
        G.L, G.h, G.a = L, _, a = model.layers, model.hidden_dim, model.heads
        if p > L:
            raise InvalidInputError("pp_size", p, f"at most the model's {L} layers")
        if p * v > L:
            raise InvalidInputError("v_stages", v, f"at most layers/pp_size = {L // p} (one layer per chunk)")
        if a % t:
            raise InvalidInputError("tp_size", t, f"a divisor of the model's {a} attention heads")
        G.kv_dim = 2.0 * si.kv_heads * si.head_dim  # K and V elements per token per layer
        G.V = V = model.vocab_size or 0
        G.widths, width_notes = transformer_activation_widths(model)
        notes += model.omissions() + width_notes
        if model.stack == "encoder-decoder":
            notes += (
                f"{model.name}: encoder-decoder priced as one stack of {L} layers holding both stacks' parameters "
                "(every token through both: FLOPs and time per token about 2x; FLOP/s and MFU are not affected)",
            )
        head_params = float(V * model.hidden_dim)
        layer_params = (si.matmul_parameters - head_params) / L
        if layer_params <= 0:
            layer_params = si.matmul_parameters / L
            head_params = 0.0
        G.head_params, G.layer_params, G.attn_dim = head_params, layer_params, si.attn_dim
        if model.is_moe and model.active_parameters is not None and model.experts > model.active_experts:
            G.P_exp = (P - si.active_parameters) * model.experts / (model.experts - model.active_experts)
            G.k = model.active_experts
        else:
            G.P_exp, G.k = 0.0, (model.active_experts or 1)
        G.Ls = K.stage_layers(L, p, v)
        # MoE layers of the busiest stage, spread evenly over the stages (DeepSeek-V3: 58 of 61, 3 dense)
        G.Ls_moe = G.Ls * (model.moe_layers or L) / L
        M = model.routing_node_limit
        if e > 1 and M is not None and tpp * e > g:  # node-limited routing over an expert group of nodes
            local = max(1, min(e, g // tpp))  # group ranks per node (stride tp*cp*pp)
            nodes = e / local
            up, out = dispatch_copies(float(G.k), float(e), float(local), M)
            G.ep_forward = (up, out, nodes, float(local), bw_intra, lat_intra, bw_nic, lat_inter)
            notes += (
                f"node-limited routing: each token's {G.k} experts on at most {M} of the expert group's {nodes:g} "
                f"nodes, {out:.3g} copies per token over the fabric and {up:.3g} forwarded inside a node "
                f"(routing_node_limit of {model.name}; DeepSeek-V3 report sec. 3.2.2)",
            )
        if G.sched == "dualpipe" and p % 2:
            raise InvalidInputError("pp_size", p, "an even number for schedule='dualpipe' (two directions)")
        G.n_coll = K.COLLECTIVES_PER_LAYER + K.RECOMPUTE_EXTRA_COLLECTIVES[rc]
        # GEMM FLOPs per token per layer (fp8 with fp8=True): 6P, 8P with full recomputation
        G.gemm_hw = (8.0 if rc == "full" else 6.0) * layer_params
    else:
        G.fwd = model.si.flops_per_sample
        if G.fwd is None:
            raise InvalidInputError("model.flops_per_sample", None, "forward FLOPs per sample for training")
        G.P_exp, G.k = 0.0, 1
        G.acts_per_sample = model.activations_per_sample
        if G.acts_per_sample is None:
            notes += ("activation memory not counted: the workload has no activations_per_sample",)
    G.notes = notes

    # ------------------------------------------------------------ what does not depend on the batch
    dense, expert = (P - G.P_exp) / tpp, G.P_exp / (e * tpp)
    dcp = d * cp  # context-parallel ranks hold the same weights: gradients reduce and ZeRO shards over dp x cp

    def allreduce(bytes_per_param: float) -> float:
        return (
            K.dp_gradient_sync_time(
                dense * bytes_per_param,
                expert * bytes_per_param,
                dcp,
                e,
                local_dp,
                bw_intra,
                lat_intra,
                bw_nic,
                lat_inter,
            )
            if dcp > 1
            else 0.0
        )

    G.dp_ag = 0.0  # all-gather of the updated weights (ZeRO-1/2), overlappable with the next forward
    if zero_stage >= 3:  # per micro-batch: weights gathered for forward and backward, gradients scattered
        G.dp_c, G.z3_mb = 0.0, K.zero3_microbatch_time(allreduce(b_w), allreduce(b_g))
    elif zero_stage >= 1:  # once per step: gradients reduce-scattered to their optimizer shard (gradient dtype),
        # updated weights all-gathered (weight dtype): an all-reduce's volume, split by dtype (ZeRO Sec. 7.2.1;
        # Megatron-LM distributed optimizer)
        G.dp_c, G.dp_ag, G.z3_mb = 0.5 * allreduce(b_g), 0.5 * allreduce(b_w), 0.0
    else:  # once per step: the accumulated gradients all-reduced in their dtype
        G.dp_c, G.z3_mb = allreduce(b_g), 0.0
    G.w_mem, G.g_mem, G.o_mem = K.model_state_bytes(P, G.P_exp, t, p, dcp, e, zero_stage, b_w, b_g, b_opt)
    copies = SCH.WEIGHT_COPIES.get(G.sched, 1.0)
    G.w_mem, G.g_mem = G.w_mem * copies, G.g_mem * copies
    G.state_memory = G.w_mem + G.g_mem + G.o_mem
    # the optimizer update on the parameters whose optimizer state this GPU holds (the ZeRO-1+ shard)
    G.t_opt = K.optimizer_update_time(
        G.o_mem / b_opt,
        K.optimizer_update_bytes(b_w, b_g, b_opt, b_opt > ADAM_MOMENT_BYTES),
        acc.si.bandwidth,
        MEMORY_STREAM,
    )
    G.cap = acc.si.capacity
    G.acc_name = acc.name
    G.parallelism = {"dp": d, "tp": t, "pp": p, "ep": e, "cp": cp}  # copied per result (a dict is mutable)
    G.fields = dict(
        precision=precision,
        zero_stage=zero_stage,
        grad_precision=grad_precision,
        master_precision=master_precision,
        state_bytes_per_param=b_w + b_g + b_opt,
        schedule=G.sched,
        cp_variant=G.cpv,
        fp8=fp8,
        tp_overlap=G.tp_ov,
        activation_recomputation=rc,
        total_accelerators=N,
        fleet=fleet,
        model=model,
        efficiency=eff,
        weights_memory=G.w_mem,
        gradients_memory=G.g_mem,
        optimizer_memory=G.o_mem,
        memory_capacity=G.cap,
    )
    return G


_prepared = PreparedCache(_prepare)
_FROZEN_EFFICIENCY = (float, int, TrainingEfficiency)


def _parallel(degree: Any) -> bool:
    """degree > 1; for an array of degrees (a sweep of layouts) whether any is: every term this guards is
    0 at degree 1 (a ring of one rank moves nothing, one stage has no bubble nor sends, and sequence
    parallelism changes nothing at tp 1), so the branch serves all points."""
    return degree > 1 if not isinstance(degree, np.ndarray) else bool((degree > 1).any())


def _evaluate(G: _Group, B: Any, m: Any, S: Any) -> dict[str, Any]:
    """Every field that depends on the global batch ``B``, the micro-batch count ``m`` and the
    sequence length ``S``: numbers (solve()) or arrays (a sweep), one code path: the step's work
    (:func:`_work`) timed at the layout's efficiencies (:func:`_timed`)."""
    return _timed(G, _work(G, B, m, S), B, m, S)


def _work(G: _Group, B: Any, m: Any, S: Any) -> dict[str, Any]:
    """What no efficiency moves: batch split, FLOPs, activation memory, bubble units, the activation
    message of one micro-batch (``act_msg``) and the seconds of one micro-batch's compute at peak on
    one tensor-parallel rank (``comp``; a non-transformer: on one GPU)."""
    t, p, v, b_act = G.t, G.p, G.v, G.b_act
    local = B // G.d
    mb = local / m
    if G.transformer:
        L, h, f_head = G.L, G.h, 6.0 * G.head_params
        f_model, f_hw = K.layer_flops_per_token(G.layer_params, S, G.attn_dim, G.rc)
        tokens_step = B * 1.0 * S
        model_flops = tokens_step * (L * f_model + f_head)
        hw_flops = tokens_step * (L * f_hw + f_head)
        Ls, cp = G.Ls, G.cp
        tok_mb = mb * S / cp  # tokens of one micro-batch on one rank
        attn_hw = f_hw - G.gemm_hw
        layer_s = G.gemm_hw / G.peak_gemm + attn_hw / G.peak16  # seconds per token per layer at peak
        comp = tok_mb * (Ls * layer_s + f_head / p / G.peak16)
        seconds_of_work = tokens_step * (L * layer_s + f_head / G.peak16)
        act_msg = tok_mb * h * b_act
        sp = G.sp if _parallel(t) else True
        per_layer = K.activation_bytes_per_layer(S, mb, h, G.a, t, sp, G.rc, b_act / 2.0, G.fp8, G.widths) / cp
        out_bytes = K.output_layer_bytes(S, mb, h, G.V, t * cp, b_act / 2.0)
        acts = K.activation_bytes_per_gpu(per_layer, Ls, SCH.in_flight(G.sched, m, p, v), p, out_bytes)
        if _parallel(p):
            F, Bw, W = SCH.pass_shares(G.layer_params, S, G.attn_dim, G.rc)
            units = SCH.bubble_units(G.sched, p, v, F, Bw, W)
        else:
            units = 0.0
    else:
        fwd = G.fwd
        tokens_step = tok_mb = act_msg = None
        model_flops = 3.0 * fwd * B
        hw_flops = model_flops + (fwd * B if G.rc == "full" else 0.0)
        comp = mb * (hw_flops / B)
        seconds_of_work = hw_flops / G.peak
        units = 0.0
        acts = 0.0 if G.acts_per_sample is None else G.acts_per_sample * b_act * mb
    return dict(
        local=local,
        mb=mb,
        tokens_step=tokens_step,
        model_flops=model_flops,
        hw_flops=hw_flops,
        tok_mb=tok_mb,
        comp=comp,
        seconds_of_work=seconds_of_work,
        act_msg=act_msg,
        acts=acts,
        units=units,
    )


def _timed(G: _Group, w: dict[str, Any], B: Any, m: Any, S: Any) -> dict[str, Any]:
    """The fields of the step of work ``w`` (:func:`_work`) at layout ``G``'s compute efficiency and
    link bandwidths (its network efficiency): compute, communication and its overlap, bubble."""
    t, p, v, e, N, peak, eta_c, b_act = G.t, G.p, G.v, G.e, G.N, G.peak, G.eta_c, G.b_act
    local, mb, tokens_step, model_flops, hw_flops = (
        w["local"],
        w["mb"],
        w["tokens_step"],
        w["model_flops"],
        w["hw_flops"],
    )
    seconds_of_work, acts, units = w["seconds_of_work"], w["acts"], w["units"]
    if G.transformer:
        Ls, cp, tok_mb, act_msg = G.Ls, G.cp, w["tok_mb"], w["act_msg"]
        rate = t * eta_c
        t_comp_mb = w["comp"] / rate
        if cp > 1:
            attn_fwd = tok_mb * 4.0 * S * G.attn_dim / (rate * G.peak16)
            moved, exposed = K.cp_kv_exchange_time(
                G.kv_dim * S * mb / t * b_act, cp, G.cpv, G.bw_cp, G.lat_cp, attn_fwd, 2.0 if G.rc == "full" else 1.0
            )
            t_cp_mb, t_cp_exp_mb = Ls * moved, Ls * exposed
        else:
            t_cp_mb = t_cp_exp_mb = 0.0
        t_tp_mb = Ls * G.n_coll * K.ring_allreduce_time(act_msg, t, G.bw_tp, G.lat_tp) if _parallel(t) else 0.0
        t_tp_exp_mb = (
            K.tp_overlap_exposed(t_tp_mb, tok_mb * Ls * G.gemm_hw / (G.peak_gemm * rate), t)
            if G.tp_ov and _parallel(t)
            else t_tp_mb
        )
        if e == 1:
            t_ep_mb = 0.0
        elif G.ep_forward is None:  # each copy straight to its expert's rank
            t_ep_mb = G.Ls_moe * G.n_coll * K.all_to_all_time(act_msg * G.k / (t if G.sp else 1), e, G.bw_ep, G.lat_ep)
        else:
            t_ep_mb = G.Ls_moe * G.n_coll * K.forwarded_all_to_all_time(act_msg / (t if G.sp else 1), *G.ep_forward)
        t_pp_mb = K.p2p_stage_time(act_msg / t, p, v, G.bw_pp, G.lat_pp) if _parallel(p) else 0.0
    else:
        t_comp_mb = w["comp"] / (peak * eta_c)
        t_tp_mb = t_tp_exp_mb = t_ep_mb = t_pp_mb = t_cp_mb = t_cp_exp_mb = 0.0

    # ------------------------------------------------------------ time
    if G.sched == "dualpipe":  # each chunk's all-to-alls and pipeline sends run behind the paired chunk's
        # compute (DeepSeek-AI 2024, Sec. 3.2.1: "both all-to-all and PP communication can be fully hidden")
        t_ep_exp_mb = K.overlapped(t_ep_mb, t_comp_mb, 1.0)
        t_pp_exp_mb = K.overlapped(t_pp_mb, t_comp_mb - (t_ep_mb - t_ep_exp_mb), 1.0)
    else:
        t_ep_exp_mb, t_pp_exp_mb = t_ep_mb, t_pp_mb
    t_mb = t_comp_mb + t_tp_exp_mb + t_ep_exp_mb + t_pp_exp_mb + t_cp_exp_mb
    compute = m * t_comp_mb
    tp_c, pp_c, ep_c, cp_c = m * t_tp_mb, m * t_pp_mb, m * t_ep_mb, m * t_cp_mb
    tp_exp, ep_exp, pp_exp, cp_exp = m * t_tp_exp_mb, m * t_ep_exp_mb, m * t_pp_exp_mb, m * t_cp_exp_mb
    bubble = SCH.idle_time(units, t_mb)
    bubble_fraction = units / (m + units)
    dp_c = G.dp_c + G.dp_ag + m * G.z3_mb
    if G.ov:  # the gradient reduction hides behind the last micro-batch's backward; ZeRO-1/2's weight
        # all-gather behind the first forward (Megatron-LM --overlap-param-gather, FSDP forward prefetch);
        # ZeRO-3 prefetches each micro-batch's gathers behind that micro-batch's compute
        dp_exp = (
            K.overlapped(G.dp_c, (2.0 / 3.0) * t_comp_mb, G.ov_frac)
            + K.overlapped(G.dp_ag, (1.0 / 3.0) * t_comp_mb, G.ov_frac)
            + m * K.overlapped(G.z3_mb, t_comp_mb, G.ov_frac)
        )
    else:
        dp_exp = dp_c
    exposed = tp_exp + pp_exp + ep_exp + cp_exp + dp_exp
    step = compute + bubble + exposed + G.t_opt
    ideal = seconds_of_work / (N * eta_c)
    total_mem = G.state_memory + acts
    ttt = None
    if G.tokens is not None:
        ttt = G.tokens / (tokens_step if tokens_step is not None else B * 1.0) * step
    thr = B / step
    return dict(
        step_time=step,
        compute_latency=compute,
        ideal_step_time=ideal,
        pipeline_bubble_latency=bubble,
        dp_communication_latency=dp_c,
        dp_exposed_latency=dp_exp,
        tp_communication_latency=tp_c,
        tp_exposed_latency=tp_exp,
        pp_communication_latency=pp_c,
        ep_communication_latency=ep_c,
        ep_exposed_latency=ep_exp,
        cp_communication_latency=cp_c,
        cp_exposed_latency=cp_exp,
        communication_latency=dp_c + tp_c + pp_c + ep_c + cp_c,
        exposed_communication_latency=exposed,
        optimizer_time=G.t_opt,
        time_to_train=ttt,
        throughput=thr,
        tokens_per_second=thr * S if tokens_step is not None else None,
        scaling_efficiency=ideal / step,
        bubble_fraction=bubble_fraction,
        mfu=model_flops / (step * N * peak),
        hfu=hw_flops / (step * N * peak),
        achieved_flops_per_gpu=hw_flops / (step * N),
        flops_per_step=model_flops,
        hardware_flops_per_step=hw_flops,
        memory_per_gpu=total_mem,
        activation_memory=acts,
        memory_utilization=total_mem / G.cap,
        feasible=total_mem <= G.cap,
        microbatch_count=m,
        micro_batch_size=mb,
        local_batch_size=local,
        global_batch_size=B,
        seq_len=S,
    )
