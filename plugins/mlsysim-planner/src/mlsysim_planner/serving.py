"""plan_serving: the cheapest (or smallest, greenest) way to serve a model at a request rate within SLOs.

The space: hardware x precision x tensor parallelism x batch cap (``max_num_seqs``) x any further
ServingModel keyword given in ``axes`` (e.g. ``kv_precision``; the dimensions other serving features add
plug in the same way) x replicas. Each replica is one ServingModel engine of ``tp`` GPUs receiving
``qps / replicas`` requests/s (a load balancer splits the arrivals evenly).

Search: first the engines that hold one request (prompt + output) at batch 1, in one vectorized sweep of
the unloaded kernels (an engine that cannot hold one request cannot serve at any rate); then each of
those at every replica count from 1 to ``max_gpus / tp``, one sweep per engine with the arrival rate as
the vector argument. A configuration is admitted when it fits in memory, is not overloaded and meets
p``slo_percentile`` TTFT and ITL.

Cost, energy and carbon per 1M output tokens: a one-node cluster of the part's catalog node for one day
(EconomicsModel owned TCO; SustainabilityModel facility energy and carbon, operational + embodied), per
GPU-second, times GPUs, over the output tokens served (qps x output_len per second).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.format import number as fmt
from mlsysim_core.plugins import catalog, get_solver
from mlsysim_core.types import PRECISION_BYTES, Datacenter, Fleet, GridProfile, HardwareNode, TransformerWorkload
from mlsysim_core.units import to_si
from mlsysim_core.validate import choice, instance, integer, number

from . import bands, pricing
from . import disagg as DG
from . import speculation as SPX
from .choose import Constraint, choose
from .engine import Space, axis, named_axis, no_valid, progress_bar, run
from .plan import Plan

#: objective -> (column, sense)
OBJECTIVES = {
    "cost": ("usd_per_million_tokens", "min"),
    "gpus": ("gpus", "min"),
    "energy": ("kwh_per_million_tokens", "min"),
    "carbon": ("gco2e_per_million_tokens", "min"),
    "rent": ("rent_usd_per_million_tokens", "min"),
}
#: default batch caps searched (vLLM's max_num_seqs default is 256)
BATCH_CAPS = (16, 32, 64, 128, 256)
PERCENTILES = (50, 90, 99)


def plan_serving(
    model: Any,
    *,
    qps: float,
    seq_len: int,
    output_len: int,
    slo_ttft: Any,
    slo_itl: Any,
    slo_percentile: int = 90,
    hardware: Any = None,
    max_gpus: int = 64,
    precision: Any = None,
    tp: Any = None,
    max_num_seqs: Any = BATCH_CAPS,
    axes: dict[str, list] | None = None,
    objective: str | None = None,
    datacenter: Any = None,
    disagg: bool = False,
    fabric: Any = None,
    speculative: Any = None,
    client: Any = None,
    progress: Any = None,
) -> Plan:
    """The best serving configurations of ``model`` for ``qps`` requests/s of ``seq_len`` prompt and
    ``output_len`` generated tokens, meeting p``slo_percentile`` TTFT <= ``slo_ttft`` and ITL <= ``slo_itl``.

    Args:
        hardware: a HardwareNode or a list (default: every part of the catalog that holds one request of
            the model in some searched layout; parts without a catalog node have no cost, energy or carbon).
        max_gpus: GPU budget (replicas x tp).
        precision, tp, max_num_seqs: one value or a list each (defaults: bf16, and fp8 where a part has
            an fp8 peak; tp powers of two up to 8; batch caps 16 ... 256).
        axes: further ServingModel keywords to search, name -> list of values: kv_precision,
            weight_precision, pp_size, ep_size, dp_attention, ... (a replica's GPUs are the result's ``gpus``).
        objective: "cost" (owned), "rent" (the catalog's cheapest on-demand rental of the part), "gpus",
            "energy" or "carbon" per 1M output tokens (default: cost with a datacenter, else gpus); all but
            gpus need ``datacenter``.
        slo_ttft, slo_itl: seconds or time Quantities; slo_percentile: 50, 90 or 99.
        disagg: also search disaggregated prefill/decode layouts (:mod:`.disagg`: both pools of one part,
            every pair of tp degrees that hold a request, each pool sized for the rate); ``fabric`` carries
            the KV between the pools (a catalog fabric such as ``"IB_NDR"``, ``"NVLink"`` or ``"PCIe"``).
        speculative: speculative decoding setups to search next to "off" (:mod:`.speculation`): a dict or a
            list of dicts of ServingModel's spec_accept with spec_draft (a smaller catalog model) or
            spec_draft_cost (heads/MTP/n-gram), and spec_k, e.g.
            ``[{"spec_draft": Models.Language.Llama3_2_1B, "spec_k": 4, "spec_accept": 0.7}]``.
        client: a dask Client for each engine's sweep; progress: True, False, a callable, or None (a bar
            on a terminal for large searches).
    """
    instance("model", model, TransformerWorkload, "a TransformerWorkload (mlsysim.Models.Language.X)")
    seq_len, output_len = _lengths(model, seq_len, output_len)
    rate = number("qps", qps, 0.0, math.inf, low_open=True)
    slo = (
        _seconds("slo_ttft", slo_ttft),
        _seconds("slo_itl", slo_itl),
        choice("slo_percentile", slo_percentile, PERCENTILES),
    )
    budget = integer("max_gpus", max_gpus, 1, 1 << 20)
    parts = _hardware(hardware)
    if datacenter is not None:
        instance("datacenter", datacenter, (Datacenter, GridProfile), "a Datacenter or GridProfile")
    goal = objective or ("cost" if datacenter is not None else "gpus")
    choice("objective", goal, tuple(OBJECTIVES))
    if goal != "gpus" and datacenter is None:
        raise InvalidInputError("objective", goal, "'gpus' without datacenter= (cost, energy and carbon need one)")
    if disagg is not True and disagg is not False:
        raise InvalidInputError("disagg", disagg, "True or False")
    if disagg and fabric is None:
        raise InvalidInputError(
            "fabric", fabric, "the KV link for disagg=True: a catalog fabric (e.g. 'IB_NDR'), 'NVLink' or 'PCIe'"
        )
    specs = SPX.setups(speculative)
    for name, values in (axes or {}).items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InvalidInputError(f"axes[{name!r}]", values, "a non-empty list of values")
    grid = {
        "hardware": parts,
        "precision": named_axis("precision", precision, _precisions(parts), tuple(PRECISION_BYTES)),
        "tp_size": [integer("tp", t, 1, 1 << 10) for t in axis("tp", tp, [1, 2, 4, 8])],
        "max_num_seqs": [integer("max_num_seqs", c, 1, 1 << 20) for c in axis("max_num_seqs", max_num_seqs, [])],
        **{k: list(v) for k, v in (axes or {}).items()},
    }
    # the engines that hold one request (prompt + output) at batch 1: the unloaded kernels, one vectorized sweep
    fits = Space("ServingModel", grid, {"model": model, "seq_len": seq_len + output_len, "batch_size": 1})
    r0, seconds = run(fits, client, False, "plan serve")
    ok = r0.valid & r0.si("feasible").astype(bool)
    start = time.perf_counter()
    total = int(ok.sum()) * len(specs)
    report = progress_bar(progress, total, "plan serve")
    blocks = []
    for row in np.flatnonzero(ok):
        engine = {k: v for k, v in fits.point(int(row)).items() if k not in ("seq_len", "batch_size")}
        gpus = int(r0.si("gpus")[row])  # one replica: tp x attention data-parallel x pipeline stages
        for spec in specs:  # the draft's memory is checked under load (the loaded result's feasible)
            blocks.append(_replicas(engine | spec, gpus, seq_len, output_len, rate, budget, client))
            blocks[-1]["spec"] = SPX.label(spec)
            if report:
                report(len(blocks), total)
    split: list[dict] = []
    if disagg:
        engines: dict[tuple[Any, str], list[int]] = {}
        for b in blocks:
            e = b["engine"]
            tps = engines.setdefault((e["hardware"], str(b["result"].si("precision")[0])), [])
            tps += [] if e["tp_size"] in tps else [e["tp_size"]]
        split = DG.candidates(model, engines, rate, seq_len, output_len, slo, fabric)
    seconds += time.perf_counter() - start
    return _answer(
        blocks, split, r0, ok, seconds, goal, rate, budget, slo, output_len, datacenter, sorted(axes or {}), fabric,
        speculative is not None,
    )  # fmt: skip


def _lengths(model: Any, seq_len: Any, output_len: Any) -> tuple[int, int]:
    """Prompt and output tokens of a request, checked as ServingModel checks them, before any search: a
    request the model cannot hold (output_len 0, seq_len + output_len beyond its context) made every point
    invalid, and the plan said 'needs nan GB per GPU of nan GB usable' with exit 0."""
    most = int(model.max_seq_len) if model.max_seq_len else 1 << 40
    seq = integer("seq_len", seq_len, 1, most)
    out = integer("output_len", output_len, 1, most)
    if seq + out > most:
        raise InvalidInputError("output_len", output_len, f"seq_len + output_len <= max_seq_len={most} (seq_len={seq})")
    return seq, out


def _replicas(engine: dict, gpus: int, seq_len: int, output_len: int, rate: float, budget: int, client: Any) -> dict:
    """One engine of ``gpus`` GPUs at 1 ... budget/gpus replicas (at least one): the loaded ServingModel,
    the rate split evenly, one sweep."""
    k = np.arange(1, max(budget // gpus, 1) + 1)
    space = Space(
        "ServingModel", {"arrival_rate": list(rate / k)}, {**engine, "seq_len": seq_len, "output_len": output_len}
    )
    r, _ = run(space, client, False, "plan serve")
    return {"engine": engine, "gpus": gpus, "replicas": k, "result": r, "space": space}


def _answer(
    blocks: list[dict],
    split: list[dict],
    r0: Any,
    ok: np.ndarray,
    seconds: float,
    goal: str,
    rate: float,
    budget: int,
    slo: tuple[float, float, int],
    output_len: int,
    datacenter: Any,
    extra: list[str],
    fabric: Any,
    speculated: bool,
) -> Plan:
    """Every engine at every replica count (and each disaggregated layout in ``split``), ranked; what binds
    the winner or what to relax."""
    ttft, itl, p = slo
    c = _columns(blocks, split, rate, output_len, p, extra, speculated)
    unpriced: dict[str, str] = {}
    rents: dict[str, Any] = {}
    c |= _per_token(c, rate * output_len, datacenter, unpriced, rents)
    constraints = [
        Constraint(
            "memory",
            c["fits"],
            lambda i: f"needs {fmt(c['memory_required'][i])} GB per GPU of {fmt(c['memory_available'][i])} GB usable",
            "the memory limit (more tensor parallelism, a narrower precision or a larger part)",
        ),
        Constraint(
            "load",
            ~c["overloaded"],
            lambda i: f"{c['replicas'][i]} replicas are overloaded at {fmt(rate / c['replicas'][i])} requests/s each",
            f"the GPU budget (max_gpus above {budget}) or the rate",
        ),
        Constraint(
            "TTFT",
            c[f"ttft_p{p}"] <= ttft * 1e3 * (1 + 1e-12),
            lambda i: _over(f"p{p} TTFT", c[f"ttft_p{p}"][i], ttft * 1e3),
            "the TTFT SLO",
        ),
        Constraint(
            "ITL",
            c[f"itl_p{p}"] <= itl * 1e3 * (1 + 1e-12),
            lambda i: _over(f"p{p} ITL", c[f"itl_p{p}"][i], itl * 1e3),
            "the ITL SLO",
        ),
        Constraint(
            "GPU budget",
            c["gpus"] <= budget,
            lambda i: f"uses {c['gpus'][i]} GPUs of {budget}",
            f"the GPU budget (max_gpus above {budget})",
        ),
    ]
    column, sense = OBJECTIVES[goal]
    ranked, binding, feasible = choose(
        c["layout"],
        c[column].astype(float),
        sense,
        constraints,
        lambda i: f"{c['layout'][i]} x{c['replicas'][i]} ({column} {fmt(c[column][i])})",
        lambda: _none_holds(r0, ok) if not blocks else "no engine holds one request",
    )
    out = {k: v[ranked] for k, v in c.items() if k not in ("block", "offset")}
    from mlsysim_cli.sweep import front as pareto

    front = (column, f"itl_p{p}")
    shown: tuple[str, ...] = (
        "layout",
        "replicas",
        "gpus",
        "max_num_seqs",
        f"ttft_p{p}",
        f"itl_p{p}",
        "tokens_per_second_per_gpu",
    )
    shown += ("speculative",) * speculated
    shown += tuple(
        k
        for k in (
            "usd_per_million_tokens",
            "rent_usd_per_million_tokens",
            "kwh_per_million_tokens",
            "gco2e_per_million_tokens",
        )
        if k in out
    )
    where = [(int(c["block"][i]), int(c["offset"][i])) for i in ranked]

    def kwargs(i: int) -> dict:
        b, j = where[i]
        return split[-1 - b]["kw"] if b < 0 else blocks[b]["space"].point(j)

    points_of = [kwargs(i) for i in range(min(bands.CHECKED, len(where)))]
    out["slo_across_band"], band_note = _across_band(points_of, len(ranked), feasible, slo, out["layout"])
    shown += ("slo_across_band",)

    def resolve(i: int) -> Any:
        return get_solver("ServingModel")().solve(**kwargs(i))

    points = sum(len(b["replicas"]) for b in blocks) + len(split)
    return Plan(
        "serving",
        (column, sense),
        out,
        {**_UNITS, f"ttft_p{p}": "ms", f"itl_p{p}": "ms"},
        front,
        pareto(out[front[0]].astype(float), out[front[1]].astype(float)),
        binding,
        feasible,
        {
            "points": points + len(r0),
            "valid": int(sum(int(b["result"].valid.sum()) for b in blocks)),
            "seconds": seconds,
        },
        _notes(datacenter)
        + (DG.note(fabric),) * bool(fabric is not None and split)
        + band_note
        + ((pricing.note(rents),) if rents else ())
        + tuple(f"no cost, energy or carbon for {k}: {v}" for k, v in sorted(unpriced.items())),
        shown,
        resolve,
        (SPX.finding(c, ranked, column, p, lambda i: _missed(constraints, i)),) if speculated and feasible else (),
    )


def _missed(constraints: list[Constraint], i: int) -> str:
    """The constraints candidate ``i`` misses, in words."""
    return "; ".join(f"{k.name}: {k.why(i)}" for k in constraints if not k.ok[i])


def _across_band(
    points: list[dict], n: int, feasible: bool, slo: tuple[float, float, int], layouts: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Whether each of the first ranked configurations (``points``) meets the SLOs across the uncertainty
    band (:mod:`.bands`; None: not checked), and a note when the winner meets them only inside it."""
    ttft, itl, p = slo
    robust = np.full(n, None, dtype=object)
    if not feasible:  # the closest configurations miss a constraint already
        return robust, ()
    why = ""
    for i, kw in enumerate(points):
        if "disagg" in kw:  # DisaggServingResult holds no efficiencies to move: not checked
            continue
        robust[i], text = bands.across_band(kw, p, ttft, itl)
        why = why or text
    note = f"slo_across_band: the SLOs still met at the uncertainty band's slow corner ({len(points)} best checked)"
    if any("disagg" in kw for kw in points):
        note += " but for disaggregated rows, whose results hold no efficiencies to move"
    if robust[0] is False:
        first = next((i for i in range(len(points)) if robust[i]), None)
        note += f"; the winner meets them only inside the band (at the slow corner it {why}); " + (
            "none of those checked meets them across it"
            if first is None
            else f"rank {first + 1}, {layouts[first]}, does"
        )
    return robust, (note,)


