"""Property-based fuzzing of every built-in solver's ``solve()`` (hypothesis).

Each generated call mixes valid arguments (catalog entries, extreme-but-valid catalog variants,
numbers and Quantities in range) with up to three corrupted ones (wrong types, NaN/inf, zero,
negative, huge, wrong-unit Quantities, the wrong catalog object). Every call must either

* return a :class:`Result` whose measured fields are finite, non-negative SI floats (times, costs,
  energies, memory, carbon, water: every measured field in mlsysim is a magnitude) with the
  dimension of their declared unit, and whose plain float fields are finite and non-negative, or
* raise :class:`InvalidInputError` naming one of ``solve()``'s arguments (or ``result.<field>``
  for a consumed result), or :class:`InfeasibleError` when the caller asked to raise.

Anything else (another exception type, NaN, a negative time or cost) is a failure. Finiteness is
required while every number given is 0 or within 1e-30..1e30 in magnitude (``PHYSICAL``); beyond
it, and for results that say the work never completes, +inf is allowed (never NaN or negative).

Cases per solver come from the hypothesis profile (tests/conftest.py) times ``CASES_PER_EXAMPLE``:
``ci`` (default here, 10,000 per solver), ``long`` (100,000) or ``dev`` (400); choose with
``HYPOTHESIS_PROFILE``. ``FUZZ_COLLECT=1`` records every distinct failure instead of stopping at
the first one (printed by ``test_fuzz_report``).
"""

from __future__ import annotations

import collections
import inspect
import json
import math
import os
import random
import re
import warnings
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import attrs
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import mlsysim  # noqa: E402
from mlsysim_core.errors import InfeasibleError, InvalidInputError  # noqa: E402
from mlsysim_core.results import Result  # noqa: E402
from mlsysim_core.types import (  # noqa: E402
    PRECISION_BYTES, ComputeCore, Component, Fleet, MemoryHierarchy, Node,
    TransformerWorkload, Workload,
)
from mlsysim_core.units import Q_, ureg  # noqa: E402

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FUZZ = settings(settings.get_profile(PROFILE if PROFILE in ("ci", "long", "dev") else "ci"))
COLLECT = os.environ.get("FUZZ_COLLECT") == "1"
CASES: collections.Counter = collections.Counter()
FAILURES: dict[tuple, str] = {}

# --------------------------------------------------------------------------- value pools


def _catalog():
    cat = mlsysim.catalog()
    hw = [e.value for e in cat.entries["hardware"].values()]
    models = [e.value for e in cat.entries["models"].values()]
    fleets = [e.value for e in cat.entries["clusters"].values()]
    nodes = [e.value for e in cat.entries["nodes"].values()]
    grids = [e.value for e in cat.entries["grids"].values()]
    dcs = [e.value for e in cat.entries["datacenters"].values()]
    fabrics = [e.value for e in cat.entries["fabrics"].values()]
    return hw, models, fleets, nodes, grids, dcs, fabrics


HW, MODELS, FLEETS, NODES, GRIDS, DCS, FABRICS = _catalog()
H100 = mlsysim.Hardware.Cloud.H100

# Extreme but conceivable catalog values (a microcontroller-class part, a part a million times an
# H100): the types accept them, so the solvers must cope. (Values near the float limits, 1e300 W
# on 2**40 nodes, overflow any product to inf; they are not physics and are not fuzzed here.)
_EXTREME_HW = [
    attrs.evolve(H100, name="tiny", compute=ComputeCore(precision_flops={"fp16": "1 FLOP/s", "fp32": "1 FLOP/s"}),
                 memory=MemoryHierarchy(capacity="1 B", bandwidth="1 B/s"), tdp="1 mW", unit_cost="0.01 USD",
                 embodied_carbon="1 g", dispatch_tax="0 s"),
    attrs.evolve(H100, name="huge", compute=ComputeCore(precision_flops={p: "1e21 FLOP/s" for p in PRECISION_BYTES}),
                 memory=MemoryHierarchy(capacity="1e15 B", bandwidth="1e18 B/s"), tdp="1 MW", unit_cost="1e9 USD",
                 embodied_carbon="1e6 kg", dispatch_tax="1 s"),
    attrs.evolve(H100, name="no power or price", tdp=None, unit_cost=None, embodied_carbon=None, scale_up=None,
                 interconnect=None),
]
_EXTREME_MODELS = [
    TransformerWorkload(name="one", parameters=1, layers=1, hidden_dim=1, heads=1),
    TransformerWorkload(name="vast", parameters=2**44, layers=2**10, hidden_dim=2**17, heads=2**10, kv_heads=1,
                        vocab_size=2**20, max_seq_len=2**24, ffn_dim=2**19),
    TransformerWorkload(name="moe", parameters=10**12, layers=64, hidden_dim=8192, heads=64, kv_heads=8, experts=2**10,
                        active_experts=1, active_parameters=10**9),
    Workload(name="bare", parameters=1),
    Workload(name="flops only", parameters=10**9, flops_per_sample="1e18 FLOP", activations_per_sample=2**40),
]


