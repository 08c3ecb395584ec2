"""``mlsysim calibrate``: fit one hardware's efficiencies to the user's own serving measurements.

Input: CSV or JSON rows ``model, hardware, seq_len, batch_size, quantity, value, unit`` and optionally
``output_len, precision, tp`` (``quantity``: a key of ``QUANTITIES``; ``itl_continuous`` is the mean
ITL of a closed loop of ``batch_size`` clients with one prefill interleaved per request, as benchmark
tools report it).
Fitted: ``compute`` and ``memory`` (achieved fractions of peak, in (0, 1]) and ``engine_overhead``
(host time per engine iteration, 0-50 ms) of ``ServingModel``, by bounded least squares
(``scipy.optimize.least_squares``, trust-region reflective) on the log ratios
ln(predicted / measured): relative errors, so a 1 ms ITL and a 2 s TTFT weigh alike. The fit
report gives each point's error and the leave-one-out error (refit without the point, predict it).
The overlay is the hardware's own catalog entry plus a ``calibration`` table (and the points, so a
second call with more points refines the fit) that ``--catalog``/``load_catalog()`` apply.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

#: fields of ServingModel a measurement may give, with a unit of their dimension
QUANTITIES = {
    "ttft": "ms",
    "itl": "ms",
    "itl_mean": "ms",
    "itl_continuous": "ms",
    "e2e_latency": "ms",
    "tokens_per_second": "1/s",
    "output_tokens_per_second": "1/s",
}
PARAMETERS = ("compute", "memory", "engine_overhead")
#: (low, high) of each fitted parameter: fractions of peak; engine overhead in s.
BOUNDS = {"compute": (0.02, 1.0), "memory": (0.02, 1.0), "engine_overhead": (0.0, 0.05)}
#: A fit whose worst point is off by more than this (relative) means the points contradict each other.
CONTRADICTION = 0.25
_REQUIRED = ("model", "hardware", "seq_len", "batch_size", "quantity", "value", "unit")


@attrs.frozen
class Point:
    """One measurement of the user's, as solver arguments and a value in SI."""

    model: str
    hardware: str
    seq_len: int
    batch_size: int
    output_len: int | None
    precision: str | None
    tp: int
    quantity: str
    value: float  # SI
    row: dict


def read_points(path: str | Path) -> list[Point]:
    """Rows of a CSV or JSON file (a list of objects) as points; a missing field or unit is an error."""
    path = Path(path)
    text = path.read_text()
    rows = json.loads(text) if path.suffix.lower() == ".json" else list(csv.DictReader(text.splitlines()))
    if not isinstance(rows, list):
        raise InvalidInputError("runs", str(path), "a CSV file or a JSON list of measurement objects")
    return [_point(i + 1, dict(r)) for i, r in enumerate(rows)]


def _point(n: int, r: dict) -> Point:
    from mlsysim_core.units import Q_

    for k in _REQUIRED:
        if r.get(k) in (None, ""):
            raise InvalidInputError(f"row {n}.{k}", None, f"a value (every row needs {', '.join(_REQUIRED)})")
    q = str(r["quantity"]).strip()
    if q not in QUANTITIES:
        raise InvalidInputError(f"row {n}.quantity", q, "one of " + ", ".join(QUANTITIES))
    try:
        value = Q_(float(r["value"]), str(r["unit"]).strip()).to(QUANTITIES[q]).to_base_units().magnitude
    except Exception:
        raise InvalidInputError(f"row {n}.unit", r["unit"], f"a unit convertible to {QUANTITIES[q]}") from None
    if not value > 0:
        raise InvalidInputError(f"row {n}.value", r["value"], "a positive number")

    def whole(k: str, default: Any) -> Any:
        v = r.get(k)
        if v in (None, ""):
            return default
        try:
            return int(v)
        except ValueError:
            raise InvalidInputError(f"row {n}.{k}", v, "an integer") from None

    return Point(
        model=str(r["model"]).strip(),
        hardware=str(r["hardware"]).strip(),
        seq_len=whole("seq_len", None),
        batch_size=whole("batch_size", None),
        output_len=whole("output_len", None),
        precision=(str(r["precision"]).strip() or None) if r.get("precision") else None,
        tp=whole("tp", 1),
        quantity=q,
        value=value,
        row={k: v for k, v in r.items() if v not in (None, "")},
    )


def predict(points: list[Point], hardware: Any, models: dict, x: Any = None) -> list[float]:
    """Each point's predicted value (SI) at parameters ``x`` = (compute, memory, engine_overhead), or
    at the shipped defaults when ``x`` is None."""
    import mlsysim

    s = mlsysim.ServingModel()
    fixed = {} if x is None else dict(zip(("efficiency", "memory_efficiency", "engine_overhead"), map(float, x)))
    out = []
    for p in points:
        r = s.solve(
            models[p.model],
            hardware,
            p.seq_len,
            p.batch_size,
            precision=p.precision,
            tp_size=p.tp,
            output_len=p.output_len,
            **fixed,
        )
        out.append(r.si(p.quantity))
    return out


def fit(points: list[Point], hardware: Any, models: dict) -> Any:
    """Bounded least squares of ln(predicted / measured) over the three parameters."""
    import numpy as np
    from scipy.optimize import least_squares

    measured = np.array([p.value for p in points])
    low = [BOUNDS[k][0] for k in PARAMETERS]
    high = [BOUNDS[k][1] for k in PARAMETERS]
    x0 = [0.6, 0.87, 1e-3]

    def residuals(x: Any) -> Any:
        return np.log(np.array(predict(points, hardware, models, x)) / measured)

    return least_squares(residuals, x0, bounds=(low, high), method="trf", x_scale=[0.1, 0.1, 1e-3])


