"""The pages: each turns form values (the URL query) into an :class:`Answer` through the public API.

A page is one or more solvers; its form is built from their ``solve()`` signatures
(:mod:`mlsysim_ui.forms`), so a field a solver gains appears by itself. The dedicated pages only
choose a starting example and the fields shown first; every installed solver (third-party ones too)
also has a generic page, ``solver/<Name>``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mlsysim

from . import charts
from .forms import Field, FormError, arguments, convert, field_of_error, fields_of, one_line

MAX_SWEEP_POINTS = 20_000
MAX_SWEEP_ROWS = 200


@dataclass
class Row:
    """One result field: name, formatted number, unit, the exact magnitude (in ``unit``) and its doc."""

    name: str
    text: str
    unit: str = ""
    value: float | None = None
    doc: str = ""


@dataclass
class Block:
    """One solver's answer."""

    title: str
    rows: list[Row] = field(default_factory=list)
    more: list[Row] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    table: dict | None = None  # {"columns": [...], "rows": [[...]], "front": [bool]}


@dataclass
class Answer:
    blocks: list[Block] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (field, part name, catalog source)


def number(v: float) -> str:
    """Four significant figures, thousands separated from 10,000 (as the CLI prints)."""
    if not math.isfinite(v):
        return str(v)
    if v != 0 and 1e4 <= abs(v) < 1e15:
        return f"{float(f'{v:.4g}'):,.0f}"
    return f"{v:.4g}"


def _doc(result: Any, name: str) -> str:
    prop = getattr(type(result), name, None)
    return (prop.__doc__ or "") if isinstance(prop, property) else ""


def row(result: Any, name: str) -> Row:
    v = getattr(result, name)
    doc = _doc(result, name)
    if isinstance(v, mlsysim.Quantity) and np.ndim(v.magnitude) == 0:
        m = float(v.magnitude)
        return Row(name, number(m), f"{v.units:~P}", m, doc)
    if isinstance(v, bool) or v is None:
        return Row(name, "-" if v is None else str(v), doc=doc)
    if isinstance(v, (int, float)):
        return Row(name, number(float(v)), "", float(v), doc)
    if isinstance(v, dict):
        return Row(name, " ".join(f"{k}={x}" for k, x in v.items()), doc=doc)
    if isinstance(v, (list, tuple)):
        return Row(name, "; ".join(str(x) for x in v) or "-", doc=doc)
    named = getattr(v, "name", None)
    return Row(name, named if isinstance(named, str) and not isinstance(v, str) else str(v), doc=doc)


def why(result: Any, warns: list[str]) -> list[str]:
    """The result's reasons in words: constraint trace, infeasibility reason, notes, solver warnings."""
    out = list(getattr(result, "constraint_trace", None) or [])
    reason = getattr(result, "infeasible_reason", "")
    if reason:
        out.append(str(reason))
    out += [f"note: {n}" for n in (getattr(result, "notes", None) or ())]
    return out + [f"warning: {w}" for w in warns]


def block(title: str, result: Any, key: tuple = (), warns: list[str] | None = None) -> Block:
    names = result.fields()
    first = [n for n in key if n in names] or names
    return Block(
        title,
        [row(result, n) for n in first],
        [row(result, n) for n in names if n not in first],
        why(result, warns or []),
    )


def run(fn: Callable[..., Any], kwargs: dict) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(**kwargs)
    return out, list(dict.fromkeys(one_line(w.message) for w in caught))


def _solver(name: str) -> Any:
    return getattr(mlsysim, name)


def _parts(fields: list[Field], kwargs: dict) -> list[tuple[str, str, str]]:
    return [
        (f.name, str(getattr(kwargs[f.name], "name", kwargs[f.name])), str(getattr(kwargs[f.name], "source", "")))
        for f in fields
        if f.kind == "catalog" and f.name in kwargs
    ]


