"""The validation harness: run every mapped measurement through the solvers and report the error.

A *mapping* (``points.py``) turns one record of ``data/measurements.json`` into solver calls and
returns the predicted value in the record's own unit, with a one-line description of how (``how``)
and the assumptions the source leaves open (``assumptions``). Records with no sensible mapping are
listed in ``points.SKIPPED`` with the reason. Nothing is tuned per point: every mapping uses the
solvers' shipped defaults (``mlsysim_physics.efficiency`` and the plugins' named defaults).

Error of a point: (predicted - measured) / measured. A one-sided record (``bound``: "lower", the source
states "at least" or "higher than" the value; "upper", "at most") scores 0 when the prediction lies on
the side the bound allows, else the same signed distance to the bound (:func:`relative_error`). A
group's accuracy is the median (and max) of
the absolute errors of its ``prediction`` rows. Rows of kind ``accounting`` (the source's own
arithmetic, e.g. GPU-hours x TDP, reproduced to check scope and units) and ``input`` (a datum the
models take as input, compared with the catalog's value) are reported but not counted.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
import warnings
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

from . import points
from .points import Mapping

GROUPS = {
    "A": "single-accelerator inference",
    "B": "LLM serving",
    "C": "distributed training",
    "D": "economics",
    "E": "energy, carbon, water",
    "F": "reliability",
    "G": "LLM forward passes measured in this project (one H200, bare PyTorch)",
    "L": "LLM serving under load: TTFT",
    "M": "LLM serving under load: ITL",
    "S": "speculative decoding",
    "P": "disaggregated serving: prefill and decode pools",
    "W": "accelerator power draw",
    "T": "LLM training steps measured in this project (one H200, bare PyTorch)",
}


def data_path(name: str) -> Path:
    """Path of a file shipped in ``mlsysim_validation/data``."""
    return Path(str(resources.files("mlsysim_validation").joinpath("data", name)))


def load_measurements(path: Path | None = None) -> list[dict]:
    """The measurement records (the shipped copy of the shared calibration set unless ``path``)."""
    return json.loads((Path(path) if path else data_path("measurements.json")).read_text())


def added_measurements() -> list[dict]:
    """Published measurements this project adds to the shared set (``data/added_measurements.json``,
    the same record format, each with its source)."""
    return json.loads(data_path("added_measurements.json").read_text())


#: the side a one-sided record bounds: "lower" (the truth is at least its value) or "upper" (at most)
BOUNDS = ("lower", "upper")


@functools.cache
def _shared_bounds() -> dict[str, dict]:
    """``bound`` of the shared set's one-sided records (``data/bounds.json``: the shipped copy of that set
    stays verbatim, so their bound is stated beside it, with the source's words); read once per process."""
    return json.loads(data_path("bounds.json").read_text())


def bound_of(rec: dict) -> str | None:
    """The record's ``bound`` (its own field, else ``data/bounds.json``'s); None: an exact value."""
    b = rec["bound"] if "bound" in rec else _shared_bounds().get(rec["id"], {}).get("bound")
    if b is not None and b not in BOUNDS:
        raise InvalidInputError(f"bound of {rec['id']}", b, "lower or upper")
    return b


def relative_error(predicted: float, measured: float, bound: str | None = None) -> float:
    """(predicted - measured) / measured; for a one-sided record 0 when ``predicted`` satisfies the
    bound (lower: predicted >= measured; upper: predicted <= measured), else that signed distance."""
    error = (predicted - measured) / measured
    if (bound == "lower" and error >= 0) or (bound == "upper" and error <= 0):
        return 0.0
    return error


