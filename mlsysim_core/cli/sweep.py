"""``mlsysim sweep <solver>`` over lists and ranges, with the Pareto front marked; ``mlsysim compare``.

List syntax for every option: ``a,b,c``. Integer ranges: ``1..8`` (step 1), ``1..256:x2``
(geometric: 1, 2, 4, ..., 256), ``0..100:+25`` (arithmetic). Every combination is solved: in one
vectorized call (``mlsysim_core.sweep``) for solvers that have one (roofline, serve; up to
MAX_VECTOR_POINTS points), else in a loop over ``solve()`` (up to MAX_POINTS); the rows, numbers and
schema are the same either way. A point the solver rejects (``InvalidInputError``, e.g. a tp that does
not divide the heads) is kept with its error and no result.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import re
import sys
from typing import Any, Optional

import click

from ..errors import MlsysimError
from . import CliError, main
from ._out import csv_text, dumps, flatten, result_units, table, value, write
from .solvers import OBJECT_KINDS, SPECS, P, Spec, build, lookup, recorded, solve, solver_class

MAX_POINTS = 100_000  # sweeps that call solve() once per point
MAX_VECTOR_POINTS = 20_000_000  # sweeps run by the vectorized engine (~300 bytes of columns a point)
_TABLE_ENDS = 20  # a table of more than MAX_POINTS rows shows this many at each end
_CHUNK = 1 << 16  # rows turned into Python values at a time (CSV, JSON)
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?::\s*([x+*])\s*(\d+(?:\.\d+)?))?\s*$")


def parse_list(p: P, text: str, flag: str) -> list:
    """Values of one sweep option: comma list; integer ranges a..b, a..b:xK, a..b:+K."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise CliError(flag, f"{text!r} is empty: expected a comma-separated list")
    out: list = []
    for item in items:
        m = _RANGE.match(item) if p.kind == "int" else None
        if m:
            a, b, op, k = int(m.group(1)), int(m.group(2)), m.group(3) or "+", m.group(4) or "1"
            if b < a:
                raise CliError(flag, f"range {item!r} is invalid: expected start <= end")
            if op in "x*":
                f = float(k)
                if f <= 1 or a <= 0:
                    raise CliError(flag, f"range {item!r} is invalid: a geometric range needs start > 0 and factor > 1")
                v = float(a)
                while v <= b * (1 + 1e-12):
                    out.append(int(round(v)))
                    v *= f
            else:
                step = int(float(k))
                if step < 1:
                    raise CliError(flag, f"range {item!r} is invalid: step must be >= 1")
                if len(out) + len(range(a, b + 1, step)) > MAX_VECTOR_POINTS:
                    raise CliError(flag, f"more than {MAX_VECTOR_POINTS} values")
                out.extend(range(a, b + 1, step))
            continue
        try:
            if p.kind == "int":
                out.append(int(item))
            elif p.kind == "float":
                out.append(float(item))
            elif p.kind == "choice":
                low = {c.lower(): c for c in p.choices}
                if item.lower() not in low:
                    raise CliError(flag, f"{item!r} is invalid: expected one of {', '.join(p.choices)}")
                out.append(low[item.lower()])
            elif p.kind in OBJECT_KINDS:
                out.append(lookup(p.kind, item, flag))
            else:
                out.append(item)
        except ValueError:
            raise CliError(flag, f"{item!r} is invalid: expected {'an integer or a range a..b[:xK|:+K]' if p.kind == 'int' else 'a number'}") from None
        if len(out) > MAX_VECTOR_POINTS:
            raise CliError(flag, f"more than {MAX_VECTOR_POINTS} values")
    seen: set = set()
    unique = []
    for v in out:  # keep order, drop repeats (catalog objects by key: they are not hashable)
        k = v[0] if isinstance(v, tuple) else v
        if k not in seen:
            seen.add(k)
            unique.append(v)
    return unique


def pareto_mask(points: list[dict], objectives: tuple) -> list[bool]:
    """Which points are not dominated (2 objectives, each "min" or "max"); errors and infeasible points
    are never on the front."""
    import numpy as np

    vals = np.full((len(points), 2), np.nan)
    for i, pt in enumerate(points):
        res = pt.get("result")
        if pt.get("error") or res is None or res.get("feasible") is False:
            continue
        for j, (name, sense) in enumerate(objectives):
            v = pt["inputs"].get(name, res.get(name))
            v = v.get("value") if isinstance(v, dict) else v
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                vals[i, j] = v if sense == "min" else -v
    return front(vals[:, 0], vals[:, 1]).tolist()


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