@dataclass(frozen=True)
class Page:
    """A page of the explorer: slug (URL), title, the solvers behind it and a starting example."""

    slug: str
    title: str
    summary: str
    solvers: tuple
    example: Mapping[str, str]
    key: tuple = ()

    def available(self) -> list[str]:
        """The page's solvers that are installed (``mlsysim.solvers()``)."""
        installed = mlsysim.solvers()
        return [s for s in self.solvers if s in installed]

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        return fields_of(_solver(self.solvers[0])) if self.available() else []

    def answer(self, values: Mapping[str, str]) -> Answer:
        name = self.solvers[0]
        fields = self.fields(values)
        ans = Answer()
        if not self.available():
            try:
                _solver(name)
            except ImportError as exc:  # names the distribution to install
                ans.errors[""] = one_line(exc)
            return ans
        try:
            kwargs = arguments(fields, values)
        except FormError as exc:
            ans.errors = exc.errors
            return ans
        ans.parts = _parts(fields, kwargs)
        try:
            result, warns = run(_solver(name)().solve, kwargs)
        except mlsysim.MlsysimError as exc:
            ans.errors[field_of_error(exc, [f.name for f in fields])] = one_line(exc)
            return ans
        ans.blocks.append(block(name, result, self.key, warns))
        ans.charts = charts.charts_for(result)
        return ans


@dataclass(frozen=True)
class FleetPage(Page):
    """One fleet for a duration through every fleet solver installed: one ``days`` field feeds each
    solver's duration argument; other arguments go to the solvers that declare them."""

    durations: Mapping[str, str] = field(default_factory=dict)  # solve() argument -> unit of "days"
    keys: Mapping[str, tuple] = field(default_factory=dict)

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        days = Field("days", "any", required=True, help="how long the fleet runs: days, or a time such as '720 h'")
        out, seen = [days], {"days", *self.durations}
        for name in self.available():
            for f in fields_of(_solver(name)):
                if f.name not in seen:
                    seen.add(f.name)
                    out.append(f)
        return out

    def answer(self, values: Mapping[str, str]) -> Answer:
        fields = self.fields(values)
        ans = Answer()
        try:
            kwargs = arguments(fields, values)
        except FormError as exc:
            ans.errors = exc.errors
            return ans
        ans.parts = _parts(fields, kwargs)
        days = kwargs.pop("days")
        span = (
            days
            if isinstance(days, mlsysim.Quantity)
            else (mlsysim.Q_(days, "day") if isinstance(days, (int, float)) else days)
        )
        names = [f.name for f in fields]
        for name in self.available():
            own = fields_of(_solver(name))
            args = {f.name: kwargs[f.name] for f in own if f.name in kwargs}
            args.update({f.name: span for f in own if f.name in self.durations})
            try:
                result, warns = run(_solver(name)().solve, args)
            except mlsysim.MlsysimError as exc:
                arg = field_of_error(exc, [f.name for f in own])
                ans.errors["days" if arg in self.durations else (arg if arg in names else "")] = (
                    f"{name}: {one_line(exc)}"
                )
                continue
            ans.blocks.append(block(name, result, self.keys.get(name, ()), warns))
        return ans


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@dataclass(frozen=True)
class SweepPage(Page):
    """Any installed solver over a grid (comma-separated values in any field), two objectives and
    the Pareto front between them (``mlsysim.sweep``)."""

    objectives: Mapping[str, tuple] = field(default_factory=dict)  # solver -> ((field, "min"), (field, "max"))

    def solver_name(self, values: Mapping[str, str]) -> str:
        """The solver asked for; else the example's when installed, else the first installed."""
        installed = list(mlsysim.solvers())
        if values.get("solver"):
            return values["solver"]
        return self.example["solver"] if self.example["solver"] in installed or not installed else installed[0]

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        name = self.solver_name(values)
        (x, xd), (y, yd) = self.objectives.get(name, (("", "min"), ("", "max")))
        head = [
            Field("solver", "solver", default=self.example["solver"], help="the solver to sweep"),
            Field("x", "any", default=x or None, required=not x, help="first objective: a result field"),
            Field("x_goal", "str", default=xd, help="min or max"),
            Field("y", "any", default=y or None, required=not y, help="second objective: a result field"),
            Field("y_goal", "str", default=yd, help="min or max"),
        ]
        help_ = " (comma-separated values sweep this argument)"
        try:
            own = fields_of(_solver(name))
        except (AttributeError, ImportError):
            own = []
        return head + [Field(f.name, f.kind, f.sections, f.default, f.required, f.help + help_) for f in own]

    def answer(self, values: Mapping[str, str]) -> Answer:
        ans = Answer()
        name = self.solver_name(values)
        if name not in mlsysim.solvers():
            ans.errors["solver"] = f"solver={name!r} is not installed; installed: {', '.join(mlsysim.solvers())}"
            return ans
        fields = self.fields(values)
        head = {f.name: (values.get(f.name) or (f.default or "")).strip() for f in fields[:5]}
        grid: dict[str, Any] = {}
        for f in fields[5:]:
            items = _split(values.get(f.name) or "")
            if not items:
                if f.required:
                    ans.errors[f.name] = f"{f.name} is required"
                continue
            try:
                vals = [convert(f, t) for t in items]
            except mlsysim.MlsysimError as exc:
                ans.errors[f.name] = one_line(exc)
                continue
            grid[f.name] = vals if len(vals) > 1 else vals[0]
        for goal in ("x_goal", "y_goal"):
            if head[goal] not in ("min", "max"):
                ans.errors[goal] = f"{goal}={head[goal]!r} is invalid: expected min or max"
        size = math.prod(len(v) for v in grid.values() if isinstance(v, list))
        if size > MAX_SWEEP_POINTS:
            ans.errors[""] = f"{size:,} points: the explorer sweeps at most {MAX_SWEEP_POINTS:,} (use mlsysim.sweep)"
        if ans.errors:
            return ans
        try:
            res, warns = run(lambda **g: mlsysim.sweep(name, **g), grid)
        except mlsysim.MlsysimError as exc:
            ans.errors[field_of_error(exc, list(grid))] = one_line(exc)
            return ans
        cols = res.fields()
        for axis in ("x", "y"):
            if head[axis] not in cols or res.unit(head[axis]) is None and res[head[axis]].dtype.kind not in "fi":
                ans.errors[axis] = f"{axis}={head[axis]!r} is not a numeric field of {name}: one of " + ", ".join(
                    c for c in cols if res.unit(c) is not None
                )
        if ans.errors:
            return ans
        b, chart = _sweep_block(name, res, head, warns, [k for k, v in grid.items() if isinstance(v, list)])
        ans.blocks.append(b)
        ans.charts.append(chart)
        return ans


