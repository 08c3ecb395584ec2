"""``mlsysim sweep <command>``: every installed solver command over lists and ranges, Pareto front marked.

List syntax for every option: ``a,b,c``. Integer ranges: ``1..8`` (step 1), ``1..256:x2``
(geometric: 1, 2, 4, ..., 256), ``0..100:+25`` (arithmetic). Every combination is solved in one call
of the sweep engine (``mlsysim_core.sweep``: the solver's vectorized kernels where it has them),
up to MAX_POINTS points; rows come in the order of ``itertools.product`` over the options as declared.
A point the solver rejects (``InvalidInputError``, e.g. a tp that does not divide the heads) is kept
with its error and no result. ``--bands``: each point's bands as its banded ``solve()`` gives them
(``mlsysim_uncertainty.banded_sweep``: the solver's own sweep at the corners of the ranges).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import re
import sys
from typing import Any

import click

from mlsysim_core.format import measured, number, value
from mlsysim_core.results import missing_text

from .api._out import dumps, flatten, table
from .api.command import (
    CONTEXT,
    CliError,
    Param,
    SolverCommand,
    check_output,
    comma_items,
    option_names,
    recorded,
    save_plot,
    solver_class,
)

#: Bytes a point of the widest sweep holds (``sweep serve``, 107 fields; bench/sweep_memory.py, the peak resident set's
#: slope past the first chunk): ~1.0 kB plain (200 k -> 400 k points), ~1.4 kB with --bands (30 k -> 90 k; before its
#: rows were made a chunk at a time, ~31 kB). The caps keep a sweep within MEMORY_CAP bytes.
POINT_BYTES = {False: 1_000, True: 1_400}
MEMORY_CAP = 20e9
MAX_POINTS = int(MEMORY_CAP // POINT_BYTES[False])  # 20,000,000
_TABLE_ENDS = 20  # a table of more than _TABLE_ROWS rows shows this many at each end
_TABLE_ROWS = 100_000
_CHUNK = 1 << 16  # rows turned into Python values at a time (CSV, JSON)
_BANDED_CHUNK = 1 << 12  # the same with bands: ~16 kB of dicts a row (bench/sweep_memory.py)
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?::\s*([x+*])\s*(\d+(?:\.\d+)?))?\s*$")
_NUM = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_FLOAT_RANGE = re.compile(rf"^\s*{_NUM}\s*\.\.\s*{_NUM}\s*:\s*([x+*])\s*{_NUM}\s*$")


def _range(item: str, m: re.Match, flag: str) -> list[int]:
    a, b, op, k = int(m.group(1)), int(m.group(2)), m.group(3) or "+", m.group(4) or "1"
    if b < a:
        raise CliError(flag, f"range {item!r} is invalid: expected start <= end")
    if op == "+":
        step = int(float(k))
        if step < 1 or step != float(k):  # 1..10:+2.5 stepped by 2 (1, 3, 5, 7, 9)
            raise CliError(flag, f"range {item!r} is invalid: the step of an integer range must be an integer >= 1")
        if len(range(a, b + 1, step)) > MAX_POINTS:
            raise CliError(flag, f"more than {MAX_POINTS} values")
        return list(range(a, b + 1, step))
    f = float(k)
    if f <= 1 or a <= 0:
        raise CliError(flag, f"range {item!r} is invalid: a geometric range needs start > 0 and factor > 1")
    out, v = [], float(a)
    while v <= b * (1 + 1e-12):
        out.append(int(round(v)))
        v *= f
    return out


def _float_range(item: str, m: re.Match, flag: str) -> list[float]:
    """a..b:+K (arithmetic) or a..b:xK (geometric) over real numbers, b included (to 1e-9 of a step)."""
    a, b, op, k = float(m.group(1)), float(m.group(2)), m.group(3), float(m.group(4))
    if b < a:
        raise CliError(flag, f"range {item!r} is invalid: expected start <= end")
    if op == "+":
        if k <= 0:
            raise CliError(flag, f"range {item!r} is invalid: step must be > 0")
        count = int((b - a) / k + 1e-9) + 1
        if count > MAX_POINTS:
            raise CliError(flag, f"more than {MAX_POINTS} values")
        return [round(a + i * k, 12) for i in range(count)]
    if k <= 1 or a <= 0:
        raise CliError(flag, f"range {item!r} is invalid: a geometric range needs start > 0 and factor > 1")
    out, v = [], a
    while v <= b * (1 + 1e-12):
        out.append(v)
        v *= k
    return out


def _one(p: Param, item: str, flag: str) -> Any:
    try:
        if p.kind == "int":
            return int(item)
        if p.kind == "float":
            return float(item)
    except ValueError:
        expected = "an integer or a range a..b[:xK|:+K]" if p.kind == "int" else "a number or a range a..b:+K|:xK"
        raise CliError(flag, f"{item!r} is invalid: expected {expected}") from None
    if p.kind in ("choice", "bool"):
        low = {c.lower(): c for c in p.choices}
        if item.lower() not in low:
            raise CliError(flag, f"{item!r} is invalid: expected one of {', '.join(p.choices)}")
        return low[item.lower()]
    return item


def parse_list(p: Param, text: str, flag: str) -> list[tuple[Any, Any]]:
    """Values of one sweep option as (echo, solver value) pairs, repeats dropped: comma list; integer
    ranges a..b, a..b:xK, a..b:+K; number ranges a..b:+K, a..b:xK; catalog names resolved."""
    items = comma_items(flag, text)
    raw: list = []
    for item in items:
        if p.kind == "float" and (fm := _FLOAT_RANGE.match(item)):
            raw.extend(_float_range(item, fm, flag))
            continue
        m = _RANGE.match(item) if p.kind == "int" else None
        raw.extend(_range(item, m, flag) if m else [_one(p, item, flag)])
        if len(raw) > MAX_POINTS:
            raise CliError(flag, f"more than {MAX_POINTS} values")
    out: dict[Any, tuple[Any, Any]] = {}
    for v in raw:  # keep order, drop repeats (catalog names by key)
        pair = p.convert(v, flag)
        out.setdefault(pair[0], pair)
    return list(out.values())


def front(a: Any, b: Any) -> Any:
    """Pareto mask of points (a[i], b[i]), both minimized; rows with a non-finite value are never on it.
    O(n log n): sort by a, then b; a group of equal a is on the front at its best b if that beats every
    earlier group."""
    import numpy as np

    mask = np.zeros(len(a), dtype=bool)
    idx = np.flatnonzero(np.isfinite(a) & np.isfinite(b))
    if not idx.size:
        return mask
    idx = idx[np.lexsort((b[idx], a[idx]))]
    sa, sb = a[idx], b[idx]
    first = np.r_[True, sa[1:] != sa[:-1]]
    group = np.cumsum(first) - 1
    best = sb[first]  # the best b of each group of equal a
    earlier = np.r_[np.inf, np.minimum.accumulate(best)[:-1]]
    mask[idx[(best < earlier)[group] & (sb == best[group])]] = True
    return mask


def _parse_pareto(text: str | None, cmd: SolverCommand, axes: dict) -> tuple:
    if not text:
        return cmd.pareto if cmd.pareto_of is None else cmd.pareto_of(axes)
    out = []
    for s in comma_items("--pareto", text):
        name, _, sense = s.partition(":")
        if sense not in ("min", "max"):
            raise CliError("--pareto", f"{s!r} is invalid: expected FIELD:min or FIELD:max")
        out.append((name, sense))
    if len(out) != 2:
        raise CliError("--pareto", f"{text!r} is invalid: expected two objectives, e.g. latency:min,throughput:max")
    return tuple(out)


def engine_grid(cmd: SolverCommand, axes: dict[str, list]) -> tuple[dict[str, list], dict[str, list[str]]]:
    """The engine's grid (solver keyword -> values) and, per keyword, the command axes it spans: a
    parameter's axis is the product of its values with those of the parameters that modify it."""
    cmd.excluded(axes, sweep=True)
    parts: dict[str, list[str]] = {}
    for name in axes:
        parts.setdefault(cmd.param(name).modifies or name, []).append(name)
    grid: dict[str, list] = {}
    for target, names in parts.items():
        values = []
        for combo in itertools.product(*(axes[n] for n in names)):
            pairs = dict(zip(names, combo))
            v = pairs[target][1] if target in pairs else None
            for n in names:
                if n != target or cmd.param(n).modifies == target:  # a value that replaces itself: --from FILE
                    apply = cmd.param(n).apply
                    assert apply is not None  # n modifies target, and a Param gives modifies and apply together
                    v = apply(v, pairs[n][0])
            values.append(v)
        grid[target] = values
    return grid, parts


