"""ReliabilityModel: fleet MTBF, failure probability, checkpoint interval and goodput.

Equations (``shared/design/physics.md``, "Reliability"):

- Components fail independently at constant rates (exponential lifetimes), a node fails when any
  part does (series system): node rate = sum(count_i / MTTF_i); fleet MTBF M = node MTBF / nodes.
- P(failure within T) = 1 - exp(-T/M); expected failures = T/M.
- Causes: each component is a cause of job interruptions (a part, or a software or operations cause,
  its ``kind``); interruptions by cause = T * nodes * count_i / MTTF_i (``failures_by_cause``).
  ``scope="all"`` (default) counts every cause, as operators count job interruptions (Llama 3:
  466 in 54 days on 16,384 H100, arXiv:2407.21783 Table 5); ``scope="hardware"`` counts parts only.
  The fleet MTTF is reported both ways (``fleet_mttf_all``, ``fleet_mttf_hardware``).
- Checkpoint interval (compute time between checkpoints of cost delta): Young (1974)
  tau = sqrt(2*delta*M); Daly (2006, FGCS 22:303, eq. 37) higher-order form
  tau = sqrt(2*delta*M) * (1 + sqrt(delta/(2M))/3 + (delta/(2M))/9) - delta for delta < 2M, else
  tau = M. The Daly interval is used unless ``checkpoint_interval`` is given.
- Goodput (useful fraction of wall time) from Daly's renewal model with restart R:
  wall = M * exp(R/M) * (exp((tau + delta)/M) - 1) * T / tau, so
  goodput = tau / (M * exp(R/M) * (exp((tau + delta)/M) - 1)), always in (0, 1). Expanded to first
  order in delta/M, tau/M, R/M it is physics.md's 1 - delta/tau - (tau/2 + R)/M (checkpoint cost,
  on average tau/2 of lost work, restart), reported as ``goodput_first_order``; that form is
  maximal at Young's tau, the exact one near Daly's.
- A job that does not finish (``feasible`` False, ``infeasible_reason`` says why): its expected
  completion T / goodput exceeds the servers' service life L (``SERVICE_LIFE_YEARS``, 5 years), i.e.
  R > M * ln(L * tau / (T * M * (exp((tau + delta)/M) - 1))) by Daly's equation above. Daly's goodput
  falls as exp(-R/M): the job advances only in failure-free stretches of R + tau + delta, each with
  probability exp(-(R + tau + delta)/M). Where first-order goodput is <= 0, (tau/2 + R)/M + delta/tau >= 1
  (Young 1974; at Young's tau R >= M - sqrt(2*delta*M)), each failure costs more than the time between
  failures; the why line says so. Restart 1e6 s on a 2.8 h MTBF gives goodput 3.8e-44 (a 1.9e46 h
  "completion"); the numbers are kept (they are the model's), the state says the job does not finish.

Fixes over upstream 0.1.1 (reference section 8, item 6): lost work tau/2 counted, Daly's interval,
the fleet's stated MTBF honoured, component MTTFs from the catalog per node type (with sources),
checkpoint cost 0 and negative durations rejected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import PreparedCache, Solver
from mlsysim_core.sweep import PointErrors, checked, where
from mlsysim_core.types import Component, Fleet
from mlsysim_core.units import HOUR, SECOND, to_si
from mlsysim_fleet.inputs import amount, carrying
from mlsysim_physics.efficiency import CHECKPOINT_S
from mlsysim_physics.equations import SERVICE_LIFE_YEARS, maximum

from .checkpoint import Checkpoint, from_training

#: Restart cost R (s) when none is given: upstream 0.1.1's avg_recovery_time_s (failure detection,
#: rescheduling and checkpoint reload); measured restore times for >100B-parameter runs are not
#: public (shared/reference/infrastructure.md section 5). Pass ``restart_time_s`` for your system.
DEFAULT_RESTART_S = 300.0
#: Checkpoint cost delta (s) when none is given: the named default (its sources there).
DEFAULT_CHECKPOINT_S = CHECKPOINT_S
HOUR_S = 3600.0
DAY_S = 86400.0
#: the servers' service life in s (years of 365.25 days): a job expected to take longer does not finish
LIFE_S = SERVICE_LIFE_YEARS * 365.25 * DAY_S
_LOG_MAX = 700.0


@result("ReliabilityModel")
class ReliabilityResult(Result):
    """Failures, checkpointing and goodput of a job on a fleet."""

    fleet_mtbf = measure("h", doc="mean time between failures of the whole fleet: node MTBF / nodes")
    node_mtbf = measure("h", doc="mean time between failures of one node")
    failures_per_day = measure("1/day", doc="expected fleet interruptions per day: 1 day / fleet_mtbf")
    failure_probability: float = attrs.field()  # 1 - exp(-T/M)
    expected_failures: float = attrs.field()  # T/M over the job's compute time
    young_interval = measure("s", doc="Young (1974): sqrt(2 * delta * M)")
    daly_interval = measure("s", doc="Daly (2006): higher-order optimum")
    optimal_checkpoint_interval = measure("s", doc="the optimum used: Daly's interval")
    checkpoint_interval = measure("s", doc="interval assessed (the optimum unless given)")
    goodput: float = attrs.field()  # useful / wall time, Daly's renewal model, in (0, 1)
    goodput_first_order: float = attrs.field()  # 1 - delta/tau - (tau/2 + R)/M (0 where it breaks down)
    expected_completion_time = measure("h", doc="expected wall-clock time to finish: T / goodput")
    expected_interruptions: float = attrs.field()  # expected failures during the wall-clock time
    job_duration = measure("h", doc="failure-free compute time of the job (T)")
    checkpoint_time = measure("s", doc="checkpoint cost delta")
    restart_time = measure("s", doc="restart cost R (detect, reschedule, reload)")
    checkpoint_bytes = measure(
        "GB", doc="one checkpoint: weights + optimizer state (with training= and storage=)", optional=True
    )
    checkpoint_write_time = measure("s", doc="writing one checkpoint to the storage (with storage=)", optional=True)
    checkpoint_storage: str = attrs.field(default="")  # the storage tier written to, '' without storage=
    #: where the checkpoint cost came from: the argument, the storage, or the stated 60 s default
    checkpoint_source: str = attrs.field(default="")
    nodes: int = attrs.field()
    mtbf_source: str = attrs.field()  # where the MTBF came from
    scope: str = attrs.field()  # "all" or "hardware": the causes fleet_mtbf counts
    fleet_mttf_all = measure("h", doc="fleet MTTF counting every cause (hardware, software, operations)")
    fleet_mttf_hardware = measure(
        "h", doc="fleet MTTF counting hardware causes only (None: no per-cause rates)", optional=True
    )
    #: cause -> fleet interruptions per day, causes in scope; {"stated": 1 day / M} for a stated MTBF
    failure_rates_by_cause: Mapping = attrs.field()
    #: cause -> "hardware", "software" or "operations" ("unknown" for a stated MTBF)
    cause_kinds: Mapping = attrs.field()
    #: False when the job does not finish: expected completion beyond the service life (SERVICE_LIFE_YEARS)
    feasible: bool = attrs.field(default=True)
    infeasible_reason: str = attrs.field(default="")  # why it does not finish, else ''

    @property
    def failures_by_cause(self) -> dict:
        """cause -> expected interruptions during the job's compute time T (sums to expected_failures)."""
        days = self.job_duration.to("day").magnitude
        return {cause: per_day * days for cause, per_day in self.failure_rates_by_cause.items()}

    @property
    def goodput_ratio(self) -> float:
        """Upstream 0.1.1 name of ``goodput``."""
        return self.goodput