_UNITS = {
    "memory_required": "GB",
    "memory_available": "GB",
    "saturation_rate": "1/s",
    "tokens_per_second_per_gpu": "token/s",
    "usd_per_million_tokens": "USD",
    "rent_usd_per_million_tokens": "USD",
    "kwh_per_million_tokens": "kWh",
    "gco2e_per_million_tokens": "g",
}


def _none_holds(r0: Any, ok: np.ndarray) -> str:
    """What to say when no engine holds one request: the valid engine closest to fitting and its memory, else
    the most common error (every engine invalid)."""
    valid = np.flatnonzero(r0.valid)
    if not len(valid):
        return no_valid(r0, ok)
    need, have = r0.si("total_memory_required").astype(float), r0.si("memory_available").astype(float)
    i = valid[np.argmin(need[valid] / have[valid])]
    closest = f"{r0['hardware'][i]} tp{r0.si('tp_size')[i]} {r0.si('precision')[i]}"
    return (
        f"no engine holds one request (prompt + output at batch 1); the closest, {closest}, needs "
        f"{fmt(need[i] / 1e9)} GB per GPU of {fmt(have[i] / 1e9)} GB usable. Relax the memory limit (more "
        "tensor parallelism, a narrower precision or a larger part)"
    )


def _columns(
    blocks: list[dict], split: list[dict], rate: float, output_len: int, p: int, extra: list[str], speculated: bool
) -> dict[str, np.ndarray]:
    """One row per (engine, speculative setup, replica count) and per disaggregated layout: inputs and the
    loaded figures in display units (``speculated``: the layout names the setup)."""
    parts: dict[str, list] = {}
    for b, block in enumerate(blocks):
        e, r, k = block["engine"], block["result"], block["replicas"]
        n = len(k)
        precision = r.si("precision")[0]
        label = " ".join([e["hardware"].name, f"tp{e['tp_size']}", str(precision), *(f"{a}={e[a]}" for a in extra)])
        label += f" spec {block['spec']}" * speculated
        valid = r.valid
        even = r.si("spec_break_even_batch") if block["spec"] != "off" else None
        cols = {
            "layout": [label] * n,
            "hardware": [e["hardware"].name] * n,
            "precision": [precision] * n,
            "tp": [e["tp_size"]] * n,
            "replicas": list(k),
            "gpus": list(k * block["gpus"]),
            "max_num_seqs": [e["max_num_seqs"]] * n,
            **{a: [e[a]] * n for a in extra},
            f"ttft_p{p}": list(np.where(valid, r.si(f"ttft_p{p}").astype(float) * 1e3, np.nan)),
            f"itl_p{p}": list(np.where(valid, r.si(f"itl_p{p}").astype(float) * 1e3, np.nan)),
            "overloaded": list(~valid | np.asarray(r.si("overloaded"), dtype=bool)),
            "fits": list(valid & r.si("feasible").astype(bool)),
            "memory_required": list(r.si("total_memory_required").astype(float) / 1e9),
            "memory_available": list(r.si("memory_available").astype(float) / 1e9),
            "saturation_rate": list(r.si("saturation_rate").astype(float)),
            "node": [_node(e["hardware"])] * n,
            "speculative": [block["spec"]] * n,
            "concurrency": list(np.where(valid, r.si("concurrency_mean").astype(float), np.nan)),
            "break_even": [np.inf if even is None or even[0] is None else float(even[0])] * n,
            "block": [b] * n,
            "offset": list(range(n)),
        }
        for name, values in cols.items():
            parts.setdefault(name, []).extend(values)
    for k, d in enumerate(split):
        r, (n_p, n_d), (tp_p, tp_d) = d["result"], d["replicas"], d["tp"]
        row = {
            "layout": f"{d['part'].name} disagg prefill tp{tp_p} x{n_p} + decode tp{tp_d} x{n_d} {d['precision']}",
            "hardware": d["part"].name,
            "precision": d["precision"],
            "tp": None,
            "replicas": n_p + n_d,
            "gpus": n_p * tp_p + n_d * tp_d,
            "max_num_seqs": None,
            **{a: None for a in extra},
            f"ttft_p{p}": r.si(f"ttft_p{p}") * 1e3,
            f"itl_p{p}": r.si(f"itl_p{p}") * 1e3,
            "overloaded": bool(r.overloaded),
            "fits": bool(r.feasible),
            "memory_required": np.nan,  # each pool's fit is checked by the solver (feasible)
            "memory_available": np.nan,
            "saturation_rate": r.si("saturation_rate"),
            "node": _node(d["part"]),
            "speculative": "off",
            "concurrency": np.nan,
            "break_even": np.nan,
            "block": -1 - k,
            "offset": 0,
        }
        for name, value in row.items():
            parts.setdefault(name, []).append(value)
    c = {name: _array(values) for name, values in parts.items()}
    if not parts:  # no engine holds one request: empty columns, the masks boolean (``~`` of a float array raises)
        c = {name: np.array([]) for name in ("layout", "replicas", "gpus", f"ttft_p{p}", f"itl_p{p}")}
        c |= {name: np.array([], dtype=bool) for name in ("fits", "overloaded")}
    c["tokens_per_second_per_gpu"] = rate * output_len / np.maximum(c["gpus"].astype(float), 1.0)
    return c