class Points:
    """The points of a sweep, solved by the engine: iterating gives ``{"inputs", "result", "error",
    "pareto"}`` dicts in ``itertools.product`` order of the axes (``bands``: each solved point's result
    with its ``bands`` where it has any, as ``to_dict()`` writes them); CSV, the Pareto front and counts
    use the engine's columns."""

    def __init__(self, cmd: SolverCommand, axes: dict[str, list], objectives: tuple, bands: bool = False):
        import numpy as np

        from mlsysim_core.sweep import DEFAULT_CHUNK, _Plan, sweep
        from mlsysim_uncertainty import banded_sweep

        cls = solver_class(cmd.solver)
        self.cmd, self.axes, self.shape = cmd, axes, [len(v) for v in axes.values()]
        self.n = math.prod(self.shape)
        cap = int(MEMORY_CAP // POINT_BYTES[bands])
        if self.n > cap:
            raise CliError(
                "sweep",
                f"{self.n} points is more than {cap}"
                + (f" with --bands (~{POINT_BYTES[True]:,} B a point, {MEMORY_CAP / 1e9:g} GB in all)" if bands else "")
                + "; narrow the lists",
            )
        grid, parts = engine_grid(cmd, axes)
        self.cls, self.grid = cls, grid
        show = self.n > DEFAULT_CHUNK and sys.stderr.isatty()
        self.res, self.warns = recorded(banded_sweep if bands else sweep, cls, progress=show, **grid)
        self.bands = getattr(self.res, "bands", None)
        plan = _Plan(cls, grid)  # the engine varies its group axes slowest: back to itertools.product order
        dims = [n for name, _ in plan.group + plan.vector for n in parts[name]]
        self.order = (
            np.arange(self.n).reshape([len(axes[d]) for d in dims]).transpose([dims.index(k) for k in axes]).ravel()
        )
        self.valid = self.res.valid[self.order]
        self.produces = getattr(cls, "produces", None)  # the result class (its fields' table texts)
        self.solver = getattr(self.produces, "solver", cmd.solver)
        self.fields = [f for f in self.res.fields() if f not in ("valid", "error")]
        self.units = {f: f"{self.res.unit(f):~P}" for f in self.fields if self.res.unit(f) is not None}
        known = [p.name for p in cmd.params] + self.fields
        for name, _ in objectives:
            if name not in known:
                from difflib import get_close_matches

                near = get_close_matches(name, known, n=3)
                hint = f"did you mean {', '.join(near)}?" if near else f"expected one of {', '.join(known)}"
                raise CliError("--pareto", f"{name!r} is not an input or result field of {cmd.name}; {hint}")
        feasible = self.res.si("feasible")[self.order] if "feasible" in self.fields else True
        a, b = (self._numbers(name) * (1 if sense == "min" else -1) for name, sense in objectives)
        self.front = front(np.where(self.valid & (feasible != False), a, np.nan), b)  # noqa: E712 (arrays)
        first = np.flatnonzero(self.valid)[:1]
        sample = self[int(first[0]) : int(first[0]) + 1][0]["result"] if first.size else {}
        self.nested = any(isinstance(v, dict) and set(v) != {"value", "unit"} for v in sample.values())

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        step = _CHUNK if self.bands is None else _BANDED_CHUNK
        for start in range(0, self.n, step):
            yield from self[start : start + step]

    def __getitem__(self, rows: slice) -> list[dict]:
        start, stop = rows.indices(self.n)[:2]
        inputs, result, errors, on = self._chunk(start, stop)
        bands = self._bands(start, stop)
        out = []
        for i, err in enumerate(errors):
            res = (
                None
                if err is not None
                else {"solver": self.solver}
                | {
                    f: ({"value": v[i], "unit": self.units[f]} if v[i] is not None else None)
                    if f in self.units
                    else v[i]
                    for f, v in result.items()
                }
            )
            if res is not None and bands[i]:
                res["bands"] = bands[i]
            out.append({"inputs": {k: v[i] for k, v in inputs.items()}, "result": res, "error": err, "pareto": on[i]})
        return out

    def _bands(self, start: int, stop: int) -> list[dict]:
        """Rows [start, stop)'s bands as ``to_dict()`` writes them: ``{field: {"low", "high"}}``, each
        ``{"value", "unit"}`` in the field's unit (a plain number for a fraction); {} without bands."""
        import numpy as np

        out: list[dict] = [{} for _ in range(stop - start)]
        bands, rows = self.bands, self.order[start:stop]
        if bands is None:
            return out
        for name in bands:
            lo, hi = bands.magnitude(name, rows)
            for i in np.flatnonzero(~np.isnan(lo)).tolist():
                low, high = lo[i].item(), hi[i].item()
                unit = self.units.get(name)
                out[i][name] = (
                    {"low": {"value": low, "unit": unit}, "high": {"value": high, "unit": unit}}
                    if unit is not None
                    else {"low": low, "high": high}
                )
        return out

    def with_domain(self) -> Any:
        """Every point, each solved one's result with its ``bands`` and ``out_of_domain`` lines where it has
        any, as ``to_dict()`` adds them (``--json``): the lines a solve()'s result answers
        (``mlsysim_uncertainty.sweep_domain.sweep_lines``: the ``mlsysim_domain_checks`` asked of the rows)."""
        from mlsysim_uncertainty.sweep_bands import carried
        from mlsysim_uncertainty.sweep_domain import sweep_lines

        lines = sweep_lines(self.res, carried(self.cls, self.grid)) if self.bands is None else self.bands.lines
        distinct, which = lines
        for i, pt in enumerate(self):
            why = () if pt["result"] is None else distinct[which[self.order[i]]]
            if why or (pt["result"] or {}).get("bands"):
                pt = pt | {
                    "result": pt["result"] | {"bands": pt["result"].get("bands", {}), "out_of_domain": list(why)}
                }
            yield pt

    def _input(self, name: str, rows: Any, numeric: bool = False) -> Any:
        """Input ``name`` at ``rows`` as the command line echoes it (None when not given); ``numeric``: as
        floats, NaN where not a number."""
        import numpy as np

        echoes = [echo for echo, _ in self.axes.get(name, [(None, None)])]
        if numeric:
            vals = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in echoes])
        else:
            vals = np.array(echoes + [None], dtype=object)[:-1]  # (the extra None keeps a 1-D object array)
        k = list(self.axes).index(name) if name in self.axes else len(self.shape)
        return vals[rows // math.prod(self.shape[k + 1 :]) % len(vals)]

    def _numbers(self, name: str) -> Any:
        """A Pareto objective as floats (NaN where not a number): an input, else a result field."""
        import numpy as np

        if name in {p.name for p in self.cmd.params}:
            return self._input(name, np.arange(self.n), numeric=True)
        col = self.res.magnitude(name, self.order) if name in self.fields else np.array([None] * self.n)
        if col.dtype.kind == "O":
            return np.array(
                [v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in col], float
            )
        return col.astype(float) if col.dtype.kind in "iuf" else np.full(self.n, np.nan)

    def _values(self, name: str, rows: Any, ok: Any = True, text: bool = False) -> list:
        """Result column ``name`` at ``rows`` as ``to_dict()`` gives each value (NaN -> None), None where not
        ``ok``; ``text``: numbers as the CSV writes them (repr, "" for None), each distinct one formatted once."""
        import numpy as np

        from mlsysim_core.results import _plain

        col = self.res.magnitude(name, rows)
        none = ~np.asarray(ok, dtype=bool)
        if col.dtype.kind == "f":
            none = none | (np.isnan(col) if name in self.units else ~np.isfinite(col))
            if text:
                distinct, where = np.unique(col, return_inverse=True)
                out = np.array([repr(v) for v in distinct.tolist()] + [""], dtype=object)[where]
                zero = col == 0  # -0.0 == 0.0 for unique(), not for repr()
                out[zero] = np.where(np.signbit(col[zero]), "-0.0", "0.0")
                out[none] = ""
                return out.tolist()
        elif col.dtype.kind == "O" and not set(map(type, col)) <= {str, int, bool, type(None)}:
            col = np.fromiter((_plain(v) for v in col), object, len(col))
            if text:  # a list (notes) is one cell of JSON, as `flatten` writes it
                col = np.fromiter((_json_cell(v) if isinstance(v, list) else v for v in col), object, len(col))
        out = col.astype(object)
        out[none] = None
        return out.tolist()

    def _chunk(self, start: int, stop: int, text: bool = False) -> tuple[dict, dict, list, list]:
        """Rows [start, stop) as Python values: inputs, result columns, errors (None when solved), Pareto flags."""
        import numpy as np

        rows = self.order[start:stop]
        inputs = {p.name: self._input(p.name, np.arange(start, stop)).tolist() for p in self.cmd.params}
        result = {f: self._values(f, rows, self.valid[start:stop], text) for f in self.fields}
        clean: dict[str, str] = {}
        errors = [
            None if ok else clean.setdefault(e, " ".join(e.split()))
            for ok, e in zip(self.valid[start:stop].tolist(), self.res.error[rows].tolist())
        ]
        return inputs, result, errors, self.front[start:stop].tolist()

    def has(self, name: str) -> bool:
        """Whether any point shows ``name``: an input given, or a result value that is not None."""
        return name in self.axes or (
            name in self.fields
            and any(
                v is not None
                for start in range(0, self.n, _CHUNK)
                for v in self._values(name, self.order[start : start + _CHUNK], self.valid[start : start + _CHUNK])
            )
        )

    def write_csv(self, path: str) -> None:
        """Every point as CSV: ``inputs.<name>``, ``result.<field> [unit]`` (nested values flattened to
        ``result.<field>.<key>``), ``error``, ``pareto``; columns in first-seen order."""
        stdout = contextlib.nullcontext(sys.stdout)
        if self.nested:  # two passes over the points, a chunk at a time: the columns (first-seen order), the rows
            units = {f"result.{f}": u for f, u in self.units.items()}

            def rows() -> Any:
                for pt in self:
                    row = flatten("", {"inputs": pt["inputs"]}, {})
                    flatten("", {"result": pt["result"] or dict.fromkeys(self.units)}, row, units)
                    yield row | {"error": pt["error"] or "", "pareto": pt["pareto"]}

            seen: dict[str, None] = {}
            for row in rows():
                seen.update(dict.fromkeys(row))
            with stdout if path == "-" else open(path, "w", encoding="utf-8", newline="") as f:
                dw = csv.DictWriter(f, fieldnames=list(seen), lineterminator="\n")
                dw.writeheader()
                dw.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows())
            return
        inputs = [f"inputs.{p.name}" for p in self.cmd.params]
        cols = {f: f"result.{f} [{self.units[f]}]" if f in self.units else f"result.{f}" for f in self.fields}
        solved = ["result.solver", *cols.values()]
        ends = ["error", "pareto"]
        if not self.valid.any():  # an unsolved point has only unit columns
            head = inputs + [cols[f] for f in self.units] + ends
        elif self.valid[0]:
            head = inputs + solved + ends
        else:
            unit_cols = [cols[f] for f in self.units]
            head = inputs + unit_cols + ends + [c for c in solved if c not in unit_cols]
        with stdout if path == "-" else open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(head)
            for start in range(0, self.n, _CHUNK):
                ins, result, errors, on = self._chunk(start, min(start + _CHUNK, self.n), text=True)
                none = [None] * len(errors)
                data = {f"inputs.{k}": v for k, v in ins.items()} | {cols[k]: v for k, v in result.items()}
                data |= {
                    "result.solver": [None if e else self.solver for e in errors],
                    "error": [e or "" for e in errors],
                    "pareto": on,
                }
                w.writerows(zip(*(data.get(c, none) for c in head)))


