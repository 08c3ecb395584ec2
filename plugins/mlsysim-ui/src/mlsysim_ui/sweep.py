"""The sweep page: any installed solver over a grid (``mlsysim.sweep``) and the Pareto front of two objectives."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mlsysim

from . import charts
from .answers import Answer, Block, Row, number, run
from .forms import Field, convert, field_of_error, fields_of, one_line
from .pages import Page, declared, solver_class

MAX_SWEEP_POINTS = 20_000
MAX_SWEEP_ROWS = 200


@dataclass(frozen=True)
class SweepPage(Page):
    """Any installed solver over a grid (comma-separated values in any field), two objectives and
    the Pareto front between them (``mlsysim.sweep``)."""

    #: solver -> ((field, "min"), (field, "max")) where it differs from its command's ``SolverCommand.pareto``
    objectives: Mapping[str, tuple] = field(default_factory=dict)

    def solver_name(self, values: Mapping[str, str]) -> str:
        """The solver asked for; else the example's when installed, else the first installed."""
        installed = list(mlsysim.solvers())
        if values.get("solver"):
            return values["solver"]
        return self.example["solver"] if self.example["solver"] in installed or not installed else installed[0]

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        name = self.solver_name(values)
        command = None if name in self.objectives else declared(name)
        default = command.pareto if command else (("", "min"), ("", "max"))
        (x, xd), (y, yd) = self.objectives.get(name, default)
        head = [
            Field("solver", "solver", default=self.example["solver"], help="the solver to sweep"),
            Field("x", "any", default=x or None, required=not x, help="first objective: a result field"),
            Field("x_goal", "str", default=xd, help="min or max"),
            Field("y", "any", default=y or None, required=not y, help="second objective: a result field"),
            Field("y_goal", "str", default=yd, help="min or max"),
        ]
        help_ = " (comma-separated values sweep this argument)"
        try:
            own = fields_of(solver_class(name))
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
            text = (values.get(f.name) or "").strip()
            items = [t.strip() for t in text.split(",")] if text else []
            if "" in items:  # '1,,2' or '1,2,': a value meant and lost, not one to drop
                ans.errors[f.name] = f"{f.name}={text!r} has an empty item: expected comma-separated values like a,b,c"
                continue
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
        if len(res) and not np.asarray(res["valid"], dtype=bool).any():  # no point answered: the solver says why
            for err in dict.fromkeys(str(e) for e in res["error"]):  # under the field it names ("batch_size='abc' ...")
                arg = re.match(r"(\w+)=", err)
                key = arg.group(1) if arg and arg.group(1) in grid else ""
                ans.errors[key] = "; ".join(filter(None, (ans.errors.get(key), err)))
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
