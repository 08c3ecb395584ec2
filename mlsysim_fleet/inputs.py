"""Inputs shared by the fleet-level solvers (economics, sustainability): amounts given as plain
numbers or Quantities, the site (grid + facility), node power, and reading another solver's result
by duck typing.
"""

from __future__ import annotations

import math
import sys
from numbers import Real
from typing import Any, NamedTuple

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import Datacenter, Fleet, GridProfile
from mlsysim_core.units import DAY, Q_, Quantity, Unit, to_si
from mlsysim_physics.equations import DEFAULT_IDLE_FRACTION, DEFAULT_UTILIZATION

DAY_S = 86400.0
HOUR_S = 3600.0
YEAR_S = 365.0 * DAY_S  # an accounting year; a time Quantity converts with pint's year (365.25 d)
KWH_J = 3.6e6


def amount(
    name: str,
    value: Any,
    unit: Unit,
    plain_factor: float,
    plain_what: str,
    *,
    low: float = 0.0,
    low_open: bool = True,
    high: float = math.inf,
) -> float:
    """SI float of a plain number (read in ``plain_what`` units, times ``plain_factor``) or a Quantity
    of ``unit``'s dimension, within [low, high] (SI); anything else names the argument and the range."""
    t = type(value)
    if t is float or t is int:  # fast path (bool is not int by type identity)
        # an int beyond the float range (2**1000 days) would stay an exact int here and become
        # inf/inf = NaN downstream; as a float it is inf and refused below
        v = (value if t is float else float(value) if -1e308 < value < 1e308 else math.inf) * plain_factor
        if v == v and (v > low if low_open else v >= low) and v <= high and v != math.inf:
            return v
        v = None
    elif t is _QUANTITY or isinstance(value, Quantity):  # identity first: isinstance goes through ABC checks
        v = quantity_si(value, unit, name)
    elif isinstance(value, Real) and not isinstance(value, bool):
        v = value * plain_factor
    else:
        v = None
    if (
        v is None
        or not isinstance(v, Real)
        or not math.isfinite(v)
        or (v <= low if low_open else v < low)
        or float(v) > high
    ):
        lo = "> 0" if (low == 0 and low_open) else (">= 0" if low == 0 else f">= {low / plain_factor:g}")
        # a finite value beyond the float range once in SI (rental_years=1e308: 3.2e315 s) was told 'expected a
        # finite number > 0': the bound it passed is the largest float over the factor
        top = high if high < math.inf else (sys.float_info.max if _overflows(value) else math.inf)
        hi = f" and <= {top / plain_factor:g}" if top < math.inf else ""
        raise InvalidInputError(name, value, f"a finite number {lo}{hi} ({plain_what}) or a Quantity in {unit:~P}")
    return float(v)


def _overflows(value: Any) -> bool:
    """A finite positive amount (a number, or a Quantity's magnitude) whose SI value is not finite."""
    m = getattr(value, "magnitude", value)
    return isinstance(m, Real) and not isinstance(m, bool) and math.isfinite(m) and float(m) > 0.0


_factors: dict = {}
_QUANTITY = type(Q_(1.0, "s"))


def quantity_si(value: Quantity, unit: Unit, name: str) -> Any:
    """``to_si`` with the factor cached per (the Quantity's units, target): about 0.5 us instead of 1.5.
    A first sight of a unit goes through ``to_si``, which checks the dimension and names ``name``."""
    key = (value._units, unit)
    f = _factors.get(key)
    if f is None:
        to_si(value, unit, name=name)  # raises InvalidInputError on a wrong dimension
        f = _factors[key] = float(to_si(value.__class__(1.0, value._units), unit, name=name))
    return value._magnitude * f


def ratio(name: str, value: Any, low: float, high: float) -> float:
    """A plain finite number in [low, high]."""
    t = type(value)
    if (t is float or t is int or (isinstance(value, Real) and t is not bool)) and low <= value <= high:
        return float(value)  # NaN fails the comparison, inf fails the bounds
    raise InvalidInputError(name, value, f"a number in [{low}, {high}]")


def _string_hint(value: str) -> str:
    """For a name passed where an object belongs: where to find the object (error path only)."""
    try:
        from mlsysim_core.plugins import catalog

        cat = catalog()
        for section, ns in (("grids", "Infra.Grids"), ("datacenters", "Infra.Datacenters")):
            if value in cat.entries.get(section, {}):
                return f"pass the object, e.g. mlsysim.{ns}.{value}"
        known = sorted(cat.entries.get("grids", {}))
        return f"no grid or datacenter named {value!r}; grids: {', '.join(known) or 'none loaded'}"
    except Exception:  # the catalog itself failing must not hide the user's mistake
        return "pass a catalog object, e.g. mlsysim.Infra.Grids.Quebec"