def _json_cell_of(items: tuple) -> str:
    return str(flatten("c", list(items), {})["c"])


def _json_cell(v: list) -> str:
    """A list result value as its CSV cell; the many identical lists of a sweep are dumped once."""
    try:
        return _json_cell_of(tuple(v))
    except TypeError:  # an unhashable item (a dict): dump it directly
        return str(flatten("c", v, {})["c"])


def _cell(v: Any, missing: str | None = None, band: dict | None = None) -> str:
    """A table cell; with its ``band`` (``{"low", "high"}``, as ``--json`` writes it) "8.268 ms [6.91, 10.03]"."""
    if v is None and missing:
        return missing
    ends = (
        ""
        if band is None
        else " [{}, {}]".format(*(number(b["value"] if isinstance(b, dict) else b) for b in band.values()))
    )
    if isinstance(v, dict) and set(v) == {"value", "unit"}:
        return measured(v["value"], v["unit"]) + ends
    return value(v) + ends


def _show_table(cmd: SolverCommand, points: Points, axes: dict, varied: list, objectives: tuple) -> None:
    first = next((pt["result"] for pt in points if pt["result"]), None)
    key = cmd.key_fields if first is None else cmd.key_fields_of_result(first)
    shown = list(key[:4]) + [n for n, _ in objectives if n not in key[:4]]
    if "feasible" in key and "feasible" not in shown:
        shown.append("feasible")
    shown = [f for f in shown if points.has(f)]  # drop columns no point has (an optional field never set)
    keys = varied or list(axes)[:2]
    head = keys + shown + ["pareto", "error"]
    produces = points.produces
    missing = {f: missing_text(produces, f) for f in shown} if isinstance(produces, type) else {}
    total = len(points)
    rows = []
    for pt in points if total <= _TABLE_ROWS else [*points[:_TABLE_ENDS], None, *points[total - _TABLE_ENDS :]]:
        if pt is None:  # a huge sweep: its ends only (every point: --csv or --json)
            rows.append([f"... {total - 2 * _TABLE_ENDS} more"] + [""] * (len(head) - 1))
            continue
        res, given = pt["result"] or {}, pt["inputs"]
        bands = res.get("bands", {})
        rows.append(
            [_cell(given.get(k)) for k in keys]
            + [
                _cell(res.get(f), missing.get(f) if res else None, bands.get(f))
                if given.get(f) is None
                else _cell(given[f])
                for f in shown
            ]
            + ["*" if pt["pareto"] else "", pt["error"] or ""]
        )
    click.echo(table(head, rows))
    click.echo("", err=True)
    _summary(points, objectives)