def _array(values: list) -> np.ndarray:
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=bool)
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, (float, np.floating)) for v in values):
        return np.array(values, dtype=float)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _per_token(
    c: dict, tokens_per_s: float, datacenter: Any, unpriced: dict[str, str], rents: dict[str, Any]
) -> dict[str, np.ndarray]:
    """USD owned and rented, kWh and gCO2e per 1M output tokens from each part's catalog node (one node, one
    day; the rental: :func:`.pricing.rental`, into ``rents`` by part) and the break-even utilization; nodes
    EconomicsModel or SustainabilityModel cannot cost go into ``unpriced`` with the reason."""
    if datacenter is None:
        return {}
    per_gpu_s: dict[str, tuple[float, ...]] = {}
    for node in {id(n): n for n in c["node"] if n is not None}.values():  # by identity: hashing pint is slow
        fleet = Fleet(name=f"one {node.name}", node=node, count=1)
        g = node.accelerators_per_node * 86400.0
        offer = pricing.rental(node.accelerator)
        try:
            eco = get_solver("EconomicsModel")().solve(fleet, 1, datacenter=datacenter, rent=offer and offer.key)
            sus = get_solver("SustainabilityModel")().solve(fleet, 1, datacenter=datacenter)
        except InvalidInputError as exc:  # a part without a price or power in the catalog: said in the notes
            unpriced[node.name] = str(exc)
            continue
        per_gpu_s[node.name] = (
            eco.tco.to("USD").magnitude / g,
            sus.energy.to("kWh").magnitude / g,
            sus.carbon_footprint.to("g").magnitude / g,
            np.nan if offer is None else eco.cloud_cost.to("USD").magnitude / g,
            np.nan if offer is None else eco.breakeven_utilization,
        )
        rents[node.accelerator.name] = (offer, per_gpu_s[node.name][-1])
    scale = c["gpus"] * 1e6 / tokens_per_s
    cols = {}
    for j, name in enumerate(_PER_TOKEN):
        per_part = [np.nan if n is None or n.name not in per_gpu_s else per_gpu_s[n.name][j] for n in c["node"]]
        cols[name] = np.array(per_part) * (1.0 if name == "breakeven_utilization" else scale)
    return cols