def named_fleets(fleet: Any, datacenter: Any, grid: Any, decode_fleet: Any) -> tuple[Any, Any, Any, Any]:
    """(fleet, datacenter, grid, decode_fleet) with catalog names looked up, as a fleet solver's solve() and its
    sweep both take them (a sweep refused "Research_256", which solve() took)."""
    from mlsysim_core import validate as V

    return (
        V.named("fleet", fleet, "clusters"),
        V.named("datacenter", datacenter, "datacenters", "grids"),
        V.named("grid", grid, "grids"),
        V.named("decode_fleet", decode_fleet, "clusters"),
    )


def check_fleet(fleet: Any) -> Fleet:
    if not isinstance(fleet, Fleet):
        hint = " (look it up, e.g. mlsysim.Systems.Clusters.Frontier_8K)" if isinstance(fleet, str) else ""
        raise InvalidInputError("fleet", fleet, "a Fleet (Cluster)" + hint)
    return fleet


def site(fleet: Fleet, datacenter: Any, grid: Any) -> tuple:
    """Resolve where the fleet runs: (facility, grid, typical).

    ``facility`` is a Datacenter (PUE, WUE) or a GridProfile standing for a typical datacenter on
    that grid (typical_pue, typical_wue), or None; ``grid`` is the GridProfile for carbon, price and
    off-site water, or None. The ``grid`` argument replaces the facility's grid, so location and
    facility vary independently.
    """
    if datacenter is not None and not isinstance(datacenter, (Datacenter, GridProfile)):
        detail = _string_hint(datacenter) if isinstance(datacenter, str) else ""
        raise InvalidInputError(
            "datacenter", datacenter, "a Datacenter or a GridProfile (e.g. mlsysim.Infra.Grids.Quebec)", detail
        )
    if grid is not None and not isinstance(grid, GridProfile):
        detail = _string_hint(grid) if isinstance(grid, str) else ""
        raise InvalidInputError("grid", grid, "a GridProfile (e.g. mlsysim.Infra.Grids.Quebec)", detail)
    facility = datacenter if datacenter is not None else fleet.datacenter
    if facility is None:
        facility = grid  # a typical datacenter on the grid the user named
    if facility is None:
        return None, None
    g = grid if grid is not None else (facility.grid if isinstance(facility, Datacenter) else facility)
    return facility, g


def facility_pue(facility: Any) -> float:
    return facility.pue if isinstance(facility, Datacenter) else facility.typical_pue


def facility_wue(facility: Any) -> float:
    """On-site WUE, SI (m^3 per J of IT energy)."""
    return facility.si.wue if isinstance(facility, Datacenter) else facility.si.typical_wue


def facility_name(facility: Any) -> str:
    return facility.name if isinstance(facility, Datacenter) else f"typical datacenter on {facility.name} grid"


def node_power(fleet: Fleet, utilization: float) -> tuple:
    """(P_max, P_idle) of the fleet's node in W: catalog power_max, power_idle or
    DEFAULT_IDLE_FRACTION * power_max. A node without power_max is an error naming it."""
    node = fleet.node
    pmax = node.si.power_max
    if pmax is None:
        raise InvalidInputError(
            "fleet.node.power_max",
            None,
            "the node's rated power (W)",
            f"node {node.name!r} has no power_max; set it, e.g. attrs.evolve(node, power_max='10.2 kW')",
        )
    pidle = node.si.power_idle
    if pidle is None:
        pidle = DEFAULT_IDLE_FRACTION * pmax
    return pmax, pidle


def fleet_it_power(node_power_max, node_power_idle, utilization, nodes):
    """IT power of ``nodes`` identical nodes: nodes * (P_idle + (P_max - P_idle) * u), in W (linear server
    power model: Barroso & Hoelzle, "The Datacenter as a Computer", 2009; Fan, Weber & Barroso, ISCA 2007).

    Node power (host, NICs, fans, PSU losses included), not accelerator TDP alone: a DGX H100 is
    rated 10.2 kW vs 8 x 700 W of GPUs (NVIDIA DGX H100 user guide). Facility power = IT * PUE.
    """
    return nodes * (node_power_idle + (node_power_max - node_power_idle) * utilization)


# --------------------------------------------------------------------------- consuming other results

_ACCEL_FIELDS = ("total_accelerators", "num_accelerators", "n_accelerators", "accelerators", "num_gpus")


def _count(v: Any, name: str) -> float | None:
    """A count of accelerators a result states (``name`` its field), None if it states none. A count that is
    not a whole number >= 1 (0 GPUs, 2.5 GPUs) is an error naming the field: skipping it for the next source
    would price the work on accelerators it did not run on."""
    if v is None:
        return None
    f = float(v) if isinstance(v, Real) and not isinstance(v, bool) else math.nan
    if f >= 1 and f.is_integer():  # NaN fails; inf is not an integer
        return f
    raise InvalidInputError(f"workload.{name}", v, "a whole number of accelerators >= 1")