def _summary(points: Points, objectives: tuple) -> None:
    click.echo(
        f"{len(points)} points, {int(points.valid.sum())} solved, {int(points.front.sum())} on the Pareto front "
        f"({', '.join(f'{n} {s}' for n, s in objectives)})",
        err=True,
    )


def _draw(cmd: SolverCommand, points: list, varied: list[str], objectives: tuple) -> Any:
    """The command's sweep plot, or the Pareto front of the two objectives (an error, not an empty
    picture, when no point was solved)."""
    if not any(not p.get("error") for p in points):
        raise CliError("--plot", f"nothing to draw: none of the {len(points)} points was solved (see their errors)")
    fig = cmd.sweep_plot(points, varied, objectives) if cmd.sweep_plot else None
    if fig is None:
        from mlsysim_plots.figures import plot_pareto

        (x, _), (y, _) = objectives
        fig = plot_pareto(points, x, y, label=varied)
    return fig


def write_json(path: str, head: dict, points: Any) -> None:
    """``dumps(head | {"points": [*points]}) + "\\n"`` to ``path`` ("-": standard output), written a point at a
    time: the document held whole took 63 kB a point (6.3 GB for 100,000 ServingModel points), so a sweep
    the engine solves in memory could not be written. The same bytes: each point is dumped on its own and
    indented by its depth in the document (json's indent is additive)."""
    text = dumps(head | {"points": []})
    assert text.endswith('"points": []\n}')  # the points' key comes last
    stdout = contextlib.nullcontext(sys.stdout)
    with stdout if path == "-" else open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text[: -len("]\n}")])
        sep = "\n    "
        for pt in points:
            f.write(sep + dumps(pt).replace("\n", "\n    "))
            sep = ",\n    "
        f.write("\n  ]\n}\n" if sep != "\n    " else "]\n}\n")