def _fleet(hw, per_node=8, count=1, fabric=None, dc=None, **node_kw):
    node = Node(name="n", accelerator=hw, accelerators_per_node=per_node, source="fuzz", **node_kw)
    return Fleet(name="f", node=node, count=count, fabric=fabric, datacenter=dc, source="fuzz")


_EXTREME_FLEETS = [
    _fleet(H100, 1, 1),
    _fleet(_EXTREME_HW[0], 1, 1, power_max="1 mW", host_cost="0 USD",
           components=(Component(part="gpu", count=1, mttf="1 s"),)),
    _fleet(_EXTREME_HW[1], 64, 2**20, FABRICS[0], DCS[0], power_max="10 MW", host_cost="1e9 USD",
           components=(Component(part="gpu", count=2**10, mttf="1e9 h"),)),
    _fleet(_EXTREME_HW[2], 8, 4, FABRICS[-1], DCS[-1]),
    attrs.evolve(FLEETS[0], datacenter=DCS[0], mtbf="1 s"),
]
ALL_HW = HW + _EXTREME_HW
ALL_MODELS = MODELS + _EXTREME_MODELS
ALL_FLEETS = FLEETS + _EXTREME_FLEETS

NAN, INF = math.nan, math.inf
# Values that are wrong for (nearly) every argument.
BAD = [
    None, "", "1", "H100", "fp16", "10 GB", [], [1], {}, {"a": 1}, (), True, False, object(), NAN, INF, -INF, 0, -1, 0.0,
    -0.0, -1.5, 1e308, -1e308, 5e-324, 10**30, 2**63, -(2**63), 2**1000, complex(1, 1), Decimal("NaN"), Fraction(1, 3),
    np.float64(NAN), np.int64(-5), np.float32(INF), np.array([1.0, 2.0]), np.array(3.0),
    Q_(NAN, "s"), Q_(INF, "h"), Q_(-1, "h"), Q_(0, "s"), Q_(1e308, "d"), Q_(1, "GB"), Q_(1, "USD"), Q_(1, "kg"),
    Q_(1, "W"), Q_(1, "1/s"), Q_(1, "TFLOP/s"), Q_(1, "g/kWh"), Q_(1, "L/kWh"), Q_(1, "USD/kWh"), Q_(1, ""),
    Q_(np.array([1.0, NAN]), "s"), H100, ALL_MODELS[0], ALL_FLEETS[0], GRIDS[0], DCS[0], FABRICS[0], NODES[0],
    SimpleNamespace(),
]
# Hypothesis draws are the cost of this suite (~0.1 ms each), so every argument is drawn with one
# sampled_from over a pool built here once (deterministically): edges, log-spaced values, units.
_rng = random.Random(20261125)


def num(lo, hi, n=40):
    """Floats in [lo, hi]: both edges, the middle, and log-spaced (or uniform) samples."""
    out = [lo, hi, (lo + hi) / 2]
    low = lo if lo > 0 else min(hi * 1e-9, 1e-9)
    for _ in range(n):
        out.append(math.exp(_rng.uniform(math.log(low), math.log(hi))) if hi / low > 100 else _rng.uniform(lo, hi))
    return out