def _from_parallelism(p: Any, keys: tuple) -> float | None:
    if p is None:
        return None
    n = 1.0
    for k in keys:
        v = p.get(k) if isinstance(p, dict) else getattr(p, k, None) or getattr(p, k + "_size", None)
        if v is not None:
            n *= _count(v, f"parallelism.{k}")  # type: ignore[operator]  # not None: v is not None
    return n


def training_accelerators(result: Any, fleet: Fleet) -> float:
    """Accelerators a training result ran on: a count field, its fleet, dp*tp*pp of its parallelism,
    else the fleet passed to this solver. A run on more accelerators than the fleet has is an error: its
    time would be priced (or its energy counted) on accelerators the fleet does not have."""
    n = _stated_count(result)
    if n is None:
        rf = getattr(result, "fleet", None)
        if isinstance(rf, Fleet):
            n = float(rf.total_accelerators)
        else:
            n = _from_parallelism(getattr(result, "parallelism", None), ("dp", "tp", "pp"))
    if not n:
        return float(fleet.total_accelerators)
    if n > fleet.total_accelerators:
        raise InvalidInputError(
            "workload",
            f"a run on {n:g} accelerators",
            f"a run on at most the fleet's {fleet.total_accelerators} accelerators",
            f"{fleet.name}: price it on a fleet that holds it (more nodes of its kind)",
        )
    return n


def _stated_count(result: Any) -> float | None:
    """The first accelerator count field a result states (``_ACCEL_FIELDS``), or None."""
    for f in _ACCEL_FIELDS:
        n = _count(getattr(result, f, None), f)
        if n is not None:
            return n
    return None


def replica_accelerators(result: Any) -> float:
    """Accelerators one serving replica uses: a count field, tp*pp of its parallelism or
    ``tp_size``, else 1 (the result describes one accelerator)."""
    n = _stated_count(result)
    if n is not None:
        return n
    n = _from_parallelism(getattr(result, "parallelism", None), ("tp", "pp"))
    if n:
        return n
    tp = _count(getattr(result, "tp_size", None), "tp_size") or 1.0
    pp = _count(getattr(result, "pp_size", None), "pp_size") or 1.0
    return tp * pp


