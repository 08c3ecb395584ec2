"""Disaggregated prefill/decode serving under traffic: a prefill pool, a decode pool and the KV cache
moved between them (DistServe, Zhong et al. OSDI 2024; Splitwise, Patel et al. ISCA 2024).

Each pool is ServingModel's own engine on its layout (the same step cost, scheduler and queueing
model, :mod:`.under_load`): a prefill replica serves prompts with one output token (a prefill-only
engine), a decode replica receives every prompt token's KV but the last and computes that one itself
(vLLM's KV connectors: prefix-cache hit (S-1)/S), then decodes with no prompt prefilled beside it, so
its token gap has no prefill interference. Arrivals split evenly over the replicas of each pool.

TTFT = prefill queue + prefill + exposed KV transfer + decode admission (wait + first step);
ITL = the decode pool's token gap; e2e = TTFT + (O - 1) gaps.
"""

from __future__ import annotations

import math
from functools import partial
from operator import itemgetter
from typing import Any

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.solver import PreparedCache
from mlsysim_core.types import NetworkFabric

from . import kernels as K
from . import traffic as TR
from . import under_load as UL
from .disagg_result import ENERGY, DisaggServingResult, built
from .layout import Disagg, KVLink, Pool, kv_link, parse_disagg
from .loaded_energy import loaded_power
from .memo import Memo, SameArguments, sized
from .ops import SCALAR
from .parallel import layout_notes
from .results import LATER
from .roots import largest_meeting, nearest_known
from .setup import model_shape, prepared, tp_limit
from .solver import KEYED, _check_lengths


def kv_bytes_per_request(prompt_tokens, kv_elements, b_kv):
    """KV cache one request moves from prefill to decode: S * kv * b_kv bytes (kv = 2*L*h_kv*d_h elements
    per token for GQA, L*(r_kv + d_rope) for MLA; DistServe, Zhong et al. OSDI 2024, Sec. 3.3: one
    512-token OPT-66B request is 1.13 GB)."""
    return prompt_tokens * kv_elements * b_kv


def kv_transfer(moved, share_out, share_in, bandwidth, eta_net, latency, prefill_time, layers, layerwise):
    """(full, exposed) seconds of moving one request's KV. Every GPU sends its share and every decode GPU
    receives its share over its own link: t_x = bytes * max(share_p, share_d) / (beta * eta) + alpha.
    Layer by layer (Splitwise, Patel et al. ISCA 2024, Sec. IV; Mooncake) layer l moves while layer l+1
    is prefilled, a two-stage pipeline over L layers: exposed = max(t_x / L, t_x - t_p * (L - 1) / L);
    after the prefill (DistServe): exposed = t_x."""
    # (the maxes inline: the builtin's call costs ~1.2 k instructions)
    full = moved * (share_in if share_in > share_out else share_out) / (bandwidth * eta_net) + latency
    if not layerwise:
        return full, full
    alone, behind = full / layers, full - prefill_time * (layers - 1.0) / layers
    return full, behind if behind > alone else alone


#: arguments a pool's check names as they were given (solve()'s own, not the pool text's)
_OWN_ARGUMENTS = ("model", "efficiency", "memory_efficiency", "network_efficiency", "engine_overhead")