@attrs.frozen(kw_only=True)
class Row:
    """One measurement: predicted vs measured, or why it was skipped/failed."""

    id: str
    group: str
    quantity: str
    unit: str
    measured: Any
    predicted: float | None = None
    error: float | None = None  # signed relative error (pred - meas) / meas, 0 on a bound's allowed side
    bound: str | None = None  # "lower" / "upper": a one-sided record (BOUNDS)
    status: str = "ok"  # ok | skipped | failed
    kind: str = "prediction"
    how: str = ""
    assumptions: str = ""
    reason: str = ""  # why skipped / failed
    notes: tuple = ()  # warnings raised by the solvers for this point
    source: str = ""

    @property
    def counted(self) -> bool:
        """Counts toward the group's median/max."""
        return self.status == "ok" and self.kind == "prediction" and self.error is not None

    def to_dict(self) -> dict:
        d = attrs.asdict(self)
        d["notes"] = list(self.notes)
        d["abs_error"] = None if self.error is None else abs(self.error)
        return d


def _summary(rows: Iterable[Row]) -> dict:
    rows = list(rows)
    errs = [abs(r.error) for r in rows if r.counted and r.error is not None]  # (counted: error is not None)
    return {
        "points": len(rows),
        "counted": len(errs),
        "median_abs_error": statistics.median(errs) if errs else None,
        "max_abs_error": max(errs) if errs else None,
        "mapped_not_counted": sum(1 for r in rows if r.status == "ok" and not r.counted),
        "skipped": sum(1 for r in rows if r.status == "skipped"),
        "failed": sum(1 for r in rows if r.status == "failed"),
    }


