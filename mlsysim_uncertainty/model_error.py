"""Model-form error: how far the model's answers lie from published measurements of the same kind.

For an error class k with calibration points i = 1..n (the validation set's counted predictions a
solver call of that kind gives), e_i = |ln(measured_i / predicted_i)|; the class's interval around a
nominal answer is [pred exp(-q), pred exp(q)], q = the ceil((1 - ALPHA)(n + 1))-th smallest e_i (split
conformal prediction). For a new point exchangeable with the calibration points it covers the
measurement with probability at least 1 - ALPHA, whatever the errors' distribution (Vovk, Gammerman &
Shafer 2005, "Algorithmic Learning in a Random World", Springer, ch. 2; Lei, G'Sell, Rinaldo,
Tibshirani & Wasserman 2018, "Distribution-free predictive inference for regression", JASA 113(523),
Thm. 2.1; Barber, Candes, Ramdas & Tibshirani 2021, "Predictive inference with the jackknife+",
Ann. Statist. 49(1), the leave-one-out form ``mlsysim validate --bands`` reports). With fewer than 4
points (ceil(0.8 (n + 1)) > n) a class has no interval. Symmetric in log space on purpose: it holds
for a field and its reciprocal alike (a latency and a throughput), so one class serves every field of
a result. A call out of the calibration set's domain (``domain.out_of_domain``: a hardware or precision
never measured, a batch or context far beyond the measured) is not exchangeable with the class's points,
so no rank carries the guarantee: its interval is the class's widest, q = max e_i (the largest error the
class has shown; Lei et al. 2018, sec. 2, assume exchangeability for the rank).

The classes are the solver being banded and its regime (:func:`error_class`); ``data/model_error.json``
holds n, q and the sorted errors per class, written by ``tools/model_error.py`` from the validation
mappings (a test fails when it is stale): at run time the interval is read from data, the validation
plugin need not be installed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from importlib import resources

from .calibration import CALIBRATION_KEYS, scoped

#: miscoverage the intervals allow (issue 20: the band holds for at least 80 % of points)
ALPHA = Fraction(1, 5)

#: SingleNodeModel has 3 calibration points (two ResNet-50 runs, SDXL), too few for an interval of its own:
#: it is pooled with its nearest kin, ServingModel without traffic, the same roofline of one replica's
#: steps (MLPerf offline, NIM and vLLM static batches, SGLang's disaggregated pools one at a time)
NO_TRAFFIC = "SingleNodeModel and ServingModel without traffic"
#: a bare PyTorch loop (:data:`BARE_LOOP_ENGINE`, no serving engine): one implementation's kernels (its flash
#: decode reads the KV cache at about half the rate the roofline assumes, bench/device), its own population of
#: errors, not exchangeable with the engines' points, so a class of its own rather than a wider pooled one
BARE_LOOP = "ServingModel without traffic, a bare PyTorch loop"
#: the ``engine`` name that puts a ServingModel call in the "bare loop" regime (the project's device
#: measurements, validation group G, carry it)
BARE_LOOP_ENGINE = "torch"
SPECULATIVE = "ServingModel speculative decoding"
TTFT = "ServingModel under traffic, TTFT-like"
ITL = "ServingModel under traffic, ITL-like"
#: the regime of a call on a hardware calibrated on the user's runs (:func:`regimes`): its classes' intervals are
#: those of the fit's own held-out errors where the calibration states them (:func:`calibrated`)
CALIBRATED = "calibrated"
#: a solver with one class for every field of its results
_SOLE = {
    "SingleNodeModel": NO_TRAFFIC,
    "DistributedModel": "DistributedModel",
    "EconomicsModel": "EconomicsModel",
    "SustainabilityModel": "SustainabilityModel",
    "ReliabilityModel": "ReliabilityModel",
}
#: fields that restate an input or add up catalog numbers (a duration, a price used, a purchase price, a
#: workload's rate): no model stands between them and what they restate, so no model-error interval
RESTATED = {
    "EconomicsModel": frozenset(
        (
            *("capex", "capex_total", "capex_accelerators", "capex_hosts", "capex_network", "opex_maintenance"),
            *("electricity_price", "duration", "cloud_rate", "cloud_cost", "tokens_per_second"),
            "input_tokens_per_second",
        )
    ),
    "SustainabilityModel": frozenset(("embodied_carbon", "carbon_intensity", "wue", "duration", "tokens_per_second")),
    "ReliabilityModel": frozenset(("job_duration", "checkpoint_time", "checkpoint_bytes")),
}
#: fields whose model error scales their distance from a floor (a number, or the field named), not the field: a
#: ReliabilityModel class's points are failure rates and MTTFs, and its goodput is 1 less what failures cost and its
#: completion time the job's hours plus what they add, both about in proportion to the failure rate for a job much
#: shorter than the MTBF (Young 1974; Daly 2006). So the interval is [floor + d / f, floor + d * f] with d = value -
#: floor: a goodput never above 1, a completion time never below the failure-free job (x0.3-x3.3 on the whole
#: field gave a 1 h job 0.30-3.38 h and goodput 0.30-1)
FLOORS = {"ReliabilityModel": {"goodput": 1.0, "expected_completion_time": "job_duration"}}
#: ServingModel's regimes: the arguments any of which, given, puts a call in it (as ServingModel decides)
REGIMES = {
    "speculative": ("spec_draft", "spec_draft_cost", "spec_accept"),
    "traffic": ("arrival_rate", "concurrency"),
    "open loop": ("arrival_rate",),
}
#: an open loop's served request rate is its arrival rate, an input: no interval (overloaded, it is the
#: saturation rate, a prediction: :func:`regimes` then leaves the call out of the "open loop" regime)
_OPEN_LOOP_RESTATED = frozenset(("requests_per_second",))
#: under traffic, the per-token fields (one decode step each: the token gap, the group's decode rate and
#: energy per token) err like ITL; the per-request ones (TTFT, e2e, queue wait, request rates, which carry a
#: prefill and a queue) like TTFT, 10x wider on the calibration set
_PER_TOKEN = ("itl", "tokens_per_second", "energy_per_token")
#: the fields each class covers in a result, as the why line names them
FIELDS = {
    SPECULATIVE: "spec_* fields",
    TTFT: "ttft*, e2e*, queue wait, request rates",
    ITL: "itl*, tokens_per_second, energy_per_token",
}


def regimes(solver: str, given: dict, result: object = None) -> tuple[str, ...]:
    """The regimes of a call of ``solver`` with the arguments ``given``: ServingModel's (:data:`REGIMES`,
    in their order; not "open loop" when its ``result`` is overloaded: the served rate is then the
    saturation rate, a prediction, not the arrival rate given; "bare loop" for :data:`BARE_LOOP_ENGINE`), then
    "calibrated" when its ``hardware`` carries a fit for the ``engine`` asked (``mlsysim calibrate``: a class
    the fit's rows hold then takes the interval of the fit's own held-out errors, :func:`calibrated`). Runs
    per banded call: plain loops."""
    table = getattr(given.get("hardware"), "calibration", None)
    fitted = bool(table) and bool(CALIBRATION_KEYS.keys() & scoped(table, given.get("engine")).keys())
    if solver != "ServingModel":
        return (CALIBRATED,) if fitted else ()
    found = []
    for regime, names in REGIMES.items():
        for name in names:
            if given.get(name) is not None:
                found.append(regime)
                break
    if getattr(result, "overloaded", False):
        found = [r for r in found if r != "open loop"]
    if given.get("engine") == BARE_LOOP_ENGINE:
        found.append("bare loop")
    if fitted:
        found.append(CALIBRATED)
    return tuple(found)


def calibrated(given: dict) -> tuple[int, tuple[tuple[str, float], ...]] | None:
    """(the number of runs, ((class, q), ...)) of the fit that applies to a call with the arguments ``given``: the
    ``model_error`` table of its hardware's calibration scoped to its ``engine`` (``mlsysim calibrate``: each class
    its runs hold, q from the fit's leave-one-out errors on them and the published q,
    ``mlsysim_validation.calibrate.model_error``); None where the hardware has no fit, or a fit without that table
    (written before session 18): the published classes' intervals then hold."""
    table = getattr(given.get("hardware"), "calibration", None)
    if not table:
        return None
    fit = scoped(table, given.get("engine"))
    q = fit.get("model_error")
    if not q or not CALIBRATION_KEYS.keys() & fit.keys():
        return None
    return len(fit.get("points", ())), tuple(sorted((k, float(v)) for k, v in q.items()))