def _parse_pareto(text: Optional[str], spec: Spec) -> tuple:
    if not text:
        return spec.pareto
    parts = [s.strip() for s in text.split(",") if s.strip()]
    out = []
    for s in parts:
        name, _, sense = s.partition(":")
        if sense not in ("min", "max"):
            raise CliError("--pareto", f"{s!r} is invalid: expected FIELD:min or FIELD:max")
        out.append((name, sense))
    if len(out) != 2:
        raise CliError("--pareto", f"{text!r} is invalid: expected two objectives, e.g. latency:min,throughput:max")
    return tuple(out)


def run_sweep(spec: Spec, axes: dict[str, list], progress: bool = True) -> list[dict]:
    """Solve every combination of ``axes`` (solver keyword -> values); returns the points."""
    solver_class(spec.solver)  # a missing plugin is an error before any work
    names = list(axes)
    total = math.prod(len(v) for v in axes.values())
    if total > MAX_POINTS:
        raise CliError("sweep", f"{total} points is more than {MAX_POINTS} (sweep {spec.name} solves each point "
                                f"in turn); narrow the lists")
    combos = itertools.product(*(axes[n] for n in names))
    points: list[dict] = []

    def one(combo: tuple) -> dict:
        values = dict(zip(names, combo))
        kwargs, inputs = build(spec, values)
        try:
            result, warns = solve(spec, kwargs)
        except MlsysimError as exc:  # InvalidInputError and friends: keep the point, record why
            return {"inputs": inputs, "result": None, "error": " ".join(str(exc).split()), "warnings": []}
        return {"inputs": inputs, "result": result.to_dict(), "error": None, "warnings": warns, "_result": result}

    if progress and total >= 50:
        with click.progressbar(combos, length=total, label=f"sweep {spec.name}", file=sys.stderr) as bar:
            for combo in bar:
                points.append(one(combo))
    else:
        points = [one(c) for c in combos]
    return points


def vectorized(spec: Spec) -> bool:
    """Whether ``mlsysim sweep <spec>`` runs as one ``mlsysim_core.sweep`` call (solvers with a vectorized
    kernel, e.g. roofline and serve) rather than a loop over ``solve()``."""
    return (hasattr(solver_class(spec.solver), "_sweep_block") and spec.prepare is None
            and all(p.to_solver for p in spec.params))


