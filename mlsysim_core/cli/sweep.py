"""``mlsysim sweep <solver>`` over lists and ranges, with the Pareto front marked; ``mlsysim compare``.

List syntax for every option: ``a,b,c``. Integer ranges: ``1..8`` (step 1), ``1..256:x2``
(geometric: 1, 2, 4, ..., 256), ``0..100:+25`` (arithmetic). Every combination is solved (a loop
over ``solve()``); a point the solver rejects (``InvalidInputError``, e.g. a tp that does not divide
the heads) is kept with its error and no result.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from typing import Any, Optional

import click

from ..errors import MlsysimError
from . import CliError, main
from ._out import csv_text, dumps, flatten, result_units, table, value, write
from .solvers import OBJECT_KINDS, SPECS, P, Spec, build, lookup, solve, solver_class

MAX_POINTS = 100_000
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
        if len(out) > MAX_POINTS:
            raise CliError(flag, f"more than {MAX_POINTS} values")
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
    are never on the front. O(n log n): sort by the first objective, keep strict improvements of the second."""
    cand = []
    for i, pt in enumerate(points):
        res = pt.get("result")
        if pt.get("error") or res is None or res.get("feasible") is False:
            continue
        vals = []
        for name, sense in objectives:
            v = pt["inputs"].get(name, res.get(name))
            v = v.get("value") if isinstance(v, dict) else v
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                break
            vals.append(v if sense == "min" else -v)
        else:
            cand.append((vals[0], vals[1], i))
    mask = [False] * len(points)
    cand.sort()
    best = math.inf
    j = 0
    while j < len(cand):  # points with equal first objective: only the best second can be on the front
        k = j
        while k < len(cand) and cand[k][0] == cand[j][0]:
            k += 1
        group_best = cand[j][1]
        if group_best < best:
            for a, b, i in cand[j:k]:
                if b == group_best:
                    mask[i] = True
            best = group_best
        j = k
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
        raise CliError("sweep", f"{total} points is more than {MAX_POINTS}; narrow the lists")
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
        points = run_sweep(spec, axes)
        for pt, on in zip(points, pareto_mask(points, objectives)):
            pt["pareto"] = on
        warns = sorted({w for pt in points for w in pt.pop("warnings", [])})
        units: dict = {}
        for pt in points:
            r = pt.pop("_result", None)
            if r is not None and not units:
                units = result_units(r)
        doc = {"solver": spec.solver, "sweep": {k: [x[0] if isinstance(x, tuple) else x for x in v] for k, v in axes.items()},
               "pareto": [f"{n}:{s}" for n, s in objectives], "points": points}
        if json_path:
            write(json_path, dumps(doc) + "\n")
        if csv_path:
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
                     if any((pt["result"] or {}).get(f) is not None or pt["inputs"].get(f) is not None for pt in points)]
            rows = []
            for pt in points:
                res = pt["result"] or {}
                rows.append([_cell(pt["inputs"].get(k)) for k in varied or list(axes)[:2]]
                            + [_cell(pt["inputs"].get(f, res.get(f))) for f in shown]
                            + ["*" if pt["pareto"] else "", pt["error"] or ""])
            head = (varied or list(axes)[:2]) + shown + ["pareto", "error"]
            click.echo(table(head, rows))
            ok = sum(1 for pt in points if not pt["error"])
            click.echo(f"\n{len(points)} points, {ok} solved, {sum(pt['pareto'] for pt in points)} on the Pareto front "
                       f"({', '.join(f'{n} {s}' for n, s in objectives)})", err=True)
        for w in warns:
            click.echo(f"warning: {w}", err=True)
        if plot:
            _default_plot(spec, points, varied, plot, objectives)

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
@click.option("--precision", default="fp16", show_default=True, type=click.Choice(SPECS["roofline"].params[3].choices,
              case_sensitive=False), help="Precision.")
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
        click.echo(f"{base.model} ({precision}, batch {batch_size}"
                   + (f", context {seq_len}" if seq_len else "") + f"); speedup vs {results[0][0]}\n")
        click.echo(table(["hardware", "latency", "throughput", "speedup", "wall", "why", "MFU", "memory"], rows))
    for w in dict.fromkeys(warns):
        click.echo(f"warning: {w}", err=True)
    if plot:
        from .. import plots

        fig, _ = plots.plot_roofline([hw for _, hw, _ in results], [r for _, _, r in results], precisions=[precision])
        plots.save(fig, plot)
        click.echo(f"wrote {plot}", err=True)