def qnum(lo, hi, unit, n=20):
    return [Q_(x, unit) for x in num(lo, hi, n)]


def ints(lo, hi, n=40):
    out = [lo, hi] + [int(math.exp(_rng.uniform(0, math.log(hi - lo + 1)))) + lo - 1 for _ in range(n)]
    return [min(max(v, lo), hi) for v in out]


_UNITS = ["s", "h", "d", "GB", "USD", "W", "kg", "1/s", "kWh", "L", "TFLOP/s", "USD/h", ""]
BAD += [_rng.choice((-1, 1)) * 10 ** _rng.uniform(-320, 308) for _ in range(60)]
BAD += [_rng.choice((-1, 1)) * _rng.randrange(2**80) for _ in range(30)]
BAD += [Q_(_rng.choice((NAN, INF, -INF, 0.0, -1.0, 1e308, 5e-324, _rng.uniform(-1e6, 1e6))), _rng.choice(_UNITS))
        for _ in range(60)]
bad = st.sampled_from(BAD)

models = ALL_MODELS
hardware = ALL_HW
fleets = ALL_FLEETS
grids = GRIDS
datacenters = DCS + GRIDS
precisions = sorted(PRECISION_BYTES)
fractions = num(1e-9, 1.0)
pow2 = [1, 2, 4, 8, 16, 64, 1024]
days = num(1e-9, 1e5) + qnum(1e-6, 1e6, "h")
bools = [True, False]


def _results():
    """Results of other solvers, the ``workload`` argument of economics and sustainability, plus
    duck-typed impostors with hostile values."""
    out = []
    m, h, f = mlsysim.Models.Language.Llama3_8B, H100, FLEETS[0]
    for make in (lambda: mlsysim.ServingModel().solve(m, h, seq_len=2048, batch_size=8),
                 lambda: mlsysim.DistributedModel().solve(m, f, batch_size=256, tokens=1e9),
                 lambda: mlsysim.DistributedModel().solve(m, f, batch_size=256),
                 lambda: mlsysim.SingleNodeModel().solve(m, h, batch_size=4)):
        try:
            out.append(make())
        except (ImportError, InvalidInputError):  # a solver not installed: skip its results
            pass
    for field, unit in (("tokens_per_second", "1/s"), ("time_to_train", "d"), ("step_time", "ms"), ("latency", "ms")):
        for v in (NAN, INF, -1.0, 0.0, 1e-9, 1e9):
            out.append(SimpleNamespace(**{field: Q_(v, unit)}))
        out.append(SimpleNamespace(**{field: Q_(1, "GB")}))
        out.append(SimpleNamespace(**{field: 5.0}))
    out.append(SimpleNamespace(latency=Q_(1, "ms"), throughput=Q_(NAN, "1/s")))
    out.append(SimpleNamespace(latency=Q_(-1, "ms"), throughput=Q_(1, "1/s")))
    return out


workloads = _results()

# --------------------------------------------------------------------------- each solver's arguments
# name -> (strategy of valid values, required?). Optional arguments are left out half the time.

