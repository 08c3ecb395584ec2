"""DisaggServingResult: what ServingModel answers for a disaggregated layout (``disagg=``)."""

from __future__ import annotations

import attrs

from mlsysim_core.results import Result, measure, result
from mlsysim_core.types import as_tuple

from .results import LATER, Trusted, answered


def _opt(doc: str) -> object:
    return attrs.field(default=None, metadata={"doc": doc})


@result("ServingModel")
class DisaggServingResult(Result):
    """A prefill pool and a decode pool joined by a fabric, under an arrival rate (``ServingModel.solve``
    with ``disagg``); latency fields mean what ServingResult's loaded fields mean."""

    feasible: bool = attrs.field(metadata={"doc": "both pools hold the weights and one request's KV cache"})
    ttft = measure("ms", doc="unloaded: one prefill + exposed KV transfer + the decode pool's first step")
    itl = measure("ms", doc="unloaded: one decode step at context seq_len on a decode replica")
    kv_bytes_per_request = measure("GB", doc="KV cache moved per request: seq_len * kv elements * kv bytes")
    kv_transfer_time = measure("ms", doc="moving one request's KV share per GPU over the link, latency included")
    kv_transfer_exposed = measure("ms", doc="the part of kv_transfer_time not hidden under the prefill")
    kv_link: str = attrs.field(metadata={"doc": "the link the KV crosses, its per-GPU bandwidth and latency"})
    kv_layerwise: bool = attrs.field(metadata={"doc": "KV sent layer by layer during the prefill"})
    arrival_rate = measure("1/s", doc="offered requests per second, split evenly over each pool's replicas")
    ttft_mean = measure("ms", doc="prefill queue + prefill + exposed transfer + decode admission", optional=True)
    ttft_p50 = measure("ms", optional=True)
    ttft_p90 = measure("ms", optional=True)
    ttft_p99 = measure("ms", optional=True)
    itl_mean = measure("ms", doc="mean token gap (TPOT) on the decode pool: no prefill beside it", optional=True)
    itl_p50 = measure("ms", optional=True)
    itl_p90 = measure("ms", optional=True)
    itl_p99 = measure("ms", optional=True)
    e2e_mean = measure("ms", optional=True)
    e2e_p90 = measure("ms", optional=True)
    e2e_p99 = measure("ms", optional=True)
    queue_wait_mean = measure("ms", doc="prefill queue + decode admission wait", optional=True)
    utilization: float = attrs.field(metadata={"doc": "the busier pool's utilization (>= 1: overloaded)"})
    prefill_utilization: float = attrs.field()
    decode_utilization: float = attrs.field()
    overloaded: bool = attrs.field()
    saturation_rate = measure("1/s", doc="most requests/s the two pools sustain together")
    binding_limit: str = attrs.field(metadata={"doc": "the pool that saturates first and its limit"})
    requests_per_second = measure("1/s")
    output_tokens_per_second = measure("token/s")
    tokens_per_second_per_gpu = measure("token/s", doc="output tokens/s per GPU of both pools at the offered rate")
    slo_attainment = _opt("share of requests meeting both SLOs")
    max_arrival_rate = measure("1/s", doc="largest rate whose p<slo_percentile> TTFT/ITL meet the SLOs")
    slo_percentile: int = attrs.field()
    prefill_replica_rate = measure("1/s", doc="most requests/s one prefill replica takes within the TTFT SLO")
    decode_replica_rate = measure("1/s", doc="most requests/s one decode replica takes within the ITL SLO")
    balanced_prefill_share = _opt("share of GPUs in the prefill pool that makes both pools bind at the same rate")
    prefill_replicas_needed = _opt("prefill replicas the offered rate needs within the SLOs")
    decode_replicas_needed = _opt("decode replicas the offered rate needs within the SLOs")
    goodput_per_gpu = measure("token/s", doc="output tokens/s per GPU at max_arrival_rate, these pool sizes")
    balanced_goodput_per_gpu = measure("token/s", doc="output tokens/s per GPU within the SLOs at the balanced ratio")
    aggregated_goodput_per_gpu = measure(
        "token/s",
        doc="the best aggregated layout of `hardware` at the same SLOs, output tokens/s per GPU",
        optional=True,
    )
    aggregated_layout = _opt("that aggregated layout")
    disagg_gain = _opt("balanced_goodput_per_gpu / aggregated_goodput_per_gpu")
    prefill_loaded_power = measure(
        "W", doc="mean power per prefill GPU at the served rate (busy and idle)", optional=True
    )
    decode_loaded_power = measure(
        "W", doc="mean power per decode GPU at the served rate (busy and idle)", optional=True
    )
    loaded_energy_per_token = measure(
        "J/token",
        doc="both pools' energy per output token at the served rate: (prefill GPUs x prefill_loaded_power + decode "
        "GPUs x decode_loaded_power) / output tokens per second",
        optional=True,
    )
    power_idle: float = attrs.field(default=None, metadata={"doc": "awake-idle share of TDP in the power model"})
    prefill_hardware: str = attrs.field()
    prefill_gpus: int = attrs.field()
    prefill_tp: int = attrs.field()
    decode_hardware: str = attrs.field()
    decode_gpus: int = attrs.field()
    decode_tp: int = attrs.field()
    prefill_weights_per_gpu = measure("GB")
    decode_weights_per_gpu = measure("GB")
    prefill_kv_capacity: float = attrs.field(metadata={"doc": "KV tokens one prefill replica holds"})
    decode_kv_capacity: float = attrs.field(metadata={"doc": "KV tokens one decode replica holds"})
    layout: str = attrs.field()
    precision: str = attrs.field()
    kv_precision: str = attrs.field()
    seq_len: int = attrs.field()
    output_len: int = attrs.field()
    model: str = attrs.field()
    notes: tuple = attrs.field(factory=tuple, converter=as_tuple)
    _kv_transfer_time: float
    _kv_transfer_exposed: float
    _kv_bytes_per_request: float
    _arrival_rate: float
    _saturation_rate: float
    _ttft_p99: float | None
    _itl_p99: float | None
    _max_arrival_rate: float
    _prefill_replica_rate: float
    _decode_replica_rate: float
    _balanced_goodput_per_gpu: float
    _aggregated_goodput_per_gpu: float | None

    def __getstate__(self) -> dict:
        """What pickle and copy keep: every field, the later ones answered first (COMPARISON, ENERGY)."""
        return {k: v for k, v in answered(self).items() if k != LATER}

    @property
    def constraint_trace(self) -> list[str]:
        """Why: the layout, the KV transfer, each pool's load, the balance and the aggregated comparison."""
        lines = [
            f"Layout: {self.layout}; KV over {self.kv_link}.",
            f"KV transfer: {self._kv_bytes_per_request / 1e9:.4g} GB per request, "
            f"{self._kv_transfer_time * 1e3:.4g} ms per GPU share; "
            + (
                f"sent layer by layer during the prefill, {self._kv_transfer_exposed * 1e3:.4g} ms exposed."
                if self.kv_layerwise
                else "sent after the prefill, all of it exposed."
            ),
        ]
        rate, sat = self._arrival_rate, self._saturation_rate
        if self.overloaded:
            lines.append(
                f"Traffic: OVERLOADED. {rate:.4g} req/s >= {sat:.4g} req/s the pools sustain ({self.binding_limit}); "
                f"prefill utilization {self.prefill_utilization:.2f}, decode {self.decode_utilization:.2f}."
            )
        else:
            assert self._ttft_p99 is not None and self._itl_p99 is not None  # set whenever not overloaded
            lines.append(
                f"Traffic: {rate:.4g} req/s, prefill utilization {self.prefill_utilization:.2f}, decode "
                f"{self.decode_utilization:.2f} of {sat:.4g} req/s ({self.binding_limit}); TTFT p99 "
                f"{self._ttft_p99 * 1e3:.4g} ms, ITL p99 {self._itl_p99 * 1e3:.4g} ms with no prefill beside decode."
            )
        if self.balanced_prefill_share is not None:
            lines.append(
                f"Balance: a prefill replica takes {self._prefill_replica_rate:.4g} req/s, a decode replica "
                f"{self._decode_replica_rate:.4g} req/s within the SLOs; {self.balanced_prefill_share:.0%} of the "
                f"GPUs in prefill balances them; {rate:.4g} req/s needs {self.prefill_replicas_needed} prefill + "
                f"{self.decode_replicas_needed} decode replicas."
            )
        if self.slo_attainment is not None:
            lines.append(
                f"SLO: {self.slo_attainment:.1%} of requests meet both; max rate at p{self.slo_percentile} "
                f"{self._max_arrival_rate:.4g} req/s."
            )
        agg = self._aggregated_goodput_per_gpu
        if agg is not None:
            lines.append(
                f"vs aggregated: {self.aggregated_layout} serves {agg:.4g} output tokens/s per GPU at the same SLOs; "
                f"disaggregated at the balanced ratio {self._balanced_goodput_per_gpu:.4g} (x{self.disagg_gain:.3g})."
            )
        return lines


#: The fields (stored names) of the aggregated comparison: a disaggregated solve answers them on the first read of one
#: (:meth:`.disagg._Call.aggregated`), so a call that reads none sets up no aggregated layout
COMPARISON = ("_aggregated_goodput_per_gpu", "aggregated_layout", "disagg_gain", "notes")
#: The pools' power at the served rate (stored names): answered on the first read of one, apart from the comparison
#: (:meth:`.disagg._Call.energy`)
ENERGY = ("_prefill_loaded_power", "_decode_loaded_power", "_loaded_energy_per_token", "power_idle")
#: :class:`.results.Trusted` of DisaggServingResult: how a disaggregated solve builds its results (:mod:`.disagg`)
built = Trusted(DisaggServingResult, later=COMPARISON + ENERGY)