def _sweep_block(name: str, res: Any, head: dict, warns: list[str], axes: list[str]) -> tuple[Block, dict]:
    """The sweep's table (Pareto points first) and its chart."""

    def column(c: str) -> tuple[np.ndarray, str]:
        v = res[c]
        if isinstance(v, mlsysim.Quantity):
            return np.asarray(v.magnitude, dtype=float), f"{v.units:~P}"
        return np.asarray(v), ""

    (x, xu), (y, yu) = column(head["x"]), column(head["y"])
    valid = np.asarray(res["valid"], dtype=bool)
    if "feasible" in res.fields():
        valid &= np.asarray(res["feasible"], dtype=bool)
    x, y = x.astype(float), y.astype(float)
    front = charts.pareto_mask(
        np.where(valid, x, np.nan), np.where(valid, y, np.nan), head["x_goal"] == "min", head["y_goal"] == "min"
    )
    shown = [c for c in axes if c in res.fields()]
    inputs = {c: np.asarray([getattr(v, "name", v) for v in res[c]], dtype=object) for c in shown}
    labels = [", ".join(f"{c}={inputs[c][i]}" for c in shown) for i in range(len(res))]
    xt, yt = f"{head['x']} ({xu}, {head['x_goal']})", f"{head['y']} ({yu}, {head['y_goal']})"
    order = np.concatenate([np.flatnonzero(front), np.flatnonzero(~front)])[:MAX_SWEEP_ROWS]
    errors = np.asarray(res["error"], dtype=object)
    table = {
        "columns": [*shown, f"{head['x']} ({xu})", f"{head['y']} ({yu})", "valid & feasible", "pareto", "error"],
        "rows": [
            [
                *(str(inputs[c][i]) for c in shown),
                number(x[i]),
                number(y[i]),
                bool(valid[i]),
                "*" if front[i] else "",
                str(errors[i]),
            ]
            for i in order
        ],
        "values": [[float(x[i]), float(y[i])] for i in order],
    }
    b = Block(
        f"{name} sweep",
        [
            Row("points", f"{len(res):,}", value=float(len(res))),
            Row("valid and feasible", f"{int(valid.sum()):,}", value=float(valid.sum())),
            Row("on the Pareto front", f"{int(front.sum()):,}", value=float(front.sum())),
        ],
        why=[f"warning: {w}" for w in warns],
        table=table,
    )
    return b, charts.pareto(x, y, front, labels, xt, yt)