SPECS = {
    "SingleNodeModel": {
        "model": (models, True), "hardware": (hardware, True), "batch_size": (ints(1, 2**20), False),
        "precision": (precisions, False), "efficiency": (fractions, False), "raise_errors": (bools, False),
        "is_training": (bools, False), "seq_len": (ints(1, 2**17), False), "memory_efficiency": (fractions, False),
        "zero_stage": (ints(0, 3), False), "dp_size": (pow2, False), "activation_recomputation": (bools, False),
    },
    "ServingModel": {
        "model": (models, True), "hardware": (hardware, True), "seq_len": (ints(1, 2**17), True),
        "batch_size": (ints(1, 2**12), False), "precision": (precisions, False), "tp_size": (pow2, False),
        "kv_precision": (precisions, False), "efficiency": (fractions, False), "output_len": (ints(1, 2**14), False),
        "memory_efficiency": (fractions, False), "gpus_per_node": (pow2, False), "raise_errors": (bools, False),
    },
    "DistributedModel": {
        "model": (models, True), "fleet": (fleets, True), "batch_size": (ints(1, 2**16), True),
        "tp_size": (pow2, False), "pp_size": (pow2, False), "ep_size": (pow2, False),
        "microbatch_count": (ints(1, 64), False), "precision": (precisions, False), "seq_len": (ints(1, 2**17), False),
        "zero_stage": (ints(0, 3), False),
        "activation_recomputation": ([True, False, "none", "selective", "full"], False),
        "sequence_parallel": (bools, False), "overlap_comm": (bools, False), "overlap_efficiency": (num(0, 1), False),
        "v_stages": (ints(1, 4), False), "efficiency": (fractions, False), "tokens": (num(1, 1e15), False),
        "strict": (bools, False),
    },
    "EconomicsModel": {
        "fleet": (fleets, True), "duration_days": (days, True), "kwh_price": (num(0, 10) + qnum(0, 10, "USD/kWh"), False),
        "datacenter": (datacenters, True), "grid": (grids, False), "mfu": (num(0, 1), False),
        "amortization_years": (num(1e-3, 50) + qnum(1, 1e5, "d"), False),
        "infrastructure_multiplier": (num(0, 10), False), "utilization": (num(0, 1), False),
        "maintenance_rate": (num(0, 1), False), "unit_cost": (num(0, 1e7) + qnum(0, 1e7, "USD"), False),
        "host_cost": (num(0, 1e6), False), "network_cost": (num(0, 1e9), False), "pue": (num(1, 3), False),
        "cloud_rate": (num(0, 100) + qnum(0, 100, "USD/h"), False), "workload": (workloads, False),
        "tokens_per_query": (num(1, 1e5), False), "steps": (ints(1, 10**7), False),
    },
    "SustainabilityModel": {
        "fleet": (fleets, True), "duration_days": (days, True), "datacenter": (datacenters, True),
        "mfu": (num(0, 1), False), "embodied_carbon_per_device": (num(0, 1e4) + qnum(0, 1e4, "kg"), False),
        "utilization": (num(0, 1), False), "grid": (grids, False), "pue": (num(1, 3), False),
        "wue": (num(0, 10) + qnum(0, 10, "L/kWh"), False), "embodied": (bools, False),
        "service_life_years": (num(0.1, 20), False), "workload": (workloads, False),
        "tokens_per_query": (num(1, 1e5), False), "queries": (num(0, 1e12), False), "steps": (ints(1, 10**7), False),
    },
    "ReliabilityModel": {
        "fleet": (fleets, True), "job_duration_hours": (num(1e-6, 1e6) + qnum(1e-3, 1e6, "h"), True),
        "checkpoint_time_s": (num(1e-6, 1e5) + qnum(1e-6, 1e5, "s"), False),
        "avg_recovery_time_s": (num(0, 1e5), False), "restart_time_s": (num(0, 1e5) + qnum(0, 1e5, "s"), False),
        "node_mtbf": (num(1e-3, 1e9) + qnum(1e-3, 1e9, "h"), False),
        "fleet_mtbf": (num(1e-3, 1e9) + qnum(1e-3, 1e9, "h"), False),
        "component_mttf": ([{_rng.choice(["gpu", "GPU", "psu", "nic", "x"]): _rng.choice(qnum(1e-3, 1e9, "h"))
                             for _ in range(_rng.randrange(4))} for _ in range(30)], False),
        "components": ([[Component(part=_rng.choice(["gpu", "psu"]), count=_rng.choice(ints(1, 64)),
                                   mttf=_rng.choice(qnum(1e-3, 1e9, "h"))) for _ in range(_rng.randrange(4))]
                        for _ in range(30)], False),
        "checkpoint_interval": (num(1e-3, 1e7) + qnum(1e-3, 1e7, "s"), False),
    },
    "PowerEfficiencyModel": {"hardware": (hardware, True), "precision": (precisions, False)},
}
SPECS["Engine"] = {k: v for k, v in SPECS["SingleNodeModel"].items()
                   if k in ("model", "hardware", "batch_size", "precision", "efficiency", "raise_errors")}