class VectorPoints:
    """The points of a vectorized sweep: the same rows, order and schema as ``run_sweep`` (iterating gives
    its point dicts), kept as the ``SweepResult`` columns; CSV, the Pareto front and counts use the columns."""

    def __init__(self, spec: Spec, axes: dict[str, list], objectives: tuple):
        import numpy as np

        from ..sweep import DEFAULT_CHUNK, _Plan, sweep

        cls = solver_class(spec.solver)
        self.spec, self.axes, self.shape = spec, axes, [len(v) for v in axes.values()]
        self.n = math.prod(self.shape)
        if self.n > MAX_VECTOR_POINTS:
            raise CliError("sweep", f"{self.n} points is more than {MAX_VECTOR_POINTS}; narrow the lists")
        grid = {k: [x[1] if isinstance(x, tuple) else x for x in v] for k, v in axes.items()}
        self.res, self.warns = recorded(sweep, cls, progress=self.n > DEFAULT_CHUNK and sys.stderr.isatty(), **grid)
        plan = _Plan(cls, grid)  # sweep() varies its group axes slowest: back to itertools.product order
        swept = [name for name, _ in plan.group + plan.vector]
        self.order = np.arange(self.n).reshape(plan.group_shape + plan.vector_shape) \
            .transpose([swept.index(k) for k in axes]).ravel()
        self.valid = self.res.valid[self.order]
        self.solver = getattr(getattr(cls, "produces", None), "solver", spec.solver)
        self.fields = [f for f in self.res.fields() if f not in ("valid", "error")]
        self.units = {f: f"{self.res.unit(f):~P}" for f in self.fields if self.res.unit(f) is not None}
        feasible = self.res.si("feasible")[self.order] if "feasible" in self.fields else True
        a, b = (self._numbers(name) * (1 if sense == "min" else -1) for name, sense in objectives)
        self.front = front(np.where(self.valid & (feasible != False), a, np.nan), b)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        for start in range(0, self.n, _CHUNK):
            yield from self[start:start + _CHUNK]

    def __getitem__(self, rows: slice) -> list[dict]:
        inputs, result, errors, on = self._chunk(*rows.indices(self.n)[:2])
        out = []
        for i, err in enumerate(errors):
            res = None if err is not None else {"solver": self.solver} | {
                f: ({"value": v[i], "unit": self.units[f]} if v[i] is not None else None) if f in self.units else v[i]
                for f, v in result.items()}
            out.append({"inputs": {k: v[i] for k, v in inputs.items()}, "result": res, "error": err, "pareto": on[i]})
        return out

    def _input(self, name: str, rows: Any, numeric: bool = False) -> Any:
        """Input ``name`` at ``rows`` as the command line echoes it (catalog objects by key; None when not
        given); ``numeric``: as floats, NaN where not a number."""
        import numpy as np

        vals = [x[0] if isinstance(x, tuple) else x for x in self.axes.get(name, [None])]
        if numeric:
            vals = np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in vals])
        else:
            vals = np.array(vals + [None], dtype=object)[:-1]  # (the extra None keeps a 1-D object array)
        k = list(self.axes).index(name) if name in self.axes else len(self.shape)
        return vals[rows // math.prod(self.shape[k + 1:]) % len(vals)]

    def _numbers(self, name: str) -> Any:
        """A Pareto objective as floats (NaN where not a number), inputs first as in ``pareto_mask``."""
        import numpy as np

        if name in {p.kwarg for p in self.spec.params}:
            return self._input(name, np.arange(self.n), numeric=True)
        col = self.res.magnitude(name, self.order) if name in self.fields else np.array([None] * self.n)
        if col.dtype.kind == "O":
            return np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in col], float)
        return col.astype(float) if col.dtype.kind in "iuf" else np.full(self.n, np.nan)

    def _values(self, name: str, rows: Any, ok: Any = True, text: bool = False) -> list:
        """Result column ``name`` at ``rows`` as ``to_dict()`` gives each value (NaN -> None), None where not
        ``ok``; ``text``: numbers as the CSV writes them (repr, "" for None), each distinct one formatted once."""
        import numpy as np

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
            col = np.fromiter((None if isinstance(v, float) and not math.isfinite(v) else v
                               for v in (v.item() if isinstance(v, np.generic) else v for v in col)), object, len(col))
        out = col.astype(object)
        out[none] = None
        return out.tolist()

    def _chunk(self, start: int, stop: int, text: bool = False) -> tuple[dict, dict, list, list]:
        """Rows [start, stop) as Python values: inputs, result columns, errors (None when solved), Pareto flags."""
        import numpy as np

        rows = self.order[start:stop]
        inputs = {p.kwarg: self._input(p.kwarg, np.arange(start, stop)).tolist() for p in self.spec.params}
        result = {f: self._values(f, rows, self.valid[start:stop], text) for f in self.fields}
        clean: dict[str, str] = {}
        errors = [None if ok else clean.setdefault(e, " ".join(e.split()))
                  for ok, e in zip(self.valid[start:stop].tolist(), self.res.error[rows].tolist())]
        return inputs, result, errors, self.front[start:stop].tolist()

    def has(self, name: str) -> bool:
        """Whether any point shows ``name``: an input given, or a result value that is not None."""
        return name in self.axes or (name in self.fields and any(
            v is not None for start in range(0, self.n, _CHUNK)
            for v in self._values(name, self.order[start:start + _CHUNK], self.valid[start:start + _CHUNK])))

    def write_csv(self, path: str) -> None:
        """The CSV ``csv_text`` writes for the same points, written a chunk at a time."""
        inputs = [f"inputs.{p.kwarg}" for p in self.spec.params]
        cols = {f: f"result.{f} [{self.units[f]}]" if f in self.units else f"result.{f}" for f in self.fields}
        solved = ["result.solver", *cols.values()]
        ends = ["error", "pareto"]
        if not self.valid.any():  # columns in first-seen order: an unsolved point has only unit columns
            head = inputs + ends
        elif self.valid[0]:
            head = inputs + solved + ends
        else:
            unit_cols = [cols[f] for f in self.units]
            head = inputs + unit_cols + ends + [c for c in solved if c not in unit_cols]
        stdout = contextlib.nullcontext(click.get_text_stream("stdout"))
        with stdout if path == "-" else open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(head)
            for start in range(0, self.n, _CHUNK):
                ins, result, errors, on = self._chunk(start, min(start + _CHUNK, self.n), text=True)
                none = [None] * len(errors)
                data = {f"inputs.{k}": v for k, v in ins.items()} | {cols[k]: v for k, v in result.items()}
                data |= {"result.solver": [None if e else self.solver for e in errors],
                         "error": [e or "" for e in errors], "pareto": on}
                w.writerows(zip(*(data.get(c, none) for c in head)))


