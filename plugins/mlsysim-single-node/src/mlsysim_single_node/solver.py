"""SingleNodeModel and Engine: the roofline of one model step on one accelerator.

``solve()`` = validate the arguments (typed errors naming argument, value and valid range) ->
SI floats -> the pure kernels in :mod:`mlsysim_single_node.kernels` -> one PerformanceProfile.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.solver import Solver
from mlsysim_core.sweep import PointErrors, not_integers, notes_column, where
from mlsysim_core.types import PRECISION_BYTES, HardwareNode, TransformerWorkload, Workload
from mlsysim_physics import efficiency as E
from mlsysim_physics.equations import default_grad_precision, recompute_mode, transformer_activation_widths

from . import kernels as K
from .results import PerformanceProfile

#: Sequence length of a training sample when ``seq_len`` is not given (tokens).
DEFAULT_TRAINING_SEQ_LEN = 2048
#: Inference phases of a decoder: ``prefill`` (the prompt's tokens in one forward pass, causal) or
#: ``decode`` (one token per sequence against a KV cache of ``seq_len`` tokens).
PHASES = ("prefill", "decode")

_MAX = V.MAX_COUNT


class _Shape:
    """Per-model numbers derived once (SI floats), cached by model identity."""

    __slots__ = (
        "model",
        "is_decoder",
        "is_encoder",
        "name",
        "layers",
        "params",
        "dense_read",
        "experts_params",
        "expert_share",
        "matmul",
        "encoder_matmul",
        "attn_dim",
        "kv",
        "hidden",
        "ffn",
        "heads",
        "flops",
        "acts",
        "max_seq",
        "widths",
        "width_notes",
        "vocab",
    )

    def __init__(self, model: Workload):
        self.model = model
        self.name = model.name
        self.layers = float(model.layers or 1)
        self.params = float(model.parameters)
        self.acts = float(model.activations_per_sample or 0)
        self.max_seq = getattr(model, "max_seq_len", None) or _MAX
        self.is_decoder = isinstance(model, TransformerWorkload)  # a transformer by its geometry
        self.is_encoder = False
        if isinstance(model, TransformerWorkload):
            self.is_encoder = model.stack == "encoder"
            si = model.si
            total = float(model.parameters)
            embed = float((model.vocab_size or 0) * model.hidden_dim) if not model.tied_embeddings else 0.0
            active = float(si.active_parameters)
            e, k = model.experts, model.active_experts
            if e is not None and k is not None and model.is_moe and e > k and active < total:
                per_expert = (total - active) / (e - k)
                experts = per_expert * e
                share = k / e
            else:
                experts, share = 0.0, 1.0
            read = total - embed - experts
            self.dense_read = read if read > 0 else total - experts
            self.experts_params = experts
            self.expert_share = share
            self.matmul = float(si.matmul_parameters)
            self.attn_dim = float(si.attn_dim)
            self.kv = float(si.kv_elements_per_token)
            self.hidden = float(model.hidden_dim)
            self.ffn = float(model.ffn_dim or 4 * model.hidden_dim)
            self.heads = float(model.heads)
            self.widths, self.width_notes = transformer_activation_widths(model)
            self.vocab = float(model.vocab_size or 0)
            self.flops = None
            # an encoder's forward pass: the word-embedding table is a lookup and the output head is a
            # small task head (SQuAD span, classifier), not an LM head over the vocabulary
            table = float((model.vocab_size or 0) * model.hidden_dim)
            self.encoder_matmul = total - table if total > table else total
        else:
            if model.si.flops_per_sample is None:
                raise InvalidInputError("model", model, "a workload with flops_per_sample (FLOPs of one forward pass)")
            self.flops = float(model.si.flops_per_sample)


_shapes: dict[int, _Shape] = {}


def _shape(model: Any) -> _Shape:
    s = _shapes.get(id(model))
    if s is None or s.model is not model:
        if not isinstance(model, Workload):
            V.instance("model", model, Workload, "a Workload (CNNWorkload, TransformerWorkload)")
        s = _Shape(model)
        if len(_shapes) > 4096:
            _shapes.clear()
        _shapes[id(model)] = s
    return s


class SingleNodeModel(Solver):
    """Roofline model of one step of a workload on one accelerator (Williams et al. 2009).

    Inference of a CNN/fixed-shape workload: ``batch_size`` samples in one forward pass. An encoder
    transformer (``model.stack == "encoder"``: BERT): one forward pass over all ``seq_len`` tokens
    of each of ``batch_size`` sequences (default ``seq_len``: the model's max_seq_len). A decoder
    (LLM): ``phase="decode"`` (default) is one decode step of ``batch_size`` sequences, each producing
    one token while reading the KV cache of ``seq_len`` context tokens (``seq_len=None``: no context,
    the weights-only step); ``phase="prefill"`` is the forward pass over prompts of ``seq_len`` tokens.
    ``is_training=True``: forward + backward + Adam update of ``batch_size`` samples (transformers:
    sequences of ``seq_len`` tokens, default 2048).
    """

    name = "SingleNodeModel"
    consumes = (Workload, HardwareNode)
    produces = PerformanceProfile
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("batch_size", "seq_len")
    #: named efficiencies -> result field with the value used, and the headline fields that get a
    #: (low, high) band (mlsysim_uncertainty.banded evaluates them at the corners of their ranges)
    band_arguments = {
        "efficiency": "compute_efficiency",
        "memory_efficiency": "memory_efficiency",
        "power_idle": "power_idle",
        "power_compute": "power_compute",
        "power_memory": "power_memory",
    }
    band_fields = ("latency", "throughput", "latency_compute", "latency_memory", "power", "energy", "energy_per_sample")

    def solve(
        self,
        model: Workload,
        hardware: HardwareNode,
        batch_size: int = 1,
        precision: str | None = None,
        efficiency: float | None = None,
        raise_errors: bool = False,
        is_training: bool = False,
        seq_len: int | None = None,
        memory_efficiency: float | None = None,
        zero_stage: int = 0,
        dp_size: int = 1,
        activation_recomputation: str | bool = "selective",
        phase: str | None = None,
        power_idle: float | None = None,
        power_compute: float | None = None,
        power_memory: float | None = None,
    ) -> PerformanceProfile:
        """Latency, throughput, bottleneck, MFU, memory and energy of one step.

        Args:
            model: a catalog workload (``mlsysim.Models.ResNet50``, ``...Language.Llama3_8B``).
            hardware: a ``HardwareNode`` (``mlsysim.Hardware.Cloud.H100``).
            batch_size: samples per step (integer in [1, 2**40]).
            precision: weights/activations precision; its dense peak must exist on ``hardware``
                (default: the part's ``default_precision``, stated in ``notes``).
            efficiency: achieved fraction of peak FLOP/s in (0, 1]; default
                ``mlsysim_physics.efficiency.compute_efficiency(bytes)`` (0.6 for 16-bit, 0.5 for 8-bit).
            raise_errors: raise :class:`InfeasibleError` instead of returning ``feasible=False``.
            is_training: model a training step (3x forward FLOPs, weights+grads+Adam+activations).
            seq_len: transformer context (inference) or sequence length (training).
            memory_efficiency: achieved fraction of peak bandwidth in (0, 1]; default 0.87 (kernel-level streaming).
            zero_stage, dp_size: ZeRO sharding of training state over ``dp_size`` replicas.
            activation_recomputation: what a training step stores for its backward (Korthikanti et al. 2022):
                "selective" (default: every activation but the attention core's S x S scores, recomputed in the
                backward, as every flash-attention kernel does: Dao et al. 2022; + the attention forward's FLOPs),
                "full" (each layer's input only, its forward re-run: 4x forward FLOPs) or "none" (everything,
                scores included, Korthikanti's eq. 2: attention without a fused kernel); upstream's booleans:
                True -> "full", False -> "none" (as DistributedModel).
            phase: a decoder's inference phase, "decode" (default) or "prefill"; an encoder's forward pass
                is its prefill ("decode" is an error); None for CNNs and training.
            power_idle, power_compute, power_memory: the accelerator power model's shares of TDP, each in (0, 1]:
                P = TDP x min(1, idle + compute u_c + memory u_m) (defaults ``efficiency.POWER_*`` 0.18 / 0.52 /
                0.46, a least-squares fit to measured board draws, banded over their standard errors).
        """
        return PerformanceProfile(**_step(locals())[0])

    def solve_corners(self, corners: Any, /, *args: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
        """(nominal, fast, slow): ``solve(*args, **kwargs)`` and the same at the two corners ``corners(nominal)``
        gives (None: no corner): the ``band_arguments`` the caller left out at the ends of their ranges
        (mlsysim_uncertainty.bands.corner_moves; one given is held). The step's work (FLOPs, bytes, memory,
        offload) is computed and checked once (:func:`_work`); each corner only re-times it at its
        efficiencies (:func:`_timed`) and comes back unbuilt (``Pending``: its fields), built on first use."""
        from mlsysim_uncertainty.bands import Pending, bound_arguments

        a = bound_arguments(SingleNodeModel.solve, args, kwargs)
        if a is None:  # Python refuses the call: solve() says why
            return self.solve(*args, **kwargs), None, None
        fields, work, peak = _step(a)
        nominal = PerformanceProfile(**fields)
        over = corners(nominal)
        if over is None:
            return nominal, None, None
        fast, slow = (
            Pending(
                PerformanceProfile,
                _timed(
                    work,
                    peak,
                    o.get("efficiency", a["efficiency"]),
                    o.get("memory_efficiency", a["memory_efficiency"]),
                    _shares({**a, **o}),
                ),
                fields,
            )
            for o in over
        )  # the efficiencies: the caller's own (checked by the nominal solve) or the ends of their ranges
        return nominal, fast, slow

    @staticmethod
    def _prepare(
        model: Any,
        hardware: Any,
        precision: Any,
        efficiency: Any,
        raise_errors: Any,
        is_training: Any,
        memory_efficiency: Any,
        zero_stage: Any,
        dp_size: Any,
        activation_recomputation: Any,
        phase: Any,
    ) -> tuple:
        """Check every argument but batch_size and seq_len (each error names argument, value and valid
        range); returns (shape, peak FLOP/s, bytes per element, eta_c, eta_m, zero_stage, dp_size, phase,
        precision, notes, recompute) with ``phase`` resolved to "decode", "prefill", "forward" (encoder, CNN) or
        "training" and ``notes`` stating every default taken for a value not given."""
        shape = _shape(model)
        if not isinstance(hardware, HardwareNode):
            V.instance("hardware", hardware, HardwareNode, "a HardwareNode")
        precision, note = hardware.precision_or_default(precision)
        notes = ([note] if note else []) + [E.usable_memory_note(hardware, E.USABLE_MEMORY_FRACTION)]
        notes += model.omissions()
        if hardware.si.tdp is None:
            notes.append(f"power and energy: not computed ({hardware.name} has no TDP in the catalog)")
        b = PRECISION_BYTES[precision]
        peak = hardware.compute.si.peaks[precision]
        eta_c = E.compute_efficiency(b) if efficiency is None else V.fraction("efficiency", efficiency)
        eta_m = E.MEMORY_STREAM if memory_efficiency is None else V.fraction("memory_efficiency", memory_efficiency)
        if raise_errors is not True and raise_errors is not False:
            V.instance("raise_errors", raise_errors, bool, "True or False")
        if is_training is not True and is_training is not False:
            V.instance("is_training", is_training, bool, "True or False")
        if is_training:
            zero_stage = V.integer("zero_stage", zero_stage, 0, 3)
            dp_size = V.integer("dp_size", dp_size, 1, _MAX)
            activation_recomputation = recompute_mode(activation_recomputation)
            if shape.is_decoder:
                notes += shape.width_notes
        return (
            shape,
            peak,
            b,
            eta_c,
            eta_m,
            zero_stage,
            dp_size,
            _phase(shape, phase, is_training),
            precision,
            tuple(notes),
            activation_recomputation,
        )

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): ``vectors`` has arrays of batch_size /
        seq_len, ``args`` the other arguments (one value each); the same checks and kernels as solve()."""
        vec = vectors
        a = dict(_SOLVE_DEFAULTS, **args)
        is_training = a["is_training"]
        shape, peak, b, eta_c, eta_m, zero_stage, dp_size, phase, precision, notes, recompute = self._prepare(
            a["model"],
            a["hardware"],
            a["precision"],
            a["efficiency"],
            a["raise_errors"],
            is_training,
            a["memory_efficiency"],
            a["zero_stage"],
            a["dp_size"],
            a["activation_recomputation"],
            a["phase"],
        )
        errors = PointErrors(n)
        batch = vec.get("batch_size")
        if batch is None:
            batch = np.full(n, V.integer("batch_size", a["batch_size"], 1, _MAX), dtype=np.int64)
        errors.check(not_integers(batch, 1, _MAX), batch, lambda i: V.integer("batch_size", batch[i].item(), 1, _MAX))
        seq = vec.get("seq_len")
        if seq is not None:
            top, given = int(min(shape.max_seq, _MAX)), seq
            if not shape.is_decoder:
                errors.check(np.ones(n, dtype=bool), given, lambda i: _no_seq_len(shape, given[i].item()))
            errors.check(not_integers(given, 1, top), given, lambda i: V.integer("seq_len", given[i].item(), 1, top))
        elif a["seq_len"] is not None:  # one value for the group (not an integer: the whole group is invalid)
            _no_seq_len(shape, a["seq_len"])
            seq = np.full(n, V.integer("seq_len", a["seq_len"], 1, int(min(shape.max_seq, _MAX))), dtype=np.int64)
        else:
            default = _default_seq(shape, is_training, phase)
            seq = None if default is None else np.full(n, default, dtype=np.int64)
        ok = errors.ok
        work = _work(
            shape,
            a["hardware"],
            b,
            np.where(ok, batch, 1).astype(float),
            None if seq is None else np.where(ok, seq, 1).astype(float),
            is_training,
            zero_stage,
            dp_size,
            recompute,
            phase,
            precision,
        )
        f = work.fields(peak)
        f.update(_timed(work, peak, eta_c, eta_m, _shares(a)))
        f.update(
            valid=ok,
            error=errors.messages,
            batch_size=batch,
            seq_len=seq,
            phase=phase,
            model=shape.name,
            hardware=a["hardware"].name,
            precision=precision,
            notes=notes_column(n, notes),
        )
        return f


_SOLVE_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(SingleNodeModel.solve).parameters.items()
    if p.default is not inspect.Parameter.empty
}


def _step(a: dict[str, Any]) -> tuple[dict[str, Any], _Work, float]:
    """solve() on its arguments ``a`` (by name): every argument checked (typed errors naming argument,
    value and valid range), then the kernels. Returns (the PerformanceProfile's fields, the step's
    work, the peak FLOP/s), the last two for re-timing it at other efficiencies (a band's corners)."""
    model, hardware = V.named("model", a["model"], "models"), V.named("hardware", a["hardware"], "hardware")
    is_training, raise_errors, batch_size, seq_len = a["is_training"], a["raise_errors"], a["batch_size"], a["seq_len"]
    shape, peak, b, eta_c, eta_m, zero_stage, dp_size, phase, precision, notes, recompute = SingleNodeModel._prepare(
        model,
        hardware,
        a["precision"],
        a["efficiency"],
        raise_errors,
        is_training,
        a["memory_efficiency"],
        a["zero_stage"],
        a["dp_size"],
        a["activation_recomputation"],
        a["phase"],
    )
    if batch_size.__class__ is not int or not 1 <= batch_size <= _MAX:
        batch_size = V.integer("batch_size", batch_size, 1, _MAX)
    if seq_len is not None:
        _no_seq_len(shape, seq_len)
        if seq_len.__class__ is not int or not 1 <= seq_len <= shape.max_seq:
            seq_len = V.integer("seq_len", seq_len, 1, int(min(shape.max_seq, _MAX)))
    if seq_len is None:
        seq_len = _default_seq(shape, is_training, phase)
    work = _work(shape, hardware, b, batch_size, seq_len, is_training, zero_stage, dp_size, recompute, phase, precision)
    f = work.fields(peak)
    if raise_errors and not f["feasible"]:
        footprint, usable, capacity = f["memory_footprint"], f["memory_available"], f["memory_capacity"]
        raise InfeasibleError(
            f"{shape.name} needs {footprint / 1e9:.4g} GB but {hardware.name} has {usable / 1e9:.4g} GB usable "
            f"({E.USABLE_MEMORY_FRACTION:.0%} of the {capacity / 1e9:.4g} GB it reports)",
            required=footprint,
            available=usable,
        )
    f.update(
        _timed(work, peak, eta_c, eta_m, _shares(a)),
        precision=precision,
        batch_size=batch_size,
        seq_len=seq_len,
        is_training=is_training,
        phase=phase,
        hardware=hardware.name,
        model=shape.name,
        notes=notes,
    )
    return f, work, peak


def _no_seq_len(shape: _Shape, seq_len: Any) -> None:
    """A seq_len given for a fixed-shape network (a catalog entry with work per sample, not a transformer's
    per-token geometry: CNNs, but also Mamba or a T5 encoder entry) is an error: it would be ignored."""
    if not shape.is_decoder:
        raise InvalidInputError(
            "seq_len",
            seq_len,
            f"None: {shape.name} is a fixed-shape network (no sequence): its catalog entry gives work per sample, "
            "so a seq_len would be ignored",
        )


def _phase(shape: _Shape, phase: Any, is_training: bool) -> str:
    """The step solved: "training", "forward" (a CNN or an encoder), "prefill" or "decode" (a decoder)."""
    if phase is not None and (phase.__class__ is not str or phase not in PHASES):
        raise InvalidInputError("phase", phase, "None, 'prefill' or 'decode'")
    if is_training:
        if phase is not None:
            raise InvalidInputError(
                "phase", phase, "None with is_training=True (a training step is forward + backward)"
            )
        return "training"
    if not shape.is_decoder:
        if phase is not None:
            raise InvalidInputError("phase", phase, f"None: {shape.name} is a fixed-shape network (one forward pass)")
        return "forward"
    if shape.is_encoder:
        if phase == "decode":
            raise InvalidInputError(
                "phase",
                phase,
                f"None or 'prefill': {shape.name} is an encoder (one forward pass "
                "over the whole sequence, no autoregressive decode)",
            )
        return "forward"
    return phase or "decode"


def _default_seq(shape: _Shape, is_training: bool, phase: str) -> int | None:
    """seq_len when none is given: 2048 for training a transformer, the model's max_seq_len for an
    encoder's forward pass, None (no KV context) for a decode step; a prefill needs its prompt length."""
    if not shape.is_decoder:
        return None
    if is_training:
        if DEFAULT_TRAINING_SEQ_LEN > shape.max_seq:
            raise InvalidInputError(
                "seq_len", DEFAULT_TRAINING_SEQ_LEN, f"an integer in [1, {shape.max_seq}] (model max_seq_len)"
            )
        return DEFAULT_TRAINING_SEQ_LEN
    if phase == "forward":
        if shape.max_seq >= _MAX:
            raise InvalidInputError("seq_len", None, f"the tokens per sequence ({shape.name} has no max_seq_len)")
        return int(shape.max_seq)
    if phase == "prefill":
        raise InvalidInputError("seq_len", None, "the prompt length in tokens (an integer >= 1) for phase='prefill'")
    return None


class _Work:
    """What a step does, independent of the efficiencies (SI floats or arrays): its FLOPs, bytes moved,
    memory footprint, fixed overhead and the bytes it spills over the host link."""

    __slots__ = (
        "batch",
        "flops",
        "moved",
        "footprint",
        "overhead",
        "hw",
        "usable",
        "feasible",
        "spill",
        "host_bytes",
        "host_spb",
        "link",
        "offload_bw",
    )

    def __init__(
        self, hardware: HardwareNode, batch: Any, flops: Any, moved: Any, footprint: Any, overhead: float
    ) -> None:
        """Memory wall and offload: only the spilled bytes cross the host link."""
        hw = self.hw = hardware.si
        self.batch, self.flops, self.moved, self.footprint, self.overhead = batch, flops, moved, footprint, overhead
        self.usable = hw.capacity * E.USABLE_MEMORY_FRACTION
        self.feasible = footprint <= self.usable
        self.spill, self.host_bytes = K.offload_bytes(footprint, self.usable, moved)
        self.link = hardware.interconnect
        self.offload_bw = None if self.link is None else self.link.si.bandwidth
        self.host_spb = 0.0 if self.offload_bw is None else 1.0 / (self.offload_bw * E.NETWORK)

    def fields(self, peak: float) -> dict[str, Any]:
        """The PerformanceProfile fields no efficiency moves."""
        feasible, bandwidth = self.feasible, self.hw.bandwidth
        return {
            "feasible": feasible,
            "latency_overhead": self.overhead,
            "flops": self.flops,
            "bytes_moved": self.moved,
            "arithmetic_intensity": self.flops / self.moved,
            "ridge_point": peak / bandwidth,
            "peak_flops": peak,
            "bandwidth": bandwidth,
            "memory_footprint": self.footprint,
            "memory_available": self.usable,
            "memory_capacity": self.hw.capacity,
            "offload_spill_bytes": where(feasible, None, self.spill),
            "offload_bandwidth": where(feasible, None, self.offload_bw),
        }


def _work(
    shape: _Shape,
    hardware: HardwareNode,
    b: float,
    batch: Any,
    seq_len: Any,
    is_training: bool,
    zero_stage: int,
    dp_size: int,
    recompute: str,
    phase: str,
    precision: str,
) -> _Work:
    """The work of the step (FLOPs, bytes moved, footprint, overhead) from checked inputs. ``batch`` and
    ``seq_len`` are numbers (``solve()``) or float arrays (a sweep): one code path, the kernels of :mod:`.kernels`."""
    hw = hardware.si
    layers = shape.layers
    # ---- work of the step
    if is_training:
        grad_b = PRECISION_BYTES[default_grad_precision(precision)]
        state, opt = K.training_state_bytes(b, grad_b, zero_stage, dp_size)
        if shape.is_decoder:
            flops, moved, footprint = K.decoder_training(
                batch,
                seq_len,
                b,
                grad_b,
                b if b > 2.0 else 2.0,
                shape.matmul,
                layers,
                shape.hidden,
                shape.heads,
                shape.attn_dim,
                shape.params,
                state,
                opt,
                recompute,
                shape.widths,
                shape.vocab,
                4.0 if shape.is_encoder else 2.0,
            )
        else:
            flops, moved, footprint = K.fixed_training(
                batch, shape.flops, shape.params, shape.acts, b, grad_b, state, opt
            )
            flops = flops * (4.0 / 3.0) if recompute == "full" else flops  # no attention core: selective = none
        overhead = hw.dispatch_tax + 3.0 * layers * E.LAYER_OVERHEAD_S
    elif shape.is_encoder:
        flops, moved, footprint = K.transformer_forward(
            batch,
            seq_len,
            b,
            b,
            b if b > 2.0 else 2.0,
            shape.encoder_matmul,
            shape.encoder_matmul,
            layers,
            shape.attn_dim,
            shape.hidden,
            shape.ffn,
            0.0,
            shape.params,
            4.0,
        )
        overhead = hw.dispatch_tax + layers * E.LAYER_OVERHEAD_S
    elif phase == "prefill":
        tokens = batch * seq_len
        read = shape.dense_read + shape.experts_params * (1.0 - (1.0 - shape.expert_share) ** tokens)
        flops, moved, footprint = K.transformer_forward(
            batch,
            seq_len,
            b,
            b,
            b if b > 2.0 else 2.0,
            read,
            shape.matmul,
            layers,
            shape.attn_dim,
            shape.hidden,
            shape.ffn,
            shape.kv,
            shape.params,
            2.0,
        )
        overhead = hw.dispatch_tax + layers * E.LAYER_OVERHEAD_S
    elif shape.is_decoder:
        flops, moved, footprint = K.decoder_inference(
            batch,
            0.0 if seq_len is None else seq_len * 1.0,
            b,
            b,
            shape.dense_read,
            shape.experts_params,
            shape.expert_share,
            shape.matmul,
            layers,
            shape.attn_dim,
            shape.kv,
            shape.params,
        )
        overhead = hw.dispatch_tax + layers * E.LAYER_OVERHEAD_S
    else:
        flops, moved, footprint = K.fixed_inference(batch, shape.flops, shape.params, shape.acts, b)
        overhead = hw.dispatch_tax + layers * E.LAYER_OVERHEAD_S

    return _Work(hardware, batch, flops, moved, footprint, overhead)


#: the power model's default shares of TDP (idle, compute, memory): ``efficiency.POWER_*``
_DEFAULT_SHARES = (E.POWER_IDLE_FRACTION, E.POWER_COMPUTE_FRACTION, E.POWER_MEMORY_FRACTION)


def _shares(a: dict[str, Any]) -> tuple[float, float, float]:
    """The power model's shares of TDP (idle, compute, memory) of solve() arguments ``a``: each checked in (0, 1],
    or its default ``efficiency.POWER_*`` when not given."""
    given = a["power_idle"], a["power_compute"], a["power_memory"]
    if given == (None, None, None):
        return _DEFAULT_SHARES
    return tuple(  # type: ignore[return-value]  # three
        default if v is None else v if v.__class__ is float and 0.0 < v <= 1.0 else V.fraction(name, v)
        for name, v, default in zip(("power_idle", "power_compute", "power_memory"), given, _DEFAULT_SHARES)
    )


def _timed(work: _Work, peak: float, eta_c: Any, eta_m: Any, shares: tuple[float, float, float]) -> dict[str, Any]:
    """The PerformanceProfile fields the efficiencies and the power shares move: the roofline of ``work`` at
    ``eta_c`` of ``peak`` FLOP/s and ``eta_m`` of the bandwidth, its power at ``shares`` of TDP (idle, compute,
    memory; one evaluation per band corner)."""
    hw, feasible, batch = work.hw, work.feasible, work.batch
    tdp = hw.tdp
    latency, t_c, t_m, mfu, power, energy = K.roofline(
        work.flops,
        work.moved,
        work.host_bytes,
        work.host_spb,
        peak,
        hw.bandwidth,
        eta_c,
        eta_m,
        work.overhead,
        1.0 if tdp is None else tdp,
        *shares,
    )
    if work.link is None:  # a spilling step has no path to its bytes: it cannot run
        latency, energy, t_m = (
            where(feasible, latency, math.inf),
            where(feasible, energy, math.inf),
            where(feasible, t_m, math.inf),
        )
        mfu, power = where(feasible, mfu, 0.0), where(feasible, power, None)
    if tdp is None:  # no TDP in the catalog: no power or energy (never a silent 0 J)
        power = energy = where(feasible, None, None)
    return {
        "latency": latency,
        "throughput": batch / latency,
        "bottleneck": where(t_c >= t_m, "Compute", "Memory"),
        "mfu": mfu,
        "hfu": mfu,
        "latency_compute": t_c,
        "latency_memory": t_m,
        "peak_flops_actual": peak * eta_c,
        "peak_bw_actual": hw.bandwidth * eta_m,
        "compute_efficiency": eta_c,
        "memory_efficiency": eta_m,
        "power_idle": shares[0],
        "power_compute": shares[1],
        "power_memory": shares[2],
        "power": power,
        "energy": energy,
        "energy_per_sample": energy if tdp is None else energy / batch,
    }


_default = SingleNodeModel()


class Engine(SingleNodeModel):
    """Convenience shortcut: ``Engine.solve(...)`` (no instance needed) is ``SingleNodeModel().solve(...)``;
    sweeps and every declaration are SingleNodeModel's."""

    name = "Engine"

    @staticmethod
    @functools.wraps(SingleNodeModel.solve)
    def solve(*args: Any, **kwargs: Any) -> PerformanceProfile:
        return _default.solve(*args, **kwargs)
