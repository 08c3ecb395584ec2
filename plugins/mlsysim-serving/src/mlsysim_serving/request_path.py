"""The request path outside the engine's steps: the host time a served request spends in the server's
frontend (HTTP, chat template, tokenization, the engine's input and output queues, detokenizing and
streaming the first chunk) and not in any engine iteration.

A client measures TTFT from sending the request to receiving the first chunk, so under traffic
TTFT_client = t_req + TTFT_engine and e2e_client = t_req + e2e_engine (every percentile shifts by
t_req, a constant per request). A closed loop's clients spend t_req outside the engine on every
request: N = lambda * (e2e_engine + t_req) (Little's law over the whole cycle).

Engines differ here at the same GPU and model (GPUStack performance lab, Qwen3-8B on one H100 with
``vllm bench serve``, ShareGPT: mean TTFT 27.7 ms SGLang v0.5.3.post3, 51.6 ms TensorRT-LLM v1.2.0rc1,
64.0 ms vLLM v0.11.0 at 4 clients), so the value belongs to the engine: ``request_overhead`` given to
``solve()``, else the hardware's calibration scoped to the ``engine`` (``mlsysim calibrate`` fits it
from loaded TTFT rows), else 0 (the notes say so when an engine is named). Disaggregated pools do not
model it: the argument is refused there, and an engine calibration's value is named in the notes as not
applied. No engine's value is
shipped: none has been measured apart from the loaded-serving points it would be checked against
(docs/accuracy.md, groups L and M).
"""

from __future__ import annotations

from typing import Any

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.format import is_quantity

#: Largest request overhead accepted (s): a frontend slower than this is a misconfiguration, not a model input.
MAX_REQUEST_OVERHEAD_S = 10.0

#: Loaded result fields that a client measures from sending the request (each shifts by t_req).
CLIENT_FIELDS = ("ttft_mean", "ttft_p50", "ttft_p90", "ttft_p99", "e2e_mean", "e2e_p90", "e2e_p99")


def parse_seconds(text: str, *, name: str, expected: str) -> float:
    """A time text in seconds: ``"40 ms"``, ``"1s"`` or a bare number of seconds (``"0.05"``), parsed strictly
    (:func:`mlsysim_core.units.parse_strict`: no pint expressions such as "2**3 ms" or "1..3"); another
    dimension raises InvalidInputError naming ``name`` and the text."""
    from mlsysim_core.units import SECOND, parse_strict

    q = parse_strict(text, name=name, expected=expected)
    if not q._units:  # a bare number: seconds
        return float(q.magnitude)
    if not q.check("[time]"):
        raise InvalidInputError(name, text, expected)
    return float(q.to(SECOND).magnitude)


def host_seconds(name: str, v: Any, top: float) -> float:
    """Argument ``name`` in seconds: a time Quantity, a text such as "40 ms" or a number of seconds, in [0, top]."""
    if isinstance(v, str):
        v = parse_seconds(v, name=name, expected=f'a time such as "40 ms" or a number of seconds, in [0, {top:g}] s')
    if is_quantity(v):
        from mlsysim_core.units import SECOND, to_si

        v = to_si(v, SECOND, name=name)
    return V.number(name, v, 0.0, top)


def check_request_overhead(v: Any) -> float:
    """request_overhead in seconds: a time Quantity, a text such as "40 ms" or a number of seconds, in [0, 10 s]."""
    if v.__class__ is float and 0.0 <= v <= MAX_REQUEST_OVERHEAD_S:
        return v
    return host_seconds("request_overhead", v, MAX_REQUEST_OVERHEAD_S)


def resolve(given: Any, calibration: dict, engine: str | None) -> tuple[float, tuple[str, ...]]:
    """(t_req in s, notes): the argument where given, else the calibration's ``request_overhead`` (scoped
    to ``engine`` by the caller), else 0 with a note when an engine is named (its request path is then
    not modelled)."""
    if given is not None:
        return check_request_overhead(given), ()
    if "request_overhead" in calibration:
        return float(calibration["request_overhead"]), ()
    if engine is None:
        return 0.0, ()
    return 0.0, (
        f"request_overhead 0 ms: no value for engine {engine!r} (its frontend time per request under traffic "
        "is not modelled; pass request_overhead or fit it with mlsysim calibrate on ttft_mean rows)",
    )


def phase_kept(xp: Any, first: Any, t_req: float) -> tuple[Any, Any]:
    """(p, l) of a closed loop's request, sent when its previous request's last step ends, the engine's next
    step (mean ``first``) already begun: p the probability that it reaches the engine before that step ends
    (it then waits the rest of it: the phase is kept), l its request path's mean time given that it does.
    The path's time differs from request to request (prompts of other lengths to template and tokenize, the
    network, the server's event loop), and no source states its spread: taken exponential, the law of largest
    entropy of a positive time of known mean t_req (Jaynes 1957), p = 1 - exp(-first/t_req) and
    l = E[L | L < first] = t_req - first*(1 - p)/p. p falls continuously from 1 (t_req = 0: l = 0) as t_req
    grows past a step; otherwise the request lands in a later step at a random phase (the length-biased
    residual): no switch at t_req = first."""
    if t_req == 0.0:
        return 1.0, 0.0
    p = xp.max(-xp.expm1(-first / t_req), 1e-300)
    return p, t_req - first * (1.0 - p) / p


def to_client(fields: dict, t_req: float) -> None:
    """Add t_req to the client-measured fields of a loaded answer (None and NaN stay as they are)."""
    if t_req == 0.0:
        return
    for k in CLIENT_FIELDS:
        v = fields.get(k)
        if v is not None:
            fields[k] = v + t_req