STRICT_FLAGS = ("raise_errors", "strict", "embodied")
RESULT_ARGUMENTS = ("workload",)  # arguments that take another solver's result (errors may name result.<field>)


OMIT = object()


#: solve() calls per hypothesis example: the one hypothesis draws, and CASES_PER_EXAMPLE - 1 more
#: built from the same pools by a generator seeded by the example (hypothesis' per-example overhead,
#: ~1 ms, is then paid once per 4 cases, which keeps 10,000 cases per solver within CI's budget).
CASES_PER_EXAMPLE = 4


def _random_call(rng: random.Random, spec: dict) -> dict:
    kwargs = {}
    for name, (valid, required) in spec.items():
        if required or rng.random() < 0.5:
            kwargs[name] = rng.choice(valid)
    for name in rng.sample(sorted(spec), min(rng.randrange(4), len(spec))):
        kwargs[name] = rng.choice(BAD)
    return kwargs


def calls(spec):
    """Valid values for the required arguments and about half of the optional ones, then up to
    three arguments (any of them) replaced by a hostile value; plus a seed for the extra cases."""
    pools = [(name, st.sampled_from(valid if required else [OMIT] * len(valid) + valid))
             for name, (valid, required) in spec.items()]
    corrupt = st.lists(st.sampled_from(sorted(spec)), max_size=3, unique=True)

    @st.composite
    def draw_call(draw):
        kwargs = {}
        for name, pool in pools:
            v = draw(pool)
            if v is not OMIT:
                kwargs[name] = v
        for name in draw(corrupt):
            kwargs[name] = draw(bad)
        return kwargs, draw(st.integers(0, 2**32))

    return draw_call()


# --------------------------------------------------------------------------- the oracle

_DIMS: dict = {}


def _measured(cls):
    if cls not in _DIMS:
        _DIMS[cls] = [(f.name, f.alias, f.metadata["mlsysim_unit"]) for f in attrs.fields(cls)
                      if "mlsysim_unit" in (f.metadata or {})]
    return _DIMS[cls]


def _never_completes(r) -> bool:
    """A result that says the work cannot finish: infeasible with no offload path (single node),
    or goodput so small that time / goodput overflows (reliability). Its times and energies are
    +inf by design, never NaN."""
    g = getattr(r, "goodput", None)
    return getattr(r, "feasible", True) is False or (g is not None and g < 1e-290)


#: The physical range the finiteness check applies to: every number given to solve() (plain, a
#: Quantity's magnitude) is 0 or within [1e-30, 1e30] in absolute value. Beyond it (1e308 USD for a
#: host, a checkpoint of 1e-308 s) products and quotients overflow to +inf, which is allowed; NaN,
#: negatives and exceptions other than InvalidInputError are failures everywhere.
PHYSICAL = (1e-30, 1e30)


def _absurd(value, depth=0) -> bool:
    if depth > 3:
        return False
    m = getattr(value, "magnitude", value)
    if isinstance(m, (bool, str)) or m is None:
        return False
    if isinstance(m, (int, float, np.number)):
        a = abs(float(m)) if not isinstance(m, int) or abs(m) < 2**1000 else math.inf
        return a != 0 and not (PHYSICAL[0] <= a <= PHYSICAL[1])
    if isinstance(m, np.ndarray):
        return any(_absurd(x) for x in m.ravel())
    if isinstance(m, dict):
        return any(_absurd(v, depth + 1) for v in m.values())
    if isinstance(m, (list, tuple)):
        return any(_absurd(v, depth + 1) for v in m)
    return False