def _time(name: str, value: Any, factor: float, what: str, *, allow_zero: bool = False) -> float:
    """Seconds from a plain number (in ``what``, times ``factor``) or a time Quantity (``mlsysim_fleet.inputs.amount``:
    a value beyond the float range once in seconds, 1e308 hours, is told the largest it may be)."""
    return amount(name, value, SECOND, factor, what, low_open=not allow_zero)


_node_rates: dict[int, tuple] = {}


def _components_rate(components: Any, overrides: Mapping | None, node: Any) -> dict:
    """cause -> (kind, failures per second of one node): count / MTTF summed per part name."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInputError("component_mttf", overrides, "a dict part -> MTTF (hours or a time Quantity)")
    parts = {c.part for c in components}
    for part in overrides or ():
        if part not in parts:
            raise InvalidInputError(
                "component_mttf",
                part,
                "a part of the node: " + (", ".join(sorted(parts)) or "none"),
                "pass components= to add parts",
            )
    if not components:
        raise InvalidInputError(
            "components",
            (),
            "component MTTFs for the node",
            f"node {node.name!r} lists no components; pass node_mtbf=, fleet_mtbf= or components=",
        )
    rates: dict = {}
    for c in components:
        if overrides is not None and c.part in overrides:
            mttf = _time(f"component_mttf[{c.part!r}]", overrides[c.part], HOUR_S, "hours")
        else:
            mttf = to_si(c.mttf, HOUR, name=f"{c.part}.mttf")
        kind, r = rates.get(c.part, (c.kind, 0.0))
        rates[c.part] = (kind, r + c.count / mttf)
    return rates


def _node_rate(node: Any) -> dict:
    hit = _node_rates.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    rate = _components_rate(node.components, None, node)
    if len(_node_rates) > 512:
        _node_rates.clear()
    _node_rates[id(node)] = (node, rate)
    return rate


_ndarray = np.ndarray


def _ufunc(scalar: Any, array: Any) -> Any:
    """``math`` for a Python float (solve()), the numpy ufunc for an array (a sweep)."""
    return lambda x: array(x) if x.__class__ is _ndarray else scalar(x)


_exp, _expm1, _log = _ufunc(math.exp, np.exp), _ufunc(math.expm1, np.expm1), _ufunc(math.log, np.log)
_sqrt = _ufunc(math.sqrt, np.sqrt)


def young_interval(delta: Any, mtbf: Any) -> Any:
    """Young (1974): tau = sqrt(2 * delta * M)."""
    return _sqrt(2.0 * delta * mtbf)


def daly_interval(delta: Any, mtbf: Any) -> Any:
    """Daly (2006, eq. 37): sqrt(2dM) * (1 + sqrt(d/2M)/3 + (d/2M)/9) - d for d < 2M, else M."""
    x = delta / (2.0 * mtbf)
    # > 0 for d < 2M; max() only guards subnormal rounding (d ~ 1e-308 s gave -1.7e-308 s)
    tau = maximum(_sqrt(2.0 * delta * mtbf) * (1.0 + _sqrt(x) / 3.0 + x / 9.0) - delta, 0.0)
    return where(delta >= 2.0 * mtbf, mtbf, tau)


def goodput(tau: Any, delta: Any, restart: Any, mtbf: Any) -> Any:
    """Daly's renewal model: tau / (M * exp(R/M) * (exp((tau + delta)/M) - 1)), in (0, 1).

    Regimes (numbers or arrays): tau <= 0: 0; x = (tau+delta)/M or R/M overflowing: 0 (no progress,
    not NaN); x == 0 (tau + delta underflows against M): the x -> 0 limit tau / ((tau+delta) e^r);
    x + r >= 700: the log form, log(expm1(x)) = x + log(-expm1(-x)) (expm1 itself overflows)."""
    x = (tau + delta) / mtbf
    r = restart / mtbf
    if x.__class__ is not _ndarray and r.__class__ is not _ndarray and tau.__class__ is not _ndarray:
        if tau <= 0.0 or not x + r < math.inf:
            return 0.0
        if x == 0.0:
            return tau / ((tau + delta) * math.exp(r))
        if x + r < _LOG_MAX:
            return tau / (mtbf * math.exp(r) * math.expm1(x))
        return math.exp(math.log(tau / mtbf) - r - x - math.log(-math.expm1(-max(x, 5e-324))))
    x, r, tau = np.broadcast_arrays(x, r, tau)
    normal = x + r < _LOG_MAX
    g = np.where(
        x == 0.0,
        tau / ((tau + delta) * _exp(r)),
        np.where(
            normal,
            tau / (mtbf * _exp(np.where(normal, r, 0.0)) * _expm1(np.where(normal, x, 1.0))),
            _exp(_log(tau / mtbf) - r - x - _log(-_expm1(-np.maximum(x, 5e-324)))),
        ),
    )
    return np.where((tau <= 0.0) | ~(x + r < math.inf), 0.0, g)


def _evaluate(
    t: Any,
    delta: Any,
    restart: float,
    m: float,
    interval: float | None,
    nodes: int,
    source: str,
    make: Any,
    **fixed: Any,
) -> Any:
    """Every field of the ReliabilityResult from checked SI inputs: the job time ``t`` and checkpoint
    cost ``delta`` are numbers (solve()) or arrays (a sweep); one code path. Returns ``make(**fields)``:
    the result (solve(), ``make=ReliabilityResult``) or columns (``make=dict``)."""
    e = t / m
    tau_d = daly_interval(delta, m)
    tau = tau_d if interval is None else interval + 0.0 * delta
    g = goodput(tau, delta, restart, m)
    # tau >= 0; where it underflows to 0 (M ~ 1e-206 h) delta / 5e-324 = inf and the first-order form is 0
    g1 = 1.0 - delta / maximum(tau, 5e-324) - (0.5 * tau + restart) / m
    wall = where(g > 0.0, t / maximum(g, 5e-324), math.inf)
    finishes, reason = _finishes(t, tau, delta, g1, wall, restart, m)
    return make(
        fleet_mtbf=m,
        failures_per_day=1.0 / m,
        failure_probability=-_expm1(-e),
        expected_failures=e,
        young_interval=young_interval(delta, m),
        daly_interval=tau_d,
        optimal_checkpoint_interval=tau_d,
        checkpoint_interval=tau,
        goodput=g,
        goodput_first_order=maximum(g1, 0.0),
        expected_completion_time=wall,
        expected_interruptions=wall / m,
        job_duration=t,
        checkpoint_time=delta,
        restart_time=restart,
        node_mtbf=m * nodes,
        nodes=nodes,
        mtbf_source=source,
        feasible=finishes,
        infeasible_reason=reason,
        **fixed,
    )


def _finishes(t: Any, tau: Any, delta: Any, g1: Any, wall: Any, restart: float, m: float) -> tuple[Any, Any]:
    """(feasible, infeasible_reason): does the job finish within the service life; numbers or arrays (a sweep)."""
    if wall.__class__ is not _ndarray:
        return (True, "") if not wall > LIFE_S else (False, _no_finish(t, tau, delta, g1, wall, restart, m))
    finishes = ~(wall > LIFE_S)  # NaN (a point a sweep rejected) is not called unfinished
    reason = np.full(finishes.shape, "", dtype=object)
    for i in np.flatnonzero(~finishes):
        at = [float(np.broadcast_to(v, finishes.shape)[i]) for v in (t, tau, delta, g1, wall)]
        reason[i] = _no_finish(at[0], at[1], at[2], at[3], at[4], restart, m)
    return finishes, reason


def _no_finish(t: float, tau: float, delta: float, g1: float, wall: float, restart: float, m: float) -> str:
    """Why a job expected to take ``wall`` s, longer than the service life, does not finish: failures (first-order
    goodput ``g1`` <= 0: each costs more than the time between them, Young 1974; Daly 2006: the job advances only
    in failure-free stretches of R + tau + delta, probability exp(-(R + tau + delta)/M) each), or its length."""
    head = (
        f"does not finish: expected completion {wall / HOUR_S:.4g} h (Daly 2006) exceeds the servers' "
        f"{SERVICE_LIFE_YEARS:g}-year service life ({LIFE_S / HOUR_S:.6g} h)"
    )
    if g1 > 0.0:
        return f"{head}; the job is {t / HOUR_S:.4g} h of failure-free compute, goodput {t / wall:.3g}"
    stretch = restart + tau + delta
    return (
        f"{head}: a failure every M = {m / HOUR_S:.4g} h costs the restart R = {restart:.4g} s and on average "
        f"tau/2 = {tau / 2:.4g} s of lost work, and checkpoints take delta/tau = {delta / max(tau, 5e-324):.3g} of "
        f"the time: (tau/2 + R)/M + delta/tau = {1.0 - g1:.4g} >= 1 (first-order goodput <= 0, Young 1974); the "
        f"job advances only in failure-free stretches of R + tau + delta = {stretch:.4g} s, probability "
        f"exp(-{stretch / m:.4g}) each"
    )


class ReliabilityModel(Solver):
    """Fleet MTBF from component failure rates, failure probability of a job, the Young/Daly
    checkpoint interval, goodput and the expected wall-clock time to finish."""

    name = "ReliabilityModel"
    consumes = (Fleet,)
    produces = ReliabilityResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("job_duration_hours", "checkpoint_time_s")
    #: an input result whose band is carried through (mlsysim_uncertainty.banded: solved at its corners)
    band_inputs = ("training",)
    #: catalog numbers whose range (``provenance``) bands move: a longer part MTTF goes with the fast corner
    #: (fewer failures, a shorter run; mlsysim_uncertainty.banded)
    band_catalog = {"mttf": "high"}
    #: the checkpoint cost default's range (mlsysim_uncertainty.ranges: CHECKPOINT_S), its low end with the fast
    #: corner; held when given, and when ``storage`` gives it (derived from the training state and the storage)
    band_arguments = {"checkpoint_time_s": "checkpoint_time"}
    band_aliases = {"storage": "checkpoint_time_s"}
    #: fields the two corners bound: each falls (or rises) with a longer MTTF and a cheaper checkpoint alike. Not
    #: the checkpoint intervals (sqrt(2 delta M) grows with both, which the corners pair the other way round)
    band_fields = (
        "fleet_mtbf",
        "node_mtbf",
        "failures_per_day",
        "goodput",
        "expected_completion_time",
        "job_duration",
        "checkpoint_time",
        "checkpoint_bytes",
        "checkpoint_write_time",
        "fleet_mttf_all",
        "fleet_mttf_hardware",
    )

    def solve(
        self,
        fleet: Any,
        job_duration_hours: Any = None,
        checkpoint_time_s: Any = None,
        avg_recovery_time_s: Any = None,
        *,
        restart_time_s: Any = None,
        node_mtbf: Any = None,
        fleet_mtbf: Any = None,
        component_mttf: Mapping | None = None,
        components: Any = None,
        checkpoint_interval: Any = None,
        scope: str = "all",
        training: Any = None,
        storage: Any = None,
        asynchronous_checkpoint: bool = False,
    ) -> ReliabilityResult:
        """Reliability of a job of ``job_duration_hours`` of failure-free compute on ``fleet``.

        Args:
            fleet: a Fleet (``mlsysim.Systems.Clusters.X``).
            job_duration_hours: failure-free compute time T (hours, or a time Quantity); None: the
                ``time_to_train`` of ``training`` (a DistributedModel result solved with ``tokens=``).
            checkpoint_time_s: checkpoint cost delta (seconds, or a time Quantity), > 0 (default 60 s);
                None with ``storage=``: derived from the training state and the storage.
            avg_recovery_time_s: upstream name of ``restart_time_s``.
            restart_time_s: restart cost R after a failure (seconds or Quantity, >= 0; default 300 s).
            node_mtbf: a stated node MTBF (hours or Quantity), replacing the component sum.
            fleet_mtbf: a stated fleet MTBF (hours or Quantity); wins over everything else.
            component_mttf: {part: MTTF} overriding the MTTF of parts the node lists.
            components: a sequence of ``Component`` replacing the node's list.
            checkpoint_interval: assess this interval (s or Quantity) instead of the optimum.
            scope: "all" (default: every cause of job interruptions, as operators count them) or
                "hardware" (parts only); a stated MTBF has no per-cause split and takes "all" only.
            training: a DistributedModel result: its weights and optimizer state are the checkpoint
                (:mod:`mlsysim_reliability.checkpoint`) with ``storage``, and its ``time_to_train`` the
                job's hours when ``job_duration_hours`` is None.
            storage: a StorageTier (``mlsysim.Systems.Storage.X``) the checkpoint is written to.
            asynchronous_checkpoint: training stalls only for the copy to host memory; the write runs
                in the background (PyTorch DCP async_save).

        Precedence of the MTBF: fleet_mtbf, node_mtbf, components/component_mttf (arguments), then
        the catalog: fleet.mtbf, node.components. Checks run on the fleet, restart, MTBF and interval
        arguments first, then on job_duration_hours and checkpoint_time_s.
        """
        fleet, storage = V.named("fleet", fleet, "clusters"), V.named("storage", storage, "storage")
        # a component_mttf dict or a components list can change between calls: not cached
        prepare = _prepared if component_mttf is None and components is None else _prepare
        restart, m, source, interval, fixed = prepare(
            fleet,
            avg_recovery_time_s,
            restart_time_s,
            node_mtbf,
            fleet_mtbf,
            component_mttf,
            components,
            checkpoint_interval,
            scope,
        )
        _ran_on(training, fleet)
        t = _job_hours(job_duration_hours, training)
        ck = _checkpoint(training, storage, asynchronous_checkpoint, job_duration_hours is None)
        delta = _delta(checkpoint_time_s, ck)
        fixed = {**fixed, **_checkpoint_fields(ck, checkpoint_time_s)}
        result = _evaluate(t, delta, restart, m, interval, fleet.count, source, ReliabilityResult, **fixed)
        return result if training is None else carrying(result, "training", training)

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): job_duration_hours and checkpoint_time_s
        as arrays, through solve()'s checks and :func:`_evaluate`."""
        a = dict(args)  # catalog names as solve() takes them (a sweep refused "Research_256" that solve() took)
        fleet, a["storage"] = V.named("fleet", a["fleet"], "clusters"), V.named("storage", a["storage"], "storage")
        prepare = _prepared if a["component_mttf"] is None and a["components"] is None else _prepare
        restart, m, source, interval, fixed = prepare(
            fleet,
            a["avg_recovery_time_s"],
            a["restart_time_s"],
            a["node_mtbf"],
            a["fleet_mtbf"],
            a["component_mttf"],
            a["components"],
            a["checkpoint_interval"],
            a["scope"],
        )
        _ran_on(a["training"], fleet)
        errors = PointErrors(n)
        t = checked(errors, "job_duration_hours", vectors, a, lambda v: _job_hours(v, a["training"]))
        hours_from_training = "job_duration_hours" not in vectors and a["job_duration_hours"] is None
        ck = _checkpoint(a["training"], a["storage"], a["asynchronous_checkpoint"], hours_from_training)
        delta = checked(errors, "checkpoint_time_s", vectors, a, lambda v: _delta(v, ck))
        fixed = {**fixed, **_checkpoint_fields(ck, vectors.get("checkpoint_time_s", a.get("checkpoint_time_s")))}
        f = _evaluate(t, delta, restart, m, interval, fleet.count, source, dict, **fixed)
        f.update(valid=errors.ok, error=errors.messages)
        return f