class _Replica:
    """One replica of a pool: ServingModel's setup of its layout, its engine step cost and KV capacity."""

    def __init__(
        self,
        role: str,
        pool: Pool,
        text: Any,
        model: Any,
        common: tuple,
        c: dict,
        seq_len: int,
        output_len: int,
        node: Any = None,
        fabric: Any = None,
    ):
        # (common's 13 values by name: a call with ``*`` arguments costs each pool ~3.5 k instructions more)
        # a fabric only where a replica spans stages or attention ranks (tensor parallelism stays in one scale-up
        # domain): a tensor-parallel pool is then set up as the aggregated layout of its part and degree, once
        precision, kv_precision, eta, eta_m, host, eta_n, engine, fraction, weights, activations, idle, busy, mem = (
            common
        )
        #: GPUs of one replica (tp x pp x dp) and the replicas of the pool (:meth:`.layout.Pool.split`), read once
        n, replicas = pool.split()
        self.replica_gpus, self.replicas = n, replicas
        #: the fabric a replica that spans stages or attention ranks uses (None for a tensor-parallel one)
        self.fabric = fabric if isinstance(fabric, NetworkFabric) and n > pool.tp else None
        try:
            setup = prepared(
                model,
                pool.hardware,
                precision,
                pool.tp,
                kv_precision,
                eta,
                eta_m,
                node,
                False,
                fraction,
                weights,
                activations,
                pool.pp,
                pool.ep,
                pool.dp,
                None,
                self.fabric,
                host,
                pool.redundant,
                False,
                engine,
                None,
                eta_n,
                idle,
                busy,
                mem,
                False,  # (its layout's notes made where the result's notes are read: :meth:`notes`)
            )
        except InvalidInputError as exc:
            if exc.argument in _OWN_ARGUMENTS or exc.argument.endswith("precision"):
                raise
            raise InvalidInputError(
                "disagg", text, f"a {role} pool ({pool.degrees()}) valid for the model: {exc}"
            ) from None
        self.role, self.pool, self.setup, self.shape = role, pool, setup, setup.shape
        shape, lay = setup.shape, setup.layout
        self.weights_per_gpu = K.weights_per_gpu(
            shape.params, setup.b, float(lay.n), lay.depth, shape.experts_params, float(lay.w), lay.copies
        )
        self.cost = UL.costs(setup)
        #: share of one request's KV cache on one GPU: its tensor share of its (largest) stage's layers
        self.kv_share = setup.kv_share / lay.depth
        self.kv_tokens = UL.kv_capacity_tokens(
            setup, c["max_num_batched_tokens"], c["max_num_seqs"], weights=self.weights_per_gpu
        )
        #: the traffic one replica serves (checked) and the request's prompt and output tokens
        self.c, self.S, self.O = c, seq_len, output_len
        #: speculative decode steps (:class:`.speculative.Speculation`), or None
        self.spec: Any = None
        self._engine: UL.Engine | None = None

    @property
    def usable(self) -> float:
        """Usable bytes per GPU: its capacity x the memory fraction (read by an error's text and the aggregated
        comparison)."""
        return self.pool.hardware.si.capacity * self.setup.memory_fraction

    def notes(self) -> tuple[str, ...]:
        """Its setup's notes (:attr:`.setup.Setup.notes`) with its parallel layout's (:func:`.parallel.layout_notes`),
        which the setup was prepared without."""
        return self.setup.notes + layout_notes(self.setup.shape, self.setup.layout)

    def too_small(self, text: Any, tokens: int) -> InvalidInputError:
        """The input error, naming the layout, of a pool whose KV room (:attr:`kv_tokens`, below ``tokens``) cannot
        hold one request of ``tokens`` beside the weights (the caller compares: no frame where it holds one)."""
        hw, tp = self.pool.hardware.name, self.pool.degrees()
        return InvalidInputError(
            "disagg",
            text,
            f"a {self.role} pool that holds {self.shape.name}: on {hw} at {tp} the weights take "
            f"{self.weights_per_gpu / 1e9:.4g} GB of {self.usable / 1e9:.4g} GB usable per GPU, leaving KV room "
            f"for {max(self.kv_tokens, 0.0):,.0f} tokens < one request of {tokens:,} "
            "(raise tp or use a larger part)",
        )

    def at(self, rate: float, e: UL.Engine) -> dict:
        """This replica's utilization at per-replica rate ``rate`` on its engine ``e`` (:meth:`engine`'s) and, below
        saturation, its latencies (:data:`.under_load.LATENCY_FIELDS`, as :func:`.under_load.serve` reports them:
        :func:`.traffic.analytic`'s dict, the kernel's floats; a prefill replica's without the itl_pXX and e2e_pXX it
        has no token gaps for)."""
        rho = rate / e.saturation
        if rho >= 1.0:
            return {"utilization": rho}
        M, c = float(self.c["max_num_batched_tokens"]), self.c
        # (:func:`.traffic.analytic`'s dict, a new one each call; the ITL spread only where a request has token gaps,
        # not a prefill replica's one output token)
        out = TR.analytic(self.cost, e.load, rate, M, e.B_max, c["arrival_cv"], e.saturation, gaps=self.O > 1)
        out["utilization"] = rho
        return out

    def engine(self) -> UL.Engine:
        """:func:`.under_load.engine` of this replica, set up once (with its :class:`_Plan`) for every rate tried
        (:class:`InfeasibleError` if the KV cache holds no request)."""
        if self._engine is None and self.spec is None:
            known = (self.cost, self.kv_tokens)  # (a prefill replica's token gap: none, nothing reads it)
            self._engine = UL.replica(self.setup, self.S, self.O, self.c, None, known, self.O > 1)[2]
        elif self._engine is None:
            hw = self.pool.hardware
            self._engine = UL.engine(self.shape, hw, self.cost, self.kv_tokens, self.S, self.O, self.c, self.spec)
        return self._engine

    def trial(self, rate: float, pct: int, gaps: bool) -> tuple:
        """:func:`.under_load.trial` of this replica at a per-replica rate below saturation (``gaps``: with
        its p``pct`` ITL)."""
        M = float(self.c["max_num_batched_tokens"])
        return UL.trial(self.cost, self.engine(), rate, M, self.c["arrival_cv"], pct, gaps=gaps)

    def excess(self, rate: float, slo_ttft: float | None, slo_itl: float | None) -> float:
        """:func:`.under_load.excess_at` of this replica at a per-replica rate below saturation."""
        return UL.excess_at(self.cost, self.engine(), dict(self.c, slo_ttft=slo_ttft, slo_itl=slo_itl), rate)

    def max_rate(self, slo_ttft: float | None, slo_itl: float | None) -> float:
        """Largest per-replica rate whose p<slo_percentile> TTFT and ITL meet the SLOs (either None: not
        tested), the aggregated solve's search (:func:`.under_load.max_rate`)."""
        return UL.max_rate(self.cost, self.engine(), dict(self.c, slo_ttft=slo_ttft, slo_itl=slo_itl))


def _traffic(traffic: dict, output_len: int) -> dict:
    """The traffic of solve()'s arguments ``traffic`` checked for a disaggregated layout (each error names its
    argument): :func:`.under_load.mix` without SLOs (:func:`.under_load.with_slos` checks each call's); the
    arrival rate given, its value checked by :func:`solve` on every call."""
    if traffic.get("arrival_rate") is None:
        raise InvalidInputError("arrival_rate", None, "a rate > 0 (requests/s) with disagg: pools are sized against it")
    if traffic.get("concurrency") is not None:
        raise InvalidInputError(
            "concurrency", traffic["concurrency"], "None with disagg (open loop: give arrival_rate)"
        )
    if traffic.get("method") not in (None, "analytic"):
        raise InvalidInputError("method", traffic["method"], "analytic with disagg")
    if output_len is None or output_len < 2:
        raise InvalidInputError(
            "output_len", output_len, "an integer >= 2 with disagg (the decode pool emits tokens 2..)"
        )
    return UL.mix(traffic, slos=False)  # (the rate is checked by solve(), which reads it: :func:`.under_load.offered`)


#: solve()'s engine arguments a disaggregated layout hands to each pool (``common``: their values, a tuple in this
#: order)
_COMMON = (
    "precision",
    "kv_precision",
    "efficiency",
    "memory_efficiency",
    "engine_overhead",
    "network_efficiency",
    "engine",
    "memory_fraction",
    "weight_precision",
    "activation_precision",
    "power_idle",
    "power_compute",
    "power_memory",
)
#: their values in solve()'s arguments, as a tuple (one C call)
_common = itemgetter(*_COMMON)