PAGES: dict[str, Page] = {
    p.slug: p
    for p in (
        Page(
            "roofline",
            "Roofline",
            "one model step on one accelerator, placed on the roofline",
            ("SingleNodeModel",),
            {"model": "Llama3_8B", "hardware": "H100", "batch_size": "64"},
            (
                "latency",
                "throughput",
                "bottleneck",
                "mfu",
                "feasible",
                "memory_footprint",
                "memory_available",
                "arithmetic_intensity",
                "ridge_point",
                "latency_compute",
                "latency_memory",
                "latency_overhead",
                "energy_per_sample",
            ),
        ),
        Page(
            "serving",
            "Serving",
            "LLM serving: time to first token, inter-token latency, KV cache, memory fit",
            ("ServingModel",),
            {"model": "Llama3_8B", "hardware": "H100", "seq_len": "2048"},
            (
                "feasible",
                "ttft",
                "itl",
                "tokens_per_second",
                "kv_cache_size",
                "model_weights_size",
                "total_memory_required",
                "memory_available",
                "prefill_bottleneck",
                "decode_bottleneck",
                "energy_per_token",
                "e2e_latency",
                "requests_per_second",
            ),
        ),
        Page(
            "training",
            "Training",
            "a parallel training layout: step breakdown, memory per GPU, MFU",
            ("DistributedModel",),
            {
                "model": "Llama3_70B",
                "fleet": "Research_256",
                "batch_size": "256",
                "tp_size": "8",
                "pp_size": "4",
                "microbatch_count": "8",
            },
            (
                "step_time",
                "throughput",
                "tokens_per_second",
                "mfu",
                "scaling_efficiency",
                "bubble_fraction",
                "compute_latency",
                "pipeline_bubble_latency",
                "exposed_communication_latency",
                "memory_per_gpu",
                "memory_capacity",
                "feasible",
                "parallelism",
                "total_accelerators",
                "time_to_train",
            ),
        ),
        FleetPage(
            "fleet",
            "Fleet",
            "cost, energy, carbon, water and reliability of a fleet for a duration",
            ("EconomicsModel", "SustainabilityModel", "ReliabilityModel"),
            {"fleet": "Research_256", "days": "30", "datacenter": "Hyperscale_Typical"},
            durations={"duration_days": "d", "job_duration_hours": "h"},
            keys={
                "EconomicsModel": (
                    "tco",
                    "capex",
                    "opex",
                    "opex_energy",
                    "cost_per_gpu_hour",
                    "facility_energy",
                    "it_power",
                    "electricity_price",
                    "pue",
                ),
                "SustainabilityModel": (
                    "carbon_footprint",
                    "operational_carbon",
                    "embodied_carbon",
                    "facility_energy",
                    "water_usage",
                    "carbon_intensity",
                    "pue",
                    "region_name",
                ),
                "ReliabilityModel": (
                    "fleet_mtbf",
                    "failures_per_day",
                    "failure_probability",
                    "optimal_checkpoint_interval",
                    "goodput",
                    "expected_completion_time",
                ),
            },
        ),
        SweepPage(
            "sweep",
            "Sweep",
            "any solver over a grid of inputs, with the Pareto front of two objectives",
            (),
            {
                "solver": "ServingModel",
                "model": "Llama3_70B",
                "hardware": "H100,H200",
                "seq_len": "2048",
                "batch_size": "1,8,64",
                "tp_size": "4,8",
            },
            objectives={
                "ServingModel": (("itl", "min"), ("tokens_per_second", "max")),
                "SingleNodeModel": (("latency", "min"), ("throughput", "max")),
                "DistributedModel": (("step_time", "min"), ("mfu", "max")),
            },
        ),
    )
}


def solver_page(name: str) -> Page:
    """The generic page of any installed solver; its example is empty (the form asks for the required fields)."""
    return Page(f"solver/{name}", name, mlsysim.solvers()[name].summary, (name,), {})


def page(slug: str) -> Page:
    if slug.startswith("solver/"):
        name = slug.split("/", 1)[1]
        if name not in mlsysim.solvers():
            raise KeyError(slug)
        return solver_page(name)
    return PAGES[slug]