def _ran_on(training: Any, fleet: Fleet) -> None:
    """A training result solved on another fleet than ``fleet`` (other nodes, or another count of them) is an
    error: its time to train and its checkpoint would be assessed against failures of nodes it did not run on
    (a run on 4 of Research_256's nodes got the failure rate of all 32). A result without its Fleet passes."""
    ran = getattr(training, "fleet", None)
    if not isinstance(ran, Fleet) or (ran.node.name == fleet.node.name and ran.count == fleet.count):
        return
    raise InvalidInputError(
        "training",
        f"a run on {ran.name}",
        f"a run on the fleet's {fleet.count} nodes of {fleet.node.name}",
        f"it ran on {ran.count} nodes of {ran.node.name}: give the fleet it ran on (on the command line: "
        f"--nodes {ran.count})",
    )


def _job_hours(value: Any, training: Any) -> float:
    """The job's failure-free compute time in s: the argument, else the training result's time_to_train."""
    if value is not None:
        return _time("job_duration_hours", value, HOUR_S, "hours")
    if training is None:
        raise InvalidInputError(
            "job_duration_hours", None, "hours > 0, or None with training= a result that has time_to_train"
        )
    if getattr(training, "time_to_train", None) is None:
        raise InvalidInputError(
            "training",
            type(training).__name__,
            "a result with time_to_train (a DistributedModel run given tokens: `mlsysim train ... --tokens N`) "
            "when no job hours are given",
        )
    return _time("job_duration_hours", training.time_to_train, HOUR_S, "hours")