class _Plan:
    """What a disaggregated solve sets up once per configuration, whatever the arrival rate and the SLOs:
    the two pools' replicas (and their engines), one unloaded prefill, the decode pool's first step and token
    gap, and the aggregated layouts compared against (:attr:`agg`, set up where a result's comparison is read)."""

    def __init__(
        self,
        model,
        hardware,
        layout,
        text,
        fabric,
        link,
        texts,
        layerwise,
        seq_len,
        output_len,
        gpus_per_node,
        spec,
        common,
        mix,
    ):
        c_p = mix  # (the checked mix, read-only: no rate, no SLOs)
        c_d = dict(mix, prefix_cache_hit=(seq_len - 1.0) / seq_len)
        self.pre = _Replica("prefill", layout.prefill, text, model, common, c_p, seq_len, 1, None, fabric)
        self.dec = _Replica("decode", layout.decode, text, model, common, c_d, seq_len, output_len, None, fabric)
        if self.pre.kv_tokens < seq_len + 1:  # (a pool that cannot hold one request beside the weights)
            raise self.pre.too_small(text, seq_len + 1)
        if self.dec.kv_tokens < seq_len + output_len:
            raise self.dec.too_small(text, seq_len + output_len)
        S = float(seq_len)
        #: the prefill pool's engine, and one unloaded prefill of the prompt after its cached prefix: the engine's (the
        #: same step)
        self.e_p = self.pre.engine()
        self.one_prefill = self.e_p.one_prefill
        #: speculative decode steps on the decode pool and the aggregated layouts (or None)
        self.spec = None
        if spec is not None:
            from .speculative import under_traffic

            self.spec = under_traffic(self.dec.setup, spec)[0]  # heads/MTP/n-gram: no draft weights or cache
            self.dec.spec = self.spec
        #: the decode pool's engine, and its first step and unloaded token gap, the engine's: its one unloaded prefill
        #: is that of the prompt's last token after the S - 1 cached ((1 - h) S = 1 token after h S = S - 1,
        #: h = (S - 1) / S, to rounding), and a token gap reads no length spread nor prefix hit
        self.e_d = e_d = self.dec.engine()
        self.first, self.itl0 = e_d.one_prefill, e_d.one_decode
        #: what :attr:`agg` sets up the aggregated layouts with, on its first read
        self._agg: Any = (model, hardware, seq_len, output_len, common, c_p, gpus_per_node, self.spec)
        pre, dec, shape = self.pre, self.dec, self.pre.shape
        moved = kv_bytes_per_request(S, shape.kv, dec.setup.b_kv)
        full, self.exposed = kv_transfer(
            moved,
            pre.kv_share,
            dec.kv_share,
            link.bandwidth,
            pre.setup.eta_n,
            link.latency,
            self.one_prefill,
            shape.layers,
            layerwise,
        )
        #: the unloaded TTFT: one prefill + the exposed KV transfer + the decode pool's first step
        self.ttft0 = self.one_prefill + self.exposed + self.first
        #: the result fields that depend on neither the arrival rate nor the SLOs, by their stored names (a measure's
        #: with its underscore) over the defaults (:meth:`.results.Trusted.blank`)
        self.fields = f = built.blank()
        p_pool, d_pool = layout.prefill, layout.decode
        f["feasible"] = True
        f["_ttft"] = self.ttft0
        f["_itl"] = self.itl0
        f["_kv_bytes_per_request"] = moved
        f["_kv_transfer_time"] = full
        f["_kv_transfer_exposed"] = self.exposed
        f["kv_link"] = texts[0]
        f["kv_layerwise"] = layerwise
        f["prefill_hardware"] = p_pool.hardware.name
        f["prefill_gpus"] = p_pool.gpus
        f["prefill_tp"] = p_pool.tp
        f["decode_hardware"] = d_pool.hardware.name
        f["decode_gpus"] = d_pool.gpus
        f["decode_tp"] = d_pool.tp
        f["_prefill_weights_per_gpu"] = pre.weights_per_gpu
        f["_decode_weights_per_gpu"] = dec.weights_per_gpu
        f["prefill_kv_capacity"] = pre.kv_tokens
        f["decode_kv_capacity"] = dec.kv_tokens
        f["layout"] = texts[1]
        f["precision"] = pre.setup.precision
        f["kv_precision"] = dec.setup.kv_precision
        f["seq_len"] = seq_len
        f["output_len"] = output_len
        f["model"] = shape.name
        self._link_note = link.note

    def notes(self, compared: tuple[str, ...]) -> tuple[str, ...]:
        """The result's notes, made where they are read (a field of :data:`.disagg_result.COMPARISON`): the pools'
        setups', the KV link's, speculation's, the aggregated comparison's (``compared``), each once, then the engine's
        calibrated request overhead left out."""
        pre, dec = self.pre.setup, self.dec.setup
        notes = self.pre.notes() + self.dec.notes() + ((self._link_note,) if self._link_note else ())
        if self.spec is not None:
            notes += (
                f"speculative decoding on the decode pool and the aggregated layouts: heads/MTP/n-gram at "
                f"{self.spec.share:g} of a decode step per drafted token, k={self.spec.k}, "
                f"{self.spec.tokens:.3g} tokens kept per step",
            )
        calibrated = max(pre.request_overhead, dec.request_overhead)  # from an engine's calibration
        last: tuple[str, ...] = ()
        if calibrated:
            last = (
                f"request_overhead {calibrated * 1e3:.4g} ms (the engine's calibration) not applied: the request "
                "path of disaggregated pools is not modelled",
            )
        return tuple(dict.fromkeys(notes + compared)) + last

    @property
    def agg(self) -> _Aggregated:
        """The aggregated layouts of ``hardware`` compared against (:class:`_Aggregated`), set up on the first read:
        a result reads them where a field of the comparison is asked (:data:`.disagg_result.COMPARISON`)."""
        if self._agg.__class__ is tuple:
            self._agg = _Aggregated(*self._agg)
        return self._agg