def check_result(r, where="", inf_ok=False):
    assert isinstance(r, Result), f"solve() returned {type(r).__name__}, not a Result"
    cls = type(r)
    first = cls not in _DIMS
    inf_ok = inf_ok or _never_completes(r)
    for store, public, unit in _measured(cls):
        v = getattr(r, store)
        if v is None:
            continue
        a = np.asarray(v, dtype=float)
        assert not np.any(np.isnan(a)), f"{where}{public} = {v!r} is NaN"
        assert inf_ok or np.all(np.isfinite(a)), f"{where}{public} = {v!r} is not finite"
        assert np.all(a >= 0), f"{where}{public} = {v!r} is negative"
        if first:
            q = getattr(r, public)
            assert q.dimensionality == ureg.Unit(unit).dimensionality, f"{public}: {q.units} is not {unit}"
    for f in attrs.fields(cls):
        if "mlsysim_unit" in (f.metadata or {}):
            continue
        v = getattr(r, f.name)
        if isinstance(v, float) or isinstance(v, np.floating):
            assert (math.isfinite(v) or (inf_ok and v == INF)) and v >= 0, f"{where}{f.name} = {v!r}"
        elif isinstance(v, Result):
            check_result(v, f"{where}{f.name}.", inf_ok)
    if first:  # the plain-data view is JSON without NaN
        json.dumps(r.to_dict(), allow_nan=False, default=str)


def outcome(solver: str, kwargs: dict) -> None:
    params = set(inspect.signature(getattr(mlsysim, solver).solve).parameters) - {"self", "kwargs"}
    CASES[solver] += 1
    try:
        r = getattr(mlsysim, solver)().solve(**kwargs)
    except InvalidInputError as exc:
        # "batch_size", "fleet.node", "component_mttf['gpu']", "tp_size*pp_size", "result.step_time"
        root = re.match(r"[A-Za-z_]\w*", str(exc.argument))
        root = root.group(0) if root else ""
        ok = root in params or (root == "result" and any(a in kwargs for a in RESULT_ARGUMENTS))
        assert ok, f"InvalidInputError names {exc.argument!r}, not an argument of {solver}.solve: {exc}"
        return
    except InfeasibleError:
        assert any(kwargs.get(flag) is True for flag in STRICT_FLAGS), "InfeasibleError without raise_errors/strict"
        return
    check_result(r, inf_ok=any(_absurd(v) for v in kwargs.values()))


def _outcome(solver: str, kwargs: dict) -> None:
    # A solver's own warnings (UserWarning subclasses: a fractional micro-batch, a default used) are
    # output, not failures; RuntimeWarning (numpy overflow, invalid value) stays an error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            outcome(solver, kwargs)
        except Exception as exc:
            shown = {k: getattr(v, "name", v) if attrs.has(type(v)) else v for k, v in kwargs.items()}
            exc.add_note(f"{solver}.solve(**{shown!r:.2000})")
            raise


def _run(solver: str, drawn: tuple) -> None:
    kwargs, seed = drawn
    rng = random.Random(seed)
    for i in range(CASES_PER_EXAMPLE):
        _run_one(solver, kwargs if i == 0 else _random_call(rng, SPECS[solver]))


def _run_one(solver: str, kwargs: dict) -> None:
    if not COLLECT:
        _outcome(solver, kwargs)
        return
    try:
        _outcome(solver, kwargs)
    except Exception as exc:  # noqa: BLE001 - exploration mode: tally every distinct failure
        key = (solver, type(exc).__name__, str(exc).split("=")[0][:60])
        shown = {k: getattr(v, "name", v) if attrs.has(type(v)) else v for k, v in kwargs.items()}
        FAILURES.setdefault(key, f"{str(exc).splitlines()[0]:.200} <- {shown!r:.600}")


def _test(solver):
    @FUZZ
    @given(calls(SPECS[solver]))
    def test(drawn):
        _run(solver, drawn)

    def wrapper():
        try:
            getattr(mlsysim, solver)
        except ImportError as exc:
            pytest.skip(str(exc))
        test()

    wrapper.__name__ = f"test_fuzz_{solver}"
    return wrapper


for _solver in SPECS:
    globals()[f"test_fuzz_{_solver}"] = _test(_solver)


def test_fuzz_report():
    """Runs last in this file: prints the cases per solver (and, with FUZZ_COLLECT=1, the failures)."""
    print("\nfuzz cases per solver:", dict(CASES))
    if COLLECT:
        for key, example in sorted(FAILURES.items()):
            print("FAIL", key, "\n    ", example)
        assert not FAILURES
    for solver, n in CASES.items():  # hypothesis runs max_examples unless the space is exhausted
        assert n >= CASES_PER_EXAMPLE * FUZZ.max_examples * 0.9, (solver, n)
