"""ServingResult: prefill (TTFT) and decode (ITL) of an LLM on one accelerator or a tensor-parallel group."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from mlsysim_core.results import Result, measure, result
from mlsysim_core.types import as_tuple

from .memo import Memo


def _gb(x: float) -> str:
    return f"{x / 1e9:.4g} GB"


@result("ServingModel")
class ServingResult(Result):
    """Result of ``ServingModel().solve``. Memory fields are per GPU unless they say otherwise;
    ``batch_size`` sequences decode concurrently (one token each per step)."""

    # --- the answer
    feasible: bool = attrs.field(metadata={"doc": "total_memory_required <= memory_available (per GPU)"})
    ttft = measure(
        "ms",
        doc="static batch, no traffic: time to first token, the prefill of batch_size prompts of seq_len tokens "
        "(under traffic: ttft_mean, ttft_pXX)",
    )
    itl = measure(
        "ms",
        doc="static batch, no traffic: inter-token latency, one decode step at context seq_len "
        "(under traffic: itl_mean, itl_pXX)",
    )
    tokens_per_second = measure(
        "token/s",
        doc="static batch, no traffic: output tokens per second of the whole TP group = batch_size / itl "
        "(one token per request per step, whatever the beam width; under traffic: output_tokens_per_second)",
    )
    # --- memory
    kv_cache_size = measure(
        "GB",
        doc="KV cache of all sequences at their longest context (seq_len + output_len; with beam search each "
        "prompt's cache once, shared by its beams), whole group",
    )
    model_weights_size = measure("GB", doc="weights of the whole model at the precision used")
    total_memory_required = measure("GB", doc="per GPU: weights/tp + KV share + activation workspace")
    memory_available = measure("GB", doc="per GPU usable memory = reported capacity * memory_fraction (0.9 default)")
    memory_utilization: float = attrs.field(metadata={"doc": "total_memory_required / capacity (per GPU)"})
    weights_per_gpu = measure("GB")
    kv_cache_per_gpu = measure("GB")
    workspace_per_gpu = measure("GB", doc="activation workspace of one prefill chunk + logits")
    # --- prefill split
    prefill_compute_time = measure("ms")
    prefill_memory_time = measure("ms")
    prefill_communication_time = measure("ms", doc="tensor-parallel all-reduces of the prefill")
    prefill_bottleneck: str = attrs.field()
    prefill_flops = measure("TFLOP", doc="per GPU")
    # --- decode split
    decode_compute_time = measure("ms")
    decode_memory_time = measure("ms")
    decode_communication_time = measure("ms", doc="tensor-parallel all-reduces of one decode step")
    decode_bottleneck: str = attrs.field()
    decode_flops = measure("GFLOP", doc="per GPU per step")
    decode_bytes = measure("GB", doc="per GPU per step")
    overhead = measure("ms", doc="fixed per-step overhead: dispatch tax + layers * per-layer overhead")
    # --- with output_len
    itl_mean = measure("ms", doc="mean decode step over the output (context seq_len + (output_len-1)/2)", optional=True)
    e2e_latency = measure(
        "ms",
        doc="static batch, no traffic: ttft + (output_len - 1) * itl_mean (under traffic: e2e_mean)",
        optional=True,
    )
    requests_per_second = measure("1/s", doc="batch_size / e2e_latency (the batch served together)", optional=True)
    prefill_time_per_request = measure(
        "ms", doc="prefill of one prompt: the TTFT of a request joining a running batch", optional=True
    )
    itl_continuous = measure(
        "ms",
        doc="mean token gap under continuous batching at concurrency batch_size: "
        "itl_mean + batch_size/output_len * prefill_time_per_request",
        optional=True,
    )
    request_throughput = measure(
        "1/s",
        doc="requests per second under continuous batching at concurrency batch_size: "
        "batch_size / (output_len*itl_mean + batch_size*prefill_time_per_request)",
        optional=True,
    )
    input_tokens_per_second = measure(
        "token/s", doc="prompt tokens per second = request_throughput * seq_len", optional=True
    )
    output_tokens_per_second = measure(
        "token/s",
        doc="generated tokens per second with the prefills included = request_throughput * output_len",
        optional=True,
    )
    prefill_time_share: object = attrs.field(
        default=None, metadata={"doc": "share of the serving time spent prefilling prompts (continuous batching)"}
    )
    # --- under traffic (arrival_rate or concurrency given): continuous batching with chunked prefill
    arrival_rate = measure(
        "1/s", doc="offered requests per second (closed loop: the rate N clients reach)", optional=True
    )
    ttft_mean = measure(
        "ms", doc="mean time to first token under load: queue + wait for the step + own prefill", optional=True
    )
    ttft_p50 = measure("ms", optional=True)
    ttft_p90 = measure("ms", optional=True)
    ttft_p99 = measure("ms", optional=True)
    itl_p50 = measure("ms", doc="per-request mean token gap (TPOT) percentiles under load", optional=True)
    itl_p90 = measure("ms", optional=True)
    itl_p99 = measure("ms", optional=True)
    e2e_mean = measure("ms", doc="request latency under load: ttft + (output_len - 1) token gaps", optional=True)
    e2e_p90 = measure("ms", optional=True)
    e2e_p99 = measure("ms", optional=True)
    queue_wait_mean = measure(
        "ms", doc="mean time before a request's prefill starts (slot, token budget, step in progress)", optional=True
    )
    concurrency_mean = attrs.field(
        default=None, metadata={"doc": "mean requests in the system (Little: rate * e2e_mean)"}
    )
    utilization = attrs.field(default=None, metadata={"doc": "arrival_rate / saturation_rate (>= 1: overloaded)"})
    overloaded = attrs.field(
        default=None, metadata={"doc": "utilization >= 1: queues grow without bound, no latency given"}
    )
    saturation_rate = measure("1/s", doc="most requests/s the replica sustains (its binding_limit)", optional=True)
    binding_limit = attrs.field(
        default=None,
        metadata={"doc": "what saturates first: max_num_seqs, KV capacity or prefill compute (token budget)"},
    )
    tokens_per_second_per_gpu = measure("token/s", doc="output tokens per second per GPU under load", optional=True)
    kv_cache_utilization = attrs.field(default=None, metadata={"doc": "mean share of the KV-cache capacity in use"})
    slo_attainment = attrs.field(default=None, metadata={"doc": "share of requests meeting both slo_ttft and slo_itl"})
    max_arrival_rate = measure(
        "1/s",
        doc="largest rate whose p<slo_percentile> TTFT/ITL meet the SLOs (saturation_rate without SLOs)",
        optional=True,
    )
    slo_percentile = attrs.field(default=None, metadata={"doc": "percentile the SLOs bind (50, 90 or 99), as given"})
    traffic_method = attrs.field(default=None, metadata={"doc": "analytic or simulate"})
    one_prefill_time = measure("ms", doc="one unloaded prefill of a prompt (prefix-cache hits removed)", optional=True)
    request_overhead = measure(
        "ms", doc="host time of a request outside the engine's steps, in every TTFT and e2e under load", optional=True
    )
    scheduler_overlap = attrs.field(
        default=None,
        metadata={"doc": "the engine schedules its next step before processing the running one's results (as given)"},
    )
    scheduler_steps = attrs.field(
        default=None, metadata={"doc": "decode steps per scheduler call (multi-step scheduling; as given)"}
    )
    prefill_steps = attrs.field(
        default=None,
        metadata={"doc": "where prefills run: 'mixed' beside the decodes, 'separate' in steps of their own (as given)"},
    )
    # --- beyond one tensor-parallel group
    pipeline_bubble: float = attrs.field(
        default=0.0, metadata={"doc": "share of a decode round the pipeline stages idle: 1 - min(pp, batch)/pp"}
    )
    decode_all_to_all_time = measure(
        "ms", doc="expert-parallel dispatch + combine of one decode step (part of decode_communication_time)"
    )
    all_to_all_bytes_per_token = measure(
        "kB", doc="bytes one token sends to other GPUs' experts and back over a forward pass (uniform routing)"
    )
    # --- energy
    decode_power = measure("W", doc="average power per GPU during decode", optional=True)
    energy_per_token = measure(
        "J",
        doc="static batch, no traffic: decode energy per output token at batch_size, all GPUs of the group "
        "(under traffic: loaded_energy_per_token)",
        optional=True,
    )
    busy_fraction = attrs.field(
        default=None,
        metadata={"doc": "under traffic: share of the time the engine runs steps, 1 - exp(-rate x time in engine)"},
    )
    loaded_power = measure(
        "W",
        doc="under traffic: mean power per GPU at the served rate, busy steps and idle draw weighted by busy_fraction",
        optional=True,
    )
    loaded_energy_per_token = measure(
        "J/token",
        doc="under traffic: energy per output token at the served rate, all GPUs of the replica: "
        "GPUs x loaded_power / output tokens per second (idle time included)",
        optional=True,
    )
    # --- speculative decoding (spec_accept given): a draft proposes spec_k tokens, the target verifies them
    spec_draft_name = attrs.field(default=None, metadata={"doc": "the draft model, or heads/MTP/n-gram by cost"})
    spec_drafted = attrs.field(default=None, metadata={"doc": "drafted tokens per step (spec_k)"})
    spec_acceptance = attrs.field(default=None, metadata={"doc": "acceptance rate alpha of each drafted token"})
    spec_tokens_per_step = attrs.field(
        default=None, metadata={"doc": "tokens one verify step yields: (1 - alpha^(k+1)) / (1 - alpha)"}
    )
    spec_step_time = measure("ms", doc="k draft steps + one target pass of k + 1 tokens per sequence", optional=True)
    spec_itl = measure(
        "ms", doc="mean token gap with speculation: spec_step_time / spec_tokens_per_step", optional=True
    )
    spec_speedup = attrs.field(default=None, metadata={"doc": "itl / spec_itl at this batch (< 1: a loss)"})
    spec_tokens_per_second = measure("token/s", doc="output tokens/s of the group with speculation", optional=True)
    spec_energy_per_token = measure("J", doc="energy per output token with speculation, all GPUs", optional=True)
    spec_break_even_batch = attrs.field(
        default=None, metadata={"doc": "smallest batch at which speculation no longer pays (None: up to 4096)"}
    )
    spec_draft_memory_per_gpu = measure("GB", doc="draft weights and KV cache per GPU", optional=True)
    # --- what was assumed
    peak_flops = measure("TFLOP/s", doc="dense peak per GPU at the precision used")
    bandwidth = measure("TB/s", doc="memory bandwidth per GPU")
    compute_efficiency: float = attrs.field()
    memory_efficiency: float = attrs.field()
    network_efficiency: float = attrs.field(
        metadata={"doc": "achieved fraction of a link's bandwidth in all-reduces, all-to-alls and stage hops"}
    )
    engine_overhead = measure("ms", doc="host time of one engine iteration (scheduling, sampling) in the overhead")
    power_idle: float = attrs.field(default=None, metadata={"doc": "awake-idle share of TDP in the power model"})
    power_compute: float = attrs.field(default=None, metadata={"doc": "share of TDP the busy compute units draw"})
    power_memory: float = attrs.field(default=None, metadata={"doc": "share of TDP the busy memory system draws"})
    precision: str = attrs.field(metadata={"doc": "weights precision (bytes of memory and of decode's weight stream)"})
    activation_precision: str = attrs.field(metadata={"doc": "precision the matmuls run in (peak_flops)"})
    kv_precision: str = attrs.field()
    tp_size: int = attrs.field()
    pp_size: int = attrs.field(default=1, metadata={"doc": "pipeline stages"})
    ep_size: int = attrs.field(default=1, metadata={"doc": "GPUs the routed experts are spread over (1: tensor-split)"})
    dp_attention: int = attrs.field(default=1, metadata={"doc": "attention data-parallel ranks per stage"})
    gpus: int = attrs.field(default=1, metadata={"doc": "GPUs of the replica = tp_size * dp_attention * pp_size"})
    ep_overlap: bool = attrs.field(default=False, metadata={"doc": "all-to-all overlapped with compute (two-batch)"})
    redundant_experts: int = attrs.field(default=0, metadata={"doc": "extra physical expert copies (EPLB)"})
    expert_imbalance: float = attrs.field(
        default=1.0, metadata={"doc": "busiest expert rank's load over the mean (1 without expert parallelism)"}
    )
    batch_size: int = attrs.field()
    seq_len: int = attrs.field()
    output_len: object = attrs.field()
    beam_width: int = attrs.field(
        default=1,
        metadata={
            "doc": "beams per request: batch_size * beam_width sequences decode, one output token per request per step"
        },
    )
    hardware: str = attrs.field()
    model: str = attrs.field()
    notes: tuple = attrs.field(
        factory=tuple,
        converter=as_tuple,
        metadata={
            "doc": "every default taken for a value not given: precision, usable-memory share, link latency, TP limit"
        },
    )

    def __getstate__(self) -> dict:
        """What pickle and copy keep: every field, the served rate's power fields answered first (LOADED_ENERGY)."""
        return {k: v for k, v in answered(self).items() if k != LATER}

    # SI stores behind the Quantity views above (set by @result), read by the explanations below
    _total_memory_required: float
    _memory_available: float
    _weights_per_gpu: float
    _kv_cache_per_gpu: float
    _workspace_per_gpu: float
    _prefill_compute_time: float
    _prefill_memory_time: float
    _prefill_communication_time: float
    _decode_compute_time: float
    _decode_memory_time: float
    _decode_communication_time: float
    _decode_all_to_all_time: float
    _itl_mean: float | None
    _arrival_rate: float | None
    _saturation_rate: float | None
    _ttft_p99: float | None
    _queue_wait_mean: float | None
    _request_overhead: float | None
    _max_arrival_rate: float | None
    _spec_draft_memory_per_gpu: float | None
    _spec_step_time: float | None
    _spec_itl: float | None
    _itl: float
    _ttft: float
    _overhead: float

    @property
    def bottlenecks(self) -> dict:
        """{"prefill": ..., "decode": ...}: the larger roofline term of each phase."""
        return {"prefill": self.prefill_bottleneck, "decode": self.decode_bottleneck}

    @property
    def constraint_trace(self) -> list[str]:
        """Why: the memory wall of one GPU and the bound of each phase (built on access)."""
        req, avail = self._total_memory_required, self._memory_available
        return self._memory_lines(req, avail) + self._layout_lines() + self._spec_lines() + self._traffic_lines()

    def _spec_lines(self) -> list[str]:
        if self.spec_speedup is None:
            return []
        even, step, itl = self.spec_break_even_batch, self._spec_step_time, self._spec_itl
        assert step is not None and itl is not None  # set with spec_speedup
        return [
            f"Speculative: {self.spec_draft_name} drafts k={self.spec_drafted} at alpha={self.spec_acceptance:g}: "
            f"{self.spec_tokens_per_step:.3g} tokens per {step * 1e3:.4g} ms step, ITL "
            f"{itl * 1e3:.4g} ms vs {self._itl * 1e3:.4g} ms (x{self.spec_speedup:.3g}) at batch "
            f"{self.batch_size}; the gain shrinks as decode turns compute-bound"
            + (f": break-even at batch {even}." if even is not None else " (no break-even up to batch 4096).")
        ]

    def _layout_lines(self) -> list[str]:
        if self.pp_size == 1 and self.ep_size == 1 and self.dp_attention == 1:
            return []
        line = f"Layout: {self.gpus} GPUs = tp {self.tp_size} x dp-attention {self.dp_attention} x pp {self.pp_size}"
        if self.ep_size > 1:
            line += (
                f"; experts over {self.ep_size} GPUs, all-to-all {self._decode_all_to_all_time * 1e3:.4g} ms of each "
                f"decode step (busiest rank {self.expert_imbalance:.3g}x the mean)"
            )
        if self.pp_size > 1:
            line += f"; pipeline bubble {self.pipeline_bubble:.0%} of a decode round"
        return [line + "."]

    def _traffic_lines(self) -> list[str]:
        if self.utilization is None:
            return []
        rate, sat = self._arrival_rate, self._saturation_rate
        if sat == 0.0:
            lines = [
                "Traffic: INFEASIBLE. The KV cache left after the weights cannot hold one request of "
                f"{self.seq_len:,} + {self.output_len:,} tokens: nothing is served (more GPUs, a smaller "
                "KV precision or shorter requests)."
            ]
        elif self.overloaded:
            lines = [
                f"Traffic: OVERLOADED. {rate:.4g} req/s offered >= {sat:.4g} req/s this replica sustains "
                f"(utilization {self.utilization:.2f}, limited by {self.binding_limit}); queues grow without "
                f"bound: lower the rate to below {sat:.4g} req/s or add replicas."
            ]
        else:
            p99, wait, itl = self._ttft_p99, self._queue_wait_mean, self._itl_mean
            assert p99 is not None and wait is not None and itl is not None  # filled whenever utilization is
            lines = [
                f"Traffic: {rate:.4g} req/s, utilization {self.utilization:.2f} of {sat:.4g} req/s "
                f"(saturates on {self.binding_limit}); TTFT p99 {p99 * 1e3:.4g} ms = queue "
                f"{wait * 1e3:.4g} ms mean + prefill"
                + (f" + request path {self._request_overhead * 1e3:.4g} ms" if self._request_overhead else "")
                + f", ITL mean {itl * 1e3:.4g} ms"
                + (
                    "."
                    if self.spec_tokens_per_step is None
                    else f" (speculative: each decode step verifies {self.spec_drafted + 1} tokens per sequence "
                    f"against the token budget and keeps {self.spec_tokens_per_step:.3g})."
                )
            ]
        if self.slo_attainment is not None:
            lines.append(
                f"SLO: {self.slo_attainment:.1%} of requests meet both; max rate at p{self.slo_percentile} "
                f"{self._max_arrival_rate:.4g} req/s."
            )
        return lines

    def _memory_lines(self, req: float, avail: float) -> list[str]:
        return [
            f"Memory Wall: {'Passed' if self.feasible else 'FAILED'}. Required {_gb(req)} per GPU "
            f"(weights {_gb(self._weights_per_gpu)} + KV {_gb(self._kv_cache_per_gpu)} + workspace "
            f"{_gb(self._workspace_per_gpu)}"
            + ("" if self._spec_draft_memory_per_gpu is None else f" + draft {_gb(self._spec_draft_memory_per_gpu)}")
            + f") {'<=' if self.feasible else '>'} usable {_gb(avail)} on "
            f"{self.hardware} x{self.gpus}.",
            self._phase_line("Prefill", "TTFT", self._ttft),
            self._phase_line("Decode", "ITL", self._itl),
        ]

    def _phase_line(self, phase: str, latency: str, total: float) -> str:
        """A phase's roofline regime and its terms; where the fixed per-step overhead exceeds each of them, the
        phase is overhead-bound, with the overhead's share of its latency (``total``: the TTFT or the ITL)."""
        key = phase.lower()
        c, m, comm = (getattr(self, f"_{key}_{t}_time") for t in ("compute", "memory", "communication"))
        bound, o = getattr(self, f"{key}_bottleneck"), self._overhead
        line = f"{phase}: {bound}-bound (compute {c * 1e3:.4g} ms, memory {m * 1e3:.4g} ms, comm {comm * 1e3:.4g} ms, "
        line += f"overhead {o * 1e3:.4g} ms)"
        if o > max(c, m, comm) and 0.0 < total < math.inf:
            line += (
                f"; overhead-bound: the fixed per-step overhead is {o / total:.0%} of the {latency}, more than any "
                f"term ({key}_bottleneck {bound} is the roofline regime of the rest)"
            )
        return line + "."

    prefix_cache_hit: float = attrs.field(
        default=0.0, metadata={"doc": "share of each prompt served from the prefix cache (no prefill, no KV write)"}
    )

    @property
    def prompt_cache_hit_ratio(self) -> float:
        """Upstream name of ``prefix_cache_hit``."""
        return self.prefix_cache_hit