def _default_plot(spec: Spec, points: list, varied: list[str], path: str, objectives: tuple) -> None:
    from .. import plots

    def by(*prefs: str) -> str:
        for p in prefs:
            if p in varied:
                return p
        return varied[0] if varied else prefs[0]

    if spec.name == "roofline":
        x = by("batch_size", "seq_len")
        fig, _ = plots.plot_sweep(points, x, ["latency", "throughput"], series=[v for v in varied if v != x])
    elif spec.name == "serve":
        x = by("batch_size", "seq_len", "tp_size")
        fig, _ = plots.plot_sweep(points, x, ["itl", "tokens_per_second"], series=[v for v in varied if v != x])
    elif spec.name == "train" and ({"nodes", "fleet"} & set(varied)):
        fig, _ = plots.plot_scaling(points)
    elif spec.name == "carbon" and "datacenter" in varied:
        fig, _ = plots.plot_carbon(points)
    else:
        (x, _), (y, _) = objectives
        fig, _ = plots.plot_pareto(points, x, y, label=varied)
    plots.save(fig, path)
    click.echo(f"wrote {path}", err=True)


def make_sweep_command(spec: Spec) -> click.Command:
    def callback(csv_path: Optional[str], json_path: Optional[str], plot: Optional[str], pareto: Optional[str],
                 **values: Any) -> None:
        ctx = click.get_current_context()
        ctx.meta["mlsysim.options"] = {p.kwarg: p.sweep_flag for p in spec.params}
        objectives = _parse_pareto(pareto, spec)
        axes: dict[str, list] = {}
        for p in spec.params:
            text = values.get(p.kwarg)
            if text is None:
                continue
            axes[p.kwarg] = parse_list(p, text, p.sweep_flag)
        varied = [k for k, v in axes.items() if len(v) > 1]
        vec = vectorized(spec)
        points: Any = VectorPoints(spec, axes, objectives) if vec else run_sweep(spec, axes)
        units: dict = {}
        if vec:
            warns = sorted(points.warns)
        else:
            for pt, on in zip(points, pareto_mask(points, objectives)):
                pt["pareto"] = on
            warns = sorted({w for pt in points for w in pt.pop("warnings", [])})
            for pt in points:
                r = pt.pop("_result", None)
                if r is not None and not units:
                    units = result_units(r)
        doc = {"solver": spec.solver, "sweep": {k: [x[0] if isinstance(x, tuple) else x for x in v] for k, v in axes.items()},
               "pareto": [f"{n}:{s}" for n, s in objectives], "points": points}
        if json_path:
            write(json_path, dumps(doc | {"points": list(points)}) + "\n")
        if csv_path and vec:
            points.write_csv(csv_path)
        elif csv_path:
            rows = []
            for pt in points:
                row = flatten("", {"inputs": pt["inputs"]}, {})
                res = pt["result"] or dict.fromkeys(k.split(".", 1)[1] for k in units)
                flatten("", {"result": res}, row, units)
                rows.append(row | {"error": pt["error"] or "", "pareto": pt["pareto"]})
            write(csv_path, csv_text(rows))
        if "-" not in (json_path, csv_path):
            shown = [f for f in spec.key_fields[:4]] + [n for n, _ in objectives if n not in spec.key_fields[:4]]
            if "feasible" in spec.key_fields and "feasible" not in shown:
                shown.append("feasible")
            shown = [f for f in shown  # drop columns no point has (e.g. time_to_train without --tokens)
                     if (points.has(f) if vec else any((pt["result"] or {}).get(f) is not None
                                                        or pt["inputs"].get(f) is not None for pt in points))]
            head = (varied or list(axes)[:2]) + shown + ["pareto", "error"]
            total = len(points)
            rows = []
            for pt in points if total <= MAX_POINTS else [*points[:_TABLE_ENDS], None, *points[total - _TABLE_ENDS:]]:
                if pt is None:  # a huge sweep: its ends only (every point: --csv or --json)
                    rows.append([f"... {total - 2 * _TABLE_ENDS} more"] + [""] * (len(head) - 1))
                    continue
                res = pt["result"] or {}
                rows.append([_cell(pt["inputs"].get(k)) for k in varied or list(axes)[:2]]
                            + [_cell(pt["inputs"].get(f, res.get(f))) for f in shown]
                            + ["*" if pt["pareto"] else "", pt["error"] or ""])
            click.echo(table(head, rows))
            ok = int(points.valid.sum()) if vec else sum(1 for pt in points if not pt["error"])
            on = int(points.front.sum()) if vec else sum(pt["pareto"] for pt in points)
            click.echo(f"\n{total} points, {ok} solved, {on} on the Pareto front "
                       f"({', '.join(f'{n} {s}' for n, s in objectives)})", err=True)
        for w in warns:
            click.echo(f"warning: {w}", err=True)
        if plot:
            _default_plot(spec, list(points), varied, plot, objectives)

    params: list[click.Parameter] = []
    for p in spec.params:
        kind = {"int": "INTS", "float": "NUMS", "choice": "|".join(p.choices[:4]) + ",...",
                "str": "TEXTS"}.get(p.kind, "KEYS")
        extra = {} if p.default is None else {"default": str(p.default), "show_default": True}
        params.append(click.Option([p.sweep_flag, p.kwarg], type=click.STRING, required=p.required, metavar=kind, **extra,
                                   help=p.help + (" Comma list" + ("; ranges a..b, a..b:x2, a..b:+K." if p.kind == "int" else ".")
                                                  if p.kind != "choice" else " Comma list.")))
    params += [
        click.Option(["--csv", "csv_path"], type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE|-",
                     help="Write every point as CSV (- for standard output)."),
        click.Option(["--json", "json_path"], type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE|-",
                     help='Write {"solver", "sweep", "pareto", "points": [{"inputs", "result", "error", "pareto"}]}.'),
        click.Option(["--plot"], type=click.Path(dir_okay=False), metavar="FILE.png",
                     help='Draw the sweep (needs matplotlib: pip install "mlsysim-core[plot]").'),
        click.Option(["--pareto"], metavar="F:min|max,G:min|max",
                     help=f"Objectives of the Pareto front (default {','.join(f'{n}:{s}' for n, s in spec.pareto)})."),
    ]
    doc = (f"Sweep {spec.solver} over lists and ranges. {spec.summary}\n\nEvery combination is solved; invalid points "
           f"keep their error. The Pareto front ({' vs '.join(f'{n} {s}' for n, s in spec.pareto)}) is marked."
           f"\n\n\b\nExample:\n  {spec.sweep_example}")
    return click.Command(spec.name, callback=callback, params=params, help=doc, short_help=f"sweep {spec.solver}",
                         context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})


