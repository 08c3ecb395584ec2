"""ServingModel under traffic: checks the traffic arguments, builds the engine step cost of the
layout and answers with the analytic model (:mod:`.traffic`) or the simulator (:mod:`.simulate`).

Defaults and their sources: ``max_num_batched_tokens`` 8192 (vLLM chunked prefill on large GPUs),
``max_num_seqs`` 256 (vLLM ``EngineArgs.max_num_seqs``), Poisson arrivals (``arrival_cv`` 1, the
request-rate mode of vLLM's ``benchmark_serving.py``), fixed lengths (``length_cv`` 0, its
"random" dataset with range ratio 0), SLO percentile p99.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from operator import is_, itemgetter
from typing import Any, NamedTuple

import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.solver import PreparedCache
from mlsysim_core.units import Quantity, ureg
from mlsysim_physics import efficiency as E

from . import kernels as K
from . import simulate as SIM
from . import traffic as TR
from .loaded_energy import loaded_power
from .memo import Memo, sized
from .ops import SCALAR
from .request_path import parse_seconds, to_client
from .roots import crossing, largest_meeting, nearest_known
from .setup import Setup
from .solver import PREFILL_CHUNK_TOKENS, check_scheduler

DEFAULT_MAX_NUM_SEQS = 256
LENGTH_DISTRIBUTIONS = ("lognormal", "gamma")
METHODS = ("analytic", "simulate")
#: Requests the simulator serves by default, and the share left out as warm-up (empty engine at start).
#: Key of the notes the traffic model adds to the result's ``notes`` (popped by the solver).
TRAFFIC_NOTES = "traffic_notes"
SIM_REQUESTS = 10_000
SIM_WARMUP = 0.1


def _seconds(name: str, value: Any) -> float:
    """A time: seconds as a number, a time Quantity, or a string such as "50 ms" or "1s"."""
    if isinstance(value, str):  # strict: no pint expressions ("2**3 ms", "1..3")
        value = parse_seconds(name=name, text=value, expected='a time such as "1s", "300 ms" or a number of seconds')
    if isinstance(value, Quantity):
        seconds = V.quantity(name, value, ureg.s)
        assert seconds is not None  # not optional: V.quantity raises on None
        return seconds
    return V.number(name, value, 0.0, math.inf, low_open=True, high_open=True)


def check_rate(value: Any) -> float:
    """arrival_rate as requests/s: a number or a Quantity in 1/s, finite and > 0."""
    if value.__class__ is float and 0.0 < value < math.inf:  # the common case without the abc checks
        return value
    if isinstance(value, Quantity):
        rate = V.quantity("arrival_rate", value, ureg.Unit("1/s"))
        assert rate is not None  # not optional: V.quantity raises on None
        return rate
    return V.number("arrival_rate", value, 0.0, math.inf, low_open=True, high_open=True)


def offered(a: dict, output_len: Any) -> Any:
    """The offered load of the traffic arguments ``a``: the arrival rate checked (requests/s; a sweep's
    array as given), None in a closed loop; checked first, as each error names its argument."""
    if output_len is None:
        raise InvalidInputError("output_len", None, "an integer >= 1 when arrival_rate or concurrency is given")
    rate, conc = a.get("arrival_rate"), a.get("concurrency")
    if rate is not None and conc is not None:
        raise InvalidInputError("concurrency", conc, "None when arrival_rate is given (open or closed loop, not both)")
    return None if rate is None else (rate if isinstance(rate, np.ndarray) else check_rate(rate))


#: The traffic arguments but the arrival rate, with solve()'s defaults, in the order :func:`check_mix` takes them.
MIX_DEFAULTS = {
    "concurrency": None,
    "arrival_cv": 1.0,
    "length_cv": 0.0,
    "length_dist": "lognormal",
    "length_samples": None,
    "max_num_batched_tokens": None,
    "max_num_seqs": None,
    "prefix_cache_hit": 0.0,
    "slo_ttft": None,
    "slo_itl": None,
    "slo_percentile": 99,
    "method": None,
    "seed": 0,
    "num_requests": SIM_REQUESTS,
    "scheduler_overlap": False,
    "scheduler_steps": 1,
    "prefill_steps": "mixed",
}


def check(a: dict, output_len: Any, slos: bool = True) -> dict:
    """The traffic arguments checked (each error names argument, value and valid range): :func:`mix`'s read-only
    dict, memoized by the identity of its values, the arrival rate checked (:func:`offered`) but not in it; ``slos``
    False: the mix without the SLOs of ``a`` (None), which are not checked."""
    rate = offered(a, output_len)
    c = mix(a, slos)
    one_rate(c, rate)
    return c


def one_rate(c: dict, rate: Any) -> None:
    """The simulator answers one configuration: the checked mix ``c`` with a sweep's rates (an array) only
    analytically."""
    if c["method"] == "simulate" and isinstance(rate, np.ndarray):
        raise InvalidInputError("method", "simulate", "analytic in a sweep (simulate answers one configuration)")


def mix(a: dict, slos: bool = True) -> dict:
    """:func:`check_mix` of the traffic arguments in ``a`` (solve()'s arguments or a dict holding every key of
    :data:`MIX_DEFAULTS`), memoized by their identity (read-only: copy to change) unless ``length_samples`` is
    given (a list can change in place); ``slos`` False: with no SLOs (those of ``a`` not read)."""
    if not slos:
        return _mix_without_slos(a)
    mix = _mix_values(a)
    if mix[4] is not None:
        return check_mix(*mix)
    last = _last_mix[0]
    if all(map(is_, mix, last[0])):  # the same objects as the last mix's (a sweep of layouts under one traffic)
        return last[1]
    c = _mixes(*mix)
    _last_mix[0] = (mix, c)
    return c


def _mix_without_slos(a: dict) -> dict:
    """:func:`mix` of ``a`` with no SLOs: the last such mix answered again for the same objects of the other 15 values
    (read without the SLOs: no 17-value tuple rebuilt with None in their place, ~3 k instructions), else as
    :func:`mix` does (:data:`_mixes`, the same entries)."""
    values = _mix_values_without_slos(a)
    last = _last_mix_without_slos[0]
    if values[4] is None and all(map(is_, values, last[0])):
        return last[1]
    mix = (*values[:_SLO_AT], None, None, *values[_SLO_AT:])
    if values[4] is not None:
        return check_mix(*mix)
    c = _mixes(*mix)
    _last_mix_without_slos[0] = (values, c)
    return c


def check_mix(
    conc,
    arrival_cv,
    length_cv,
    length_dist,
    samples,
    m,
    s,
    hit,
    slo_ttft,
    slo_itl,
    pct,
    method,
    seed,
    requests,
    overlap,
    steps,
    prefill_steps,
) -> dict:
    """The traffic arguments but the arrival rate (in :data:`MIX_DEFAULTS`' order) checked."""
    c: dict[str, Any] = {"concurrency": None if conc is None else V.integer("concurrency", conc, 1, 1 << 24)}
    c["arrival_cv"] = V.number("arrival_cv", arrival_cv, 0.0, 10.0)
    c["length_cv"] = V.number("length_cv", length_cv, 0.0, 10.0)
    c["length_dist"] = V.choice("length_dist", length_dist, LENGTH_DISTRIBUTIONS)
    c["length_samples"] = None if samples is None else TR.SampledLengths(check_samples(samples))
    if c["length_samples"] is not None and c["length_cv"] != 0.0:
        raise InvalidInputError(
            "length_cv", c["length_cv"], "0 when length_samples is given (the samples set the spread)"
        )
    c["max_num_batched_tokens"] = (
        int(PREFILL_CHUNK_TOKENS) if m is None else V.integer("max_num_batched_tokens", m, 2, 1 << 24)
    )
    c["max_num_seqs"] = DEFAULT_MAX_NUM_SEQS if s is None else V.integer("max_num_seqs", s, 1, 1 << 24)
    if c["max_num_seqs"] >= c["max_num_batched_tokens"]:
        raise InvalidInputError(
            "max_num_seqs",
            c["max_num_seqs"],
            f"below max_num_batched_tokens={c['max_num_batched_tokens']} (decode tokens leave room for prefill)",
        )
    c["prefix_cache_hit"] = V.number("prefix_cache_hit", hit, 0.0, 1.0, high_open=True)
    c["slo_ttft"] = None if slo_ttft is None else _seconds("slo_ttft", slo_ttft)
    c["slo_itl"] = None if slo_itl is None else _seconds("slo_itl", slo_itl)
    c["slo_percentile"] = V.choice("slo_percentile", pct, tuple(TR.Z))
    c["method"] = "analytic" if method is None else V.choice("method", method, METHODS)
    c["seed"] = V.integer("seed", seed, 0, 2**63 - 1)
    c["num_requests"] = V.integer("num_requests", requests, 100, 10_000_000)
    c.update(check_scheduler(overlap, steps, prefill_steps))
    return c


_mixes = PreparedCache(check_mix)
#: (the arguments, the answer) of the last :func:`mix` of :data:`_mixes` (kept there too), one tuple (read at once):
#: the ids of 17 values cost ~8 k instructions, their ``is`` ~4 k. No mix yet: a first value no argument is.
_last_mix: list = [((object(),), None)]
#: the values of :data:`MIX_DEFAULTS`' keys in a dict, as a tuple (one C call)
_mix_values = itemgetter(*MIX_DEFAULTS)
#: where the SLOs (slo_ttft, slo_itl) are among them
_SLO_AT = list(MIX_DEFAULTS).index("slo_ttft")
#: the values of :data:`MIX_DEFAULTS`' keys but the SLOs, as a tuple (one C call), and the last
#: :func:`_mix_without_slos` (those values, the answer)
_mix_values_without_slos = itemgetter(*(k for k in MIX_DEFAULTS if k not in ("slo_ttft", "slo_itl")))
_last_mix_without_slos: list = [((object(),), None)]


def without_slos(c: dict) -> dict:
    """The checked mix ``c`` with no SLOs (``c`` itself where it has none): what a plan keeps (:func:`with_slos`)."""
    return c if c["slo_ttft"] is None and c["slo_itl"] is None else dict(c, slo_ttft=None, slo_itl=None)


#: :func:`with_slos` by the identity of its arguments (the entry keeps them alive, so an id is not reused)
_slo_mixes = Memo()


def with_slos(c: dict, slo_ttft: Any, slo_itl: Any) -> dict:
    """The checked mix ``c`` without SLOs (:func:`without_slos`) with ``slo_ttft`` and ``slo_itl`` checked as
    :func:`check_mix` checks them (``c`` itself without SLOs), memoized by the identity of the three (read-only) unless
    ``c`` holds ``length_samples`` (not kept)."""
    if slo_ttft is None and slo_itl is None:
        return c
    key = (id(c), id(slo_ttft), id(slo_itl))
    hit = _slo_mixes.get(key)
    if hit is not None and hit[0] is c and hit[1] is slo_ttft and hit[2] is slo_itl:
        return hit[3]
    checked = dict(
        c,
        slo_ttft=None if slo_ttft is None else _seconds("slo_ttft", slo_ttft),
        slo_itl=None if slo_itl is None else _seconds("slo_itl", slo_itl),
    )
    if c["length_samples"] is None:
        _slo_mixes.put(key, (c, slo_ttft, slo_itl, checked))
    return checked


def check_samples(value: Any) -> np.ndarray:
    """length_samples as an (n, 2) float array: at least 2 (prompt, output) pairs of integers >= 1."""
    valid = "at least 2 (prompt tokens, output tokens) pairs of integers >= 1, e.g. [(512, 128), (2048, 300)]"
    try:
        pairs = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError("length_samples", value, valid) from None
    if (
        pairs.ndim != 2
        or pairs.shape[1] != 2
        or len(pairs) < 2
        or not np.all(np.isfinite(pairs))
        or np.any(pairs < 1)
        or np.any(pairs != np.round(pairs))
    ):
        shown = value if pairs.size <= 8 else f"{type(value).__name__} of shape {pairs.shape}"
        raise InvalidInputError("length_samples", shown, valid)
    return pairs


def step_cost(setup: Setup) -> TR.StepCost:
    """The engine step cost of this layout (same terms as the static prefill/decode kernels)."""
    return TR.StepCost(setup, E.COLLECTIVE_LAUNCH_S)


#: :func:`step_cost` of each Setup made so far, by its identity: (the Setup, kept alive so that its id is not reused,
#: its step cost)
_costs = Memo()


def costs(setup: Setup) -> TR.StepCost:
    """:func:`step_cost` of ``setup``, made once per Setup (a frozen, memoized :data:`.setup.prepared` value)."""
    key = id(setup)
    hit = _costs.get(key)
    if hit is None or hit[0] is not setup:
        hit = _costs.put(key, (setup, step_cost(setup)))
    return hit[1]


def kv_capacity_tokens(
    setup: Setup,
    M: float,
    max_seqs: float,
    draft_weights: float = 0.0,
    draft_kv: float = 0.0,
    weights: float | None = None,
) -> float:
    """KV tokens the replica can hold: (usable - weights per GPU - workspace of an M-token step and
    max_num_seqs fp32 logit rows - a draft model's weights) / (kv * b_kv * kv_share / (pp * dp_attention)
    + the draft's KV bytes per token) per GPU (each GPU holds its stage's layers of its attention rank's
    sequences, and its rank's 1/dp_attention of the step's tokens and logit rows, split tp ways; a draft
    model keeps its own cache of every token beside the target's). ``weights``: the target's weight bytes per GPU
    (:func:`.kernels.weights_per_gpu` of ``setup``) where the caller has them."""
    shape, lay = setup.shape, setup.layout
    n = float(lay.n)
    usable = setup.hardware.si.capacity * setup.memory_fraction
    work = (M * (4.0 * shape.hidden + 2.0 * shape.ffn) * setup.b_act + max_seqs * shape.vocab * 4.0) / (n * lay.d)
    if weights is None:
        weights = K.weights_per_gpu(shape.params, setup.b, n, lay.depth, shape.experts_params, float(lay.w), lay.copies)
    per_token = shape.kv * setup.b_kv * setup.kv_share / (lay.depth * lay.d) + draft_kv
    return (usable - weights - work - draft_weights) / per_token


#: The latency percentiles :func:`serve` computes unless told fewer: all of :data:`.traffic.Z`
_PERCENTILES = tuple(TR.Z)
#: The latency fields a loaded solve reports (s), each masked where the rate is beyond capacity.
LATENCY_FIELDS = (
    "ttft_mean",
    "ttft_p50",
    "ttft_p90",
    "ttft_p99",
    "itl_mean",
    "itl_p50",
    "itl_p90",
    "itl_p99",
    "e2e_mean",
    "e2e_p90",
    "e2e_p99",
    "queue_wait_mean",
)
#: The served rate's power fields (:mod:`.loaded_energy`), none where nothing is served at a steady state.
LOADED_ENERGY = ("busy_fraction", "loaded_power", "loaded_energy_per_token")
#: their values in an analytic answer that has them all, as a tuple (one C call)
_latencies = itemgetter(*LATENCY_FIELDS)


def loaded_fields(
    setup: Setup,
    seq_len: int,
    output_len: Any,
    args: dict,
    raise_errors: bool,
    spec: tuple | None = None,
    percentiles: tuple[int, ...] | None = None,
) -> dict:
    """The loaded-serving result fields of one solve()/sweep group; ``args``: the traffic arguments (solve()'s
    arguments, or a dict of every traffic argument; the arrival rate a number or a sweep's array); ``spec``:
    speculative decoding as :func:`.speculative.check` returns it; ``percentiles``: as :func:`serve`'s. A KV cache
    that holds no request raises :class:`InfeasibleError` with ``raise_errors``; otherwise the answer is
    ``feasible=False`` with no latency (NaN in a sweep), no served rate and the reason in the notes. What does not
    depend on the arrival rate (the checked mix, the step cost, the engine's capacity) is set up once per layout
    and mix (:func:`replica`)."""
    rate = offered(args, output_len)
    c = mix(args)
    one_rate(c, rate)
    engine = ready(setup, seq_len, output_len, c, raise_errors, spec)
    f = at_rate(setup, seq_len, output_len, c, engine, rate, percentiles)
    f.update(energy_fields(setup, engine, f))
    return f


def ready(setup: Setup, seq_len: int, output_len: int, c: dict, raise_errors: bool, spec: tuple | None = None) -> Any:
    """The layout ``setup`` ready to serve the checked mix ``c`` at any rate: :func:`replica`'s (step cost, KV tokens,
    :class:`Engine`), or, where its KV cache holds no request (and not ``raise_errors``), why (a text)."""
    try:
        if spec is not None and c["method"] != "analytic":
            raise InvalidInputError(
                "method", c["method"], "analytic with speculative decoding (the simulator runs plain decode steps)"
            )
        return replica(setup, seq_len, output_len, c, spec)
    except InfeasibleError as exc:
        if raise_errors:
            raise
        return str(exc)


def at_rate(
    setup: Setup,
    seq_len: int,
    output_len: int,
    c: dict,
    engine: Any,
    rate: Any,
    percentiles: tuple[int, ...] | None = None,
    fixed: bool = True,
) -> dict:
    """:func:`loaded_fields` of the checked mix ``c`` at the checked offered ``rate`` (None: a closed loop) on the
    layout ``setup`` made :func:`ready` (``engine``); ``fixed`` False: without the :func:`fixed_fields` of a
    layout that holds a request (a caller that keeps them)."""
    if engine.__class__ is str:
        return _holds_no_request(dict(c, arrival_rate=rate), engine)
    cost, kv, eng = engine
    traffic = dict(c, arrival_rate=rate)
    hw, t_req = setup.hardware, setup.request_overhead
    f = serve(
        setup.shape, hw, setup.layout.gpus, cost, kv, seq_len, output_len, traffic, None, eng, t_req, percentiles, fixed
    )
    if setup.request_notes:
        f[TRAFFIC_NOTES] = f.get(TRAFFIC_NOTES, ()) + setup.request_notes
    return f


def energy_fields(setup: Setup, engine: Any, f: dict) -> dict:
    """The served rate's power fields (:data:`LOADED_ENERGY`, :func:`.loaded_energy.loaded_power`) of :func:`at_rate`'s
    fields ``f`` on the layout ``setup`` made :func:`ready` (``engine``): none where one rate is at or beyond
    saturation (no latency, no steady state served) or the KV cache holds no request (its fields hold them)."""
    if engine.__class__ is str:
        return {}
    e2e = f["e2e_mean"]
    if e2e is None:
        return dict.fromkeys(LOADED_ENERGY)
    values = loaded_power(
        setup, engine[0], engine[2].load, f["requests_per_second"], f["itl_mean"], e2e, setup.request_overhead
    )
    return dict(zip(LOADED_ENERGY, values))


#: The checked traffic arguments an :class:`Engine` depends on (besides the layout and the lengths).
_ENGINE_KEYS = (
    "length_cv",
    "length_dist",
    "max_num_batched_tokens",
    "max_num_seqs",
    "prefix_cache_hit",
    "prefill_steps",
)
#: their values in a checked mix, as a tuple (one C call)
_engine_values = itemgetter(*_ENGINE_KEYS)
_replicas = Memo()


def replica(
    setup: Setup,
    seq_len: int,
    output_len: int,
    c: dict,
    spec: tuple | None = None,
    known: tuple | None = None,
    gaps: bool = True,
) -> tuple:
    """(step cost, KV tokens, :class:`Engine`) of the layout ``setup`` serving the checked mix ``c`` (its
    arrival rate not read), with speculative decoding ``spec`` (:func:`.speculative.check`'s output: the
    draft's memory leaves less KV, the engine steps with the plan) or without. Memoized by the Setups'
    identity (the entry keeps them alive, so an id is not reused) and the values the engine reads, unless
    ``length_samples`` are given; a call that raises (:class:`InfeasibleError`: the KV cache holds no
    request) caches nothing. ``known``: (step cost, KV tokens) of ``setup`` without speculation, where the caller
    has them; ``gaps`` False: an engine whose token gap nothing reads (:func:`engine`'s)."""
    drafted = None if spec is None else (id(spec[0]), *spec[1:])
    key = (id(setup), seq_len, output_len, drafted, _engine_values(c), gaps)
    hit = _replicas.get(key) if c["length_samples"] is None else None
    if hit is None:
        plan, draft_weights, draft_kv = None, 0.0, 0.0
        if spec is not None:
            from .speculative import under_traffic  # speculative imports this module

            plan, draft_weights, draft_kv = under_traffic(setup, spec)
        if known is not None and spec is None:
            cost, kv = known
        else:
            cost = costs(setup)
            kv = kv_capacity_tokens(setup, c["max_num_batched_tokens"], c["max_num_seqs"], draft_weights, draft_kv)
        hit = (setup, spec, cost, kv, engine(setup.shape, setup.hardware, cost, kv, seq_len, output_len, c, plan, gaps))
        if c["length_samples"] is not None:
            return hit[2:]
        _replicas.put(key, hit)
    return hit[2:]


def _holds_no_request(c: dict, reason: str) -> dict:
    """Result fields of a replica whose KV cache cannot hold one request: nothing is served."""
    rate = c["arrival_rate"]
    shape = np.shape(rate) if rate is not None else ()
    none = np.full(shape, np.nan) if shape else None
    f: dict[str, Any] = {k: none for k in LATENCY_FIELDS + ("concurrency_mean", "kv_cache_utilization", *LOADED_ENERGY)}
    f.update(
        feasible=False,
        arrival_rate=rate if rate is not None else none,
        saturation_rate=0.0,
        max_arrival_rate=0.0,
        binding_limit="KV capacity",
        traffic_method=c["method"],
        utilization=np.full(shape, np.inf) if shape else math.inf,
        overloaded=np.full(shape, True) if shape else True,
        requests_per_second=np.zeros(shape) if shape else 0.0,
        output_tokens_per_second=np.zeros(shape) if shape else 0.0,
        input_tokens_per_second=np.zeros(shape) if shape else 0.0,
        prefill_time_share=np.zeros(shape) if shape else 0.0,
        tokens_per_second_per_gpu=np.zeros(shape) if shape else 0.0,
        slo_attainment=None if c["slo_ttft"] is None and c["slo_itl"] is None else (np.zeros(shape) if shape else 0.0),
        slo_percentile=c["slo_percentile"],
        prefix_cache_hit=c["prefix_cache_hit"],
        scheduler_overlap=c["scheduler_overlap"],
        scheduler_steps=c["scheduler_steps"],
        prefill_steps=c["prefill_steps"],
    )
    f[TRAFFIC_NOTES] = (f"infeasible under traffic: {reason}",)
    return f


def _request_basis(f: dict, served: Any, S: float, one_prefill: float) -> None:
    """The prompt side of the served rate, as the static fields state it at concurrency batch_size: prompt
    tokens/s = requests/s x seq_len, and the share of the replica's time spent prefilling = requests/s x one
    prompt's prefill (each request's prefill takes the engine that long; the static cycle's
    B t_prefill / cycle at the served rate). Under traffic they kept batch 1's static values (479 prompt
    tokens/s at any rate for Llama-3.1-8B on H100 at 1024 + 256) while output_tokens_per_second was the
    loaded one, and EconomicsModel priced input tokens from the mix."""
    f["input_tokens_per_second"] = served * S
    f["prefill_time_share"] = served * one_prefill


class Engine(NamedTuple):
    """A replica's engine under one traffic mix: all that does not depend on the arrival rate."""

    load: TR.Load  #: work per request
    B_max: float  #: most sequences decoding at once (max_num_seqs and the KV cache allow)
    saturation: float  #: arrival rate (requests/s) where the engine saturates
    limit: str  #: what binds at saturation
    one_prefill: float  #: one unloaded prefill of the mean prompt (s)
    one_decode: float | None  #: one unloaded token gap at context S + 1 (s; None where nothing reads it)
    #: rates searched on this engine (:func:`max_rate`, the closed loop's) and the trial rates its searches solved
    #: (:func:`trial`), by what they depend on besides it: a memoized engine (:func:`replica`) answers a search once
    rates: Memo


#: Searches an engine keeps (:attr:`Engine.rates`): one per SLO pair, percentile and arrival cv asked of it.
RATES_KEPT = 256
#: an engine's :attr:`Engine.rates` memo (:func:`.memo.sized`: made per engine without a Python ``__init__``)
_Rates = sized(RATES_KEPT)


def request_work(seq_len: int, output_len: int, c: dict, spec: Any = None) -> TR.Load:
    """The work per request of the traffic ``c`` (checked: its lengths' spread or samples, prefix hits and prefill
    steps), with speculative decoding ``spec`` (a plan) or without."""
    dist = c["length_dist"] if c["length_samples"] is None else c["length_samples"]
    S, O = float(seq_len), float(output_len)
    return TR.Load(S, O, c["length_cv"], c["prefix_cache_hit"], dist, spec, c["prefill_steps"])


def batch_limit(kv_tokens: float, load: TR.Load, c: dict) -> float:
    """B_max = min(max_num_seqs, floor(KV tokens / the tokens admission reserves per request))."""
    # (the floor as a float, exactly: x // 1.0; min's choice inline; a NaN is returned, not replaced by max_num_seqs)
    seqs, held = float(c["max_num_seqs"]), (kv_tokens / load.reserve) // 1.0
    return held if held < seqs or held != held else seqs


def engine(
    shape,
    hardware,
    cost: TR.StepCost,
    kv_tokens: float,
    seq_len: int,
    output_len: int,
    c: dict,
    spec=None,
    gaps: bool = True,
) -> Engine:
    """The :class:`Engine` of a replica serving the traffic ``c`` (checked): the work per request
    (:class:`.traffic.Load`), the decode batch max_num_seqs and the KV cache allow
    (B_max = min(max_num_seqs, floor(KV tokens / (S + O)))), the rate where it saturates
    (:func:`.traffic.capacity`) and one unloaded prefill and decode step (``gaps`` False: no decode step, where
    nothing reads a token gap: a disaggregated prefill pool's one output token); :class:`InfeasibleError` if the
    KV cache holds no request."""
    S, O = float(seq_len), float(output_len)
    if kv_tokens < S + O:
        raise InfeasibleError(
            f"{shape.name} on {hardware.name}: the KV cache left after weights holds {max(kv_tokens, 0):,.0f} tokens, "
            f"less than one request of {seq_len:,} + {output_len:,}",
            required=S + O,
            available=max(kv_tokens, 0.0),
        )
    load = request_work(seq_len, output_len, c, spec)
    B_max = batch_limit(kv_tokens, load, c)
    lam_max, limit = TR.capacity(cost, load, float(c["max_num_batched_tokens"]), B_max)
    if limit == 1:
        limit_name = "prefill compute (token budget)"
    else:  # the sequences bind: the KV cache's or max_num_seqs
        limit_name = "KV capacity" if kv_tokens / load.reserve < c["max_num_seqs"] else "max_num_seqs"
    one_prefill = float(cost.prefill(load.P1, load.h * S))
    one_decode = float(TR.decode_step(cost, load, 1.0, S + 1.0)) * load.gap if gaps else None
    # (tuple.__new__: what the namedtuple's own __new__ calls, without its Python frame: ~1.3 k a pool)
    return tuple.__new__(Engine, (load, B_max, float(lam_max), limit_name, one_prefill, one_decode, _Rates()))


def serve(
    shape,
    hardware,
    gpus: int,
    cost: TR.StepCost,
    kv_tokens: float,
    seq_len: int,
    output_len: int,
    c: dict,
    spec: Any = None,
    eng: Engine | None = None,
    t_req: float = 0.0,
    percentiles: tuple[int, ...] | None = None,
    fixed: bool = True,
) -> dict:
    """Result fields of serving the traffic ``c`` (checked) at prompt ``seq_len`` and ``output_len``;
    ``spec``: a :class:`.speculative.Speculation` composing the decode steps; ``eng``: the replica's
    :func:`engine` under ``c`` when the caller has it; ``t_req``: the request path outside the engine
    (:mod:`.request_path`), added to the client-measured TTFT and e2e. ``percentiles``: the analytic
    latency percentiles computed (:func:`.traffic.analytic`; None: all of :data:`.traffic.Z`); with fewer,
    the others and the SLO attainment (which reads them all) are left out (a band's corner: the fields
    its band reads). ``fixed`` False: without the :func:`fixed_fields`."""
    percentiles = _PERCENTILES if percentiles is None else percentiles
    if eng is None:
        eng = engine(shape, hardware, cost, kv_tokens, seq_len, output_len, c, spec)
    load, B_max, lam_max, limit_name, one_prefill, one_decode, _ = eng
    M, max_seqs, dist = c["max_num_batched_tokens"], c["max_num_seqs"], load.dist
    S, O = float(seq_len), float(output_len)
    if c["slo_ttft"] is not None or c["slo_itl"] is not None:
        _check_slos(c, eng, seq_len, t_req)
    closed_sim = c["method"] == "simulate" and c["concurrency"] is not None
    if closed_sim:  # the simulated clients set the rate: the requests they completed per second
        out = _simulated(cost, load, None, M, max_seqs, kv_tokens, c, shape, t_req)
        lam = out["requests_per_second"]
    elif c["concurrency"] is not None:
        lam = _closed_loop_rate(cost, eng, c, t_req)
    else:
        lam = c["arrival_rate"]
    f = fixed_fields(c, eng, t_req) if fixed else {}
    f["arrival_rate"] = lam
    xp = TR.ops_for(load, lam)
    rho = lam / lam_max
    f["utilization"] = rho
    over = False if closed_sim else rho >= 1.0  # a closed loop is never overloaded: its clients wait
    f["overloaded"] = over
    lam_ok = (lam_max * 0.5 if over else lam) if xp is SCALAR else xp.where(over, lam_max * 0.5, lam)
    kernel = False  # one rate below capacity answered by the kernel: its floats as they are, the min inline
    if c["method"] == "simulate" and not over and not closed_sim:
        out = _simulated(cost, load, lam, M, max_seqs, kv_tokens, c, shape, t_req)
    elif not closed_sim:
        lag = float(c["scheduler_overlap"])
        cv = c["arrival_cv"]
        out = TR.analytic(
            cost,
            load,
            lam_ok,
            float(M),
            B_max,
            cv,
            lam_max,
            c["concurrency"],
            t_req,
            lag,
            percentiles,
            c["scheduler_steps"],
        )
        kernel = over is False and xp is SCALAR
    if kernel and percentiles is _PERCENTILES:  # every latency, read in C
        f.update(zip(LATENCY_FIELDS, _latencies(out)))
    elif over is False and xp is SCALAR:  # one rate below capacity: the latencies as given (floats)
        for k in LATENCY_FIELDS:
            if k in out:
                f[k] = out[k]
    else:
        for k in LATENCY_FIELDS:
            if k in out:
                f[k] = _masked(out[k], over)
    to_client(f, t_req)
    if kernel:  # (lam < lam_max: it is served whole; the masks and the min inline)
        f["requests_per_second"] = lam
        f["output_tokens_per_second"] = lam * O
        _request_basis(f, lam, S, one_prefill)
        f["tokens_per_second_per_gpu"] = lam * O / gpus
        f["concurrency_mean"] = lam * out["e2e_mean"]
        kv = lam * (load.D2 * out["T"] + load.P1 * out["ttft_mean"]) / kv_tokens
        f["kv_cache_utilization"] = kv if kv <= 1.0 or kv != kv else 1.0
    else:
        served = xp.min(lam, lam_max)
        f["requests_per_second"] = served
        f["output_tokens_per_second"] = served * O
        _request_basis(f, served, S, one_prefill)
        f["tokens_per_second_per_gpu"] = served * O / gpus
        f["concurrency_mean"] = _masked(served * out["e2e_mean"], over)
        T = out["T"] if "T" in out else TR.steady(xp, cost, load, lam_ok, float(M))[0]
        f["kv_cache_utilization"] = _masked(
            xp.min(lam_ok * (load.D2 * T + load.P1 * out["ttft_mean"]) / kv_tokens, 1.0), over
        )
    if (c["slo_ttft"] is not None or c["slo_itl"] is not None) and kernel and len(percentiles) == len(TR.Z):
        met = 1.0  # the kernel's floats: the attainment below without numpy's 0-d arrays (nothing to mask)
        if c["slo_ttft"] is not None:
            met = met * TR.ttft_cdf(out, c["slo_ttft"] - t_req)
        if c["slo_itl"] is not None:
            met = met * TR.itl_cdf(out, c["slo_itl"])
        f["slo_attainment"] = met
        f["max_arrival_rate"] = max_rate(cost, eng, c, t_req)
    elif c["slo_ttft"] is not None or c["slo_itl"] is not None:
        att = out.get("slo_attainment")  # simulated
        if att is None and len(percentiles) == len(TR.Z):  # the analytic attainment reads every percentile
            att = np.ones(np.shape(lam_ok))
            if c["slo_ttft"] is not None:
                att = att * TR.ttft_cdf(out, c["slo_ttft"] - t_req)
            if c["slo_itl"] is not None:
                att = att * TR.itl_cdf(out, c["slo_itl"])
        if att is not None:
            att = np.where(over, 0.0, att)
            f["slo_attainment"] = att.item() if att.ndim == 0 else att
        f["max_arrival_rate"] = max_rate(cost, eng, c, t_req)
    else:
        f["max_arrival_rate"] = lam_max
    notes: tuple[str, ...] = ()
    if isinstance(dist, TR.SampledLengths):
        notes += (
            f"length_samples: {dist.n:,} (prompt, output) pairs with means {dist.mean_p:,.1f}/{dist.mean_o:,.1f} "
            f"tokens, scaled to seq_len/output_len {seq_len:,}/{output_len:,}",
        )
    if notes:
        f[TRAFFIC_NOTES] = notes
    if xp is TR.ARRAY:  # a rate given as a 0-d array: its fields as floats
        return {k: (v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v) for k, v in f.items()}
    return f


def fixed_fields(c: dict, eng: Engine, t_req: float) -> dict:
    """The loaded fields of the engine ``eng`` under the checked mix ``c`` (request path t_req) that no arrival rate
    moves: its saturation and what binds it, one unloaded prefill, and the mix's arguments the result echoes."""
    return {
        "saturation_rate": eng.saturation,
        "binding_limit": eng.limit,
        "traffic_method": c["method"],
        "one_prefill_time": eng.one_prefill,
        "slo_percentile": c["slo_percentile"],
        "prefix_cache_hit": c["prefix_cache_hit"],
        "request_overhead": t_req,
        "scheduler_overlap": c["scheduler_overlap"],
        "scheduler_steps": c["scheduler_steps"],
        "prefill_steps": c["prefill_steps"],
    }


def _check_slos(c: dict, eng: Engine, seq_len: int, t_req: float) -> None:
    """Each SLO of ``c`` given at least what one request takes alone on the engine ``eng``: one unloaded prefill
    (+ the request path t_req) for slo_ttft, one unloaded decode step for slo_itl."""
    itl0 = eng.one_decode
    assert itl0 is not None  # (a solve's engine times its token gap: :func:`engine` with gaps)
    for name, slo, floor in (("slo_ttft", c["slo_ttft"], eng.one_prefill + t_req), ("slo_itl", c["slo_itl"], itl0)):
        if slo is not None and slo < floor:
            label, what = (
                ("TTFT", f"one unloaded {eng.load.P1:,.0f}-token prefill" + (" + the request path" if t_req else ""))
                if name == "slo_ttft"
                else ("ITL", f"one unloaded decode step at context {seq_len:,}")
            )
            raise InvalidInputError(
                name,
                slo,
                f"at least {floor * 1e3:.4g} ms: {label} SLO {slo * 1e3:.4g} ms is below "
                f"{what} on this layout, {floor * 1e3:.4g} ms",
            )


def _masked(x, over):
    """x below capacity; beyond it None (one rate) or NaN (a sweep's points)."""
    if isinstance(x, float):
        return None if over else float(x)
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return None if bool(over) else float(x)
    return np.where(over, np.nan, x)


def _closed_loop_rate(cost: TR.StepCost, eng: Engine, c: dict, t_req: float = 0.0) -> float:
    """Closed loop of N clients: the rate lambda with lambda * (e2e_mean(lambda) + t_req) = N (Little's law
    over a client's cycle; t_req: its request path outside the engine), by :func:`.roots.largest_meeting` on
    one analytic solve per trial rate; found once per engine (:attr:`Engine.rates`)."""
    lag = float(c["scheduler_overlap"])
    steps = c["scheduler_steps"]
    key = ("closed loop", c["concurrency"], c["arrival_cv"], t_req, lag, steps)
    if key not in eng.rates:
        N, M, cv = float(c["concurrency"]), float(c["max_num_batched_tokens"]), c["arrival_cv"]

        def excess(lam):
            out = TR.analytic(cost, eng.load, lam, M, eng.B_max, cv, eng.saturation, N, t_req, lag, (), steps)
            e2e = out["e2e_mean"]
            return lam * (e2e + t_req) / N - 1.0

        return eng.rates.put(key, crossing(excess, eng.saturation))
    return eng.rates[key]


def max_rate(cost: TR.StepCost, eng: Engine, c: dict, t_req: float = 0.0) -> float:
    """Largest arrival rate below saturation whose p``slo_percentile`` TTFT (+ the request path t_req) and
    ITL meet the SLOs of ``c`` (0 if none does): where the larger of TTFT / slo_ttft and ITL / slo_itl
    crosses 1 (:func:`slo_excess`, :func:`.roots.largest_meeting`, one analytic solve per trial rate); found
    once per engine (:attr:`Engine.rates`)."""
    lag = float(c["scheduler_overlap"])
    key = ("slo", c["slo_ttft"], c["slo_itl"], c["slo_percentile"], c["arrival_cv"], t_req, lag, c["scheduler_steps"])
    if key not in eng.rates:
        found = largest_meeting(
            lambda lam: excess_at(cost, eng, c, lam, t_req), eng.saturation, known=_tried(eng, c, t_req)
        )
        return eng.rates.put(key, found)
    return eng.rates[key]


def _tried(eng: Engine, c: dict, t_req: float) -> list[tuple[float, float]]:
    """(rate, :func:`slo_excess` under the SLOs of ``c``) of the rates an earlier search on the engine ``eng``
    solved with the mix of ``c`` (:func:`trial`'s memo) nearest the crossing (:func:`.roots.nearest_known`): what a
    search under new SLOs knows before its first solve (a trial without the ITL spread only where ``c`` has no ITL
    SLO)."""
    slo_t, slo_i = c["slo_ttft"], c["slo_itl"]
    mix = _trial_mix(c)
    solved: dict = {}
    for gaps in (False, True) if slo_i is None else (True,):  # (one with the spread answers one without)
        memo = eng.rates.get(("trials", *mix, gaps))
        if memo is not None:
            solved.update(memo)
    return nearest_known(
        lambda lam: slo_excess(solved[lam][1] + t_req, solved[lam][2], slo_t, slo_i), solved, eng.saturation
    )


def excess_at(cost: TR.StepCost, eng: Engine, c: dict, lam: float, t_req: float = 0.0) -> float:
    """:func:`slo_excess` of the p``slo_percentile`` TTFT (+ the request path t_req) and ITL at rate ``lam``
    below saturation (:func:`trial`): <= 0 where the SLOs of ``c`` are met."""
    _, ttft, itl = trial(cost, eng, lam, *_trial_mix(c), c["slo_itl"] is not None)
    return slo_excess(ttft + t_req, itl, c["slo_ttft"], c["slo_itl"])


def _trial_mix(c: dict) -> tuple[float, float, int, float, int]:
    """(M, cv, pct, lag, steps) of the mix ``c``: the values :func:`trial` reads and keys its memo by."""
    return (
        float(c["max_num_batched_tokens"]),
        c["arrival_cv"],
        c["slo_percentile"],
        float(c["scheduler_overlap"]),
        c["scheduler_steps"],
    )


#: Trial rates an engine keeps (:func:`trial`): a search takes ~7, a disaggregated SLO solve ~15 on one pool.
TRIALS_KEPT = 64
#: a memo of trial rates (:func:`.memo.sized`: made per search without a Python ``__init__``)
Trials = sized(TRIALS_KEPT)


def trial(
    cost: TR.StepCost,
    eng: Engine,
    lam: float,
    M: float,
    cv: float,
    pct: int,
    lag: float = 0.0,
    steps: int = 1,
    gaps: bool = True,
) -> tuple:
    """(ttft_mean, ttft_pQ, itl_pQ), Q = ``pct``, of :func:`.traffic.analytic` at rate ``lam`` below
    saturation on the engine ``eng`` (step cost ``cost``): what an SLO search reads at a trial rate;
    ``gaps`` False: solved without the ITL spread, itl_pQ None (the search tests no ITL SLO, or the engine is a
    disaggregated prefill pool) unless the rate was tried with it. Memoized per engine (:attr:`Engine.rates`)
    by the rate and the mix values the kernel reads, so the searches on one engine solve each rate once: every
    search's first trials (SEED x saturation, the top) do not depend on the SLOs, and a disaggregated solve's
    combined search tries rates its prefill-pool search tried (:func:`.disagg._search`); a trial with the ITL
    spread answers one without."""
    for g in (True,) if gaps else (True, False):  # ends on the memo of ``gaps``
        memo = eng.rates.get(("trials", M, cv, pct, lag, steps, g))
        hit = None if memo is None else memo.get(lam)
        if hit is not None:
            return hit
    if memo is None:
        memo = eng.rates.put(("trials", M, cv, pct, lag, steps, gaps), Trials())
    fixed = eng.rates.get(("steady", M))  # the steady step does not depend on the rest of the mix
    if fixed is None:
        fixed = eng.rates.put(("steady", M), Trials())
    out = TR.analytic(
        cost,
        eng.load,
        lam,
        M,
        eng.B_max,
        cv,
        eng.saturation,
        lag=lag,
        percentiles=(pct,),
        steps=steps,
        gaps=gaps,
        start=nearby_start(fixed, lam),
    )
    fixed.put(lam, (out["T"], out["slope"]))
    return memo.put(lam, (out["ttft_mean"], out[f"ttft_p{pct}"], out.get(f"itl_p{pct}")))


#: Largest relative difference of the quadratic and the linear interpolation of nearby steady steps at which the
#: quadratic starts a trial's steady secant (:func:`nearby_start`): well below the ~1e-4 of traffic's own start.
NEARBY_RTOL = 1e-5


def nearby_start(fixed: dict, lam: float) -> tuple[float, float] | None:
    """(T, dg/dT) where the steady secant of a trial at rate ``lam`` starts (:func:`.traffic.steady`), from ``fixed``,
    the (T, dg/dT) the engine's trials solved by rate: T by Lagrange's quadratic interpolation through the three
    solved rates nearest ``lam``, where it differs from the linear one through the two nearest by at most NEARBY_RTOL
    (the quadratic's own error is smaller by a further factor of the spacing: a search's last trials lie grid steps,
    1e-6, apart, :mod:`.roots`), with the slope of the nearest: the secant then needs one or two evaluations of the
    mean step instead of ~3 from traffic's own start (~1e-4 off). None (that start) elsewhere; ``lam`` itself is never
    taken (a trial solved again with the ITL spread answers the same TTFT)."""
    if len(fixed) < 3:
        return None
    rates = sorted(fixed)
    i = bisect_left(rates, lam)
    near = [x for _, x in sorted((abs(x - lam), x) for x in rates[max(i - 3, 0) : i + 3] if x != lam)[:3]]
    if len(near) < 3:
        return None
    (a, ta), (b, tb), (c, tc) = ((x, fixed[x][0]) for x in near)
    line = ta + (tb - ta) * (lam - a) / (b - a)
    T = ta * (lam - b) * (lam - c) / ((a - b) * (a - c))
    T += tb * (lam - a) * (lam - c) / ((b - a) * (b - c)) + tc * (lam - a) * (lam - b) / ((c - a) * (c - b))
    if not abs(T - line) <= NEARBY_RTOL * T:
        return None
    return T, fixed[a][1]


def slo_excess(ttft: float, itl: float, slo_ttft: float | None, slo_itl: float | None) -> float:
    """1 - SLO / latency for the latency furthest over its SLO (TTFT / slo_ttft, ITL / slo_itl; an SLO of
    None is not tested, at least one is given): <= 0 where both SLOs are met, NaN kept (searches raise).
    Bounded above by 1 and ~linear in 1 - rho near saturation, where a latency grows like 1/(1 - rho), so
    a root finder's interpolation follows it (~8 solves per max-rate search instead of ~11 on
    latency / SLO - 1)."""
    worst = 0.0
    if slo_ttft is not None:
        worst = SCALAR.max(worst, ttft / slo_ttft)
    if slo_itl is not None:
        worst = SCALAR.max(worst, itl / slo_itl)
    return 1.0 - 1.0 / worst


def _simulated(cost, load, lam, M, max_seqs, kv_tokens, c, shape, t_req=0.0) -> dict:
    """Run the simulator on seeded draws of the traffic (``lam`` None in a closed loop); its statistics as
    result fields (the engine's: the caller adds the request path t_req, which the SLO test here counts, and
    which a closed loop's clients spend outside the engine)."""
    rng = np.random.default_rng(c["seed"])
    n = c["num_requests"]
    top = int(min(shape.max_seq, kv_tokens) // 2)
    if isinstance(load.dist, TR.SampledLengths):
        pick = rng.integers(len(load.dist.p), size=n)  # paired draws from the samples, scaled to the means
        prompts = np.clip(np.rint(load.dist.p[pick] * load.S), 1, top).astype(np.int64)
        outputs = np.clip(np.rint(load.dist.o[pick] * load.O), 1, top).astype(np.int64)
    else:
        prompts = SIM.draw_lengths(rng, load.S, load.cv_p, load.dist, n, top)
        outputs = SIM.draw_lengths(rng, load.O, load.cv_o, load.dist, n, top)
    if c["concurrency"] is None:
        loop: dict[str, Any] = {"arrivals": np.cumsum(SIM.interarrivals(rng, lam, c["arrival_cv"], n))}
    else:
        loop = {"clients": c["concurrency"], "lead": t_req}
    run = SIM.simulate(
        cost,
        prompts,
        outputs,
        c["prefix_cache_hit"],
        M,
        max_seqs,
        kv_tokens,
        lag=int(c["scheduler_overlap"]),
        steps=c["scheduler_steps"],
        separate=c["prefill_steps"] == "separate",
        **loop,
    )
    arrive, first, finish = run
    warm = int(n * SIM_WARMUP)
    st = SIM.statistics(arrive, first, finish, outputs, warm)
    p = prompts[warm:].astype(float)
    st["queue_wait_mean"] = st["ttft_mean"] - float(np.mean(cost.prefill(p * (1 - load.h), load.h * p)))
    if c["slo_ttft"] is not None or c["slo_itl"] is not None:
        ttft = (first - arrive)[warm:]
        many = outputs[warm:] > 1
        tpot = np.where(many, (finish - first)[warm:] / np.maximum(outputs[warm:] - 1, 1), 0.0)
        good = np.ones(ttft.shape, dtype=bool)
        if c["slo_ttft"] is not None:
            good &= ttft + t_req <= c["slo_ttft"]
        if c["slo_itl"] is not None:
            good &= tpot <= c["slo_itl"]
        st["slo_attainment"] = float(good.mean())
    return st