def _checkpoint_time(value: Any) -> float:
    return _time("checkpoint_time_s", value, 1.0, "seconds")


def _checkpoint(training: Any, storage: Any, asynchronous: Any, hours_from_training: bool) -> Checkpoint | None:
    """The checkpoint derived from ``training`` and ``storage`` (both or neither; ``training`` alone
    when it gives the job's hours), else None."""
    if storage is None and (training is None or hours_from_training):
        if asynchronous is not False:
            raise InvalidInputError("asynchronous_checkpoint", asynchronous, "False without training= and storage=")
        return None
    if training is None or storage is None:
        name, value = ("training", training) if training is None else ("storage", storage)
        raise InvalidInputError(
            name,
            value,
            "given together with "
            + ("storage=" if name == "training" else "training=")
            + " (the checkpoint needs both)",
        )
    return from_training(training, storage, asynchronous)


def _delta(value: Any, ck: Checkpoint | None) -> float:
    """The checkpoint cost delta: the argument (default 60 s), or derived from the storage."""
    if ck is None:
        return _checkpoint_time(DEFAULT_CHECKPOINT_S if value is None else value)
    if value is not None:
        raise InvalidInputError(
            "checkpoint_time_s", value, "None when storage= is given (derived from the training state and the storage)"
        )
    return ck.blocking_time