def _link_and_texts(fabric: Any, layout: Disagg, gpus_per_node: int) -> tuple[KVLink, tuple[str, str]]:
    """:func:`.layout.kv_link` and the result's ``kv_link`` and ``layout`` texts, which read it and the pools alone."""
    link = kv_link(fabric, layout, gpus_per_node)
    return link, (
        f"{link.name} ({link.bandwidth * 8 / 1e9:.4g} Gb/s per GPU, {link.latency * 1e6:.3g} us)",
        f"prefill {layout.prefill.label()} -> decode {layout.decode.label()}",
    )


#: :func:`_link_and_texts` memoized by the identity of its arguments (a layout text's :class:`Disagg` is the same
#: object: :func:`parse_disagg`): a new configuration of the same layout (another model, efficiency or traffic) finds
#: the link and formats the texts once (~25 k instructions: two pools' labels, two floats); its bound ``__call__``, as
#: :data:`.setup.prepared`
_links = PreparedCache(_link_and_texts).__call__


def solve(a: dict) -> DisaggServingResult:
    """ServingModel.solve with ``disagg`` (``a``: its arguments, ``model``, ``hardware``, ``spec_draft`` and ``fabric``
    resolved): the two pools under the traffic and the best aggregated layout of ``hardware`` at the same SLOs (see
    the module docstring). Everything but the offered rate's fields is a :class:`_Call` over a :class:`_Layout`
    (everything but the SLOs' fields), each memoized by the identity of every argument it reads (:class:`_Call`'s:
    all but the arrival rate; :class:`_Layout`'s: all but the rate and the SLOs; not with ``length_samples``, a list
    that can change in place; nor without a rate: :func:`_traffic` says so): a call they answer checks the rate alone
    (and a new SLO its SLOs), every other argument was checked with them (:class:`.memo.SameArguments`)."""
    output_len = a["output_len"]
    if a["length_samples"] is not None or a["arrival_rate"] is None:
        return _Call(_Layout(a), a["slo_ttft"], a["slo_itl"]).at(UL.offered(a, output_len))
    return _layouts.answer(a, _Layout).call(a["slo_ttft"], a["slo_itl"]).at(UL.offered(a, output_len))


#: solve()'s arguments a disaggregated layout sets itself, with the value they must have
_POOLS_SET = (("tp_size", 1), ("batch_size", 1), ("beam_width", 1), ("pp_size", 1), ("ep_size", 1), ("dp_attention", 1))
#: their values in solve()'s arguments and the values they must have, as tuples
_pools_set, _POOLS_VALUES = itemgetter(*(name for name, _ in _POOLS_SET)), tuple(value for _, value in _POOLS_SET)


def _checked(a: dict) -> tuple:
    """:class:`_Layout`'s values from solve()'s ``a`` (model, hardware, seq_len, output_len, disagg, its parsed layout,
    fabric, speculation and :data:`_COMMON`'s values), the arguments a disaggregated layout does not take checked first
    (each error names its argument)."""
    if a["scheduler_overlap"] is not False:
        raise InvalidInputError(
            "scheduler_overlap", a["scheduler_overlap"], "False with disagg (the pools' schedulers are not modelled)"
        )
    if a["scheduler_steps"] != 1:
        raise InvalidInputError(
            "scheduler_steps", a["scheduler_steps"], "1 with disagg (the pools' schedulers are not modelled)"
        )
    if a["prefill_steps"] != "mixed":
        raise InvalidInputError(
            "prefill_steps", a["prefill_steps"], "mixed with disagg (the pools' schedulers are not modelled)"
        )
    if a["request_overhead"] is not None:
        raise InvalidInputError(
            "request_overhead", a["request_overhead"], "None with disagg (the pools' request path is not modelled)"
        )
    layout = parse_disagg(a["disagg"])  # the layout text's own mistakes first: without a fabric they were hidden
    if a["fabric"] is None:
        raise InvalidInputError("fabric", None, "a catalog fabric (e.g. InfiniBand_NDR), NVLink or PCIe")
    if _pools_set(a) != _POOLS_VALUES:  # (one C comparison; the first that differs is named)
        for name, value in _POOLS_SET:
            if a[name] != value:
                why = "1 with disagg (the pools give their tp; traffic sets the batch)"
                raise InvalidInputError(name, a[name], why)
    if a["redundant_experts"] != 0:
        raise InvalidInputError(
            "redundant_experts",
            a["redundant_experts"],
            "0 with disagg (each pool takes its own: rN in its degrees, e.g. decode=H100x72:dp72ep72r32)",
        )
    if a["ep_overlap"] is not False:
        raise InvalidInputError("ep_overlap", a["ep_overlap"], "False with disagg (the pools run without it)")
    spec = _speculation(a)
    return (
        a["model"],
        a["hardware"],
        a["seq_len"],
        a["output_len"],
        a["disagg"],
        layout,
        a["fabric"],
        spec,
        _common(a),
    )


def _speculation(a: dict) -> tuple | None:
    """:func:`.speculative.check`'s answer for heads/MTP/n-gram speculation on the decode pool, or None without it
    (a draft model is an input error: its own prompt KV would have to cross the fabric too)."""
    draft, cost, alpha = a["spec_draft"], a["spec_draft_cost"], a["spec_accept"]
    if alpha is None and draft is None and cost is None:
        return None
    from .speculative import check

    if draft is not None:
        raise InvalidInputError(
            "spec_draft",
            getattr(draft, "name", draft),
            "None with disagg: heads/MTP/n-gram by spec_draft_cost (a draft model's own prompt KV "
            "would have to cross the fabric too)",
        )
    if alpha is None:
        raise InvalidInputError("spec_accept", None, "an acceptance rate in [0, 1) with a draft")
    return check(None, None, cost, a["spec_k"], alpha)