@attrs.frozen
class Report:
    """All rows of one run and the per-group summary."""

    rows: tuple

    def group(self, g: str) -> list[Row]:
        return [r for r in self.rows if r.group == g]

    def summary(self) -> dict:
        """{group: {points, counted, median_abs_error, max_abs_error, skipped, failed, ...}}."""
        return {g: dict(_summary(self.group(g)), title=GROUPS[g]) for g in GROUPS if self.group(g)}

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "points": [r.to_dict() for r in self.rows]}

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), indent=kw.pop("indent", 1), **kw)

    def table(self, verbose: bool = False) -> str:
        """Plain-text table: one line per point, then the per-group summary."""
        out = [f"{'id':56s} {'kind':10s} {'predicted':>11s} {'measured':>11s} {'error':>8s}  unit"]
        for r in self.rows:
            if r.status == "ok":
                side = f"({r.bound} bound) " if r.bound else ""
                out.append(
                    f"{r.id:56s} {r.kind:10s} {r.predicted:>11.4g} {r.measured:>11.4g} {r.error:>+8.1%}  {side}{r.unit}"
                )
                if verbose:
                    out.append(f"{'':6s}how: {r.how}")
                    out.append(f"{'':6s}assumed: {r.assumptions}")
                    for n in r.notes:
                        out.append(f"{'':6s}note: {n}")
            else:
                out.append(f"{r.id:56s} {r.status:10s} {'-':>11s} {str(r.measured)[:11]:>11s} {'-':>8s}  {r.reason}")
        out.append("")
        for g, s in self.summary().items():
            med = "-" if s["median_abs_error"] is None else f"{s['median_abs_error']:.1%}"
            mx = "-" if s["max_abs_error"] is None else f"{s['max_abs_error']:.1%}"
            out.append(
                f"group {g} ({s['title']}): median |error| {med}, max {mx} over {s['counted']} predictions; "
                f"{s['mapped_not_counted']} accounting/input rows, {s['skipped']} skipped, {s['failed']} failed"
            )
        return "\n".join(out)

    def plot(self, path: str | Path) -> Path:
        """Scatter of predicted vs measured, one panel per group (log-log), written to ``path``.

        Needs matplotlib (``pip install "mlsysim-validation[plot]"``); raises ImportError without it."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
        except ImportError:
            raise ImportError('the accuracy plot needs matplotlib: pip install "mlsysim-validation[plot]"') from None
        groups = [g for g in GROUPS if any(r.status == "ok" for r in self.group(g))]
        cols = min(3, max(1, len(groups)))
        rows_n = math.ceil(len(groups) / cols)
        fig = Figure(figsize=(4.2 * cols, 4.0 * rows_n), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows_n, cols, squeeze=False)
        for ax in axes.flat[len(groups) :]:
            ax.set_visible(False)
        for ax, g in zip(axes.flat, groups):
            pts = [
                r
                for r in self.group(g)
                if r.status == "ok" and r.measured > 0 and r.predicted is not None and r.predicted > 0
            ]
            for kind, marker in (("prediction", "o"), ("accounting", "s"), ("input", "^")):
                sel = [r for r in pts if r.kind == kind]
                if sel:
                    ax.scatter([r.measured for r in sel], [r.predicted for r in sel], marker=marker, label=kind, s=22)
            lo = min(min(r.measured, r.predicted) for r in pts)
            hi = max(max(r.measured, r.predicted) for r in pts)
            ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
            for f in (0.8, 1.25):
                ax.plot([lo, hi], [lo * f, hi * f], "k:", lw=0.6)
            ax.set_xscale("log")
            ax.set_yscale("log")
            for axis in (ax.xaxis, ax.yaxis):  # no overlapping minor labels; 1, 2, 5 within two decades
                axis.set_minor_formatter(NullFormatter())
                if hi / lo < 100:
                    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            s = _summary(self.group(g))
            med = "-" if s["median_abs_error"] is None else f"{s['median_abs_error']:.0%}"
            ax.set_title(f"{g}: {GROUPS[g]} (median {med})", fontsize=9)
            ax.set_xlabel("measured (record unit)", fontsize=8)
            ax.set_ylabel("predicted", fontsize=8)
            ax.legend(fontsize=7)
        path = Path(path)
        fig.savefig(str(path), dpi=120)
        return path


def _run_one(rec: dict, m: Mapping) -> Row:
    base = dict(
        id=rec["id"],
        group=rec["group"],
        quantity=rec["quantity"],
        unit=rec["unit"],
        measured=rec["value"],
        bound=bound_of(rec),
        kind=m.kind,
        how=m.how,
        assumptions=m.assumptions,
        source=rec.get("source", {}).get("title", ""),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pred = float(m.fn())
        except Exception as exc:  # reported as a failed row, never hidden
            return Row(**base, status="failed", reason=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    return Row(**base, predicted=pred, error=relative_error(pred, float(rec["value"]), base["bound"]), notes=notes)


def run(groups: Iterable[str] | None = None, measurements: list[dict] | None = None) -> Report:
    """Run every measurement of ``groups`` (default all) through its mapping."""
    wanted = set(groups) if groups is not None else set(GROUPS)
    for g in wanted:
        if g not in GROUPS:
            raise InvalidInputError("group", g, "one of " + ", ".join(GROUPS))
    recs = load_measurements() + added_measurements() if measurements is None else measurements
    maps = points.mappings()
    rows = []
    for rec in recs:
        if rec["group"] not in wanted:
            continue
        m = maps.get(rec["id"])
        if m is not None:
            rows.append(_run_one(rec, m))
            continue
        reason = points.SKIPPED.get(rec["id"], "no mapping written for this record yet")
        rows.append(
            Row(
                id=rec["id"],
                group=rec["group"],
                quantity=rec["quantity"],
                unit=rec["unit"],
                measured=rec["value"],
                status="skipped",
                reason=reason,
                source=rec.get("source", {}).get("title", ""),
            )
        )
    return Report(tuple(rows))


def recorded_errors() -> dict:
    """The recorded per-group medians/maxima the ratchet test holds the harness to."""
    return json.loads(data_path("recorded_errors.json").read_text())


def upstream_errors() -> dict | None:
    """Upstream mlsysim 0.1.1 on the same points (written by bench/upstream_accuracy.py), if shipped."""
    p = data_path("upstream_0.1.1.json")
    return json.loads(p.read_text()) if p.exists() else None
