"""ServingModel: LLM prefill (TTFT) and decode (ITL), KV cache and memory, with tensor parallelism.

``solve()`` = validate (typed errors naming argument, value, valid range) -> SI floats -> the pure
kernels in :mod:`mlsysim_serving.kernels` -> one ServingResult.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import attrs

from mlsysim_core import validate as V
from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.lazy import lazy_numpy
from mlsysim_core.solver import Solver
from mlsysim_core.sweep import PointErrors, checked, not_integers, notes_column, where
from mlsysim_core.types import HardwareNode, TransformerWorkload
from mlsysim_physics import efficiency as E
from mlsysim_physics.equations import maximum

from . import kernels as K
from .layout import resolve_fabric
from .memo import Memo, SameArguments
from .results import LATER, LOADED_ENERGY, LOADED_STATIC, ServingResult, built
from .setup import (
    MAX_COUNT,
    ModelShape,
    Setup,
    check_efficiency,
    check_engine_overhead,
    check_memory_efficiency,
    check_network_efficiency,
    check_power_compute,
    check_power_idle,
    check_power_memory,
    prepare,
    prepared,
    step_overhead,
)

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)  # numpy on first use: a solve on floats imports none

#: Tokens of one prefill chunk, which bounds the activation workspace (vLLM/TensorRT-LLM chunked
#: prefill schedule a few thousand tokens per step; vLLM's max_num_batched_tokens is 8192 for
#: chunked prefill on large GPUs).
PREFILL_CHUNK_TOKENS = 8192.0
#: Where an engine runs its prefills (``prefill_steps``, :func:`.traffic.cycle_step`): in the decode steps
#: (chunked prefill) or in steps of their own that decode nothing.
PREFILL_STEPS = ("mixed", "separate")
_MAX = MAX_COUNT


def check_scheduler(overlap: Any, steps: Any, prefill_steps: Any) -> dict:
    """The engine scheduler's arguments checked: they shape a solve under traffic, and a static one echoes them."""
    return {
        "scheduler_overlap": V.instance("scheduler_overlap", overlap, bool, "True or False"),
        "scheduler_steps": V.integer("scheduler_steps", steps, 1, 1024),
        "prefill_steps": V.choice("prefill_steps", prefill_steps, PREFILL_STEPS),
    }


#: solve() arguments sweep_columns() takes as arrays of lengths (and the arrival rate)
_LENGTHS = ("batch_size", "seq_len", "output_len", "arrival_rate")
#: solve() arguments that carry a named efficiency or overhead: each maps to the result field holding
#: the value used (mlsysim_uncertainty.banded evaluates bands at the corners of their ranges).
BAND_ARGUMENTS = {
    "efficiency": "compute_efficiency",
    "memory_efficiency": "memory_efficiency",
    "engine_overhead": "engine_overhead",
    "network_efficiency": "network_efficiency",
    "power_idle": "power_idle",
    "power_compute": "power_compute",
    "power_memory": "power_memory",
}