class _Layout:
    """A disaggregated solve's arguments but the SLOs checked and what it answers whatever the SLOs and the offered
    rate: the :class:`_Plan`, the pools, the checked traffic mix without SLOs (``a``: solve()'s arguments, checked by
    :func:`_checked`; of them the traffic's are read)."""

    def __init__(self, a: dict):
        model, hardware, seq_len, output_len, disagg, layout, fabric, spec, common = _checked(a)
        layerwise, gpus_per_node = a["kv_layerwise"], a["gpus_per_node"]
        self.layout = layout  # (:func:`.layout.parse_disagg`'s of ``disagg``, the text or object as given)
        if layerwise is not True and layerwise is not False:
            V.instance("kv_layerwise", layerwise, bool, "True or False")
        node = DEFAULT_NODE if gpus_per_node is None else V.integer("gpus_per_node", gpus_per_node, 1, 1 << 20)
        link, texts = _links(fabric, layout, node)
        shape = model_shape(model)
        seq_len, _, output_len = _check_lengths(shape, seq_len, 1, output_len)
        #: the traffic checked without its SLOs (:func:`.under_load.with_slos` checks each call's)
        self.c = mixed = _traffic(a, output_len)
        self.plan = p = _Plan(
            model,
            hardware,
            layout,
            disagg,
            fabric,
            link,
            texts,
            layerwise,
            seq_len,
            output_len,
            gpus_per_node,
            spec,
            common,
            mixed,
        )
        self.pools = _Pools(p.pre, p.dec, p.exposed, p.first, p.e_p, p.e_d)
        self.seq_len, self.output_len = seq_len, output_len
        #: :class:`_Call` by the identity of the SLOs (:meth:`call`)
        self.calls = _Calls()

    def call(self, slo_ttft: Any, slo_itl: Any) -> _Call:
        """The :class:`_Call` of this layout under the SLOs ``slo_ttft`` and ``slo_itl`` (as given), made once per pair
        of objects (the entry keeps them alive, so an id is not reused); one that raises (a bad SLO) keeps nothing."""
        key = (id(slo_ttft), id(slo_itl))
        hit = self.calls.get(key)
        if hit is None or hit[0] is not slo_ttft or hit[1] is not slo_itl:
            hit = self.calls.put(key, (slo_ttft, slo_itl, _Call(self, slo_ttft, slo_itl)))
        return hit[2]


#: SLO pairs a layout keeps calls for (:meth:`_Layout.call`): a sweep over SLOs empties its memo every so many
CALLS_KEPT = 256
#: a layout's memo of calls (:func:`.memo.sized`: made per layout without a Python ``__init__``)
_Calls = sized(CALLS_KEPT)


class _Call:
    """A disaggregated solve's SLOs checked over its :class:`_Layout` and everything it answers but the offered rate's
    fields: the pools' SLO rates, the result fields that read no arrival rate and, on the first read of one of its
    fields (:meth:`aggregated`), the aggregated comparison at the same SLOs."""

    def __init__(self, lay: _Layout, slo_ttft: Any, slo_itl: Any):
        p, layout, seq_len, output_len = lay.plan, lay.layout, lay.seq_len, lay.output_len
        self.pools = pools = lay.pools
        if slo_ttft is None and slo_itl is None:  # no SLO to check nor search: the pools' saturation rates
            pct, slo_t, slo_i = lay.c["slo_percentile"], None, None
            rate_p, rate_d, max_rate = pools.sat_p, pools.sat_d, pools.saturation
        else:
            checked = UL.with_slos(lay.c, slo_ttft, slo_itl)
            _check_slos(checked, p.ttft0, p.itl0, seq_len)
            pct, slo_t, slo_i = checked["slo_percentile"], checked["slo_ttft"], checked["slo_itl"]
            rate_p, rate_d, max_rate = _search(pools, slo_t, slo_i, pct)
        self.slo_t, self.slo_i = slo_t, slo_i
        self.gpus_p, self.gpus_d = gpus_p, gpus_d = layout.prefill.gpus, layout.decode.gpus
        O, gpus = float(output_len), gpus_p + gpus_d
        self.rate_p, self.rate_d, self.O, self.gpus = rate_p, rate_d, O, gpus
        both = rate_p > 0 and rate_d > 0  # a pool meeting no SLO at any rate has no GPUs per request/s
        g_p = pools.pre.replica_gpus / rate_p if both else math.inf
        g_d = pools.dec.replica_gpus / rate_d if both else math.inf
        self.plan, self.output_len, self.balanced = p, output_len, O / (g_p + g_d) if both else 0.0
        self._aggregated: dict | None = None
        #: the result fields that read no arrival rate, as the result stores them (the plan's and this call's, by their
        #: stored names: :meth:`.results.Trusted.blank`)
        self.base = f = p.fields.copy()
        f["_saturation_rate"] = pools.saturation
        f["binding_limit"] = pools.binding
        f["_max_arrival_rate"] = max_rate
        f["slo_percentile"] = pct
        f["_prefill_replica_rate"] = rate_p
        f["_decode_replica_rate"] = rate_d
        f["balanced_prefill_share"] = g_p / (g_p + g_d) if both else None
        f["_goodput_per_gpu"] = max_rate * O / gpus
        f["_balanced_goodput_per_gpu"] = self.balanced
        f[LATER] = self.aggregated

    def aggregated(self, name: str | None = None) -> dict:
        """The result fields of the aggregated comparison (:data:`.disagg_result.COMPARISON`, stored names): the best
        aggregated layout at this call's SLOs (:meth:`_Aggregated.best`), the gain over it and the notes, found on
        the first call (a result's first read of one of them) and kept."""
        if self._aggregated is None:
            p = self.plan
            goodput, layout, notes = p.agg.best(self.slo_t, self.slo_i, self.output_len)
            self._aggregated = {
                "_aggregated_goodput_per_gpu": goodput,
                "aggregated_layout": layout,
                "disagg_gain": self.balanced / goodput if goodput else None,
                "notes": p.notes(notes),
            }
        return self._aggregated

    def at(self, lam: float) -> DisaggServingResult:
        """The result at the offered total rate ``lam`` (checked): the pools' combined fields there."""
        pools, O = self.pools, self.O
        at_p, at_d = pools.pre.at(lam / pools.R_p, pools.e_p), pools.dec.at(lam / pools.R_d, pools.e_d)
        f = self.base.copy()  # (the result's dict: each field stored by its stored name, :meth:`.results.Trusted.made`)
        over = pools.combine(at_p, at_d, f)
        sat = pools.saturation
        served = sat if sat < lam else lam  # (min, inline)
        att = None
        if self.slo_t is not None or self.slo_i is not None:
            att = 0.0 if over else pools.attainment(f, self.slo_t, self.slo_i)
        f["_arrival_rate"] = lam
        f["_requests_per_second"] = served
        f["_output_tokens_per_second"] = served * O
        f["_tokens_per_second_per_gpu"] = served * O / self.gpus
        f["slo_attainment"] = att
        f["prefill_replicas_needed"] = math.ceil(lam / self.rate_p) if self.rate_p > 0 else None
        f["decode_replicas_needed"] = math.ceil(lam / self.rate_d) if self.rate_d > 0 else None
        f[LATER] = partial(self.later, at_p, at_d, lam, served)
        return built.made(f)

    def later(self, at_p: dict, at_d: dict, lam: float, served: float, name: str | None) -> dict:
        """The later fields of the result at total rate ``lam`` (its pools' fields ``at_p``, ``at_d``; ``served``
        requests/s) whose stored ``name`` is read (None: all): the pools' power at the served rate
        (:data:`.disagg_result.ENERGY`, :meth:`energy`) or the aggregated comparison (:meth:`aggregated`)."""
        if name is None:
            return {**self.aggregated(), **self.energy(at_p, at_d, lam, served)}
        return self.energy(at_p, at_d, lam, served) if name in ENERGY else self.aggregated()

    def energy(self, at_p: dict, at_d: dict, lam: float, served: float) -> dict:
        """Each pool's mean power per GPU at its replicas' rate (:func:`.loaded_energy.loaded_power`) and the energy
        per output token of both: (prefill GPUs x P_prefill + decode GPUs x P_decode) / (served x output_len); none
        where a pool is at or beyond saturation (no steady state served)."""
        pools = self.pools
        out = dict.fromkeys(ENERGY)
        out["power_idle"] = pools.pre.setup.power_idle
        if "e2e_mean" not in at_p or "e2e_mean" not in at_d:
            return out
        powers = []
        for replica, at, R in ((pools.pre, at_p, pools.R_p), (pools.dec, at_d, pools.R_d)):
            load = replica.engine().load
            powers.append(
                loaded_power(replica.setup, replica.cost, load, lam / R, at["itl_mean"], at["e2e_mean"], 0.0)[1]
            )
        if None in powers:  # a part without a TDP
            return out
        out["_prefill_loaded_power"], out["_decode_loaded_power"] = powers
        total = self.gpus_p * powers[0] + self.gpus_d * powers[1]
        out["_loaded_energy_per_token"] = total / (served * self.O)
        return out