def _cell(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"value", "unit"}:
        from ._out import number

        return f"{number(v['value']) if v['value'] is not None else '-'} {v['unit']}".strip()
    return value(v)


@main.group("sweep", context_settings={"help_option_names": ["-h", "--help"]})
def sweep_cmd() -> None:
    """Solve every combination of lists/ranges of inputs; write CSV or JSON, mark the Pareto front.

    \b
    Example:
      mlsysim sweep roofline --model Llama3_8B --hardware A100,H100,B200 --batch-size 1,8,64,256 --precision fp16,fp8 --csv out.csv
      mlsysim sweep train --model Llama3_8B --cluster Research_256 --nodes 1..32:x2 --tp 8 --batch-size 512 --plot scaling.png
    """


for _spec in SPECS.values():
    sweep_cmd.add_command(make_sweep_command(_spec))


# --------------------------------------------------------------------------- compare


def _wall(r: Any) -> tuple[str, str]:
    """(wall, reason) of a SingleNodeModel result: capacity, memory or compute."""
    if not r.feasible:
        return "capacity", (f"needs {r.memory_footprint.to('GB').magnitude:.4g} GB > "
                            f"{r.memory_available.to('GB').magnitude:.4g} GB usable"
                            + ("; spills over the host link" if r.offload_spill_bytes is not None and math.isfinite(r.latency.magnitude) else ""))
    ai, ridge = r.arithmetic_intensity.magnitude, r.ridge_point.magnitude
    if r.bottleneck == "Memory":
        return "memory", f"intensity {ai:.3g} < ridge {ridge:.3g} FLOP/B"
    return "compute", f"intensity {ai:.3g} >= ridge {ridge:.3g} FLOP/B"