#: per-1M-token columns from a part's per-GPU-second figures, and its break-even utilization (a ratio)
_PER_TOKEN = (
    "usd_per_million_tokens",
    "kwh_per_million_tokens",
    "gco2e_per_million_tokens",
    "rent_usd_per_million_tokens",
    "breakeven_utilization",
)


def _node(part: HardwareNode) -> Any:
    """The catalog node built around ``part`` (prices, power, datacenter), or None."""
    for e in catalog().entries["nodes"].values():
        if e.value.accelerator is part or e.value.accelerator == part:
            return e.value
    return None


def _hardware(hardware: Any) -> list[HardwareNode]:
    if hardware is None:  # every part of the catalog: the first sweep keeps those that hold the model
        parts: list[HardwareNode] = []
        for e in catalog().entries["hardware"].values():
            if isinstance(e.value, HardwareNode) and all(e.value is not q for q in parts):
                parts.append(e.value)
        return parts
    given = list(hardware) if isinstance(hardware, (list, tuple)) else [hardware]
    if not given:
        raise InvalidInputError("hardware", hardware, "a HardwareNode or a non-empty list of them")
    for h in given:
        instance("hardware", h, HardwareNode, "a HardwareNode (mlsysim.Hardware.Cloud.X) or a list of them")
    return given