def error_class(solver: str, regime: tuple[str, ...], field: str) -> str | None:
    """The error class of ``field`` of a result of ``solver`` in ``regime`` (None: the solver has no
    calibration points, or the field restates its inputs: :data:`RESTATED`). With speculation, the
    ``spec_*`` fields are the speculative answer and the others the plain one."""
    if field in RESTATED.get(solver, ()):
        return None
    if solver != "ServingModel":
        return _SOLE.get(solver)
    if "speculative" in regime and field.startswith("spec_"):
        return SPECULATIVE
    if "open loop" in regime and field in _OPEN_LOOP_RESTATED:
        return None
    if "traffic" in regime:
        return ITL if field.startswith(_PER_TOKEN) else TTFT
    return BARE_LOOP if "bare loop" in regime else NO_TRAFFIC


def conformal_q(errors: Sequence[float], alpha: Fraction = ALPHA) -> float | None:
    """The ceil((1 - alpha)(n + 1))-th smallest of the n ``errors`` (exact rational arithmetic for the
    rank); None when that rank exceeds n (n < 4 at alpha 0.2): too few points for an interval."""
    rank = math.ceil((1 - alpha) * (len(errors) + 1))
    return None if rank > len(errors) else sorted(errors)[rank - 1]


def log_error(measured: float, predicted: float) -> float:
    """|ln(measured / predicted)|, the conformity score of one calibration point."""
    return abs(math.log(measured / predicted))


