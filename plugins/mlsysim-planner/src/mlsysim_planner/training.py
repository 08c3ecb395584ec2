"""plan_training: the best way to train a model on candidate clusters, searched over every layout.

The space: clusters (and GPU counts) x precision x TP x PP x CP x EP x virtual stages x schedule x ZeRO
stage x activation recomputation x micro-batch count, each point one DistributedModel configuration,
all solved on the sweep engine. A configuration is admitted when it is valid, fits in memory, splits
each data-parallel rank's sequences into whole micro-batches, finishes by the deadline (with failures)
and stays within the GPU budget. Days with failures come from ReliabilityModel (Daly's renewal model at
the optimal checkpoint interval), cost from EconomicsModel (owned TCO for the wall time), energy and
carbon from SustainabilityModel, each on the configuration's cluster.

Pruning (exact): for one cluster, expected days, cost, energy and carbon all grow with the failure-free
training time (ReliabilityModel: wall time = T / goodput, goodput independent of T; the economics and
sustainability figures are linear in the duration), so within one layout (cluster, precision, tp, pp,
cp, ep) the configuration with the most tokens per second is the best by every objective and the first
to meet a deadline. Only that one per layout is costed; the tests compare with brute force.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from mlsysim_distributed.schedules import SCHEDULES

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.format import number as fmt
from mlsysim_core.plugins import get_solver
from mlsysim_core.sweep import sweep
from mlsysim_core.types import PRECISION_BYTES, Datacenter, Fleet, GridProfile, TransformerWorkload
from mlsysim_core.validate import choice, instance, integer, number
from mlsysim_physics.equations import RECOMPUTE_MODES

from . import bands, pricing
from .choose import Constraint, best_per_layout, choose
from .engine import Space, axis, named_axis, no_valid, run
from .plan import Plan

#: objective -> (column, sense)
OBJECTIVES = {
    "throughput": ("tokens_per_second", "max"),
    "time": ("days", "min"),
    "cost": ("cost", "min"),
    "rent": ("rent_cost", "min"),
    "energy": ("energy", "min"),
    "carbon": ("carbon", "min"),
}
RECOMPUTE = RECOMPUTE_MODES  # activation_recomputation's values (DistributedModel)
#: default context-parallel degrees keep at least this many tokens of a sequence per rank (a choice of
#: the search space, not physics: smaller shards are not searched unless cp= is given)
MIN_CP_TOKENS = 1024
_SHOWN = ("layout", "zero_stage", "recompute", "microbatches", "v_stages", "step_time", "mfu", "memory_per_gpu")


def plan_training(
    model: Any,
    clusters: Any,
    *,
    batch_size: int,
    seq_len: int | None = None,
    tokens: float | None = None,
    steps: int | None = None,
    gpus: Any = None,
    max_gpus: int | None = None,
    deadline_days: float | None = None,
    precision: Any = None,
    tp: Any = None,
    pp: Any = None,
    cp: Any = None,
    ep: Any = None,
    v_stages: Any = (1, 2, 4),
    schedule: Any = None,
    zero_stage: Any = (0, 1, 2, 3),
    recompute: Any = RECOMPUTE,
    microbatch_count: Any = None,
    objective: str | None = None,
    datacenter: Any = None,
    checkpoint_time_s: float | None = None,
    client: Any = None,
    progress: Any = None,
) -> Plan:
    """The best training configurations of ``model`` on ``clusters`` for a global batch of ``batch_size``.

    Args:
        model: a TransformerWorkload (``mlsysim.Models.Language.GPT3``).
        clusters: a Fleet or a list of Fleets (``mlsysim.Systems.Clusters.X``).
        batch_size: global batch in sequences; seq_len: tokens per sequence (default: DistributedModel's).
        tokens or steps: the training run (steps x batch_size x seq_len tokens), for days, cost, carbon.
        gpus: GPU counts to try on each cluster (each a multiple of its node size; default: as is).
        max_gpus: GPU budget; deadline_days: wall-clock days (failures included) allowed.
        precision, tp, pp, cp, ep, v_stages, schedule, zero_stage, recompute, microbatch_count: one value
            or a list each (defaults: the accelerator's precision; tp powers of two up to a node; pp the
            divisors of the layers; cp powers of two keeping >= 1,024 tokens per rank; ep 1, or powers of
            two dividing the experts; the solver's schedule; every ZeRO stage and recomputation policy;
            micro-batch counts dividing the batch).
        objective: "throughput" (default without tokens), "time" (default with tokens), "cost",
            "energy" or "carbon" (these need ``datacenter``).
        datacenter: a Datacenter or GridProfile for cost, energy and carbon.
        checkpoint_time_s: checkpoint cost for ReliabilityModel (default: its own, stated in the notes).
        client: a dask Client to spread the search; progress: True, False, a callable, or None (a bar
            on a terminal for large searches).
    """
    instance("model", model, TransformerWorkload, "a TransformerWorkload (mlsysim.Models.Language.X)")
    fleets = _fleets(clusters, gpus)
    B = integer("batch_size", batch_size, 1, 1 << 40)
    S = seq_len if seq_len is None else integer("seq_len", seq_len, 1, 1 << 30)
    run_tokens = _tokens(tokens, steps, B, S, model)
    if max_gpus is not None:
        integer("max_gpus", max_gpus, 1, 1 << 40)
    if deadline_days is not None:
        number("deadline_days", deadline_days, 0.0, math.inf, low_open=True)
        if run_tokens is None:
            raise InvalidInputError("deadline_days", deadline_days, "None without tokens= or steps= (days need a run)")
    if datacenter is not None:
        instance("datacenter", datacenter, (Datacenter, GridProfile), "a Datacenter or GridProfile")
    goal = objective or ("time" if run_tokens is not None else "throughput")
    choice("objective", goal, tuple(OBJECTIVES))
    if goal != "throughput" and run_tokens is None:
        raise InvalidInputError("objective", goal, "'throughput' without tokens= or steps= (the others need a run)")
    if goal in ("cost", "rent", "energy", "carbon") and datacenter is None:
        raise InvalidInputError(
            "objective", goal, "'throughput' or 'time' without datacenter= (cost and carbon need one)"
        )

    per_node = max(f.node.accelerators_per_node for f in fleets)
    most = max(f.total_accelerators for f in fleets)
    seq = S or min(2048, model.max_seq_len or 2048)
    axes = {
        "fleet": fleets,
        "precision": named_axis("precision", precision, [None], tuple(PRECISION_BYTES)),
        "tp_size": _ints("tp", tp, [t for t in _powers(per_node) if model.heads % t == 0]),
        "pp_size": _ints("pp", pp, [p for p in _divisors(model.layers) if p <= most]),
        "cp_size": _ints("cp", cp, [c for c in _powers(seq // MIN_CP_TOKENS or 1) if seq % c == 0]),
        "ep_size": _ints("ep", ep, [e for e in _powers(min(model.experts or 1, 64)) if (model.experts or 1) % e == 0]),
        "v_stages": _ints("v_stages", v_stages, [1]),
        "schedule": named_axis("schedule", schedule, [None], SCHEDULES),
        "zero_stage": _ints("zero_stage", zero_stage, [0], low=0, high=3),
        "activation_recomputation": named_axis("recompute", recompute, list(RECOMPUTE), RECOMPUTE),
        "microbatch_count": _ints("microbatch_count", microbatch_count, _divisors(B)),
    }
    fixed = {"model": model, "batch_size": B, "seq_len": S, "tokens": run_tokens}
    space = Space("DistributedModel", axes, fixed)
    r, seconds = run(space, client, progress, "plan train")
    return _answer(space, r, seconds, goal, fleets, max_gpus, deadline_days, datacenter, checkpoint_time_s)


def _answer(
    space: Space,
    r: Any,
    seconds: float,
    goal: str,
    fleets: list,
    max_gpus: int | None,
    deadline: float | None,
    datacenter: Any,
    checkpoint_s: float | None,
) -> Plan:
    """Rank the evaluated space: best per layout, then days, cost and carbon of those, then constraints."""
    valid = r.valid.copy()
    rate = np.where(valid, r.si("tokens_per_second").astype(float), np.nan)
    local = np.nan_to_num(r.si("local_batch_size").astype(float))
    m = space.inputs(np.arange(len(r)))["microbatch_count"]
    # a micro-batch count that does not split a rank's sequences evenly is not a configuration one can run
    valid &= (local % m == 0) & (local >= m)
    fits = valid & r.si("feasible").astype(bool)
    idx = space.indices(np.arange(len(r)))
    layout = np.ravel_multi_index(tuple(idx[a] for a in _LAYOUT), tuple(len(space.axes[a]) for a in _LAYOUT))
    rows = np.union1d(best_per_layout(layout, rate, "max", fits), best_per_layout(layout, rate, "max", valid))
    c = _columns(space, r, rows)
    rents: dict[str, Any] = {}
    c |= _run_figures(space, c, rows, fleets, datacenter, checkpoint_s, rents)
    constraints = _constraints(c, max_gpus, deadline)
    column, sense = OBJECTIVES[goal]
    ranked, binding, feasible = choose(
        c["layout"],
        c[column].astype(float),
        sense,
        constraints,
        lambda i: f"{c['layout'][i]} ({column} {fmt(c[column][i])} {_UNITS.get(column, '')})".replace(" )", ")"),
        lambda: no_valid(r, valid),
    )
    out = {k: v[ranked] for k, v in c.items()}
    source = rows[ranked]
    out["holds_across_band"], band_note = _across_band(space, source, out, (column, sense), deadline, feasible)
    units = dict(_UNITS)
    shown = _SHOWN + tuple(x for x in ("days", "cost", "rent_cost", "carbon") if x in out) + ("holds_across_band",)
    front = ("days", "cost") if "cost" in out else ("days", "gpus") if "days" in out else ("step_time", "gpus")
    from mlsysim_cli.sweep import front as pareto

    a, b = (out[x].astype(float) for x in front)
    notes = _notes(datacenter, checkpoint_s, "days" in out) + band_note + _rent_note(c, rents)
    stats = {
        "points": len(r),
        "valid": int(valid.sum()),  # solve() accepts it and its micro-batches are whole
        "fit_in_memory": int(fits.sum()),
        "admitted_layouts": int(feasible and len(ranked)),
        "seconds": seconds,
        "points_per_second": len(r) / seconds if seconds > 0 else None,
    }
    return Plan(
        "training",
        (column, sense),
        out,
        units,
        front,
        pareto(a, b),
        binding,
        feasible,
        stats,
        notes,
        shown,
        lambda i: get_solver("DistributedModel")().solve(**space.point(int(source[i]))),
    )


_LAYOUT = ("fleet", "precision", "tp_size", "pp_size", "cp_size", "ep_size")
_UNITS = {
    "gpus": "",
    "step_time": "s",
    "tokens_per_second": "token/s",
    "memory_per_gpu": "GB",
    "memory_capacity": "GB",
    "days_failure_free": "day",
    "days": "day",
    "cost": "USD",
    "rent_cost": "USD",
    "energy": "MWh",
    "carbon": "t",
}
_SI = {"step_time": 1.0, "tokens_per_second": 1.0, "memory_per_gpu": 1e-9, "memory_capacity": 1e-9}


def _columns(space: Space, r: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The rows' inputs and DistributedModel figures (display units)."""
    x = space.inputs(rows)
    fleets = x["fleet"]
    gpus = np.array([f.total_accelerators for f in fleets], dtype=np.int64)
    par = r.si("parallelism")[rows]
    dp = np.array([p["dp"] for p in par], dtype=np.int64)
    c: dict[str, np.ndarray] = {
        "layout": np.array(
            [_label(f, x, dp, i, len(space.axes["fleet"]) > 1) for i, f in enumerate(fleets)], dtype=object
        ),
        "cluster": np.array([f.name for f in fleets], dtype=object),
        "accelerator": np.array([f.node.accelerator.name for f in fleets], dtype=object),
        "gpus": gpus,
        "precision": r.si("precision")[rows],
        "tp": x["tp_size"],
        "pp": x["pp_size"],
        "dp": dp,
        "cp": x["cp_size"],
        "ep": x["ep_size"],
        "v_stages": x["v_stages"],
        "schedule": r.si("schedule")[rows],
        "zero_stage": x["zero_stage"],
        "recompute": x["activation_recomputation"],
        "microbatches": x["microbatch_count"],
        "micro_batch_size": r.si("micro_batch_size")[rows].astype(float),
        "mfu": r.si("mfu")[rows].astype(float),
        "fits": r.si("feasible")[rows].astype(bool),
    }
    for name, factor in _SI.items():
        c[name] = r.si(name)[rows].astype(float) * factor
    if space.fixed["tokens"] is not None:
        c["days_failure_free"] = r.si("time_to_train")[rows].astype(float) / 86400.0
    return c


def _run_figures(
    space: Space,
    c: dict,
    rows: np.ndarray,
    fleets: list,
    datacenter: Any,
    checkpoint_s: float | None,
    rents: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Days with failures, expected failures and goodput (ReliabilityModel), then cost owned and rented
    (EconomicsModel; the rental: :func:`.pricing.rental`, into ``rents`` by part) and energy and carbon
    (SustainabilityModel), each swept over the rows of one cluster at a time."""
    if "days_failure_free" not in c:
        return {}
    n = len(rows)
    out = {k: np.full(n, np.nan) for k in ("days", "expected_failures", "goodput")}
    if datacenter is not None:
        out |= {k: np.full(n, np.nan) for k in ("cost", "rent_cost", "breakeven_utilization", "energy", "carbon")}
    names = np.array([id(f) for f in space.inputs(rows)["fleet"]])
    for fleet in fleets:
        sel = np.flatnonzero(names == id(fleet))
        if not len(sel):
            continue
        hours = c["days_failure_free"][sel] * 24.0
        rel = sweep("ReliabilityModel", fleet=fleet, job_duration_hours=hours, checkpoint_time_s=checkpoint_s)
        wall = rel.si("expected_completion_time").astype(float) / 86400.0
        out["days"][sel] = wall
        out["expected_failures"][sel] = rel.si("expected_interruptions").astype(float)
        out["goodput"][sel] = rel.si("goodput").astype(float)
        if datacenter is not None:
            part = fleet.node.accelerator.name
            if part not in rents:
                rents[part] = pricing.rental(fleet.node.accelerator)
            offer = rents[part]
            eco = sweep(
                "EconomicsModel", fleet=fleet, duration_days=wall, datacenter=datacenter, rent=offer and offer.key
            )
            out["cost"][sel] = eco.si("tco").astype(float)
            if offer is not None:
                out["rent_cost"][sel] = eco.si("cloud_cost").astype(float)
                out["breakeven_utilization"][sel] = eco.si("breakeven_utilization").astype(float)
            sus = sweep("SustainabilityModel", fleet=fleet, duration_days=wall, datacenter=datacenter)
            out["energy"][sel] = sus.si("energy").astype(float) / 3.6e9
            out["carbon"][sel] = sus.si("carbon_footprint").astype(float) / 1e3
    return out


def _across_band(
    space: Space, source: np.ndarray, out: dict, objective: tuple[str, str], deadline: float | None, feasible: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Whether each of the first ranked configurations still meets the deadline at the uncertainty band's
    slow corner (None: not checked, and for every row without a deadline: the band moves no other
    constraint), and a note saying whether the winner stays first at both corners of the band among
    those checked (:func:`.bands.training_slowdown`)."""
    column, sense = objective
    holds = np.full(len(source), None, dtype=object)
    if not feasible or not len(source):  # the closest configurations miss a constraint already
        return holds, ()
    k = min(bands.CHECKED, len(source))
    slow = np.array([bands.training_slowdown(space.point(int(source[i]))) for i in range(k)])  # (k, 2)
    value = out[column][:k].astype(float)[:, None]
    at_corner = value / slow if column == "tokens_per_second" else value * slow
    if deadline is None:
        ok = np.ones((k, 2), dtype=bool)
        text = f"holds_across_band: - (no deadline, the one constraint the band moves; {k} best ranked at its corners)"
    else:
        ok = out["days"][:k, None] * slow <= deadline
        holds[:k] = ok[:, 1].tolist()
        text = f"holds_across_band: the deadline still met at the uncertainty band's slow corner ({k} best checked)"
    for corner, name in ((1, "slow"), (0, "fast")):
        if not ok[0, corner]:
            return holds, (text + f"; the winner misses the deadline at the band's {name} corner",)
        key = at_corner[:, corner] if sense == "min" else -at_corner[:, corner]
        rival = int(np.argmin(np.where(ok[:, corner], key, np.inf)))
        if rival != 0:
            return holds, (
                text + f"; the winner leads only inside the band: at its {name} corner {out['layout'][rival]} "
                f"({column} {fmt(at_corner[rival, corner])}) beats it ({fmt(at_corner[0, corner])})",
            )
    return holds, (text + "; the winner stays first at both corners of the band",)


def _rent_note(c: dict, rents: dict[str, Any]) -> tuple[str, ...]:
    """The rental of each cluster's part and its break-even utilization (the same for every row of a
    cluster: owned TCO and rent both scale with the wall time)."""
    if not rents:
        return ()
    part = {}
    for name, r in rents.items():
        known = c["breakeven_utilization"][(c["accelerator"] == name) & ~np.isnan(c["breakeven_utilization"])]
        part[name] = (r, float(known[0]) if len(known) else math.nan)
    return (pricing.note(part),)


def _constraints(c: dict, max_gpus: int | None, deadline: float | None) -> list[Constraint]:
    out = [
        Constraint(
            "memory",
            c["fits"],
            lambda i: f"needs {fmt(c['memory_per_gpu'][i])} GB per GPU of {fmt(c['memory_capacity'][i])} GB",
            "the memory limit (more GPUs, ZeRO, recomputation or a larger part)",
        )
    ]
    if max_gpus is not None:
        out.append(
            Constraint(
                "GPU budget",
                c["gpus"] <= max_gpus,
                lambda i: f"uses {c['gpus'][i]} GPUs of a budget of {max_gpus}",
                f"the GPU budget (max_gpus above {max_gpus})",
            )
        )
    if deadline is not None:
        out.append(
            Constraint(
                "deadline",
                c["days"] <= deadline,
                lambda i: f"takes {fmt(c['days'][i])} days of {fmt(deadline)} allowed",
                f"the deadline (more than {fmt(deadline)} days) or add GPUs",
            )
        )
    return out


def _notes(datacenter: Any, checkpoint_s: float | None, has_days: bool) -> tuple[str, ...]:
    notes = ["one row per layout (cluster, precision, tp, pp, cp, ep): its fastest admitted configuration"]
    if has_days:
        notes.append(
            "days include failures: ReliabilityModel at the optimal checkpoint interval, checkpoint cost "
            + ("its default (see mlsysim reliability)" if checkpoint_s is None else f"{checkpoint_s:g} s")
        )
        if datacenter is None:
            notes.append("cost, energy and carbon need datacenter=")
        else:
            notes.append("cost: owned TCO for the wall time; energy: facility boundary; carbon: operational + embodied")
    return tuple(notes)


def _label(fleet: Fleet, x: dict, dp: np.ndarray, i: int, named: bool) -> str:
    parts = [f"{fleet.total_accelerators} GPUs", f"tp{x['tp_size'][i]}", f"pp{x['pp_size'][i]}", f"dp{dp[i]}"]
    parts += [f"cp{x['cp_size'][i]}"] if x["cp_size"][i] > 1 else []
    parts += [f"ep{x['ep_size'][i]}"] if x["ep_size"][i] > 1 else []
    parts += [str(x["precision"][i])] if x["precision"][i] is not None else []
    if named:  # several clusters: the node (the part before its parenthesis) and the GPU count
        parts[0] = f"{fleet.node.name.split(' (')[0]} x{fleet.total_accelerators}"
    return " ".join(parts)


def _fleets(clusters: Any, gpus: Any) -> list[Fleet]:
    given = list(clusters) if isinstance(clusters, (list, tuple)) else [clusters]
    if not given:
        raise InvalidInputError("clusters", clusters, "a Fleet or a non-empty list of Fleets")
    for f in given:
        instance("clusters", f, Fleet, "a Fleet (mlsysim.Systems.Clusters.X) or a list of them")
    if gpus is None:
        return given
    import attrs

    counts = _ints("gpus", gpus, [])
    out = []
    for f in given:
        g = f.node.accelerators_per_node
        for n in counts:
            if n % g:
                raise InvalidInputError("gpus", n, f"a multiple of {g} (GPUs per node of {f.name})")
            out.append(attrs.evolve(f, count=n // g, name=f"{f.name} [{n} GPUs]"))
    return out


def _tokens(tokens: Any, steps: Any, B: int, S: int | None, model: Any) -> float | None:
    if tokens is not None and steps is not None:
        raise InvalidInputError("steps", steps, "None when tokens= is given (one or the other)")
    if tokens is not None:
        return number("tokens", tokens, 0.0, math.inf, low_open=True)
    if steps is not None:
        return float(integer("steps", steps, 1, 1 << 50) * B * (S or min(2048, model.max_seq_len or 2048)))
    return None


def _ints(name: str, value: Any, default: list, low: int = 1, high: int = 1 << 40) -> list[int]:
    return [integer(name, v, low, high) for v in axis(name, value, default or [1])]


def _powers(n: int) -> list[int]:
    return [1 << k for k in range(max(n, 1).bit_length()) if 1 << k <= n]


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})