def replicas(rep: float, fleet: Fleet) -> int:
    """Whole replicas of ``rep`` accelerators the fleet holds: floor(N / rep), the accelerators left over
    idle (still owned and powered). A replica larger than the fleet is an error: a fraction of a replica
    serves nothing."""
    n = fleet.total_accelerators
    if rep > n:
        raise InvalidInputError(
            "workload",
            f"a replica of {rep:g} accelerators",
            f"a replica that fits the fleet's {n} accelerators",
            f"{fleet.name}: give a fleet of at least {rep:g} accelerators (more nodes of its kind)",
        )
    return int(n // rep)


def _seconds(value: Any, name: str) -> float:
    v = amount(name, value, Unit("s"), 1.0, "seconds")
    return v


#: What ``steps`` is valid with when nothing would use it (a silent no-op otherwise).
_STEPS_UNUSED = "None: steps price a training result that gives step_time but no time_to_train"

#: The longest run the fleet solvers cost (s), as ``duration_arg``'s bound.
MAX_RUN_TIME_S = 1e30


def run_time(result: Any, steps: Any, consumer: str) -> float:
    """Wall time of a training run (s): ``time_to_train``, else ``step_time`` (or upstream
    ``step_latency_total``) times ``steps``."""
    t = getattr(result, "time_to_train", None)
    if t is not None:
        if steps is not None:  # the run time is the result's own: steps would be ignored
            raise InvalidInputError("steps", steps, _STEPS_UNUSED, "the training result gives time_to_train")
        return _seconds(t, "workload.time_to_train")
    st = getattr(result, "step_time", None)
    if st is None:
        st = getattr(result, "step_latency_total", None)
    if st is None:
        raise InvalidInputError(
            "workload",
            type(result).__name__,
            f"a serving result with tokens_per_second or a training result with "
            f"time_to_train or step_time (needed by {consumer})",
        )
    if steps is None:
        raise InvalidInputError(
            "steps",
            None,
            "the number of training steps (an integer >= 1), or a duration, to cost a "
            "training result that gives step_time but no time_to_train",
        )
    if isinstance(steps, bool) or not isinstance(steps, Real) or not math.isfinite(steps) or steps < 1:
        raise InvalidInputError("steps", steps, "a number of training steps >= 1")
    step = _seconds(st, "workload.step_time")
    if step * float(steps) > MAX_RUN_TIME_S:  # beyond it energies and costs overflow to inf/NaN
        raise InvalidInputError("steps", steps, f"at most {MAX_RUN_TIME_S / step:.4g} steps (a run of up to 1e30 s)")
    return step * float(steps)


_TRAINING_FIELDS = ("time_to_train", "step_time", "step_latency_total")


def is_training(result: Any) -> bool:
    """A training result (``step_time`` or ``time_to_train``, the HasStepTime protocol): it is priced
    as a run even when it also reports (training) ``tokens_per_second``, as DistributedResult does."""
    return any(getattr(result, f, None) is not None for f in _TRAINING_FIELDS)


def token_rate(result: Any) -> float | None:
    """Output tokens per second of a serving result (per replica), or None if it has none (or is a
    training result)."""
    if is_training(result):
        return None
    v = getattr(result, "tokens_per_second", None)
    if v is None:
        return None
    return amount("workload.tokens_per_second", v, Unit("1/s"), 1.0, "tokens per second")


def request_rates(result: Any) -> tuple | None:
    """(input tokens/s, output tokens/s, prefill time share) of a serving result that reports whole
    requests (prompt prefill included, e.g. ServingModel with ``output_len``), or None if it reports
    decode steps only."""
    out = getattr(result, "output_tokens_per_second", None)
    if out is None or is_training(result):
        return None
    inp = getattr(result, "input_tokens_per_second", None)
    share = getattr(result, "prefill_time_share", None)
    if inp is None or share is None:
        raise InvalidInputError(
            "workload",
            type(result).__name__,
            "a serving result giving input_tokens_per_second and prefill_time_share with its output_tokens_per_second",
        )
    return (
        amount("workload.input_tokens_per_second", inp, Unit("1/s"), 1.0, "tokens per second"),
        amount("workload.output_tokens_per_second", out, Unit("1/s"), 1.0, "tokens per second"),
        ratio("workload.prefill_time_share", share, 0.0, 1.0),
    )


def sample_rate(result: Any) -> float | None:
    """Samples (queries) per second of a per-step result with ``latency`` and ``throughput`` (the
    HasLatency protocol, e.g. SingleNodeModel's profile), or None if it is not one."""
    if is_training(result) or getattr(result, "latency", None) is None:
        return None
    v = getattr(result, "throughput", None)
    if v is None:
        return None
    return amount("workload.throughput", v, Unit("1/s"), 1.0, "samples per second")


def carrying(result: Any, name: str, given: Any) -> Any:
    """``result`` keeping the input result ``given`` it was solved from under the argument ``name`` (a fleet
    solver's ``band_inputs``: ``workload``, ``training``), whose out-of-domain lines its own ``out_of_domain``
    states ("workload: ..."; ``mlsysim_uncertainty.domain.check`` reads them on first read, solve() does not)."""
    result.__dict__["_inputs"] = {name: given}
    return result


def loaded_utilization(result: Any, fleet: Fleet) -> tuple[float | None, float | None]:
    """(node utilization, W per GPU) of a serving result under traffic (``loaded_power``: its GPUs' mean draw at the
    served rate, idle time included), (None, None) without it: that draw's position between the GPUs' awake-idle draw
    (the result's ``power_idle`` share of TDP) and TDP, u = (P / TDP - idle) / (1 - idle), taken as the node's
    position between its idle and its rated power (``fleet_it_power``'s linear model: node idle while its GPUs idle,
    at power_max while they draw TDP). The result's part is the fleet's (``_same_accelerator``)."""
    p = getattr(result, "loaded_power", None)
    if p is None:
        return None, None
    watts = amount("workload.loaded_power", p, Unit("W"), 1.0, "W")
    share = ratio("workload.power_idle", getattr(result, "power_idle", None), 0.0, 1.0 - 1e-9)
    return placed(watts, share, fleet), watts


def placed(watts: float, share: float, fleet: Fleet) -> float:
    """A GPU's mean draw ``watts`` as the node utilization of ``fleet`` (:func:`loaded_utilization`): its position
    between the awake-idle draw (``share`` of TDP) and TDP, u = (P / TDP - share) / (1 - share)."""
    tdp = fleet.node.accelerator.si.tdp
    if tdp is None:
        raise InvalidInputError(
            "fleet.node.accelerator.tdp", None, "the accelerator's TDP (W), to place the workload's loaded power"
        )
    u = (watts / tdp - share) / (1.0 - share)
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else u  # within [idle, TDP] by the power model; rounding only


def utilization_of(utilization: Any, mfu: Any, usage: Usage) -> float:
    """:func:`utilization_arg`, or, neither given, the utilization the workload states at its served rate
    (:func:`loaded_utilization`) where it states one."""
    if utilization is None and mfu is None and usage.utilization is not None:
        return usage.utilization
    return utilization_arg(utilization, mfu)


def utilization_source(utilization: Any, mfu: Any, usage: Usage) -> str:
    """Where :func:`utilization_of` took the utilization: "argument", "workload" or "default"."""
    if utilization is not None or mfu is not None:
        return "argument"
    return "workload" if usage.utilization is not None else "default"


def utilization_arg(utilization: Any, mfu: Any) -> float:
    """Node utilization in [0, 1] from ``utilization`` or its upstream name ``mfu`` (default
    ``DEFAULT_UTILIZATION``); both given and different is an error."""
    if mfu is not None:
        m = ratio("mfu", mfu, 0.0, 1.0)
        if utilization is not None and ratio("utilization", utilization, 0.0, 1.0) != m:
            raise InvalidInputError(
                "mfu", mfu, f"the same value as utilization={utilization} (mfu is its upstream name)"
            )
        return m
    if utilization is None:
        return DEFAULT_UTILIZATION
    return ratio("utilization", utilization, 0.0, 1.0)


class Usage(NamedTuple):
    """What another solver's result says about the work: a training run (time, accelerators) or a
    serving rate per replica (tokens or samples per second, accelerators per replica)."""

    time: float | None = None
    accelerators: float | None = None
    tokens_per_second: float | None = None
    input_tokens_per_second: float | None = None
    prefill_time_share: float | None = None
    samples_per_second: float | None = None
    replica_accelerators: float | None = None
    replicas: int | None = None  # whole replicas the fleet holds (``replicas``)
    #: the node utilization a serving result under traffic states (:func:`loaded_utilization`), None otherwise
    utilization: float | None = None
    #: its GPUs' mean draw at the served rate (W per accelerator: ``loaded_power``), None otherwise
    accelerator_power: float | None = None


def fleet_usages(workload: Any, pools: Pools, fleet: Fleet, decode_fleet: Any, steps: Any, consumer: str) -> tuple:
    """(fleet, :class:`Usage`) of each fleet priced for the disaggregated ``workload`` (its :class:`Pools`):
    :func:`disagg_usage` after the checks :func:`workload_usage` makes (a feasible result, no ``steps``)."""
    _feasible(workload, consumer)
    if steps is not None:
        raise InvalidInputError("steps", steps, _STEPS_UNUSED, "the workload is a disaggregated serving rate")
    return disagg_usage(pools, check_fleet(fleet), decode_fleet)


def _feasible(workload: Any, consumer: str) -> None:
    """A configuration its solver found infeasible is an error: pricing work that cannot run would be a silent
    wrong number."""
    if getattr(workload, "feasible", True) is False:
        why = getattr(workload, "infeasible_reason", None) or getattr(workload, "constraint_trace", None) or ""
        if isinstance(why, (list, tuple)):
            why = " ".join(map(str, why))
        raise InvalidInputError(
            "workload",
            type(workload).__name__,
            f"a feasible configuration (needed by {consumer})",
            str(why) or "its feasible field is False",
        )


def workload_usage(workload: Any, fleet: Fleet, steps: Any, consumer: str) -> Usage:
    """Read a consumed result: a configuration its solver found infeasible is an error (pricing work
    that cannot run would be a silent wrong number); otherwise serving rate or training run."""
    if workload is None:
        if steps is not None:
            raise InvalidInputError("steps", steps, _STEPS_UNUSED, "no workload was given")
        return Usage()
    _feasible(workload, consumer)
    _same_accelerator(workload, fleet)
    tps = token_rate(workload)
    qps = sample_rate(workload) if tps is None else None
    if tps is None and qps is None:
        return Usage(time=run_time(workload, steps, consumer), accelerators=training_accelerators(workload, fleet))
    if steps is not None:
        raise InvalidInputError(
            "steps", steps, _STEPS_UNUSED, "the workload is a rate (serving or per sample), not a run"
        )
    rep = replica_accelerators(workload)
    k = replicas(rep, fleet)
    rates = request_rates(workload) if tps is not None else None
    if rates is not None:  # whole requests: output tokens with their prompts' prefill included
        u, watts = loaded_utilization(workload, fleet)
        return Usage(
            input_tokens_per_second=rates[0],
            tokens_per_second=rates[1],
            prefill_time_share=rates[2],
            replica_accelerators=rep,
            replicas=k,
            utilization=u,
            accelerator_power=watts,
        )
    return Usage(tokens_per_second=tps, samples_per_second=qps, replica_accelerators=rep, replicas=k)


class Pools(NamedTuple):
    """The two pools of a disaggregated serving result (ServingModel with ``disagg=``), as pricing reads them:
    each pool's accelerator name and GPUs of one deployment, and the deployment's served rates."""

    prefill_hardware: str
    prefill_gpus: float
    decode_hardware: str
    decode_gpus: float
    input_tokens_per_second: float  #: requests/s x seq_len: the prompts the prefill pool serves
    output_tokens_per_second: float  #: requests/s x output_len: the tokens the decode pool serves
    #: each pool's GPUs' mean power at the served rate (W; ``prefill_loaded_power``, ``decode_loaded_power``) and the
    #: power model's awake-idle share of TDP, None where the result states none
    prefill_power: float | None = None
    decode_power: float | None = None
    power_idle: float | None = None


def disagg_pools(result: Any) -> Pools | None:
    """:class:`Pools` of a disaggregated serving result (it states ``prefill_hardware``), None for any other. Its
    prompt tokens/s are requests_per_second x seq_len (the served rate: the offered one up to the pools'
    saturation), as an aggregated result states them (``input_tokens_per_second``)."""
    if getattr(result, "prefill_hardware", None) is None or is_training(result):
        return None
    names = []
    for role in ("prefill", "decode"):
        hw = getattr(result, f"{role}_hardware", None)
        name = hw if isinstance(hw, str) else getattr(hw, "name", None)
        if not isinstance(name, str):
            raise InvalidInputError(f"workload.{role}_hardware", hw, "the pool's accelerator (a name or a part)")
        names.append(name)
    p = _count(getattr(result, "prefill_gpus", None), "prefill_gpus")
    d = _count(getattr(result, "decode_gpus", None), "decode_gpus")
    if p is None or d is None:
        raise InvalidInputError(
            "workload", type(result).__name__, "a disaggregated result giving prefill_gpus and decode_gpus"
        )
    rps = amount("workload.requests_per_second", getattr(result, "requests_per_second", None), Unit("1/s"), 1.0, "1/s")
    out = getattr(result, "output_tokens_per_second", None)
    S = getattr(result, "seq_len", None)
    if isinstance(S, bool) or not isinstance(S, Real) or not float(S) >= 1.0:
        raise InvalidInputError("workload.seq_len", S, "the prompt length in tokens (>= 1)")
    watts: list[float | None] = []
    for role in ("prefill", "decode"):
        w = getattr(result, f"{role}_loaded_power", None)
        watts.append(None if w is None else amount(f"workload.{role}_loaded_power", w, Unit("W"), 1.0, "W"))
    share = None
    if watts[0] is not None and watts[1] is not None:
        share = ratio("workload.power_idle", getattr(result, "power_idle", None), 0.0, 1.0 - 1e-9)
    return Pools(
        names[0],
        p,
        names[1],
        d,
        rps * float(S),
        amount("workload.output_tokens_per_second", out, Unit("1/s"), 1.0, "tokens per second"),
        prefill_power=watts[0],
        decode_power=watts[1],
        power_idle=share,
    )


def disagg_usage(pools: Pools, fleet: Fleet, decode_fleet: Any) -> tuple:
    """What pricing reads of a disaggregated result ``pools`` on ``fleet`` (and ``decode_fleet``): a tuple of
    (fleet, :class:`Usage`) per fleet priced. One fleet (``decode_fleet`` None) holds both pools, whose
    accelerator must be the fleet's: k = floor(N / (p + d)) whole deployments, the prefill pool's share of the
    accelerators p / (p + d) prices the prompts (``prefill_time_share``: the share of the deployment's
    accelerator-hours that serves them). Two fleets: ``fleet`` holds the prefill pool and ``decode_fleet`` the
    decode pool, each at its own accelerator's price and power; k = min(floor(N_p / p), floor(N_d / d)) whole
    deployments, the rest of each fleet idle (owned and powered); the prefill fleet prices the prompts, the
    decode fleet the output tokens. Both pools on one fleet of another accelerator, a decode fleet of another
    accelerator than the decode pool's, or a deployment larger than a fleet, is an error naming the argument."""
    p, d = pools.prefill_gpus, pools.decode_gpus
    mine = fleet.node.accelerator.name
    if decode_fleet is None:
        for role, hw in (("prefill", pools.prefill_hardware), ("decode", pools.decode_hardware)):
            if hw != mine:
                why = (
                    f"the pools run on {pools.prefill_hardware} and {pools.decode_hardware}: give the decode "
                    "pool's fleet as decode_fleet (fleet then prices the prefill pool)"
                    if pools.prefill_hardware != pools.decode_hardware
                    else ""
                )
                what = "a Fleet of the decode pool's accelerator" if why else "None"
                if why:
                    raise InvalidInputError("decode_fleet", None, what, why)
                raise InvalidInputError(
                    "workload", f"a {role} pool on {hw}", f"a result solved on the fleet's accelerator, {mine}"
                )
        k = replicas(p + d, fleet)
        u = _pool_utilization(pools, fleet, fleet)
        both = None if u is None else (p * u[0] + d * u[1]) / (p + d)  # the node power model is linear in u
        watts = None if u is None else (p * pools.prefill_power + d * pools.decode_power) / (p + d)  # type: ignore[operator]
        return ((fleet, _pool_usage(pools, p / (p + d), p + d, k, both, watts)),)
    if not isinstance(decode_fleet, Fleet):
        raise InvalidInputError("decode_fleet", decode_fleet, "a Fleet (Cluster) of the decode pool's accelerator")
    for name, f, role, hw in (
        ("fleet", fleet, "prefill", pools.prefill_hardware),
        ("decode_fleet", decode_fleet, "decode", pools.decode_hardware),
    ):
        acc = f.node.accelerator.name
        if hw != acc:
            raise InvalidInputError(name, f.name, f"a Fleet of the {role} pool's accelerator, {hw}", f"it holds {acc}")
    k = min(_pool_copies(p, fleet, "fleet", "prefill"), _pool_copies(d, decode_fleet, "decode_fleet", "decode"))
    u = _pool_utilization(pools, fleet, decode_fleet) or (None, None)
    draws = (None, None) if u[0] is None else (pools.prefill_power, pools.decode_power)
    return (
        (fleet, _pool_usage(pools, 1.0, p, k, u[0], draws[0])),
        (decode_fleet, _pool_usage(pools, 0.0, d, k, u[1], draws[1])),
    )


def _pool_utilization(pools: Pools, prefill_fleet: Fleet, decode_fleet: Fleet) -> tuple | None:
    """(prefill, decode) node utilizations of the pools' GPUs' power at the served rate (:func:`placed`), None where
    the result states none."""
    share, p, d = pools.power_idle, pools.prefill_power, pools.decode_power
    if share is None or p is None or d is None:
        return None
    return placed(p, share, prefill_fleet), placed(d, share, decode_fleet)


def _pool_usage(pools: Pools, share: float, gpus: float, k: int, u: float | None, watts: float | None) -> Usage:
    """The :class:`Usage` of ``gpus`` accelerators of a deployment (k whole ones), ``share`` of its cost on prompts,
    its node utilization ``u`` and its GPUs' mean draw ``watts`` at the served rate (None: none stated)."""
    return Usage(
        tokens_per_second=pools.output_tokens_per_second,
        input_tokens_per_second=pools.input_tokens_per_second,
        prefill_time_share=share,
        replica_accelerators=gpus,
        replicas=k,
        utilization=u,
        accelerator_power=watts,
    )


def _pool_copies(gpus: float, fleet: Fleet, name: str, role: str) -> int:
    """Whole copies of a pool of ``gpus`` accelerators the fleet ``name`` holds; a pool larger than it is an error."""
    n = fleet.total_accelerators
    if gpus > n:
        raise InvalidInputError(
            name,
            fleet.name,
            f"a fleet of at least the {role} pool's {gpus:g} accelerators",
            f"it holds {n}: more nodes of its kind (attrs.evolve(fleet, count=...))",
        )
    return int(n // gpus)


def fleet_groups(args: tuple, at: tuple, consumer: str, prepare: Any, prepared: Any, each: Any = None) -> tuple:
    """A fleet solver's prepared group of each fleet it solves: ``args`` its ``_prepare`` arguments then
    ``decode_fleet``; ``at`` the positions of the workload and of ``steps`` in them. Any workload but a disaggregated
    one (:func:`disagg_pools`): one group, ``prepared(*args)`` (memoized) where the workload is none or a frozen
    Result, else ``prepare`` (a workload that could change between calls); a disaggregated one: one
    ``prepare(..., usage=...)`` per fleet holding its pools (:func:`fleet_usages`; ``each(i, arguments, pools)``
    adjusts the i-th fleet's arguments in place), at one site (:func:`one_site`)."""
    *common, decode_fleet = args
    workload, steps = common[at[0]], common[at[1]]
    pools = None if workload is None else disagg_pools(workload)
    if pools is None:
        decode_fleet_unused(decode_fleet, workload)
        from mlsysim_core.results import Result

        return ((prepared if workload is None or isinstance(workload, Result) else prepare)(*common),)
    groups = []
    for i, (fleet, usage) in enumerate(fleet_usages(workload, pools, common[0], decode_fleet, steps, consumer)):
        one = list(common)
        one[0], one[at[0]], one[at[1]] = fleet, None, None  # the fleet, its usage: no workload or steps
        if each is not None:
            each(i, one, pools)
        groups.append(prepare(*one, usage=usage))
    one_site(tuple(groups), "decode_fleet")
    return tuple(groups)


def pooled(cols: list, summed: tuple) -> dict:
    """One result's fields of a deployment over two fleets (``cols``: each fleet's fields): those in ``summed`` added
    (None in either is None in the sum), the utilization the mean over the accelerators of each fleet's (a pool's
    own at its served-rate power, or the same), the rest as the first fleet states them."""
    a, b = cols
    f = dict(a)
    for k in summed:
        f[k] = None if a[k] is None or b[k] is None else a[k] + b[k]
    f["utilization"] = (a["utilization"] * a["accelerators"] + b["utilization"] * b["accelerators"]) / f["accelerators"]
    return f


#: What says where a fleet runs in a fleet solver's prepared fields (those it states)
_SITE_FIELDS = ("region_name", "datacenter_name", "pue", "pue_source", "carbon_intensity", "wue")


def one_site(groups: tuple, name: str) -> None:
    """Two fleets of one disaggregated deployment run at one site (their pools share a fabric, which the KV cache
    crosses): the same grid, datacenter and PUE in each prepared group's ``fields``; otherwise an error naming
    ``name`` (the second fleet's argument)."""
    if len(groups) < 2:
        return
    a, b = (tuple(g.fields.get(k) for k in _SITE_FIELDS if k in g.fields) for g in groups[:2])
    if a != b:
        where = [g.fields["datacenter_name"] or f"a typical datacenter on {g.fields['region_name']}" for g in groups]
        raise InvalidInputError(
            name,
            groups[1].fleet.name,
            f"a fleet at the first fleet's site ({where[0]})",
            f"it is at {where[1]}: the pools share a fabric; give datacenter= (or grid=) to place both",
        )


def decode_fleet_unused(decode_fleet: Any, workload: Any) -> None:
    """``decode_fleet`` without a disaggregated workload is an error (it would be silently ignored)."""
    if decode_fleet is not None:
        raise InvalidInputError(
            "decode_fleet",
            getattr(decode_fleet, "name", decode_fleet),
            "None: a decode fleet prices a disaggregated serving result's decode pool",
            "the workload is " + ("none" if workload is None else f"a {type(workload).__name__}, not disaggregated"),
        )


def per_query_unused(usage: Usage, tokens_per_query: Any, queries: Any = None) -> None:
    """``tokens_per_query`` (and ``queries``) nothing would use is an error, as ``steps`` is: both were silently
    ignored without a serving result (the same answer as without them). tokens_per_query prices a serving
    result's tokens (a per-sample result's query is one sample); queries counts queries of a rate."""
    why = (
        "no workload was given"
        if usage == Usage()
        else "the workload is a training run"
        if usage.time is not None
        else "the workload gives samples per second: a query is one sample"
    )
    if tokens_per_query is not None and usage.tokens_per_second is None:
        raise InvalidInputError(
            "tokens_per_query", tokens_per_query, "None: tokens per query price a serving result's tokens", why
        )
    if queries is not None and usage.tokens_per_second is None and usage.samples_per_second is None:
        raise InvalidInputError(
            "queries", queries, "None: queries count queries of a serving or per-sample result", why
        )


def _same_accelerator(workload: Any, fleet: Fleet) -> None:
    """A result solved on another accelerator than the fleet's is an error: its rate or run time would be priced
    as this fleet's hours (an A100 serving rate costed on H100 nodes). The result names its part by ``hardware``
    (a name or a part) or ``fleet`` (a Fleet; a name read back from JSON says nothing about its part)."""
    fleets = getattr(workload, "fleet", None)
    hw = fleets.node.accelerator if isinstance(fleets, Fleet) else getattr(workload, "hardware", None)
    name = hw if isinstance(hw, str) else getattr(hw, "name", None)
    mine = fleet.node.accelerator.name
    if isinstance(name, str) and name != mine:
        raise InvalidInputError(
            "workload", f"a result on {name}", f"a result solved on the fleet's accelerator, {mine}"
        )


def duration_arg(duration_days: Any, usage: Usage, high: float = MAX_RUN_TIME_S) -> float:
    """Duration in seconds: ``duration_days`` (days or a time Quantity, at most ``high`` s: beyond it
    costs overflow), or the run time of a consumed training result."""
    if duration_days is None:
        if usage.time is None:
            raise InvalidInputError(
                "duration_days",
                None,
                "a number of days > 0 or a time Quantity "
                "(optional only with a training workload, whose run time is used)",
            )
        return usage.time
    return amount("duration_days", duration_days, DAY, DAY_S, "days", high=high)


class UpstreamEnergyNames:
    """Upstream 0.1.1 names of the energy fields of a fleet-level result (``it_energy``,
    ``facility_energy``): ``it_energy_kwh``, ``total_energy_kwh``, ``total_energy``."""

    it_energy: Any  # the result's own fields (annotations only: the attrs result does not read them)
    facility_energy: Any

    @property
    def it_energy_kwh(self) -> Any:
        return self.it_energy

    @property
    def total_energy_kwh(self) -> Any:
        return self.facility_energy

    @property
    def total_energy(self) -> Any:
        return self.facility_energy