def table(errors: dict[str, list[float]]) -> dict:
    """What ``data/model_error.json`` holds for the errors of each class: n, q (None: too few points)
    and the sorted errors, rounded to 6 decimals (q is read from the rounded errors)."""
    out = {}
    for name, es in sorted(errors.items()):
        rounded = sorted(round(e, 6) for e in es)
        out[name] = {"n": len(rounded), "q": conformal_q(rounded), "errors": rounded}
    return {"alpha": float(ALPHA), "classes": out}


@cache
def measured() -> dict:
    """The classes of ``data/model_error.json``: name -> {"n", "q", "errors"}."""
    text = resources.files("mlsysim_uncertainty").joinpath("data", "model_error.json").read_text()
    return json.loads(text)["classes"]


def why_lines(
    solver: str, classes: Sequence[str | None], outside: bool = False, fit: tuple | None = None
) -> tuple[str, ...]:
    """A why line per distinct class of ``classes`` (those of a result's fields, in order), none for the
    fields without a class of a solver that has classes (:data:`RESTATED`); ``outside``: the call is out of
    domain (:func:`factor`); ``fit``: the hardware's calibrated model error (:func:`calibrated`)."""
    known = solver == "ServingModel" or solver in _SOLE
    return tuple(why(k, solver, outside, fit) for k in dict.fromkeys(classes) if k is not None or not known)


def why(name: str | None, solver: str, outside: bool = False, fit: tuple | None = None) -> str:
    """The why line of class ``name`` (of a result of ``solver``; ``outside``: out of domain; ``fit``: the
    hardware's calibrated model error, :func:`calibrated`)."""
    if name is None:
        return f"no model-error band: {solver} has no calibration points"
    q = None if fit is None or outside else dict(fit[1]).get(name)
    if fit is not None and q is not None:
        return (
            f"model error, {name}: x{math.exp(-q):.2g}-x{math.exp(q):.2g} "
            f"(+{math.exp(q) - 1:.0%}/-{1 - math.exp(-q):.0%}) by the fit's held-out errors on your {fit[0]} runs and "
            "the published points (mlsysim calibrate)"
        )
    c = measured().get(name)
    if c is None or c["q"] is None:
        n = 0 if c is None else c["n"]
        return f"no model-error band: {n} calibration points of this kind ({name}), 4 needed"
    q = c["errors"][-1] if outside else c["q"]
    where = f" ({FIELDS[name]})" if name in FIELDS else ""
    how = "out of domain: the largest error" if outside else f"{float(1 - ALPHA):.0%} conformal"
    return (
        f"model error, {name}{where}: x{math.exp(-q):.2g}-x{math.exp(q):.2g} "
        f"(+{math.exp(q) - 1:.0%}/-{1 - math.exp(-q):.0%}) on {c['n']} measured points, {how}"
    )


def factor(name: str | None, outside: bool = False, fit: tuple | None = None) -> float | None:
    """exp(q) of class ``name``: its interval is [nominal / factor, nominal * factor]; None: no interval
    (fewer than 4 points). ``outside`` (the call is out of domain): q is the class's largest error. ``fit``
    (:func:`calibrated`): the q of the hardware's fit where it states one for the class and the call is in domain."""
    q = None if fit is None or outside or name is None else dict(fit[1]).get(name)
    if q is not None:
        return math.exp(q)
    c = measured().get(name) if name is not None else None
    if c is None or c["q"] is None:
        return None
    return math.exp(c["errors"][-1] if outside else c["q"])