@attrs.frozen
class Calibration:
    """A fit: the parameters, each point's error before (defaults) and after, and leave-one-out."""

    hardware_key: str
    values: dict
    spread: dict  # parameter -> (low, high) over the full fit and the leave-one-out fits
    points: list
    before: list
    after: list
    loo: list

    def report(self) -> str:
        from mlsysim_core.cli._out import table

        rows = [
            [p.model, p.quantity, p.seq_len, p.batch_size, p.output_len or "-", f"{b:+.1%}", f"{a:+.1%}", f"{o:+.1%}"]
            for p, b, a, o in zip(self.points, self.before, self.after, self.loo)
        ]
        med = _median
        v = self.values
        r = self.spread
        return "\n".join(
            [
                f"calibrated {self.hardware_key} on {len(self.points)} measurements: compute {v['compute']:.3f}, "
                f"memory {v['memory']:.3f}, engine_overhead {v['engine_overhead'] * 1e3:.3f} ms",
                f"range over the leave-one-out fits (the bands of this hardware): compute "
                f"{r['compute'][0]:.3f}-{r['compute'][1]:.3f}, memory {r['memory'][0]:.3f}-{r['memory'][1]:.3f}, "
                f"engine_overhead {r['engine_overhead'][0] * 1e3:.3f}-{r['engine_overhead'][1] * 1e3:.3f} ms",
                "",
                table(["model", "quantity", "seq", "batch", "out", "default", "fitted", "leave-one-out"], rows),
                "",
                f"median |error|: default {med(self.before):.1%}, fitted {med(self.after):.1%}, "
                f"leave-one-out {med(self.loo):.1%}",
            ]
        )


def _median(errors: list) -> float:
    import statistics

    return statistics.median(abs(e) for e in errors)


def calibrate(runs: str | Path, previous: list[dict] | None = None) -> Calibration:
    """Fit the points of ``runs`` (plus ``previous`` rows, from an earlier overlay) for one hardware."""
    from mlsysim_core.cli import lookup

    points = [_point(i + 1, r) for i, r in enumerate(previous or [])] + read_points(runs)
    keys = {lookup("hardware", p.hardware, "hardware")[0] for p in points}
    if len(keys) != 1:
        raise InvalidInputError("runs", ", ".join(sorted(keys)), "measurements of one hardware (one overlay each)")
    key = keys.pop()
    hardware = lookup("hardware", key, "hardware")[1]
    models = {p.model: lookup("model", p.model, "model")[1] for p in points}
    if len(points) < len(PARAMETERS):
        raise InvalidInputError(
            "runs", f"{len(points)} measurements", f"at least {len(PARAMETERS)} (one per fitted parameter)"
        )
    measured = [p.value for p in points]
    res = fit(points, hardware, models)
    after = [math.expm1(r) for r in res.fun]
    worst = max(range(len(after)), key=lambda i: abs(after[i]))
    if abs(after[worst]) > CONTRADICTION:
        raise InvalidInputError(
            "runs",
            f"row {worst + 1} ({points[worst].quantity} of {points[worst].model}) still off by {after[worst]:+.0%}",
            f"measurements that one set of efficiencies in (0, 1] and an engine overhead explains within "
            f"{CONTRADICTION:.0%}: they contradict each other (different engines, settings or a unit slip?)",
        )
    loo, fits = [], [res.x]
    for i in range(len(points)):
        rest = points[:i] + points[i + 1 :]
        fits.append(fit(rest, hardware, models).x)
        loo.append(predict([points[i]], hardware, models, fits[-1])[0] / measured[i] - 1.0)
    before = [p / m - 1.0 for p, m in zip(predict(points, hardware, models), measured)]
    return Calibration(
        hardware_key=key,
        values=dict(zip(PARAMETERS, (float(v) for v in res.x))),
        spread={k: (float(min(f[j] for f in fits)), float(max(f[j] for f in fits))) for j, k in enumerate(PARAMETERS)},
        points=points,
        before=before,
        after=after,
        loo=loo,
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms"


def overlay(cal: Calibration) -> str:
    """The overlay TOML: the hardware's catalog table as shipped, plus the calibration table."""
    from mlsysim_core.catalog_files import read_file
    from mlsysim_core.plugins import catalog

    entry = catalog().entry("hardware", cal.hardware_key)
    table = next(r.table for r in read_file(entry.file) if r.section == "hardware" and r.key == cal.hardware_key)
    table = {k: v for k, v in table.items() if k != "calibration"}
    v, r = cal.values, cal.spread
    table["calibration"] = {
        "compute": round(v["compute"], 4),
        "memory": round(v["memory"], 4),
        "engine_overhead": _ms(v["engine_overhead"]),
        "range": {
            "compute": [round(x, 4) for x in r["compute"]],
            "memory": [round(x, 4) for x in r["memory"]],
            "engine_overhead": [_ms(x) for x in r["engine_overhead"]],
        },
        "source": f"mlsysim calibrate: {len(cal.points)} measurements, leave-one-out median |error| "
        f"{_median(cal.loo):.1%}",
        "points": [p.row for p in cal.points],
    }
    lines = [
        "# Catalog overlay written by mlsysim calibrate: load with mlsysim --catalog FILE or load_catalog(FILE).",
        f"[hardware.{cal.hardware_key}]",
    ]
    lines += [f"{k} = {_toml(val)}" for k, val in table.items()]
    return "\n".join(lines) + "\n"


def previous_points(path: Path) -> list[dict]:
    """The points an earlier overlay at ``path`` was fitted on (none if it does not exist)."""
    import tomllib

    if not path.exists():
        return []
    data = tomllib.loads(path.read_text())
    return [dict(p) for t in data.get("hardware", {}).values() for p in t.get("calibration", {}).get("points", [])]