#: :class:`_Layout` by the identity of solve()'s arguments but the rate and the SLOs (the memo's key: those a sweep of
#: disaggregated solves varies most besides them): a call under new SLOs reuses it, and its :class:`_Call` under the
#: same SLOs (:meth:`_Layout.call`)
_layouts = SameArguments(
    lambda a: (
        id(a["model"]),
        id(a["hardware"]),
        id(a["seq_len"]),
        id(a["output_len"]),
        id(a["disagg"]),
        id(a["efficiency"]),
    ),
    tuple(name for name in KEYED if name not in ("slo_ttft", "slo_itl")),
    given=True,  # (solve()'s locals(), which nothing changes after)
)


#: GPUs of one node when ``gpus_per_node`` is not given (PCIe fabric: both pools in one host): an HGX/DGX board.
DEFAULT_NODE = 8


def _check_slos(c: dict, ttft0: float, itl0: float, seq_len: int) -> None:
    """Each SLO of the checked mix ``c`` at least what one request takes alone on the layout (``ttft0``, ``itl0``)."""
    for name, slo, floor, what in (
        ("slo_ttft", c["slo_ttft"], ttft0, "one unloaded {:,}-token prefill + KV transfer + first decode step"),
        ("slo_itl", c["slo_itl"], itl0, "one unloaded decode step at context {:,}"),
    ):
        if slo is not None and slo < floor:
            why = f"at least {floor * 1e3:.4g} ms: the SLO is below {what.format(seq_len)} on this layout"
            raise InvalidInputError(name, slo, why)


#: (ttft_pQ, itl_pQ) of each percentile the pools report, then their stored names (:meth:`_Pools.combine`); (e2e_pQ,
#: then the stored names of e2e_pQ and ttft_pQ) of each e2e percentile
_TTFT_ITL = tuple((f"ttft_p{q}", f"itl_p{q}", f"_ttft_p{q}", f"_itl_p{q}") for q in (50, 90, 99))
_E2E = tuple((f"e2e_p{q}", f"_e2e_p{q}", f"_ttft_p{q}") for q in (90, 99))