class ServingModel(Solver):
    """LLM serving on one accelerator or a tensor-parallel group inside one node.

    ``batch_size`` sequences are served together: their prompts of ``seq_len`` tokens are prefilled
    together (``ttft``), then each decode step emits one token for every sequence (``itl``), so
    ``batch_size`` is the number of concurrent sequences in decode (continuous batching at that
    concurrency, all at context ``seq_len``). With ``output_len`` the mean ITL over the output, the
    end-to-end latency and requests per second follow, and the KV cache is sized for
    ``seq_len + output_len`` tokens. With ``beam_width`` k > 1 each request is decoded as k beams
    (beam search): its prompt is prefilled once, then every decode step runs k sequences per request
    (compute and KV reads per beam; the prompt's KV cache held once, shared by its beams, each beam's
    generated tokens its own) and yields one output token per request.
    """

    name = "ServingModel"
    consumes = (TransformerWorkload, HardwareNode)
    produces = ServingResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = (*_LENGTHS, *BAND_ARGUMENTS)
    #: named efficiencies/overheads -> result field with the value used, and the headline fields that
    #: get a (low, high) band (mlsysim_uncertainty.banded)
    band_arguments = BAND_ARGUMENTS
    band_fields = (
        "ttft",
        "itl",
        "tokens_per_second",
        "itl_mean",
        "e2e_latency",
        "requests_per_second",
        "itl_continuous",
        "request_throughput",
        "output_tokens_per_second",
        "energy_per_token",
        "ttft_mean",
        "ttft_p50",
        "ttft_p99",
        "itl_p50",
        "itl_p99",
        "e2e_p99",
        "saturation_rate",
        "max_arrival_rate",
        "spec_itl",
        "spec_tokens_per_second",
    )

    def solve(
        self,
        model: TransformerWorkload,
        hardware: HardwareNode,
        seq_len: int,
        batch_size: int = 1,
        precision: str | None = None,
        tp_size: int = 1,
        kv_precision: str | None = None,
        efficiency: float | None = None,
        output_len: int | None = None,
        memory_efficiency: float | None = None,
        gpus_per_node: int | None = None,
        raise_errors: bool = False,
        memory_fraction: float | None = None,
        beam_width: int = 1,
        arrival_rate: Any = None,
        concurrency: int | None = None,
        arrival_cv: float = 1.0,
        length_cv: float = 0.0,
        length_dist: str = "lognormal",
        length_samples: Any = None,
        max_num_batched_tokens: int | None = None,
        max_num_seqs: int | None = None,
        prefix_cache_hit: float = 0.0,
        slo_ttft: Any = None,
        slo_itl: Any = None,
        slo_percentile: int = 99,
        method: str | None = None,
        seed: int = 0,
        num_requests: int = 10_000,
        weight_precision: str | None = None,
        activation_precision: str | None = None,
        pp_size: int = 1,
        ep_size: int = 1,
        dp_attention: int = 1,
        expert_imbalance: float | None = None,
        fabric: Any = None,
        redundant_experts: int = 0,
        ep_overlap: bool = False,
        disagg: Any = None,
        kv_layerwise: bool = True,
        engine_overhead: Any = None,
        spec_draft: Any = None,
        spec_draft_cost: float | None = None,
        spec_k: int = 4,
        spec_accept: float | None = None,
        engine: str | None = None,
        request_overhead: Any = None,
        scheduler_overlap: bool = False,
        scheduler_steps: int = 1,
        prefill_steps: str = "mixed",
        network_efficiency: float | None = None,
        power_idle: float | None = None,
        power_compute: float | None = None,
        power_memory: float | None = None,
    ) -> Any:
        """TTFT, ITL, KV cache, memory fit and throughput of serving ``model`` on ``hardware``.

        Args:
            model: a ``TransformerWorkload`` (dense, GQA, MoE or MLA).
            hardware: one accelerator; ``tp_size`` of them form the tensor-parallel group.
            seq_len: prompt length in tokens (integer in [1, model max_seq_len]).
            batch_size: concurrent sequences (integer in [1, 2**40]).
            precision: weights precision and the FLOP rate used (its dense peak must exist; default
                the part's ``default_precision``, stated in ``notes``).
            tp_size: tensor-parallel degree: divides heads; divides kv_heads or is a multiple of it
                (KV heads then replicate); at most ``gpus_per_node``.
            kv_precision: KV-cache precision; default = ``precision`` for 1-byte and wider formats,
                fp16 for 4/6-bit weight formats (weight-only quantisation keeps a 16-bit cache).
            efficiency: achieved fraction of peak FLOP/s in (0, 1] (default 0.6 at 16-bit, 0.5 at 8-bit).
            output_len: generated tokens per request (optional).
            memory_efficiency: achieved fraction of peak bandwidth in (0, 1] (default 0.87, kernel-level streaming).
            gpus_per_node: GPUs one TP group may span (default: the scale-up link's ``domain``, e.g. 8 on
                an HGX board, 72 in a GB200 NVL72 rack; 8 when the link states none; 1 without a link).
            raise_errors: raise :class:`InfeasibleError` when it does not fit instead of feasible=False
                (under traffic also when the KV cache cannot hold one request).
            memory_fraction: share of the reported capacity a deployment plans to fill, in (0, 1]
                (default ``efficiency.USABLE_MEMORY_FRACTION`` = 0.9, vLLM's gpu_memory_utilization).
            beam_width: beams per request (beam search; integer >= 1): one shared prefill of the prompt,
                then ``batch_size * beam_width`` sequences per decode step, the prompt's KV cache shared
                by its beams, each beam's generated tokens its own.
            arrival_rate: open-loop requests/s (> 0; a Quantity in 1/s or a number): serving under traffic
                (needs ``output_len``); the loaded fields (ttft_mean ... max_arrival_rate) are filled.
            concurrency: closed loop instead: N clients, each sending its next request when one finishes.
            arrival_cv: coefficient of variation of inter-arrival times (1 = Poisson, 0 = evenly spaced).
            length_cv, length_dist: dispersion of prompt and output lengths around ``seq_len`` and
                ``output_len`` (0 = fixed; "lognormal" or "gamma").
            length_samples: the dispersion as a list of (prompt, output) token pairs instead (e.g. a
                dataset's): their shape, kept paired, scaled to the means ``seq_len`` and
                ``output_len`` (pass the samples' means to use them as they are; ``notes`` says both).
            max_num_batched_tokens: token budget of one engine step (chunked prefill; default 8192).
            max_num_seqs: most sequences running at once (default 256); admission also needs the
                request's prompt + output to fit in the free KV cache.
            prefix_cache_hit: share of each prompt found in the prefix cache, in [0, 1): not prefilled,
                no KV written.
            slo_ttft, slo_itl: seconds (or time Quantities): adds ``slo_attainment`` and makes
                ``max_arrival_rate`` the largest rate whose p``slo_percentile`` (50, 90, 99) meets both.
            method: "analytic" (default, steady state) or "simulate" (discrete-event, ``num_requests``
                requests, ``seed``).
            weight_precision, activation_precision: weights and matmul precision when they differ
                (w4a16: ``weight_precision="int4"``; w8a8: both "int8" or "fp8"); each not given follows
                ``precision`` (:mod:`.precisions`).
            pp_size: pipeline stages (at most the layers; uneven stages: the largest binds); micro-batches =
                min(pp_size, tokens).
            ep_size: expert parallelism for MoE: 1 (experts split tp_size ways) or tp_size * dp_attention.
            dp_attention: attention data-parallel ranks of tp_size GPUs each (MoE; needs ep_size).
            expert_imbalance: busiest expert rank's load / mean, in [1, ep_size] (default
                :data:`.parallel.EXPERT_IMBALANCE` with expert parallelism).
            redundant_experts: extra physical expert copies (EPLB) with expert parallelism: ep_size
                divides experts + redundant_experts; each GPU holds (E + r)/ep experts.
            ep_overlap: two-batch overlap of the all-to-all with compute (DeepSeek-V3 sec. 3.4; SGLang
                ``--enable-two-batch-overlap``, vLLM ``--enable-dbo``); needs ep_size > 1.
            fabric: the network joining scale-up domains (a ``NetworkFabric``, e.g.
                ``mlsysim.Systems.Fabrics.InfiniBand_NDR``, or a catalog fabric name such as ``"IB_NDR"``)
                when the replica's GPUs span more than one, and with ``disagg`` what carries the KV cache
                between the pools (also ``"NVLink"``: both pools in one scale-up domain, or ``"PCIe"``:
                both in one node).
            disagg: a prefill pool and a decode pool (:class:`.layout.Disagg`, or the text
                ``"prefill=H100x8:tp8,decode=H200x8:tp4"``; a replica may add ppN, epN, dpN, rN): disaggregated
                serving under ``arrival_rate``, answered by a :class:`.disagg_result.DisaggServingResult`
                (:mod:`.disagg`); ``hardware`` is then the aggregated layout compared against (searched over
                its tensor-parallel degrees).
            kv_layerwise: with ``disagg``, KV sent layer by layer during the prefill (default) or after it.
            engine_overhead: host time of one engine iteration (scheduling, sampling), seconds or a time
                Quantity in [0, 1 s] (default ``efficiency.STEP_OVERHEAD_S`` = 1 ms). The hardware's
                ``calibration`` (``mlsysim calibrate``) replaces this default and those of ``efficiency``
                and ``memory_efficiency``; the notes say so.
            engine: the serving engine (a name, e.g. ``"nim"``): a hardware calibration scoped to it
                (``mlsysim calibrate`` with an ``engine`` column) applies, else the hardware's unscoped one;
                it selects a calibration only (no engine's behaviour is modelled by name).
            request_overhead: host time of each request outside the engine's steps under traffic (HTTP,
                chat template, tokenization, streaming the first chunk), seconds or a time Quantity in
                [0, 10 s]: added to every TTFT and e2e field of the loaded answer, and spent outside the
                engine by a closed loop's clients (:mod:`.request_path`). Default: the hardware's
                calibration (scoped to ``engine``), else 0.
            scheduler_overlap: the engine schedules its next step before the running one's results are
                processed (an overlap or asynchronous scheduler: SGLang's default, ``--disable-overlap-schedule``
                turns it off; TensorRT-LLM's PyTorch backend, ``disable_overlap_scheduler`` False by default;
                vLLM's ``--async-scheduling``, off by default in v0.11): a request that finds the engine busy
                waits one more step under traffic (:func:`.traffic.analytic`). Default False.
            scheduler_steps: multi-step scheduling, decode steps per scheduler call (vLLM v0.6
                ``--num-scheduler-steps``, integer in [1, 1024]): new requests wait for the block of steps in
                progress to end; a prefill is a block of one step (:mod:`.multi_step`). Default 1.
            prefill_steps: "mixed" (default: prompts prefilled in the decode steps, chunked prefill) or
                "separate" (a step that prefills decodes nothing: vLLM v0.5/v0.6 without chunked prefill, SGLang
                v0.3; :func:`.traffic.cycle_step`) under traffic.
            network_efficiency: achieved fraction of a link's bandwidth in (0, 1] for the tensor-parallel
                all-reduces, expert all-to-alls, pipeline stage hops and, with ``disagg``, the KV transfer
                (default ``efficiency.NETWORK`` = 0.8; its band spans 0.75-0.85, ``mlsysim_uncertainty.ranges``).
            spec_draft, spec_draft_cost, spec_k, spec_accept: speculative decoding (:mod:`.speculative`):
                a draft model smaller than the target (run at ``tp_size`` beside it) or, for draft
                heads/MTP/n-gram, their cost per drafted token as a share of one target decode step in
                [0, 1); ``spec_k`` drafted tokens per step (default 4); ``spec_accept`` the acceptance rate
                alpha in [0, 1). Adds the spec_* fields (static batch) and, under
                ``arrival_rate``/``concurrency``, composes the loaded fields' decode steps (analytic method);
                with ``disagg``, heads/MTP/n-gram (``spec_draft_cost``) speculate on the decode pool.
            power_idle, power_compute, power_memory: the accelerator power model's shares of TDP, each in (0, 1]:
                P = TDP x min(1, idle + compute u_c + memory u_m) (``decode_power``, ``energy_per_token``;
                defaults ``efficiency.POWER_*`` 0.18 / 0.52 / 0.46, a least-squares fit to measured board draws,
                banded over their standard errors, ``mlsysim_uncertainty.ranges``).
        """
        if isinstance(model, str):  # a catalog name (tested here: V.named's call costs every solve ~1.4 k)
            model = V.named("model", model, "models")
        if isinstance(hardware, str):
            hardware = V.named("hardware", hardware, "hardware")
        if isinstance(spec_draft, str):
            spec_draft = V.named("spec_draft", spec_draft, "models")
        fabric = resolve_fabric(fabric)
        if disagg is not None:
            return _module(".disagg").solve(locals())
        a = locals()
        _unused_alone(a)
        if a["length_samples"] is None and (arrival_rate is not None or concurrency is not None):
            setup, plan = _layout_plan(a)
            return _loaded(setup, a, plan)
        return self._answer(_setup(a), a)

    def solve_corners(self, corners: Any, /, *args: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
        """(nominal, fast, slow): ``solve(*args, **kwargs)`` and the same at the two corners ``corners(nominal)``
        gives (None: no corner): the ``band_arguments`` the caller left out at the ends of their ranges
        (mlsysim_uncertainty.bands.corner_moves; one given is held). One checked layout (``prepare``) serves
        the three, each corner a copy of it with its efficiencies and engine overhead, as a sweep over them
        does. The corners come back unbuilt (``Pending``: their fields; the band needs only the numbers),
        built on first use. The FLOPs, bytes, link messages and memory of each phase are computed once
        (:func:`_works`); each corner combines them at its efficiencies and re-times the communication at its network
        efficiency (:func:`_phase`)."""
        bands = _module("mlsysim_uncertainty.bands")
        a = bands.bound_arguments(ServingModel.solve, args, kwargs)
        if a is not None and a["disagg"] is not None:
            raise InvalidInputError(
                "disagg",
                a["disagg"],
                "an aggregated layout when bands are asked: each pool of a disaggregated layout runs at its own "
                "efficiencies, which its result does not carry (band the pools one at a time, without --disagg)",
            )
        if a is None:  # Python refuses the call: solve() says why
            return self.solve(*args, **kwargs), None, None
        a["self"] = self
        if isinstance(a["model"], str):  # a catalog name (tested here, as solve() does: V.named's call costs ~1.4 k)
            a["model"] = V.named("model", a["model"], "models")
        if isinstance(a["hardware"], str):
            a["hardware"] = V.named("hardware", a["hardware"], "hardware")
        if isinstance(a["spec_draft"], str):
            a["spec_draft"] = V.named("spec_draft", a["spec_draft"], "models")
        a["fabric"] = resolve_fabric(a["fabric"])
        if a["arrival_rate"] is None and a["concurrency"] is None:
            setup = _setup(a)
            works: dict = {}  # the FLOPs, bytes, messages and memory the three share (only efficiencies move)
            nominal = built(self._fields(setup, a, works))
            over = corners(nominal)
            if over is None:
                return nominal, None, None
            fast, slow = (bands.Pending(ServingResult, self._fields(_at(setup, a, o), a, works)) for o in over)
            return nominal, fast, slow
        # the nominal's layout and plan as solve() finds them; its checked traffic mix serves the corners too
        if a["length_samples"] is None:
            setup, plan = _layout_plan(a)
        else:
            setup = _setup(a)
            plan = _plan_of(setup, a)
        nominal = _loaded(setup, a, plan, True)  # with its static fields, which the band reads (not its energy)
        over = corners(nominal)
        if over is None:
            return nominal, None, None
        UL = _module(".under_load")
        mix, rate = UL.with_slos(plan[4], a["slo_ttft"], a["slo_itl"]), UL.offered(a, plan[3])
        corner = (_at(setup, a, o) for o in over)  # under traffic: the band's percentiles, the whole result on use
        Corner = _module(".corners").Corner
        fast, slow = (
            Corner(ServingResult, _corner_fields(c, a, nominal, plan, mix, rate), self._answer, c, a) for c in corner
        )
        return nominal, fast, slow

    def _answer(self, setup: Setup, a: dict[str, Any], works: Any = None) -> ServingResult:
        """The result of solve() on its checked layout ``setup`` and its arguments ``a`` (``works``:
        :func:`_evaluate`'s, shared with a band's corners)."""
        if a["arrival_rate"] is None and a["concurrency"] is None:
            return built(self._fields(setup, a, works))
        return _loaded(setup, a, _plan_of(setup, a))

    def _fields(self, setup: Setup, a: dict[str, Any], works: Any = None) -> dict[str, Any]:
        """The fields of :meth:`_answer`'s result without traffic (its keyword arguments: SI floats)."""
        seq_len, batch_size, output_len = _check_lengths(setup.shape, a["seq_len"], a["batch_size"], a["output_len"])
        beams = _check_beams(a["beam_width"])
        f = _evaluate(setup, batch_size, float(seq_len), output_len, beams, works)
        if a["raise_errors"] and not f["feasible"]:
            raise _infeasible(setup, f)
        _speculate(setup, a, f, batch_size * beams, seq_len, output_len)
        if a["method"] is not None or a["slo_ttft"] is not None or a["slo_itl"] is not None:
            raise InvalidInputError("arrival_rate", None, "a rate > 0 (or concurrency) when method or an SLO is given")
        # inputs that name result fields, as given (as a sweep gives them); the scheduler's checked
        f["slo_percentile"] = a["slo_percentile"]
        f.update(check_scheduler(a["scheduler_overlap"], a["scheduler_steps"], a["prefill_steps"]))
        f.update(_layout_fields(setup))  # f is this call's own dict: filled in place, not copied
        f.update(batch_size=batch_size, seq_len=seq_len, output_len=output_len, beam_width=beams, notes=setup.notes)
        return f

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): ``vectors`` has arrays of the lengths,
        ``args`` the other arguments (one value each); the same checks and kernels as solve()."""
        vec = vectors
        a = dict(_SOLVE_DEFAULTS, **args)
        a["spec_draft"] = V.named("spec_draft", a["spec_draft"], "models")
        a["fabric"] = resolve_fabric(a["fabric"])
        if a["disagg"] is None:
            _unused_alone(a)
        rate = vec.get("arrival_rate", a.get("arrival_rate"))
        loaded = rate is not None or a.get("concurrency") is not None
        speculative = any(a[k] is not None for k in ("spec_draft", "spec_draft_cost", "spec_accept"))
        if a["disagg"] is not None or (speculative and not loaded):
            from mlsysim_core.sweep import solve_each

            from .disagg_result import DisaggServingResult

            produces = DisaggServingResult if a["disagg"] is not None else ServingResult
            return solve_each(self, produces, args, vectors, n)[0]  # disaggregated or speculative: per point
        if loaded:
            if any(k in vec for k in BAND_ARGUMENTS):
                return super().sweep_columns(n, vectors, args)  # efficiencies vary under traffic: per point
            for k in ("batch_size", "seq_len", "output_len"):
                v = vec.get(k)
                if isinstance(v, np.ndarray):
                    if v.size and np.any(v != v[0]):
                        return super().sweep_columns(n, vectors, args)  # lengths vary under traffic: per point
                    a[k] = v[0].item() if v.size else a.get(k)
            return self._traffic_columns(n, vec, a)
        setup = _setup(a)
        shape = setup.shape
        lengths = {}
        for k in _LENGTHS:
            v = vec.get(k, a.get(k))
            if v is not None and not isinstance(v, np.ndarray):
                if v.__class__ is not int:  # one value that is not an integer: the group gets solve()'s error
                    _check_lengths(shape, **{"seq_len": 1, "batch_size": 1, "output_len": None, k: v})
                v = np.full(n, v, dtype=np.int64)
            lengths[k] = v
        seq, batch, out = lengths["seq_len"], lengths["batch_size"], lengths["output_len"]
        if seq is None or batch is None:
            raise InvalidInputError("seq_len" if seq is None else "batch_size", None, "an integer >= 1")
        top = min(shape.max_seq, _MAX)
        bad = not_integers(seq, 1, top) | not_integers(batch, 1, _MAX)
        if out is not None:
            bad |= not_integers(out, 1, top) | (seq + out > shape.max_seq)
        errors = PointErrors(n)
        keys = np.stack([seq, batch] + ([] if out is None else [out]), axis=1)
        errors.check(
            bad,
            keys,
            lambda i: _check_lengths(shape, seq[i].item(), batch[i].item(), None if out is None else out[i].item()),
        )
        setup = _band_columns(errors, vec, a, setup)
        ok = errors.ok
        beams = _check_beams(a["beam_width"])
        f = _evaluate(
            setup,
            np.where(ok, batch, 1).astype(float),
            np.where(ok, seq, 1).astype(float),
            None if out is None else np.where(ok, out, 1).astype(float),
            beams,
        )
        f.update(
            **_layout_fields(setup),
            valid=ok,
            error=errors.messages,
            batch_size=batch,
            seq_len=seq,
            output_len=out,
            beam_width=beams,
            notes=notes_column(n, setup.notes),
        )
        return f

    def _traffic_columns(self, n: int, vec: dict, a: dict) -> dict:
        """A sweep over arrival rates at one length pair: the loaded fields as columns (one analytic pass)."""
        setup = _setup(a)
        seq, batch, out = _check_lengths(setup.shape, a["seq_len"], a["batch_size"], a["output_len"])
        from .under_load import TRAFFIC_NOTES, check_rate, loaded_fields

        errors = PointErrors(n)
        traffic = _traffic_args(a)
        if "arrival_rate" in vec:
            traffic["arrival_rate"] = np.where(errors.ok, _rate_column(errors, vec, a, check_rate), 1.0)

        f = _evaluate(setup, batch, float(seq), out)
        spec = _speculate(setup, a, f, batch, seq, out)
        f.update(loaded_fields(setup, seq, out, traffic, a["raise_errors"], spec))
        notes = setup.notes + f.pop(TRAFFIC_NOTES, ())
        if _check_beams(a["beam_width"]) != 1:
            raise InvalidInputError("beam_width", a["beam_width"], "1 under traffic (arrival_rate or concurrency)")
        f.update(
            **_layout_fields(setup),
            valid=errors.ok,
            error=errors.messages,
            beam_width=1,
            batch_size=batch,
            seq_len=seq,
            output_len=out,
            notes=notes_column(n, notes),
        )
        return f


def _corner_fields(setup: Setup, a: dict, nominal: ServingResult, plan: tuple, mix: dict, rate: Any) -> dict:
    """What a band reads of its corner under traffic at the layout ``setup`` (``solve_corners``), on the
    nominal's checked lengths, traffic mix (its :func:`_plan`; ``mix``: with the SLOs) and offered ``rate``: the loaded
    fields at the band's percentiles only (:data:`_BAND_PERCENTILES`) and the static and speculative band fields
    (:func:`_corner_plan`) that they do not restate (a loaded field holds: its rate's). What
    :meth:`ServingModel._fields` adds beside them (the layout's names, the lengths, the notes) the efficiencies do not
    move."""
    static, engine = _corner_plan(setup, a, nominal, plan)
    f = _module(".under_load").at_rate(setup, plan[2], plan[3], mix, engine, rate, _BAND_PERCENTILES)
    for name, value in static.items():  # a few fields, each stored once (a merge of every static field: ~8 k)
        if name not in f:
            f[name] = value
    return f


#: a band corner's rate-free part (:func:`_corner_plan`) by the identity of its setup and the nominal's plan
_corner_plans = Memo()


def _corner_plan(setup: Setup, a: dict, nominal: ServingResult, plan: tuple) -> tuple:
    """(the static and speculative fields among ``band_fields``, the layout :func:`.under_load.ready`) of a band's
    corner at the layout ``setup`` under the nominal's ``plan``: what no rate moves, so a repeated banded call finds it
    by the identity of the corner's setup (:func:`_at`: one object per nominal setup and corner) and of the plan (the
    memoized :func:`_plan`, whose values decide the lengths, the speculation and the mix); read-only. Not kept where
    the plan is not (``length_samples``: a list can change in place) or the layout holds no request (its text, found
    anew)."""
    key = (id(setup), id(plan))
    hit = _corner_plans.get(key)
    if hit is not None and hit[0] is setup and hit[1] is plan:  # the entry keeps both alive: an id is not reused
        return hit[2], hit[3]
    n: dict[str, Any] = vars(nominal)  # @result classes store their fields in __dict__
    batch, beams = n["batch_size"], n["beam_width"]
    seq_len, output_len, c = plan[2:5]
    f = dict(_static(setup, batch, seq_len, output_len, beams))
    spec = _speculate(setup, a, f, batch * beams, seq_len, output_len)
    engine = _module(".under_load").ready(setup, seq_len, output_len, c, a["raise_errors"], spec)
    f = {name: f[name] for name in ServingModel.band_fields if name in f}
    if c["length_samples"] is None and engine.__class__ is not str:
        _corner_plans.put(key, (setup, plan, f, engine))
    return f, engine


def _unused_alone(a: dict) -> None:
    """Arguments that only qualify another one, given without it, are errors (they were ignored): kv_layerwise
    (how a disaggregated KV transfer is sent) without disagg, a spec_k other than its default without speculation."""
    if a["kv_layerwise"] is not True:
        raise InvalidInputError("kv_layerwise", a["kv_layerwise"], "True (the default) without disagg (no KV transfer)")
    k = _SOLVE_DEFAULTS["spec_k"]
    if a["spec_k"] != k and a["spec_draft"] is None and a["spec_draft_cost"] is None and a["spec_accept"] is None:
        raise InvalidInputError("spec_k", a["spec_k"], f"{k} (the default) without spec_draft or spec_draft_cost")


def _speculation(setup: Setup, a: dict) -> tuple | None:
    """Speculative decoding of the arguments ``a`` checked (:func:`.speculative.check`'s tuple, memoized), None
    without it."""
    if a["spec_accept"] is None and a["spec_draft"] is None and a["spec_draft_cost"] is None:
        return None
    if a["spec_accept"] is None:
        raise InvalidInputError("spec_accept", None, "an acceptance rate in [0, 1) with a draft")
    return _module(".speculative").check(setup, a["spec_draft"], a["spec_draft_cost"], a["spec_k"], a["spec_accept"])


def _speculate(setup: Setup, a: dict, f: dict, batch: int, seq_len: int, output_len: Any) -> tuple | None:
    """:func:`_speculation` of the arguments ``a``, its spec_* fields at ``batch`` added to ``f`` (:func:`_drafted`)."""
    spec = _speculation(setup, a)
    if spec is not None:
        _drafted(setup, spec, f, batch, seq_len, output_len)
    return spec


def _drafted(setup: Setup, spec: tuple, f: dict, batch: int, seq_len: int, output_len: Any) -> None:
    """Adds the spec_* fields of ``spec`` at ``batch`` to ``f`` and the draft's memory to its total and
    feasibility."""
    f.update(_module(".speculative").fields(setup, spec, batch, float(seq_len), output_len))
    f["total_memory_required"] += f["spec_draft_memory_per_gpu"]
    f["feasible"] = f["total_memory_required"] <= f["memory_available"]


def _infeasible(setup: Setup, f: dict) -> InfeasibleError:
    """The error of ``raise_errors`` where the fields ``f`` do not fit in memory."""
    hardware = setup.hardware
    required, usable, capacity = f["total_memory_required"], f["memory_available"], hardware.si.capacity
    return InfeasibleError(
        f"{setup.shape.name} needs {required / 1e9:.4g} GB per GPU (weights "
        f"{f['weights_per_gpu'] / 1e9:.4g} + KV {f['kv_cache_per_gpu'] / 1e9:.4g} + workspace "
        f"{f['workspace_per_gpu'] / 1e9:.4g}) but {hardware.name} has {usable / 1e9:.4g} GB usable "
        f"({setup.memory_fraction:.0%} of the {capacity / 1e9:.4g} GB it reports) at tp_size={setup.tp_size}"
        + (f" (a replica of {setup.layout.gpus} GPUs)" if setup.layout.gpus > setup.tp_size else ""),
        required=required,
        available=usable,
    )


def _rate_column(errors: PointErrors, vec: dict, a: dict, check_rate: Callable[[Any], float]) -> np.ndarray:
    """The arrival rates of a sweep in 1/s: a plain numeric column is tested at once (finite and > 0,
    solve()'s check runs only on the rejected points for their message); Quantities or other values
    go through solve()'s check once per distinct value."""
    values = vec["arrival_rate"]
    if values.dtype.kind not in "fiu":
        return checked(errors, "arrival_rate", vec, a, check_rate)
    rate = values.astype(float)
    errors.check(~(np.isfinite(rate) & (rate > 0.0)), rate, lambda i: check_rate(values[i].item()))
    return rate


#: the modules :func:`_module` imported
_modules: dict[str, Any] = {}


def _module(name: str) -> Any:
    """The module ``name`` (relative to this package, e.g. ".under_load", or absolute), imported on first use
    and kept: those this module uses in some solves only import numpy (which a static solve does without) or
    this module, and an import statement in a function costs each call ~8 k instructions."""
    module = _modules.get(name)
    if module is None:
        module = _modules[name] = importlib.import_module(name, __package__)
    return module


def _layout_fields(setup: Setup) -> dict[str, Any]:
    """The result fields that name the layout."""
    return {
        "precision": setup.precision,
        "activation_precision": setup.activation_precision,
        "kv_precision": setup.kv_precision,
        "tp_size": setup.tp_size,
        "pp_size": setup.layout.p,
        "ep_size": setup.layout.w if setup.layout.a2a else 1,
        "dp_attention": setup.layout.d,
        "gpus": setup.layout.gpus,
        "expert_imbalance": setup.layout.imbalance,
        "ep_overlap": setup.layout.overlap,
        "redundant_experts": setup.layout.redundant,
        "hardware": setup.hardware.name,
        "model": setup.shape.name,
    }


#: the latency percentiles among ServingModel's ``band_fields`` (ttft_p50, ttft_p99, ...): all that a band's
#: corner under traffic computes (``solve_corners``)
_BAND_PERCENTILES = tuple(
    sorted({int(p) for p in (f.rpartition("_p")[2] for f in ServingModel.band_fields) if p.isdigit()})
)

#: solve()'s parameters that have a default, and the default
_SOLVE_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(ServingModel.solve).parameters.items()
    if p.default is not inspect.Parameter.empty
}


#: solve() arguments that :func:`.setup.prepare` checks into a Setup, in its parameters' order (its ``layout_notes``
#: is no solve() argument: a solve's Setup has them)
_SETUP_ARGS = tuple(name for name in inspect.signature(prepare).parameters if name != "layout_notes")
#: their values in solve()'s arguments, as a tuple (one C call)
_setup_values = itemgetter(*_SETUP_ARGS)

_TRAFFIC_ARGS = (
    "arrival_rate",
    "concurrency",
    "arrival_cv",
    "length_cv",
    "length_dist",
    "length_samples",
    "max_num_batched_tokens",
    "max_num_seqs",
    "prefix_cache_hit",
    "slo_ttft",
    "slo_itl",
    "slo_percentile",
    "method",
    "seed",
    "num_requests",
    "scheduler_overlap",
    "scheduler_steps",
    "prefill_steps",
)
_traffic_values = itemgetter(*_TRAFFIC_ARGS)


def _traffic_args(a: dict[str, Any]) -> dict[str, Any]:
    """The traffic arguments of solve()'s arguments ``a`` (:data:`_TRAFFIC_ARGS`) as a dict."""
    return dict(zip(_TRAFFIC_ARGS, _traffic_values(a)))


def _check_lengths(shape: ModelShape, seq_len: Any, batch_size: Any, output_len: Any) -> tuple:
    """seq_len, batch_size and output_len checked (in that order) against the model."""
    max_seq = shape.max_seq
    if seq_len.__class__ is not int or not 1 <= seq_len <= max_seq:
        seq_len = V.integer("seq_len", seq_len, 1, int(min(max_seq, _MAX)))
    if batch_size.__class__ is not int or not 1 <= batch_size <= _MAX:
        batch_size = V.integer("batch_size", batch_size, 1, _MAX)
    if output_len is not None:
        if output_len.__class__ is not int or not 1 <= output_len <= max_seq:
            output_len = V.integer("output_len", output_len, 1, int(min(max_seq, _MAX)))
        if seq_len + output_len > max_seq:
            raise InvalidInputError(
                "output_len", output_len, f"seq_len + output_len <= max_seq_len={max_seq} (seq_len={seq_len})"
            )
    return seq_len, batch_size, output_len


_BAND_CHECKS: dict[str, tuple[str, Callable[[Any], float]]] = {
    "efficiency": ("eta_c", check_efficiency),
    "memory_efficiency": ("eta_m", check_memory_efficiency),
    "engine_overhead": ("engine_overhead", check_engine_overhead),
    "network_efficiency": ("eta_n", check_network_efficiency),
    "power_idle": ("power_idle", check_power_idle),
    "power_compute": ("power_compute", check_power_compute),
    "power_memory": ("power_memory", check_power_memory),
}


def _band_columns(errors: PointErrors, vec: dict, a: dict, setup: Setup) -> Setup:
    """``setup`` with the efficiencies and engine overhead a sweep varies as checked columns (rejected
    points get solve()'s message through ``errors``), and the step overhead that follows."""
    changed = {
        field: np.where(errors.ok, checked(errors, name, vec, a, check), getattr(setup, field))
        for name, (field, check) in _BAND_CHECKS.items()
        if name in vec
    }
    if not changed:
        return setup
    engine = changed.get("engine_overhead", setup.engine_overhead)
    overhead = step_overhead(setup.hardware.si.dispatch_tax, setup.shape.layers, engine)
    return attrs.evolve(setup, overhead=overhead, **changed)


def _setup(a: dict[str, Any]) -> Setup:
    """The checked layout of solve() arguments ``a`` (model and hardware resolved), memoized
    (:data:`.setup.prepared`)."""
    return prepared(*_setup_values(a))


#: corner setups made so far: (id of the setup, id of the corner's values) -> (those two, the corner's; :func:`_at`)
_corner_setups = Memo()


def _at(setup: Setup, a: dict[str, Any], over: dict[str, Any]) -> Setup:
    """``setup`` with the efficiencies and engine overhead of ``over`` (those the caller left out of ``a``, at a
    band's corner: ``mlsysim_uncertainty.bands.corner_moves``) checked as solve() checks them, and the step overhead
    that follows. One object per setup (a frozen, memoized :data:`.setup.prepared` value) and ``over`` (the same
    dict on a repeated banded call), checked when first met: a repeated banded call reuses it."""
    key = (id(setup), id(over))
    hit = _corner_setups.get(key)
    if hit is not None and hit[0] is setup and hit[1] is over:  # the entry keeps both alive: an id is not reused
        return hit[2]
    changed: dict[str, Any] = {
        field: check(over[name]) for name, (field, check) in _BAND_CHECKS.items() if name in over
    }
    engine = changed.get("engine_overhead", setup.engine_overhead)
    overhead = step_overhead(setup.hardware.si.dispatch_tax, setup.shape.layers, engine)
    made = attrs.evolve(setup, overhead=overhead, **changed)
    _corner_setups.put(key, (setup, over, made))
    return made


def _check_beams(beam_width: Any) -> int:
    if beam_width.__class__ is int and 1 <= beam_width <= _MAX:
        return beam_width
    return V.integer("beam_width", beam_width, 1, _MAX)


def _phase(setup: Setup, work: tuple) -> tuple:
    """One phase through the replica from its :func:`_work`: the roofline of the per-GPU FLOPs (the
    attention matmuls at their own peak, :func:`.precisions.attention_peak`) and bytes at the setup's
    efficiencies + tensor-parallel all-reduces + expert all-to-alls (:func:`_communication`, at its
    network efficiency), scaled by the pipeline's fill/drain factor, + the step overhead + the stage
    hops. Two-batch overlap (``ep_overlap``): two half batches, one's dispatch/combine during the
    other's compute, each streaming the weights: max(2 x half-batch roofline + all-reduces, all-to-all).
    Returns (t, t_compute, t_memory, t_comm, t_all_to_all, flops, bytes) per micro-batch pass."""
    flops, attn, moved, traffic, factor = work
    comm, a2a, hops = _communication(setup, *traffic)
    t_c = ((flops - attn) / setup.peak + attn / setup.attn_peak) / setup.eta_c
    t_m = moved / (setup.hardware.si.bandwidth * setup.eta_m)
    busy = maximum(t_c, t_m) + comm
    t = factor * (maximum(busy, a2a) if setup.layout.overlap else busy + a2a) + setup.overhead + hops
    return t, t_c, t_m, comm + a2a + hops, a2a, flops, moved


def _work(setup: Setup, batch: Any, context: Any, prefill: bool) -> tuple:
    """What one phase moves and computes, independent of the efficiencies and the engine overhead (so a
    band's corners share it): the prefill of ``batch`` prompts of ``context`` tokens, or one decode step
    of ``batch`` sequences at ``context``. Its micro-batches (:func:`.kernels.pipeline`) each pass every
    layer: per-GPU FLOPs and bytes (:func:`.kernels.prefill` / :func:`.kernels.decode`) and what the
    links carry (:func:`_communication`'s arguments). Returns (flops, attention flops, bytes, traffic,
    pipeline factor) per micro-batch pass."""
    shape, lay = setup.shape, setup.layout
    n, w, dp, lam = float(lay.n), float(lay.w), float(lay.d), lay.imbalance
    tokens = batch * context if prefill else batch
    m, factor = K.pipeline(tokens, float(lay.p), prefill, lay.depth) if lay.p > 1 else (1.0, 1.0)
    micro, t_mb = batch / m, tokens / m
    halves = 2.0 if lay.overlap else 1.0  # two-batch overlap: each half streams the weights again
    c = lay.copies  # physical experts per logical one: E + r hold the k experts a token picks
    read = K.weights_read(t_mb / halves, shape.dense_read, shape.experts_params * c, shape.expert_share / c, n, w, lam)
    kernel = K.prefill if prefill else K.decode
    flops, moved, msg, attn = kernel(
        micro / halves,
        context,
        n,
        setup.b,
        setup.b_kv,
        setup.b_act,
        read,
        shape.matmul,
        shape.prefill_attn if prefill else shape.decode_attn,
        shape.hidden,
        shape.kv,
        setup.kv_share,
        dp,
        shape.experts_params * shape.expert_share,
        w,
        lam,
    )
    return halves * flops, halves * attn, halves * moved, (msg, halves, t_mb, prefill), factor


def _communication(setup: Setup, msg: Any, halves: float, t_mb: Any, prefill: bool) -> tuple:
    """(t_allreduce, t_all_to_all, t_hops) of one micro-batch pass of :func:`_work` at the setup's network
    efficiency (re-timed at each band corner): ``halves`` x the tensor-parallel all-reduces of messages
    of ``msg`` bytes (:func:`.kernels.tp_allreduce`), the expert all-to-alls of its ``t_mb`` tokens
    (:func:`.kernels.all_to_all`) and the pipeline stage hops (:func:`.kernels.stage_hops`)."""
    shape, lay, eta = setup.shape, setup.layout, setup.eta_n
    if lay.n == 1 and not lay.a2a and lay.p == 1:
        return 0.0, 0.0, 0.0  # one GPU per replica: no link carries anything
    w, dp, lam = float(lay.w), float(lay.d), lay.imbalance
    calls = 2.0 * shape.layers - lay.moe_layers  # MoE layers exchanging tokens all-to-all all-reduce once
    bw, lat = setup.link_bandwidth, setup.link_latency
    comm = K.tp_allreduce(msg, float(lay.n), calls, bw, lat, eta, E.COLLECTIVE_LAUNCH_S)
    a2a = hops = 0.0
    if lay.a2a:
        up, out = lay.prefill_copies if prefill else (lay.a2a_up_copies, lay.a2a_out_copies)
        a2a = K.all_to_all(
            t_mb,
            up,
            out,
            shape.hidden,
            setup.b_act,
            w,
            lam,
            lay.moe_layers,
            lay.up_bw,
            lay.up_lat,
            lay.out_bw,
            lay.out_lat,
            eta,
            E.COLLECTIVE_LAUNCH_S,
        )
    if lay.p > 1:
        hops = K.stage_hops(
            t_mb,
            shape.hidden,
            setup.b_act,
            dp,
            lay.hops_up,
            lay.up_bw,
            lay.up_lat,
            lay.hops_out,
            lay.out_bw,
            lay.out_lat,
            eta,
        )
    return halves * comm, a2a, hops


def _works(setup: Setup, batch_size: Any, S: Any, output_len: Any, beams: int) -> dict:
    """The efficiency-independent part of :func:`_evaluate` (computed once for a band's three corners,
    ``ServingModel.solve_corners``): each phase's :func:`_work` (prefill at seq_len, decode at seq_len,
    decode at the mean context of the output, one prompt's prefill) and the memory per GPU."""
    lay, shape = setup.layout, setup.shape
    seqs = batch_size * beams
    out = {"prefill": _work(setup, batch_size, S, True), "decode": _work(setup, seqs, S, False)}
    if output_len is not None:
        out["mean"] = _work(setup, seqs, S + (output_len - 1) / 2.0, False)
        if not (batch_size.__class__ is int and batch_size == 1):
            out["one"] = _work(setup, 1.0, S, True)
    max_ctx = S if output_len is None else S + output_len
    weights, kv, work = K.memory_per_gpu(
        seqs,
        max_ctx,
        float(lay.n),
        setup.b,
        setup.b_kv,
        setup.b_act,
        shape.params,
        shape.kv,
        setup.kv_share,
        PREFILL_CHUNK_TOKENS,
        shape.hidden,
        shape.ffn,
        shape.vocab,
        lay.depth,
        float(lay.d),
        shape.experts_params,
        float(lay.w),
        lay.copies,
    )
    if beams != 1:  # the prompt's cache shared by its beams
        kv = kv * (_held_context(S, output_len, beams) / max_ctx)
    out["memory"] = (weights, kv, work)
    return out


def _held_context(S: Any, output_len: Any, beams: int) -> Any:
    """Tokens of KV cache held per decoded sequence at its longest: S (+ O), or with k > 1 beams per
    request S/k (+ O), the prompt's cache shared by its k beams and each beam's O generated tokens its
    own (k*(S/k + O) = S + k*O per request: TensorRT-LLM's KV cache manager allocates a prompt's blocks
    once, shared among the beams, BlockManager::addSequence, cpp/tensorrt_llm/batch_manager/
    kvCacheManager.cpp in NVIDIA/TensorRT-LLM). The KV reads stay per beam (each beam attends to the
    whole prompt)."""
    prompt = S / beams if beams != 1 else S
    return prompt if output_len is None else prompt + output_len


#: :func:`_static` by the identity of the Setup and the lengths (the roofline a loaded plan's static fields, a strict
#: plan's memory check and a band corner read: :data:`_plan_statics` keeps the fields a plan makes of it)
_statics = Memo()
#: :func:`_works` dicts (filled by their first :func:`_evaluate`) by what they read of a layout and the lengths
_shared_works = Memo()


def _static(setup: Setup, batch_size: int, seq_len: int, output_len: int | None, beams: int) -> dict:
    """:func:`_evaluate` of checked integer lengths, memoized by the Setup's identity (its entry keeps it
    alive, so the id is not reused) and the lengths: read-only (copy it to change it). Its :func:`_works` are shared
    with every layout that differs from ``setup`` only in efficiencies and overheads (:func:`_works_of`)."""
    key = (id(setup), batch_size, seq_len, output_len, beams)
    hit = _statics.get(key)
    if hit is None:
        works = _works_of(setup, batch_size, seq_len, output_len, beams)
        hit = _statics.put(key, (setup, _evaluate(setup, batch_size, float(seq_len), output_len, beams, works)))
    return hit[1]


def _works_of(setup: Setup, batch_size: int, seq_len: int, output_len: int | None, beams: int) -> dict:
    """The :func:`_works` dict (empty until an :func:`_evaluate` fills it) of the layouts that share what ``_works``
    reads of ``setup`` (its model shape and parallel layout, by identity: the entry keeps them alive, so an id is not
    reused; its bytes per weight, KV element and activation, its KV share) at the given lengths: a layout that differs
    only in efficiencies or overheads (a new efficiency, engine overhead or request path) computes its FLOPs, bytes,
    messages and memory once."""
    shape, lay = setup.shape, setup.layout
    key = (id(shape), id(lay), setup.b, setup.b_kv, setup.b_act, setup.kv_share, batch_size, seq_len, output_len, beams)
    hit = _shared_works.get(key)
    if hit is None or hit[0] is not shape or hit[1] is not lay:
        hit = _shared_works.put(key, (shape, lay, {}))
    return hit[2]


#: The SLOs: checked on each loaded call (:func:`.under_load.with_slos`) over a plan that does not read them, so a
#: call under new SLOs reuses the plan of the same call under others (a sweep over SLOs, one search each)
_SLOS = ("slo_ttft", "slo_itl")
#: solve() arguments a loaded answer depends on besides its layout (a Setup), the arrival rate and the SLOs, in
#: :func:`_plan`'s order: the lengths, raise_errors, speculative decoding and the traffic mix
_PLAN_ARGS = (
    "seq_len",
    "batch_size",
    "output_len",
    "beam_width",
    "raise_errors",
    "spec_draft",
    "spec_draft_cost",
    "spec_k",
    "spec_accept",
    *(name for name in _TRAFFIC_ARGS if name != "arrival_rate" and name not in _SLOS),
)
#: their values in solve()'s arguments, as a tuple (one C call)
_plan_values = itemgetter(*_PLAN_ARGS)
#: loaded answers' plans (:func:`_plan`) by the identity of the Setup and of the values of :data:`_PLAN_ARGS`
_plans = Memo()


def _loaded(setup: Setup, a: dict[str, Any], plan: tuple, static: bool = False) -> ServingResult:
    """The result of solve() under traffic on its checked layout ``setup``, its arguments ``a`` and their
    :func:`_plan`: the loaded fields at the offered rate over the plan's fields that no rate moves; ``static``: with
    the static batch fields stored at once (:func:`_with_static`: a band reads them), not on their first read."""
    seq_len, output_len, c, engine, base, spec = plan[2:]
    UL = _module(".under_load")
    slo_ttft, slo_itl = a["slo_ttft"], a["slo_itl"]
    if slo_ttft is not None or slo_itl is not None:
        c = UL.with_slos(c, slo_ttft, slo_itl)
    rate = UL.offered(a, output_len)
    UL.one_rate(c, rate)
    f = UL.at_rate(setup, seq_len, output_len, c, engine, rate, fixed=False)  # the fixed fields are in base
    f["notes"] = setup.notes + f.pop(UL.TRAFFIC_NOTES, ())
    later = partial(_later, setup, engine, f, base, seq_len, output_len, spec)
    if static:
        base = _with_static(setup, base, seq_len, output_len, spec)
    made = built.stored_over(base, f)
    if made is None:  # a later field among f's (feasible where the KV cache holds no request)
        return built(f, base, later)
    made[LATER] = later
    return built.made(made, len(_STATIC_NAMES) if static else 0)


def _later(
    setup: Setup, engine: Any, f: dict, base: dict, seq_len: int, output_len: int, spec: Any, name: str | None = None
) -> dict:
    """The fields a loaded answer ``f`` (:func:`_loaded`, over its plan's ``base``) leaves to the first read of one, by
    their stored names: the group of ``name``, the one read (None: both): the served rate's power fields
    (:func:`_energy`) or the static batch's (:data:`.results.LOADED_STATIC`)."""
    if name is None:
        return {**_energy(setup, engine, f), **_static_later(setup, f, base, seq_len, output_len, spec)}
    if name in LOADED_ENERGY:
        return _energy(setup, engine, f)
    return _static_later(setup, f, base, seq_len, output_len, spec)


def _energy(setup: Setup, engine: Any, f: dict) -> dict:
    """The served rate's power fields of a loaded answer's fields ``f`` (:func:`.under_load.energy_fields`), by
    their stored names (:data:`.results.LOADED_ENERGY`)."""
    e = _module(".under_load").energy_fields(setup, engine, f)
    return {
        "busy_fraction": e.get("busy_fraction"),
        **{"_" + k: e.get(k) for k in ("loaded_power", "loaded_energy_per_token")},
    }


#: (argument name, stored name) of each :data:`.results.LOADED_STATIC` field, and their argument names
_STATIC_NAMES = tuple((name, stored) for name, stored in built.names.items() if stored in LOADED_STATIC)
_STATIC_ARGS = frozenset(name for name, _ in _STATIC_NAMES)
#: each loaded plan's static batch fields by the identity of its base (:func:`_plan`'s ``base``, one per plan: the entry
#: keeps it alive, so an id is not reused): [base, the fields by their stored names (:func:`_plan_static`), the base
#: with them stored in it (:func:`_with_static`) or None until asked]
_plan_statics = Memo()


def _plan_static(setup: Setup, base: dict, seq_len: int, output_len: int, spec: Any) -> list:
    """The :data:`_plan_statics` entry of the plan (layout ``setup``, lengths, speculation ``spec``) whose base is
    ``base``: its static batch fields by their stored names (:data:`.results.LOADED_STATIC`), :func:`_static`'s at the
    plan's batch_size with the speculative ones of ``spec`` (:func:`_drafted`; their defaults without it). No rate
    moves them: made once per plan, so a sweep over rates or a banded solve, which reads them on every call, pays for
    them once. Read-only."""
    entry = _plan_statics.get(id(base))
    if entry is None or entry[0] is not base:
        batch = base["batch_size"]
        g = dict(_static(setup, batch, seq_len, output_len, 1))
        if spec is not None:
            _drafted(setup, spec, g, batch, seq_len, output_len)
        defaults = built.defaults
        fields = {stored: g[name] if name in g else defaults[stored] for name, stored in _STATIC_NAMES}
        entry = _plan_statics.put(id(base), [base, fields, None])
    return entry


def _static_later(setup: Setup, f: dict, base: dict, seq_len: int, output_len: int, spec: Any) -> dict:
    """The static batch fields of a loaded answer's fields ``f`` over its plan's ``base`` by their stored names
    (:func:`_plan_static`), each replaced by ``f``'s where it has one (as the answer's fields are stored over them:
    ``feasible`` where the KV cache holds no request)."""
    fields = _plan_static(setup, base, seq_len, output_len, spec)[1]
    if _STATIC_ARGS.isdisjoint(f):
        return fields  # (read-only: :func:`.results.answered` copies it)
    return {**fields, **{stored: f[name] for name, stored in _STATIC_NAMES if name in f}}


def _with_static(setup: Setup, base: dict, seq_len: int, output_len: int, spec: Any) -> dict:
    """The plan's ``base`` (stored names) with its static batch fields stored in it (:func:`_plan_static`), made once
    per plan: what a banded call's nominal starts from, where it would otherwise answer them on its first read of one
    (a dict of ~50 fields copied and stored into each nominal's)."""
    entry = _plan_static(setup, base, seq_len, output_len, spec)
    if entry[2] is None:
        entry[2] = {**base, **entry[1]}
    return entry[2]


#: solve()'s arguments but ``self`` and the arrival rate: what a loaded answer's layout and plan read
KEYED = tuple(name for name in inspect.signature(ServingModel.solve).parameters if name not in ("self", "arrival_rate"))
#: (the checked layout, its plan) by the identity of solve()'s arguments but the SLOs (the memo's key: those a sweep
#: of loaded solves varies most besides the rate)
_layout_plans = SameArguments(
    lambda a: (
        id(a["model"]),
        id(a["hardware"]),
        id(a["seq_len"]),
        id(a["output_len"]),
        id(a["efficiency"]),
        id(a["concurrency"]),
    ),
    tuple(name for name in KEYED if name not in _SLOS),
    given=True,  # (solve()'s locals() or solve_corners' bound arguments, which nothing changes after: a miss keeps the
    # dict and its first hit reads the ~55 keyed values, ~8 k instructions a cold call)
)


def _layout_plan(a: dict) -> tuple:
    """(:func:`_setup`, :func:`_plan`) of solve()'s arguments ``a`` under traffic (no ``length_samples``: a list
    can change in place), memoized by the identity of the arguments (:class:`.memo.SameArguments`)."""
    return _layout_plans.answer(a, _made_layout_plan)


def _made_layout_plan(a: dict) -> tuple:
    """:func:`_layout_plan`'s miss: the layout and its :func:`_plan`, which :data:`_layout_plans` keeps (not
    :data:`_plans` too: its key of 27 ids cost a cold call ~16 k instructions, and a miss here is a new setup)."""
    setup = _setup(a)
    return setup, _plan(setup, a, ())


def _plan_of(setup: Setup, a: dict) -> tuple:
    """:func:`_plan` of the layout ``setup`` and solve()'s arguments ``a``, memoized by the identity of the setup and
    of the values of :data:`_PLAN_ARGS` (the entry keeps the setup and the values alive, so an id is not reused)
    unless ``length_samples`` is given (a list can change in place); a call that raises stores nothing."""
    values = _plan_values(a)
    key = (id(setup), *map(id, values))
    plan = _plans.get(key)
    if plan is None or plan[0] is not setup:
        plan = _plan(setup, a, values)
        if a["length_samples"] is None:
            _plans.put(key, plan)
    return plan


def _plan(setup: Setup, a: dict, values: tuple) -> tuple:
    """What a loaded answer on the layout ``setup`` reads besides the arrival rate, its arguments ``a`` checked
    in solve()'s order (the lengths, the memory with ``raise_errors``, speculative decoding, the offered load, the
    traffic mix, the replica's engine): (setup, ``values``, seq_len, output_len, checked mix without its SLOs (checked
    here in their turn; :func:`.under_load.with_slos` adds each call's: none of the rest reads them), the layout
    :func:`.under_load.ready` to serve it, the result's fields the rate does not move as it stores them:
    :func:`_static`'s, the speculative ones, the layout's names, the lengths, :func:`.under_load.fixed_fields`).
    The fields are read-only (:meth:`.results.Trusted.__call__` copies them); its callers keep it
    (:func:`_plan_of`, :func:`_layout_plan`)."""
    seq_len, batch_size, output_len = _check_lengths(setup.shape, a["seq_len"], a["batch_size"], a["output_len"])
    beams = _check_beams(a["beam_width"])
    if a["raise_errors"]:
        static = _static(setup, batch_size, seq_len, output_len, beams)
        if not static["feasible"]:
            raise _infeasible(setup, static)
    spec = _speculation(setup, a)
    if beams != 1:
        raise InvalidInputError("beam_width", a["beam_width"], "1 under traffic (arrival_rate or concurrency)")
    UL = _module(".under_load")
    rate = UL.offered(a, output_len)
    c = UL.mix(a)
    UL.one_rate(c, rate)
    engine = UL.ready(setup, seq_len, output_len, c, a["raise_errors"], spec)
    f = _layout_fields(setup)
    f.update(batch_size=batch_size, seq_len=seq_len, output_len=output_len, beam_width=1)
    if engine.__class__ is not str:  # a layout that holds a request: its fields no rate moves
        f.update(UL.fixed_fields(c, engine[2], setup.request_overhead))
    # the loaded answers' base: the defaults but the fields their results answer later (.results.LOADED_ENERGY and the
    # static ones, :func:`_later`), with f over them (a dict without deleted entries: popping them from every answer's
    # copy cost a banded solve ~35 k instructions in the dict copies and updates after it), f's 27 fields stored in one
    # C call by their stored names (:meth:`.results.Trusted.stored_over`, where renaming each cost ~0.5 k)
    base = built.stored_over(built.defaults_later, f)
    if base is None:  # a name that is no field: stored() names it
        base = built.stored(f, built.blank())
    return (setup, values, seq_len, output_len, UL.without_slos(c), engine, base, spec)


def _evaluate(setup: Setup, batch_size: Any, S: Any, output_len: Any, beams: int = 1, works: Any = None) -> dict:
    """Every computed field of the ServingResult from checked inputs. ``batch_size``, ``S`` (=
    seq_len) and ``output_len`` are numbers (``solve()``) or float arrays (a sweep): one code path,
    the kernels of :mod:`.kernels`. Beam search (``beams`` > 1): the ``batch_size`` prompts are
    prefilled once; decode runs ``batch_size * beams`` sequences (compute and KV reads per beam, the
    KV cache held as :func:`_held_context` says) and emits one output token per request per step.
    ``works``: a dict shared by the calls on one layout whose setups differ at most in efficiencies and
    overheads (a band's corners, ``ServingModel.solve_corners``): the first fills it with :func:`_works`,
    the others read it."""
    shape, hw, lay = setup.shape, setup.hardware.si, setup.layout
    b, b_kv = setup.b, setup.b_kv
    if works:
        w = works
    else:
        w = _works(setup, batch_size, S, output_len, beams)
        if works is not None:
            works.update(w)

    ttft, tc_p, tm_p, comm_p, _, f_p, _ = _phase(setup, w["prefill"])
    # ---- decode at context seq_len: every beam of every request is one sequence
    seqs = batch_size * beams
    itl, tc_d, tm_d, comm_d, a2a_d, f_d, m_d = _phase(setup, w["decode"])

    itl_mean = e2e = rps = t_one = itl_cont = rps_cont = in_tps = out_tps = prefill_share = None
    if output_len is not None:
        itl_mean = _phase(setup, w["mean"])[0]
        e2e = ttft + K.decode_span(output_len, itl_mean)
        rps = batch_size / e2e
        # continuous batching: one prompt's prefill slots in between decode steps, B per output_len steps
        if "one" not in w:  # one prompt in the batch
            t_one = ttft
        else:
            t_one = _phase(setup, w["one"])[0]
            if isinstance(batch_size, np.ndarray):
                t_one = np.where(batch_size == 1, ttft, t_one)
        itl_cont = K.interleaved_itl(itl_mean, t_one, batch_size, output_len)
        rps_cont, in_tps, out_tps, prefill_share = K.continuous_rates(batch_size, S, output_len, itl_mean, t_one)

    # ---- memory wall (per GPU)
    w_gpu, kv_gpu, work = w["memory"]
    required = w_gpu + kv_gpu + work
    capacity = hw.capacity
    usable = capacity * setup.memory_fraction

    # ---- energy of decode
    busy = 1.0  # stages' busy share of a decode round
    if lay.p > 1:  # (its names are not the decode's FLOPs and bytes, which the result reports)
        micro, factor = K.pipeline(seqs, float(lay.p), False, lay.depth)
        busy = micro / (lay.p * factor)
    if hw.tdp is not None:
        power, e_step = K.power_energy(
            hw.tdp, tc_d * busy, tm_d * busy, itl, setup.power_idle, setup.power_compute, setup.power_memory
        )
        e_tok = e_step * lay.gpus / batch_size
    else:
        power = e_tok = None

    return {
        "feasible": required <= usable,
        "ttft": ttft,
        "itl": itl,
        "tokens_per_second": batch_size / itl,
        "kv_cache_size": seqs * _held_context(S, output_len, beams) * shape.kv * b_kv,
        "model_weights_size": shape.params * b,
        "total_memory_required": required,
        "memory_available": usable,
        "memory_utilization": required / capacity,
        "weights_per_gpu": w_gpu,
        "kv_cache_per_gpu": kv_gpu,
        "workspace_per_gpu": work,
        "prefill_compute_time": tc_p,
        "prefill_memory_time": tm_p,
        "prefill_communication_time": comm_p,
        "prefill_bottleneck": where(tc_p >= tm_p, "Compute", "Memory"),
        "prefill_flops": f_p,
        "decode_compute_time": tc_d,
        "decode_memory_time": tm_d,
        "decode_communication_time": comm_d,
        "decode_bottleneck": where(tc_d >= tm_d, "Compute", "Memory"),
        "decode_flops": f_d,
        "decode_bytes": m_d,
        "overhead": setup.overhead,
        "itl_mean": itl_mean,
        "e2e_latency": e2e,
        "requests_per_second": rps,
        "prefill_time_per_request": t_one,
        "itl_continuous": itl_cont,
        "request_throughput": rps_cont,
        "input_tokens_per_second": in_tps,
        "output_tokens_per_second": out_tps,
        "prefill_time_share": prefill_share,
        "decode_power": power,
        "energy_per_token": e_tok,
        "peak_flops": setup.peak,
        "bandwidth": hw.bandwidth,
        "compute_efficiency": setup.eta_c,
        "memory_efficiency": setup.eta_m,
        "engine_overhead": setup.engine_overhead,
        "network_efficiency": setup.eta_n,
        "power_idle": setup.power_idle,
        "power_compute": setup.power_compute,
        "power_memory": setup.power_memory,
        "pipeline_bubble": 1.0 - busy,
        "decode_all_to_all_time": a2a_d,
        "all_to_all_bytes_per_token": (
            K.all_to_all_bytes(lay.a2a_up_copies, lay.a2a_out_copies, shape.hidden, setup.b_act, lay.moe_layers)
            if lay.a2a
            else 0.0
        ),
    }
