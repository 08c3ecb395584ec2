"""A hardware entry's ``calibration`` table (written by ``mlsysim calibrate``), checked where it is read:
by the catalog reader (mlsysim_registry/tables.py) and by the solvers that apply it."""

from __future__ import annotations

from typing import Any

from mlsysim_core.errors import InvalidInputError

#: Keys a hardware entry's ``calibration`` table may set (SI: fractions, seconds), as fitted by
#: ``mlsysim calibrate``: solvers use them in place of mlsysim_physics.efficiency's defaults.
CALIBRATION_KEYS = {
    "compute": "(0, 1]",
    "memory": "(0, 1]",
    "engine_overhead": "[0, 1] s",
    "request_overhead": "[0, 1] s",  # the request path outside the engine's steps (ServingModel under traffic)
}


def _calibrated(k: str, v: Any, name: str) -> None:
    if k not in CALIBRATION_KEYS:
        raise InvalidInputError(
            name, k, "one of " + ", ".join([*CALIBRATION_KEYS, "range", "model_error", "source", "points", "engines"])
        )
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if not number or not (0.0 <= v <= 1.0) or (v == 0.0 and not k.endswith("_overhead")):
        raise InvalidInputError(f"{name}.{k}", v, f"a number in {CALIBRATION_KEYS[k]}")


def checked(value: Any) -> dict[str, Any]:
    """The ``calibration`` table: fitted values, their ``range`` ({key: [low, high]}), ``model_error`` ({model-error
    class: q >= 0}, the fit's own held-out errors: mlsysim_uncertainty.model_error.calibrated), source, points, and
    ``engines`` ({engine: a table of the same keys}: fits scoped to one serving engine)."""
    for k, v in dict(value).items():
        if k == "model_error":
            if not isinstance(v, dict):
                raise InvalidInputError("calibration.model_error", v, "a table of model-error class = q")
            for name, q in v.items():
                if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 10.0:
                    raise InvalidInputError(f"calibration.model_error.{name}", q, "a number in [0, 10] (ln)")
        elif k == "range":
            for rk, pair in dict(v).items():
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise InvalidInputError(f"calibration.range.{rk}", pair, "[low, high]")
                for x in pair:
                    _calibrated(rk, x, "calibration.range")
        elif k == "engines":
            for engine, table in dict(v).items():
                if not isinstance(table, dict) or "engines" in table:
                    raise InvalidInputError(f"calibration.engines.{engine}", table, "a calibration table")
                checked(table)
        elif k not in ("source", "points"):
            _calibrated(k, v, "calibration")
    _ranges_hold_their_values(dict(value))
    return dict(value)


def _ranges_hold_their_values(table: dict) -> None:
    """Each ``range`` is the hull of a fitted value and its leave-one-out refits (``mlsysim calibrate``'s
    ``refit_range``), so it names a fitted key and holds its value, low <= value <= high. A hand-edited overlay
    with a range and no value had its range silently ignored (the defaults and their band used); one not
    around its value gave a band that left out the answer it bands."""
    for rk, pair in dict(table.get("range", {})).items():
        if rk not in table:
            raise InvalidInputError(
                f"calibration.range.{rk}", list(pair), f"a range of a fitted value: calibration.{rk} is not given"
            )
        low, high = pair
        if not low <= table[rk] <= high:
            raise InvalidInputError(
                f"calibration.range.{rk}", list(pair), f"[low, high] around the fitted {rk} = {table[rk]}"
            )


def scoped(calibration: Any, engine: str | None) -> dict[str, Any]:
    """The calibration that applies to a solve on ``engine``: the hardware's fit scoped to that engine
    where it has one (``mlsysim calibrate`` with an ``engine`` column), else its unscoped fit."""
    table = dict(calibration or {})
    engines = table.pop("engines", {})
    return dict(engines[engine]) if engine is not None and engine in engines else table