def make_sweep_command(cmd: SolverCommand) -> click.Command:
    """``mlsysim sweep <cmd.name>``."""

    def callback(
        csv_path: str | None, json_path: str | None, plot: str | None, pareto: str | None, bands: bool, **values: Any
    ) -> None:
        option_names(**cmd.options(sweep=True))
        for flag, path in (("--csv", csv_path), ("--json", json_path), ("--plot", plot)):
            check_output(flag, path, plot=flag == "--plot")
        axes = {
            p.name: parse_list(p, values[p.name], p.sweep_flag) for p in cmd.params if values.get(p.name) is not None
        }
        objectives = _parse_pareto(pareto, cmd, axes)
        varied = [k for k, v in axes.items() if len(v) > 1]
        points = Points(cmd, axes, objectives, bands)
        if json_path:
            head = {
                "solver": cmd.solver,
                "sweep": {k: [echo for echo, _ in v] for k, v in axes.items()},
                "pareto": [f"{n}:{s}" for n, s in objectives],
            }
            write_json(json_path, head, points.with_domain())
        if csv_path:
            points.write_csv(csv_path)
        if not (json_path or csv_path):
            _show_table(cmd, points, axes, varied, objectives)
        else:  # the rows went to a file (or standard output): a summary on standard error
            _summary(points, objectives)
            for path in (p for p in (json_path, csv_path) if p and p != "-"):
                click.echo(f"wrote {path}", err=True)
        for w in sorted(points.warns):
            click.echo(f"warning: {w}", err=True)
        if plot:
            save_plot(lambda: _draw(cmd, list(points), varied, objectives), plot)

    params: list[click.Parameter] = []
    for p in cmd.params:
        kind = {
            "int": "INTS",
            "float": "NUMS",
            "choice": "|".join(p.choices[:4]) + ",...",
            "bool": "on,off",
            "str": "TEXTS",
        }.get(p.kind, "KEYS")
        extra: dict[str, Any] = {} if p.default is None else {"default": str(p.default), "show_default": True}
        lists = " Comma list" + (
            "; ranges a..b, a..b:x2, a..b:+K."
            if p.kind == "int"
            else "; ranges a..b:+K, a..b:xK."
            if p.kind == "float"
            else "."
        )
        params.append(
            click.Option(
                [p.sweep_flag, p.name],
                type=click.STRING,
                required=p.required,
                metavar=kind,
                help=p.help + lists,
                **extra,
            )
        )
    params += [
        click.Option(
            ["--csv", "csv_path"],
            type=click.Path(dir_okay=False, allow_dash=True),
            metavar="FILE|-",
            help="Write every point as CSV (- for standard output).",
        ),
        click.Option(
            ["--json", "json_path"],
            type=click.Path(dir_okay=False, allow_dash=True),
            metavar="FILE|-",
            help='Write {"solver", "sweep", "pareto", "points": [{"inputs", "result", "error", "pareto"}]}.',
        ),
        click.Option(
            ["--plot"],
            type=click.Path(dir_okay=False),
            metavar="FILE.png",
            help='Draw the sweep (needs matplotlib: pip install "mlsysim-core[plot]").',
        ),
        click.Option(
            ["--bands"],
            is_flag=True,
            help="Also each point's range of every headline field over the efficiency ranges and the model error, "
            "as mlsysim <command> --bands gives it (docs/accuracy.md, Bands): in the table, --json and --plot.",
        ),
        click.Option(
            ["--pareto"],
            metavar="F:min|max,G:min|max",
            help=f"Objectives of the Pareto front (default {','.join(f'{n}:{s}' for n, s in cmd.pareto)}).",
        ),
    ]
    doc = (
        f"Sweep {cmd.solver} over lists and ranges. {cmd.summary}\n\nEvery combination is solved; invalid points "
        f"keep their error. The Pareto front ({' vs '.join(f'{n} {s}' for n, s in cmd.pareto)}) is marked."
        f"\n\n\b\nExample:\n  {cmd.sweep_example}"
    )
    from .build import KeywordCommand

    return KeywordCommand(
        cmd.name, callback=callback, params=params, help=doc, short_help=f"sweep {cmd.solver}", context_settings=CONTEXT
    )