#: The key of a result's dict holding what answers its later fields until the first read of one (:class:`Trusted`)
LATER = "_later"


class _Later:
    """A field of a :class:`Trusted` class with ``later`` fields: a non-data descriptor, so a value stored in the
    instance's dict is read from there; a result built with ``later`` (its dict without the field) answers every later
    field on the first read of one (:func:`answered`)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        d = answered(obj, self.name)
        if self.name not in d:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}")
        return d[self.name]


def answered(obj: Any, name: str | None = None) -> dict[str, Any]:
    """The dict of the result ``obj`` with its later fields answered (:class:`Trusted`: ``later``): what its dict holds
    under :data:`LATER` is called with the stored ``name`` read (None: every later field) and answers that field's
    group or more (stored names -> values, its class's converters applied); once every later field is in the dict,
    :data:`LATER` is dropped. A group answers the same values whenever it is asked."""
    d = obj.__dict__
    later = d.get(LATER)
    if later is not None:
        values = later(name)
        converters = _later_converters.get(type(obj))
        if converters:  # (into a copy: ``later`` may answer a dict it keeps)
            values = dict(values)
            for field, convert in converters:
                if field in values:
                    values[field] = convert(values[field])
        d.update(values)
        if d.keys() >= _later_names[type(obj)]:  # (one C pass)
            d.pop(LATER, None)
    return d


#: converters of each class's later fields (:class:`Trusted`)
_later_converters: dict[type, tuple] = {}
#: each class's later fields (stored names)
_later_names: dict[type, frozenset] = {}


class Trusted:
    """Builds instances of the @result class ``cls`` from the fields a solver computed (its keyword arguments as
    a dict, SI floats), without the keyword matching of attrs' __init__ (~84 k instructions for ServingResult's
    102 fields, twice the ~40 k of the stores here): each value stored under its field's stored name over the
    defaults (or over a ``base`` made by :meth:`stored`), each converter applied, as ``cls(**fields)`` stores
    them (or stored by the solver into :meth:`blank` by their stored names, then :meth:`made`: no renaming). A key
    that is no field, or a field without a default that is not given, raises TypeError naming it.
    Users' constructions keep ``cls(...)``; a class with validators or a post-init hook has no trusted path
    (they would be skipped). ``later``: stored names of fields a :meth:`stored` base may leave to a function
    (its ``later``, called with the stored name read, None for all) that answers them, or the group of the one read,
    on the first read of one (:class:`_Later`, installed on ``cls``; the result stays frozen: the function must answer
    the same values whenever it is called)."""

    __slots__ = (
        "cls",
        "names",
        "defaults",
        "defaults_later",
        "converters",
        "count",
        "later",
        "count_later",
        "converters_later",
        "later_set",
        "_renamed",
    )

    def __init__(self, cls: type, later: tuple[str, ...] = ()):
        fields = attrs.fields(cls)  # an @result class: an attrs class
        if any(f.validator is not None for f in fields) or hasattr(cls, "__attrs_post_init__"):
            raise TypeError(f"{cls.__name__} validates its fields: construct it with {cls.__name__}(**fields)")
        self.cls = cls
        self.names = {f.alias: f.name for f in fields}  # argument name -> stored name (``_ttft`` for ``ttft``)
        plain = [f for f in fields if f.default is not attrs.NOTHING and not isinstance(f.default, attrs.Factory)]  # type: ignore[arg-type]
        self.defaults = {f.name: f.default for f in plain}
        self.converters = tuple((f.name, f.converter) for f in fields if f.converter is not None)
        self.count = len(fields)
        unknown = set(later) - {f.name for f in fields}
        if unknown:
            raise TypeError(f"{cls.__name__} has no stored fields {sorted(unknown)}")
        self.later = later
        self.later_set = frozenset(later)
        #: :meth:`stored_over`'s stored names by the argument names in their order (False: one is later or no field)
        self._renamed = Memo(64)
        #: the defaults but the later fields (:meth:`blank`)
        self.defaults_later = {name: value for name, value in self.defaults.items() if name not in later}
        #: a base with ``later``: the fields but the later ones, and :data:`LATER`
        self.count_later = len(fields) - len(later) + 1
        self.converters_later = tuple((name, c) for name, c in self.converters if name not in later)
        if later:
            _later_converters[cls] = tuple((name, c) for name, c in self.converters if name in later)
            _later_names[cls] = frozenset(later)
            for name in later:
                setattr(cls, name, _Later(name))

    def stored(
        self, fields: dict[str, Any], base: dict[str, Any] | None = None, later: Callable[[], Any] | None = None
    ) -> dict[str, Any]:
        """``base`` (stored names, e.g. a memoized earlier :meth:`stored`; default: the defaults) with ``fields``
        (by argument name) over it: a new dict; ``later``: a function answering the class's later fields (stored
        names -> values), which the dict then holds instead of them."""
        made = (self.defaults if base is None else base).copy()  # a dict copy: one C block copy
        names = self.names
        try:
            for name, value in fields.items():
                made[names[name]] = value
        except KeyError:
            raise TypeError(f"{self.cls.__name__} has no field {name!r}") from None
        if later is not None:
            for name in self.later_set.intersection(made):  # one C pass over the dict (a base may lack them all)
                del made[name]
            made[LATER] = later
        return made

    def stored_over(self, base: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any] | None:
        """A copy of ``base`` (stored names, none of the later fields) with ``fields`` (by argument name) stored over it
        in one C call (``dict.update(zip(...))``: their stored names found once per order of names, where
        :meth:`stored` renames each); None where ``fields`` holds a later field or a name that is no field (then
        :meth:`stored`, which drops the one and names the other)."""
        keys = tuple(fields)
        names = self._renamed.get(keys)
        if names is None:
            stored, later = self.names, self.later_set
            ok = all(name in stored and stored[name] not in later for name in keys)
            names = self._renamed.put(keys, tuple(stored[name] for name in keys) if ok else False)
        if names is False:
            return None
        made = base.copy()
        made.update(zip(names, fields.values()))
        return made

    def blank(self) -> dict[str, Any]:
        """A new dict of the defaults but the later fields, for a solver to store each field in by its stored name
        (``_ttft`` for ``ttft``; none of the later fields, which :data:`LATER` answers), then make the result of
        (:meth:`made`): a store costs ~0.3 k instructions, where :meth:`stored` renames each field (~0.5 k) into
        a copy and a dict display of stored names costs ~0.5 k a key before its copy."""
        return self.defaults_later.copy()

    def __call__(
        self, fields: dict[str, Any], base: dict[str, Any] | None = None, later: Callable[[], Any] | None = None
    ) -> Any:
        """The result of ``fields`` over ``base``, its later fields left to ``later`` if given (see :meth:`stored`)."""
        return self.made(self.stored(fields, base, later))

    def made(self, made: dict[str, Any], answered: int = 0) -> Any:
        """The result whose dict is ``made`` (stored names; :data:`LATER` where later fields are left to it,
        ``answered`` of them stored in it already), each converter applied; TypeError naming the fields it lacks."""
        deferred = LATER in made
        if len(made) != (self.count_later + answered if deferred else self.count):
            left = self.later if deferred else ()
            missing = [n for n, stored in self.names.items() if stored not in made and stored not in left]
            raise TypeError(f"{self.cls.__name__} is missing the fields {missing}")
        for name, convert in self.converters_later if deferred else self.converters:
            made[name] = convert(made[name])
        result: Any = object.__new__(self.cls)
        object.__setattr__(result, "__dict__", made)  # a frozen dict class: its own __setattr__ refuses
        return result


#: The served rate's power fields (stored names): a solve under traffic answers them on the first read of one
#: (:func:`.solver._loaded`), so a call that reads none pays nothing for them (~13 k instructions a solve)
LOADED_ENERGY = ("busy_fraction", "_loaded_power", "_loaded_energy_per_token")
#: The static batch fields (stored names) a solve under traffic answers on the first read of one
#: (:func:`.solver._loaded`): the roofline of one batch of ``batch_size`` (:func:`.solver._evaluate`) but the five its
#: loaded fields replace, and the speculative ones; no loaded field reads them, so a call that reads none does not
#: compute them (~80-160 k instructions a cold solve, ~0.7 M with a draft model)
LOADED_STATIC = (
    "feasible",
    "_ttft",
    "_itl",
    "_tokens_per_second",
    "_kv_cache_size",
    "_model_weights_size",
    "_total_memory_required",
    "_memory_available",
    "memory_utilization",
    "_weights_per_gpu",
    "_kv_cache_per_gpu",
    "_workspace_per_gpu",
    "_prefill_compute_time",
    "_prefill_memory_time",
    "_prefill_communication_time",
    "prefill_bottleneck",
    "_prefill_flops",
    "_decode_compute_time",
    "_decode_memory_time",
    "_decode_communication_time",
    "decode_bottleneck",
    "_decode_flops",
    "_decode_bytes",
    "_overhead",
    "_e2e_latency",
    "_prefill_time_per_request",
    "_itl_continuous",
    "_request_throughput",
    "_decode_power",
    "_energy_per_token",
    "_peak_flops",
    "_bandwidth",
    "compute_efficiency",
    "memory_efficiency",
    "_engine_overhead",
    "network_efficiency",
    "power_idle",
    "power_compute",
    "power_memory",
    "pipeline_bubble",
    "_decode_all_to_all_time",
    "_all_to_all_bytes_per_token",
    "spec_draft_name",
    "spec_drafted",
    "spec_acceptance",
    "spec_tokens_per_step",
    "_spec_step_time",
    "_spec_itl",
    "spec_speedup",
    "_spec_tokens_per_second",
    "_spec_energy_per_token",
    "spec_break_even_batch",
    "_spec_draft_memory_per_gpu",
)
#: :class:`Trusted` of ServingResult: how the solver builds its results (``ServingModel._answer``)
built = Trusted(ServingResult, later=LOADED_ENERGY + LOADED_STATIC)