class _Pools:
    """The two pools: their combined latency fields at a total arrival rate, saturation, the SLO search's excess."""

    def __init__(self, pre: _Replica, dec: _Replica, exposed: float, first: float, e_p: UL.Engine, e_d: UL.Engine):
        self.pre, self.dec, self.x = pre, dec, exposed
        #: the pools' engines (:meth:`_Replica.engine`'s, set up by :class:`_Plan`)
        self.e_p, self.e_d = e_p, e_d
        #: the decode pool's first step of a request: its last prompt token after S - 1 cached ones (:class:`_Plan`'s)
        self.first = first
        self.R_p, self.R_d = pre.replicas, dec.replicas
        self.sat_p, self.sat_d = e_p.saturation, e_d.saturation
        cap_p, cap_d = self.R_p * self.sat_p, self.R_d * self.sat_d
        if cap_p <= cap_d:  # min(cap_p, cap_d) and the pool that binds, in one test (the label agrees with the rate)
            self.saturation, self.binding = cap_p, f"prefill pool ({e_p.limit})"
        else:
            self.saturation, self.binding = cap_d, f"decode pool ({e_d.limit})"

    def ttft(self, p_mean: float, d_mean: float, p_q: float | None = None, d_q: float | None = None) -> float:
        """Combined TTFT from a prefill replica's and a decode replica's at the same total rate: the mean
        (``p_mean``, ``d_mean``) or, with their pQ (``p_q``, ``d_q``), the pQ: prefill TTFT + exposed
        transfer + decode admission, the tails of the independent pools combined as :func:`.traffic.combine`
        does."""
        mean = p_mean + self.x + d_mean
        return mean if p_q is None or d_q is None else mean + TR.combine(SCALAR, p_q - p_mean, d_q - d_mean)

    def combine(self, p: dict, d: dict, out: dict) -> bool:
        """The combined fields from a prefill replica's ``p`` and a decode replica's ``d`` (:meth:`_Replica.at`)
        at the same total rate, stored in ``out`` by the result's stored names (:meth:`.results.Trusted.blank`); no
        latencies where either pool is overloaded (True)."""
        u_p, u_d = p["utilization"], d["utilization"]
        u = u_d if u_d > u_p else u_p  # (max, inline)
        out["prefill_utilization"] = u_p
        out["decode_utilization"] = u_d
        out["utilization"] = u
        over = out["overloaded"] = u >= 1.0
        if over:
            return True
        combine = TR.combine
        p_mean, d_mean, d_e2e = p["ttft_mean"], d["ttft_mean"], d["e2e_mean"]
        mean = out["_ttft_mean"] = p_mean + self.x + d_mean  # (as :meth:`ttft`, inline)
        for ttft, itl, ttft_at, itl_at in _TTFT_ITL:
            out[ttft_at] = mean + combine(SCALAR, p[ttft] - p_mean, d[ttft] - d_mean)
            out[itl_at] = d[itl]
        out["_itl_mean"] = d["itl_mean"]
        e2e = out["_e2e_mean"] = mean + (d_e2e - d_mean)
        for e2e_q, e2e_at, ttft_at in _E2E:
            out[e2e_at] = e2e + combine(SCALAR, out[ttft_at] - mean, d[e2e_q] - d_e2e)
        out["_queue_wait_mean"] = p["queue_wait_mean"] + d["queue_wait_mean"]
        return False

    def excess(self, lam: float, slo_t: Any, slo_i: Any, pct: int, tried: Memo) -> float:
        """:func:`.under_load.slo_excess` of the combined p``pct`` TTFT and ITL at total rate ``lam`` (below
        saturation): <= 0 where both SLOs are met. Each pool's trial rates are memoized on its engine
        (:func:`.under_load.trial`): the prefill pool's search tried some of them. The pools' latencies are kept
        in ``tried`` (rate -> (p_mean, d_mean, p_q, d_q, d_itl)) for the searches under other SLOs."""
        p_mean, p_q, _ = self.pre.trial(lam / self.R_p, pct, False)
        d_mean, d_q, d_itl = self.dec.trial(lam / self.R_d, pct, slo_i is not None)
        tried.put(lam, (p_mean, d_mean, p_q, d_q, d_itl))
        return UL.slo_excess(self.ttft(p_mean, d_mean, p_q, d_q), d_itl, slo_t, slo_i)

    def attainment(self, f: dict, slo_t: Any, slo_i: Any) -> float:
        """Share of requests meeting both SLOs: P(TTFT <= slo) * P(ITL <= slo) (:mod:`.traffic` CDFs) of the combined
        fields ``f`` (:meth:`combine`'s, by their stored names)."""
        att = 1.0
        if slo_t is not None:
            ttft = {"ttft_p50": f["_ttft_p50"], "ttft_p90": f["_ttft_p90"], "ttft_p99": f["_ttft_p99"]}
            att *= float(TR.ttft_cdf(ttft, slo_t))
        if slo_i is not None:
            sd = max(f["_itl_p90"] - f["_itl_mean"], 0.0) / TR.Z[90]
            att *= float(TR.itl_cdf({"itl_mean": f["_itl_mean"], "itl_sd": sd}, slo_i))
        return att


def _search(pools: _Pools, slo_t: Any, slo_i: Any, pct: int) -> tuple[float, float, float]:
    """The pools' SLO rates (prefill, decode, max), each by :func:`.roots.largest_meeting` on scalar analytic solves:
    the most one prefill replica takes within the TTFT SLO (with the transfer and the first decode step), the most
    one decode replica takes within the ITL SLO, the largest total rate whose combined p``pct`` TTFT and ITL meet the
    SLOs (at most R_d x the decode rate: the combined ITL is the decode pool's); at least one SLO given (without
    them the rates are the saturation rates: :class:`_Call`)."""
    if slo_t is None and slo_i is None:  # (a caller's slip: the search would answer the saturation rates as SLO rates)
        raise ValueError("_search needs an SLO: without them the pools' rates are their saturation rates")
    rate_p = pools.sat_p if slo_t is None else pools.pre.max_rate(slo_t - pools.x - pools.first, None)
    rate_d = pools.sat_d if slo_i is None else pools.dec.max_rate(None, slo_i)
    top = min(pools.saturation, pools.R_d * rate_d)
    guess = min(top, pools.R_p * rate_p)  # the pools' own SLO rates: near the combined one
    # found once per pair of engines (the prefill one kept alive with the answer, so its id stays its own)
    pre, found = pools.e_p, pools.e_d.rates
    pair = (id(pre), pools.R_p, pools.R_d, pools.x, pct, pools.pre.c["arrival_cv"])
    key = ("disaggregated", *pair, slo_t, slo_i)
    hit = found.get(key)
    if hit is None:
        tried = _tried(found, pair, pre)
        usable = tried if slo_i is None else [lam for lam, v in tried.items() if v[4] is not None]
        known = nearest_known(  # (a trial without the decode pool's ITL spread tells nothing of an ITL SLO)
            lambda lam: UL.slo_excess(pools.ttft(*tried[lam][:4]), tried[lam][4], slo_t, slo_i), usable, top
        )
        rate = largest_meeting(lambda lam: pools.excess(lam, slo_t, slo_i, pct, tried), top, guess, known)
        hit = found.put(key, (pre, rate))
    return rate_p, rate_d, hit[1]