@main.command("compare", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("hardware", nargs=-1, required=True, metavar="HW1 HW2 [...]")
@click.option("--model", required=True, help="Catalog model key.")
@click.option("--batch-size", type=int, default=1, show_default=True, help="Samples (decode sequences) per step.")
@click.option("--precision", type=click.Choice(SPECS["roofline"].params[3].choices, case_sensitive=False),
              help="Precision (default: each part's own default_precision).")
@click.option("--seq-len", type=int, help="Transformer KV context per sequence (decode step).")
@click.option("--efficiency", type=float, help="Achieved fraction of peak FLOP/s in (0, 1].")
@click.option("--json", "as_json", is_flag=True, help='JSON: {"solver", "inputs", "baseline", "rows": [...]}.')
@click.option("--csv", "as_csv", is_flag=True, help="CSV rows.")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.png", help="Rooflines of every part with the workload on each.")
def compare_cmd(hardware: tuple, model: str, batch_size: int, precision: str, seq_len: Optional[int],
                efficiency: Optional[float], as_json: bool, as_csv: bool, plot: Optional[str]) -> None:
    """Side by side: one step of --model on each accelerator, the ratio to the first, and which wall
    each hits (compute, memory bandwidth, or capacity).

    \b
    Example:
      mlsysim compare A100 H100 B200 --model Llama3_8B --batch-size 8
    """
    spec = SPECS["roofline"]
    ctx = click.get_current_context()
    ctx.meta["mlsysim.options"] = {"model": "--model", "hardware": "HW", "batch_size": "--batch-size",
                                   "precision": "--precision", "seq_len": "--seq-len", "efficiency": "--efficiency"}
    resolved = [lookup("hardware", h, f"HW {h!r}") for h in hardware]
    mkey, mobj = lookup("model", model, "--model")
    rows, results, warns = [], [], []
    for key, hw in resolved:
        kwargs, inputs = build(spec, {"model": (mkey, mobj), "hardware": (key, hw), "batch_size": batch_size,
                                      "precision": precision, "seq_len": seq_len, "efficiency": efficiency})
        r, w = solve(spec, kwargs)
        warns += w
        results.append((key, hw, r))
    base = results[0][2]
    base_lat = base.latency.to("s").magnitude
    data_rows = []
    for key, hw, r in results:
        lat = r.latency.to("s").magnitude
        speedup = base_lat / lat if lat and math.isfinite(lat) and math.isfinite(base_lat) else None
        wall, reason = _wall(r)
        data_rows.append({"hardware": key, "speedup_vs_baseline": speedup, "wall": wall, "reason": reason,
                          "result": r.to_dict()})
        rows.append([key, value(r.latency), value(r.throughput), f"{speedup:.3g}x" if speedup else "-",
                     wall, reason, f"{r.mfu:.1%}", value(r.memory_footprint)])
    inputs = {"model": mkey, "batch_size": batch_size, "precision": precision, "seq_len": seq_len,
              "efficiency": efficiency}
    if as_json:
        click.echo(dumps({"solver": spec.solver, "inputs": inputs, "baseline": results[0][0], "rows": data_rows}))
    elif as_csv:
        click.echo(csv_text([{"hardware": d["hardware"], "speedup_vs_baseline": d["speedup_vs_baseline"],
                              "wall": d["wall"], "reason": d["reason"]} | flatten("", {"result": d["result"]}, {})
                             for d in data_rows]), nl=False)
    else:
        click.echo(f"{base.model} ({precision or 'each part at its default precision'}, batch {batch_size}"
                   + (f", context {seq_len}" if seq_len else "") + f"); speedup vs {results[0][0]}\n")
        click.echo(table(["hardware", "latency", "throughput", "speedup", "wall", "why", "MFU", "memory"], rows))
    for w in dict.fromkeys(warns):
        click.echo(f"warning: {w}", err=True)
    if plot:
        from .. import plots

        fig, _ = plots.plot_roofline([hw for _, hw, _ in results], [r for _, _, r in results],
                                     precisions=sorted({r.precision for _, _, r in results}))
        plots.save(fig, plot)
        click.echo(f"wrote {plot}", err=True)