def _checkpoint_fields(ck: Checkpoint | None, value: Any) -> dict:
    """Checkpoint fields of the result, and where its cost came from (a default is stated, never silent)."""
    if ck is None:
        source = (
            "given (checkpoint_time_s)"
            if value is not None
            else (
                f"default {DEFAULT_CHECKPOINT_S:g} s (CHECKPOINT_S); pass checkpoint_time_s or storage= and training="
            )
        )
        return dict(checkpoint_source=source)
    return dict(
        checkpoint_bytes=ck.total_bytes,
        checkpoint_write_time=ck.write_time,
        checkpoint_storage=ck.storage,
        checkpoint_source=f"derived from the training state and storage {ck.storage}",
    )


def _prepare(
    fleet: Any,
    avg_recovery_time_s: Any,
    restart_time_s: Any,
    node_mtbf: Any,
    fleet_mtbf: Any,
    component_mttf: Any,
    components: Any,
    checkpoint_interval: Any,
    scope: Any = "all",
) -> tuple:
    """Check every argument but the job time and checkpoint cost; returns (restart R in s, fleet
    MTBF M in s (of the causes in ``scope``), where M came from, the interval assessed in s or None
    for Daly's, the result fields fixed by these arguments: scope, MTTF both ways, rates by cause)."""
    if scope not in ("all", "hardware"):
        raise InvalidInputError("scope", scope, '"all" | "hardware"')
    if not isinstance(fleet, Fleet):
        hint = " (look it up, e.g. mlsysim.Systems.Clusters.Frontier_8K)" if isinstance(fleet, str) else ""
        raise InvalidInputError("fleet", fleet, "a Fleet (Cluster)" + hint)
    if restart_time_s is not None and avg_recovery_time_s is not None:
        raise InvalidInputError(
            "avg_recovery_time_s",
            avg_recovery_time_s,
            "None when restart_time_s is given (it is restart_time_s's upstream name)",
        )
    r_in = restart_time_s if restart_time_s is not None else avg_recovery_time_s
    restart = (
        DEFAULT_RESTART_S
        if r_in is None
        else _time(
            "restart_time_s" if restart_time_s is not None else "avg_recovery_time_s",
            r_in,
            1.0,
            "seconds",
            allow_zero=True,
        )
    )
    nodes = fleet.count
    rates = None  # cause -> (kind, node failures per s), when the MTBF comes from components
    if fleet_mtbf is not None:
        m = _time("fleet_mtbf", fleet_mtbf, HOUR_S, "hours")
        source = "fleet_mtbf argument"
    elif node_mtbf is not None:
        m = _time("node_mtbf", node_mtbf, HOUR_S, "hours") / nodes
        if m == 0.0:  # a positive MTBF so small that node_mtbf / nodes underflows to 0
            raise InvalidInputError("node_mtbf", node_mtbf, f"an MTBF whose share per node of {nodes} nodes is > 0 s")
        source = "node_mtbf argument"
    elif components is not None or component_mttf is not None:
        comps = fleet.node.components if components is None else _components(components)
        rates = _components_rate(comps, component_mttf, fleet.node)
        source = "components argument" if components is not None else "node.components with component_mttf"
    elif fleet.mtbf is not None:
        m = to_si(fleet.mtbf, HOUR, name="fleet.mtbf")
        source = "fleet.mtbf"
    else:
        rates = _node_rate(fleet.node)
        source = "node.components"
    if rates is None:
        if scope == "hardware":
            raise InvalidInputError(
                "scope",
                scope,
                '"all" for a stated MTBF',
                f"the MTBF from {source} has no per-cause split; pass components= to count hardware causes only",
            )
        fixed = dict(
            scope=scope,
            fleet_mttf_all=m,
            fleet_mttf_hardware=None,
            failure_rates_by_cause=MappingProxyType({"stated": DAY_S / m}),
            cause_kinds=MappingProxyType({"stated": "unknown"}),
        )
    else:
        hardware = sum(r for kind, r in rates.values() if kind == "hardware") * nodes
        every = sum(r for _kind, r in rates.values()) * nodes
        if scope == "hardware" and hardware == 0.0:
            raise InvalidInputError("scope", scope, '"all"', f"node {fleet.node.name!r} lists no hardware causes")
        m = 1.0 / (hardware if scope == "hardware" else every)
        fixed = dict(
            scope=scope,
            fleet_mttf_all=1.0 / every,
            fleet_mttf_hardware=1.0 / hardware if hardware > 0.0 else None,
            failure_rates_by_cause=MappingProxyType(
                {cause: r * nodes * DAY_S for cause, (kind, r) in rates.items() if scope == "all" or kind == "hardware"}
            ),
            cause_kinds=MappingProxyType({cause: kind for cause, (kind, _r) in rates.items()}),
        )
    interval = (
        None if checkpoint_interval is None else _time("checkpoint_interval", checkpoint_interval, 1.0, "seconds")
    )
    return restart, m, source, interval, fixed


_prepared = PreparedCache(_prepare)


def _components(value: Any) -> tuple:
    if isinstance(value, (str, bytes)):
        raise InvalidInputError("components", value, "a sequence of mlsysim.Component")
    try:
        comps = tuple(value)
    except TypeError:  # not iterable (a pint Quantity has __iter__ but raises TypeError)
        raise InvalidInputError("components", value, "a sequence of mlsysim.Component") from None
    for c in comps:
        if not isinstance(c, Component):
            raise InvalidInputError("components", c, "a sequence of mlsysim.Component(part=, count=, mttf=)")
    return comps