def _precisions(parts: list[HardwareNode]) -> list[str]:
    """bf16 (fp16 where a part has no bf16 peak) and fp8 where some part has an fp8 peak."""
    out = []
    for p in ("bf16", "fp8"):
        if any(_has_peak(h, p) for h in parts):
            out.append(p)
    return out or ["fp16"]


def _has_peak(part: HardwareNode, precision: str) -> bool:
    try:
        part.compute.peak(precision)
    except (InvalidInputError, KeyError, AttributeError):
        return False
    return True


def _seconds(name: str, value: Any) -> float:
    """Seconds from a number or a time Quantity."""
    v = to_si(value, "s", name=name) if hasattr(value, "units") else value
    return number(name, v, 0.0, math.inf, low_open=True)


def _notes(datacenter: Any) -> tuple[str, ...]:
    notes = [
        "one row per layout (hardware, tp, precision, searched axes): its best batch cap and replica count",
        "arrivals split evenly over the replicas; tokens/s per GPU = qps x output_len / GPUs",
    ]
    if datacenter is not None:
        notes.append(
            "per 1M output tokens: owned TCO, facility energy and carbon (operational + embodied) of the part's "
            "catalog node per GPU-second; parts without a catalog node have none"
        )
    return tuple(notes)


def _over(what: str, ms: float, slo_ms: float) -> str:
    if math.isnan(ms):
        return f"{what} has no steady state (overloaded)"
    return f"{what} {fmt(ms)} ms > {fmt(slo_ms)} ms"