def _tried(found: Memo, pair: tuple, pre: UL.Engine) -> Memo:
    """The combined search's trials on the pair of engines ``pair`` (:meth:`_Pools.excess`), kept in the decode
    engine's memo ``found`` with the prefill engine ``pre`` alive (so that its id stays its own)."""
    hit = found.get(("combined trials", *pair))
    if hit is None:
        hit = found.put(("combined trials", *pair), (pre, UL.Trials()))
    return hit[1]


class _Aggregated:
    """The aggregated layouts of ``hardware`` compared against: ServingModel's engine at each tensor-parallel
    degree (powers of two up to the scale-up domain) that holds the model and one request, under the same
    traffic ``c``."""

    def __init__(self, model, hardware, seq_len, output_len, common, c, gpus_per_node, spec=None):
        self.top = tp_limit(hardware, gpus_per_node)
        self.hardware, self.model = hardware, model
        held: list[tuple[int, _Replica]] = []
        degrees = [1 << k for k in range(self.top.bit_length()) if 1 << k <= self.top]
        # weight bytes per GPU x tp of the last degree set up (P * b, the same at every tensor-only degree:
        # kernels.weights_per_gpu) and the usable bytes per GPU (the same at every degree)
        weights, usable = 0.0, math.inf
        for tp in reversed(degrees):
            if weights / tp >= usable:  # the weights alone fill a GPU: no KV room here, nor at lower degrees
                break
            try:
                replica = _Replica(
                    "aggregated", Pool(hardware, tp, tp), None, model, common, c, seq_len, output_len, gpus_per_node
                )
            except InvalidInputError:  # a degree the model's heads or the part do not allow
                continue
            weights, usable = replica.weights_per_gpu * tp, replica.usable
            if replica.kv_tokens >= seq_len + output_len:  # its KV cache holds a request (else no engine)
                replica.spec = spec
                held.append((tp, replica))
        held.reverse()  # (lowest degree first: the order ties keep)
        #: (tp, replica) of each layout that holds the model, lowest degree first
        self.held = held
        #: the work per request of every layout (as :func:`.under_load.engine` sets it up) for the bounds on their
        #: saturation rates (:func:`.traffic.capacity_bound`): their engines only where a bound can win
        self._load = UL.request_work(seq_len, output_len, c, spec)
        self._order: list[tuple[int, _Replica, float]] | None = None

    def order(self) -> list[tuple[int, _Replica, float]]:
        """(tp, replica, saturation rate) of each layout that holds the model, best saturation per GPU first (ties:
        the lowest degree first), set up once."""
        if self._order is None:
            self._order = sorted(
                ((tp, replica, replica.engine().saturation) for tp, replica in self.held),
                key=lambda item: -item[2] / item[0],
            )
        return self._order

    def _candidates(self) -> list[tuple[int, _Replica, float]]:
        """:meth:`order` without the layouts that cannot have the best saturation rate per GPU: those whose bound
        (:func:`.traffic.capacity_bound`, 1e-6 above it for rounding) is below the best rate per GPU of the layouts
        whose bounds are higher; their engines are not set up. Every layout :meth:`order` puts before the first one
        left out is kept, in its order: the best one without SLOs is the same."""
        if self._order is not None:
            return self._order
        load, bounds = self._load, []
        for tp, replica in self.held:
            M, B_max = float(replica.c["max_num_batched_tokens"]), UL.batch_limit(replica.kv_tokens, load, replica.c)
            bound = TR.capacity_bound(replica.cost, load, M, B_max) if B_max >= 1.0 else None
            if bound is None:
                return self.order()
            bounds.append((bound / tp, tp, replica))
        bounds.sort(key=lambda item: -item[0])
        kept, best = [], 0.0
        for per_gpu, tp, replica in bounds:
            if per_gpu * (1.0 + 1e-6) < best:
                break
            saturation = replica.engine().saturation
            kept.append((tp, replica, saturation))
            best = max(best, saturation / tp)
        kept.sort(key=lambda item: (-item[2] / item[0], item[0]))
        return kept

    def best(self, slo_t: Any, slo_i: Any, output_len: int) -> tuple:
        """(output tokens/s per GPU, layout, notes) of the best layout at its largest rate within the SLOs
        (:meth:`_Replica.max_rate`; its saturation rate without SLOs). Layouts are tried in order of their
        saturation rate per GPU, a bound on their goodput: once the bound is not above the best found, no
        layout left can win and none is searched (without SLOs, nor set up: :meth:`_candidates`). A layout that
        misses the SLOs at the rate that would tie the best found cannot win either (the latencies rise with the
        rate: its largest rate within them is lower): one trial instead of its search."""
        best, layout = 0.0, None
        slos = slo_t is not None or slo_i is not None
        for tp, replica, top in self.order() if slos else self._candidates():
            if top * output_len / tp <= best:
                break
            if not slos:
                rate = top
            elif best > 0.0 and replica.excess(best * tp / output_len, slo_t, slo_i) > 0.0:
                continue
            else:
                rate = replica.max_rate(slo_t, slo_i)
            if rate * output_len / tp > best:
                best, layout = rate * output_len / tp, f"{self.hardware.name} tp{tp}"
        if layout is not None:
            return best, layout, ()
        note = (
            f"aggregated comparison: no tensor-parallel layout of {self.hardware.name} (1..{self.top} GPUs) holds "
            f"{self.model.name} and meets the SLOs"
        )
        return None, None, (note,)


__all__ = ["Disagg", "Pool", "KVLink", "kv_bytes_per_request", "kv_transfer", "solve"]
