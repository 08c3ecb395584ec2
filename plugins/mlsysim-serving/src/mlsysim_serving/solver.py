"""ServingModel: LLM prefill (TTFT) and decode (ITL), KV cache and memory, with tensor parallelism.

``solve()`` = validate (typed errors naming argument, value, valid range) -> SI floats -> the pure
kernels in :mod:`mlsysim_serving.kernels` -> one ServingResult.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from mlsysim_core import efficiency as E
from mlsysim_core import validate as V
from mlsysim_core.errors import InfeasibleError, InvalidInputError
from mlsysim_core.solver import Solver
from mlsysim_core.sweep import PointErrors, checked, not_integers, notes_column, where
from mlsysim_core.types import HardwareNode, TransformerWorkload

from . import kernels as K
from .results import ServingResult
from .setup import MAX_COUNT, ModelShape, Setup, prepare

#: Tokens of one prefill chunk, which bounds the activation workspace (vLLM/TensorRT-LLM chunked
#: prefill schedule a few thousand tokens per step; vLLM's max_num_batched_tokens is 8192 for
#: chunked prefill on large GPUs).
PREFILL_CHUNK_TOKENS = 8192.0
_MAX = MAX_COUNT


class ServingModel(Solver):
    """LLM serving on one accelerator or a tensor-parallel group inside one node.

    ``batch_size`` sequences are served together: their prompts of ``seq_len`` tokens are prefilled
    together (``ttft``), then each decode step emits one token for every sequence (``itl``), so
    ``batch_size`` is the number of concurrent sequences in decode (continuous batching at that
    concurrency, all at context ``seq_len``). With ``output_len`` the mean ITL over the output, the
    end-to-end latency and requests per second follow, and the KV cache is sized for
    ``seq_len + output_len`` tokens. With ``beam_width`` k > 1 each request is decoded as k beams
    (beam search): its prompt is prefilled once, then every decode step runs k sequences per request
    (compute and KV cache per beam) and yields one output token per request.
    """

    name = "ServingModel"
    consumes = (TransformerWorkload, HardwareNode)
    produces = ServingResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("batch_size", "seq_len", "output_len", "arrival_rate")

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
        max_num_batched_tokens: int | None = None,
        max_num_seqs: int | None = None,
        prefix_cache_hit: float = 0.0,
        slo_ttft: Any = None,
        slo_itl: Any = None,
        slo_percentile: int = 99,
        method: str | None = None,
        seed: int = 0,
        num_requests: int = 10_000,
    ) -> ServingResult:
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
            raise_errors: raise :class:`InfeasibleError` when it does not fit instead of feasible=False.
            memory_fraction: share of the reported capacity a deployment plans to fill, in (0, 1]
                (default ``efficiency.USABLE_MEMORY_FRACTION`` = 0.9, vLLM's gpu_memory_utilization).
            beam_width: beams per request (beam search; integer >= 1): one shared prefill of the prompt,
                then ``batch_size * beam_width`` sequences per decode step, each with its own KV cache.
            arrival_rate: open-loop requests/s (> 0; a Quantity in 1/s or a number): serving under traffic
                (needs ``output_len``); the loaded fields (ttft_mean ... max_arrival_rate) are filled.
            concurrency: closed loop instead: N clients, each sending its next request when one finishes.
            arrival_cv: coefficient of variation of inter-arrival times (1 = Poisson, 0 = evenly spaced).
            length_cv, length_dist: dispersion of prompt and output lengths around ``seq_len`` and
                ``output_len`` (0 = fixed; "lognormal" or "gamma").
            max_num_batched_tokens: token budget of one engine step (chunked prefill; default 8192).
            max_num_seqs: most sequences running at once (default 256); admission also needs the
                request's prompt + output to fit in the free KV cache.
            prefix_cache_hit: share of each prompt found in the prefix cache, in [0, 1): not prefilled,
                no KV written.
            slo_ttft, slo_itl: seconds (or time Quantities): adds ``slo_attainment`` and makes
                ``max_arrival_rate`` the largest rate whose p``slo_percentile`` (50, 90, 99) meets both.
            method: "analytic" (default, steady state) or "simulate" (discrete-event, ``num_requests``
                requests, ``seed``).
        """
        setup = prepare(
            model,
            hardware,
            precision,
            tp_size,
            kv_precision,
            efficiency,
            memory_efficiency,
            gpus_per_node,
            raise_errors,
            memory_fraction,
        )
        seq_len, batch_size, output_len = _check_lengths(setup.shape, seq_len, batch_size, output_len)
        beams = _check_beams(beam_width)
        f = _evaluate(setup, batch_size, float(seq_len), output_len, beams)
        if raise_errors and not f["feasible"]:
            required, usable, capacity = f["total_memory_required"], f["memory_available"], hardware.si.capacity
            raise InfeasibleError(
                f"{setup.shape.name} needs {required / 1e9:.4g} GB per GPU (weights "
                f"{f['weights_per_gpu'] / 1e9:.4g} + KV {f['kv_cache_per_gpu'] / 1e9:.4g} + workspace "
                f"{f['workspace_per_gpu'] / 1e9:.4g}) but {hardware.name} has {usable / 1e9:.4g} GB usable "
                f"({setup.memory_fraction:.0%} of the {capacity / 1e9:.4g} GB it reports) at tp_size={setup.tp_size}",
                required=required,
                available=usable,
            )
        traffic = {k: v for k, v in locals().items() if k in _TRAFFIC_ARGS}
        if arrival_rate is not None or concurrency is not None:
            from .under_load import loaded_fields

            if beams != 1:
                raise InvalidInputError("beam_width", beam_width, "1 under traffic (arrival_rate or concurrency)")
            f.update(loaded_fields(setup, seq_len, output_len, traffic))
        elif method is not None or slo_ttft is not None or slo_itl is not None:
            raise InvalidInputError("arrival_rate", None, "a rate > 0 (or concurrency) when method or an SLO is given")
        else:
            f["slo_percentile"] = slo_percentile
        return ServingResult(
            **f,
            **_layout_fields(setup),
            batch_size=batch_size,
            seq_len=seq_len,
            output_len=output_len,
            beam_width=beams,
            notes=setup.notes,
        )

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): ``vectors`` has arrays of the lengths,
        ``args`` the other arguments (one value each); the same checks and kernels as solve()."""
        vec = vectors
        a = dict(_SOLVE_DEFAULTS, **args)
        rate = vec.get("arrival_rate", a.get("arrival_rate"))
        if rate is not None or a.get("concurrency") is not None:
            for k in ("batch_size", "seq_len", "output_len"):
                v = vec.get(k)
                if isinstance(v, np.ndarray):
                    if v.size and np.any(v != v[0]):
                        return super().sweep_columns(n, vectors, args)  # lengths vary under traffic: per point
                    a[k] = v[0].item() if v.size else a.get(k)
            return self._traffic_columns(n, vec, a)
        setup = prepare(
            a["model"],
            a["hardware"],
            a["precision"],
            a["tp_size"],
            a["kv_precision"],
            a["efficiency"],
            a["memory_efficiency"],
            a["gpus_per_node"],
            a["raise_errors"],
            a["memory_fraction"],
        )
        shape = setup.shape
        lengths = {}
        for k in self.sweep_vector:
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
        setup = prepare(
            a["model"],
            a["hardware"],
            a["precision"],
            a["tp_size"],
            a["kv_precision"],
            a["efficiency"],
            a["memory_efficiency"],
            a["gpus_per_node"],
            a["raise_errors"],
            a["memory_fraction"],
        )
        seq, batch, out = _check_lengths(setup.shape, a["seq_len"], a["batch_size"], a["output_len"])
        from .under_load import check_rate, loaded_fields

        errors = PointErrors(n)
        traffic = {k: a[k] for k in _TRAFFIC_ARGS}
        if "arrival_rate" in vec:
            rate = checked(errors, "arrival_rate", vec, a, check_rate)
            traffic["arrival_rate"] = np.where(errors.ok, rate, 1.0)

        f = _evaluate(setup, batch, float(seq), out)
        f.update(loaded_fields(setup, seq, out, traffic))
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
            notes=notes_column(n, setup.notes),
        )
        return f


def _layout_fields(setup: Setup) -> dict[str, Any]:
    """The result fields that name the layout."""
    return {
        "precision": setup.precision,
        "kv_precision": setup.kv_precision,
        "tp_size": setup.tp_size,
        "hardware": setup.hardware.name,
        "model": setup.shape.name,
    }


_SOLVE_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(ServingModel.solve).parameters.items()
    if p.default is not inspect.Parameter.empty
}


_TRAFFIC_ARGS = (
    "arrival_rate",
    "concurrency",
    "arrival_cv",
    "length_cv",
    "length_dist",
    "max_num_batched_tokens",
    "max_num_seqs",
    "prefix_cache_hit",
    "slo_ttft",
    "slo_itl",
    "slo_percentile",
    "method",
    "seed",
    "num_requests",
)


def _check_lengths(shape: ModelShape, seq_len: Any, batch_size: Any, output_len: Any) -> tuple:
    """seq_len, batch_size and output_len checked (in that order) against the model."""
    max_seq = shape.max_seq
    if seq_len.__class__ is not int or not 1 <= seq_len <= max_seq:
        seq_len = V.integer("seq_len", seq_len, 1, int(min(max_seq, _MAX)))
    if batch_size.__class__ is not int or not 1 <= batch_size <= _MAX:
        batch_size = V.integer("batch_size", batch_size, 1, _MAX)
    if output_len is not None:
        output_len = V.integer("output_len", output_len, 1, int(min(max_seq, _MAX)))
        if seq_len + output_len > max_seq:
            raise InvalidInputError(
                "output_len", output_len, f"seq_len + output_len <= max_seq_len={max_seq} (seq_len={seq_len})"
            )
    return seq_len, batch_size, output_len


def _check_beams(beam_width: Any) -> int:
    if beam_width.__class__ is int and 1 <= beam_width <= _MAX:
        return beam_width
    return V.integer("beam_width", beam_width, 1, _MAX)


def _evaluate(setup: Setup, batch_size: Any, S: Any, output_len: Any, beams: int = 1) -> dict:
    """Every computed field of the ServingResult from checked inputs. ``batch_size``, ``S`` (=
    seq_len) and ``output_len`` are numbers (``solve()``) or float arrays (a sweep): one code path,
    the kernels of :mod:`.kernels`. Beam search (``beams`` > 1): the ``batch_size`` prompts are
    prefilled once; decode runs ``batch_size * beams`` sequences (compute, KV reads and KV cache per
    beam) and emits one output token per request per step."""
    shape, hw = setup.shape, setup.hardware.si
    n, layers = float(setup.tp_size), shape.layers
    peak, b, b_kv, b_act, kv_share = setup.peak, setup.b, setup.b_kv, setup.b_act, setup.kv_share
    eta_c, eta_m, overhead = setup.eta_c, setup.eta_m, setup.overhead
    link_bw, link_lat = setup.link_bandwidth, setup.link_latency
    bw = hw.bandwidth

    # ---- prefill
    read_pre = K.weights_read(batch_size * S, shape.dense_read, shape.experts_params, shape.expert_share)
    f_p, m_p, msg_p = K.prefill(
        batch_size,
        S,
        n,
        b,
        b_kv,
        b_act,
        read_pre,
        shape.matmul,
        layers,
        shape.attn_dim,
        shape.hidden,
        shape.kv,
        kv_share,
    )
    comm_p = K.tp_allreduce(msg_p, n, layers, link_bw, link_lat, E.NETWORK, E.COLLECTIVE_LAUNCH_S)
    ttft, tc_p, tm_p = K.phase_time(f_p, m_p, comm_p, peak, bw, eta_c, eta_m, overhead)

    # ---- decode at context seq_len: every beam of every request is one sequence
    seqs = batch_size * beams
    read_dec = K.weights_read(seqs, shape.dense_read, shape.experts_params, shape.expert_share)
    f_d, m_d, msg_d = K.decode(
        seqs, S, n, b, b_kv, b_act, read_dec, shape.matmul, layers, shape.attn_dim, shape.hidden, shape.kv, kv_share
    )
    comm_d = K.tp_allreduce(msg_d, n, layers, link_bw, link_lat, E.NETWORK, E.COLLECTIVE_LAUNCH_S)
    itl, tc_d, tm_d = K.phase_time(f_d, m_d, comm_d, peak, bw, eta_c, eta_m, overhead)

    itl_mean = e2e = rps = t_one = itl_cont = rps_cont = in_tps = out_tps = prefill_share = None
    if output_len is not None:
        mid = S + (output_len - 1) / 2.0
        f_m, m_m, _ = K.decode(
            seqs,
            mid,
            n,
            b,
            b_kv,
            b_act,
            read_dec,
            shape.matmul,
            layers,
            shape.attn_dim,
            shape.hidden,
            shape.kv,
            kv_share,
        )
        itl_mean = K.phase_time(f_m, m_m, comm_d, peak, bw, eta_c, eta_m, overhead)[0]
        e2e = ttft + K.decode_span(output_len, itl_mean)
        rps = batch_size / e2e
        # continuous batching: one prompt's prefill slots in between decode steps, B per output_len steps
        if batch_size.__class__ is int and batch_size == 1:
            t_one = ttft
        else:
            read_1 = K.weights_read(S, shape.dense_read, shape.experts_params, shape.expert_share)
            f_1, m_1, msg_1 = K.prefill(
                1, S, n, b, b_kv, b_act, read_1, shape.matmul, layers, shape.attn_dim, shape.hidden, shape.kv, kv_share
            )
            comm_1 = K.tp_allreduce(msg_1, n, layers, link_bw, link_lat, E.NETWORK, E.COLLECTIVE_LAUNCH_S)
            t_one = K.phase_time(f_1, m_1, comm_1, peak, bw, eta_c, eta_m, overhead)[0]
            if isinstance(batch_size, np.ndarray):
                t_one = np.where(batch_size == 1, ttft, t_one)
        itl_cont = K.interleaved_itl(itl_mean, t_one, batch_size, output_len)
        rps_cont, in_tps, out_tps, prefill_share = K.continuous_rates(batch_size, S, output_len, itl_mean, t_one)
        max_ctx = S + output_len
    else:
        max_ctx = S

    # ---- memory wall (per GPU)
    w_gpu, kv_gpu, work = K.memory_per_gpu(
        seqs,
        max_ctx,
        n,
        b,
        b_kv,
        b_act,
        shape.params,
        shape.kv,
        kv_share,
        PREFILL_CHUNK_TOKENS,
        shape.hidden,
        shape.ffn,
        shape.vocab,
    )
    required = w_gpu + kv_gpu + work
    capacity = hw.capacity
    usable = capacity * setup.memory_fraction

    # ---- energy of decode
    if hw.tdp is not None:
        power, e_step = K.power_energy(
            hw.tdp, tc_d, tm_d, itl, E.POWER_IDLE_FRACTION, E.POWER_COMPUTE_FRACTION, E.POWER_MEMORY_FRACTION
        )
        e_tok = e_step * n / batch_size
    else:
        power = e_tok = None

    return {
        "feasible": required <= usable,
        "ttft": ttft,
        "itl": itl,
        "tokens_per_second": batch_size / itl,
        "kv_cache_size": seqs * max_ctx * shape.kv * b_kv,
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
        "overhead": overhead,
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
        "peak_flops": peak,
        "bandwidth": bw,
        "compute_efficiency": eta_c,
        "memory_efficiency": eta_m,
    }
