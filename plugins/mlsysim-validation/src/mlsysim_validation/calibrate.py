"""``mlsysim calibrate``: fit one hardware's efficiencies to the user's own serving measurements.

Input: CSV or JSON rows (:mod:`.runs`): ``model, hardware, seq_len, quantity, value, unit``, ``batch_size``
for a static batch, optionally ``output_len, precision, tp, engine`` (``engine``: the serving engine of the
runs, one per call; the fit is then scoped to that engine: ``ServingModel(..., engine=...)`` uses it, other
solves do not), the load a row was measured under (``concurrency`` or ``arrival_rate``: the row is then
predicted by ``ServingModel`` under that load, the solver a loaded ``mlsysim serve`` runs) and the engine's
settings. ``itl_continuous`` is the mean ITL of a closed loop of ``batch_size`` clients with one prefill
interleaved per request at a static batch.
Fitted: ``compute`` and ``memory`` (achieved fractions of peak, in (0, 1]), ``engine_overhead``
(host time per engine iteration, 0-50 ms) and ``request_overhead`` (host time of a request outside the
engine's steps, 0-500 ms: only TTFT and end-to-end rows under a load see it; an overhead a row states
is known, not fitted) of ``ServingModel``, each only where some row constrains it (:func:`constrained`), by
bounded least squares (``scipy.optimize.least_squares``, trust-region reflective) on the log ratios
ln(predicted / measured) (relative errors, so a 1 ms ITL and a 2 s TTFT weigh alike) over the model's error
spread of each row's kind (:func:`fit`), with or without a prior on each parameter whose 10th and 90th
percentiles are its documented range's ends about its default (:mod:`.prior`, a two-piece normal: the MAP fit, so
three rows fit four parameters). Of the
defaults, the request path alone, the MAP fit and the plain fit (a candidate only where its efficiencies lie within
their documented ranges: :func:`candidates`), simplest first, a fit replaces the one chosen so far only where its
gain on the call's own rows, each left out in turn, exceeds that gain's standard error (:func:`fitted`,
:func:`gain`): a fit is kept only where it beats a simpler one on held-out rows clearly, and where the defaults
are kept nothing is written. A row the plain fit leaves
further off than its kind's 80 % model error refuses the call as contradicting. The report gives each point's
error and the leave-one-out error of the fit kept, each choice's held-out score, each gain and its standard error, the
effective number of parameters the rows decided.
The overlay (:mod:`.overlay`) is the hardware's own catalog entry plus a ``calibration`` table (:func:`table`: the
values, their range over the leave-one-out fits, the fit's model error per class, :func:`model_error`, which the
calibrated hardware's bands take, and the points, so a second call with more points refines the fit) that
``--catalog``/``load_catalog()`` apply.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

from .prior import Z80, Prior, effective, prior
from .runs import Point, point, read_points

PARAMETERS = ("compute", "memory", "engine_overhead", "request_overhead")
#: (low, high) of each fitted parameter: fractions of peak; the overheads in s.
BOUNDS = {"compute": (0.02, 1.0), "memory": (0.02, 1.0), "engine_overhead": (0.0, 0.05), "request_overhead": (0.0, 0.5)}
#: parameters that are times (s): shown and stored in ms
TIMES = ("engine_overhead", "request_overhead")
#: The residual of a point whose load the engine cannot serve at the trial values (no prediction): ln 10, as if
#: 10x slower, so the fit steps back to values at which the engine serves the load that was measured.
OVERLOADED = math.log(10.0)


#: fitted parameter -> (ServingModel argument, result field holding the value used)
ARGUMENTS = {
    "compute": ("efficiency", "compute_efficiency"),
    "memory": ("memory_efficiency", "memory_efficiency"),
    "engine_overhead": ("engine_overhead", "engine_overhead"),
    "request_overhead": ("request_overhead", "request_overhead"),
}
#: A parameter is constrained when a 10 % change of it moves some point's prediction by at least this much.
SENSITIVITY = 0.01
#: where a fit starts a parameter without a prior (or a flat one), and its typical size (scipy's x_scale)
START = {"compute": 0.6, "memory": 0.87, "engine_overhead": 1e-3, "request_overhead": 1e-2}
SCALE = {"compute": 0.1, "memory": 0.1, "engine_overhead": 1e-3, "request_overhead": 1e-2}
#: the fewest rows a call fits: leave-one-out (which chooses the fit) then fits two and predicts the third
MIN_ROWS = 3


def call(p: Point, hardware: Any, models: dict) -> tuple[tuple, dict]:
    """(args, keyword arguments) of the point's ``ServingModel.solve``: a static batch of ``batch_size``, or under the
    point's load (the solver ``mlsysim serve`` runs under that load), with the engine's settings it states."""
    args = (models[p.model], hardware, p.seq_len, p.batch_size or 1)
    return args, dict(
        precision=p.precision, tp_size=p.tp, output_len=p.output_len, engine=p.engine, **p.load, **p.settings
    )


def _solve(p: Point, hardware: Any, models: dict, over: dict) -> Any:
    """The point's ServingModel answer (:func:`call`) with ``over`` ({argument: value}); a setting ServingModel
    refuses names the row."""
    import mlsysim

    args, kwargs = call(p, hardware, models)
    try:
        return mlsysim.ServingModel().solve(*args, **kwargs, **over)
    except InvalidInputError as e:
        raise InvalidInputError(f"row {p.number}.{e.argument}", e.value, e.valid) from None


def predict(points: list[Point], hardware: Any, models: dict, values: dict | None = None) -> list[float | None]:
    """Each point's predicted value (SI) with ``values`` ({parameter: value}) in place of the defaults; None where
    the point's load overloads the engine at these values (ServingModel gives no figure then)."""
    over = {ARGUMENTS[k][0]: float(v) for k, v in (values or {}).items()}
    return [_solve(p, hardware, models, over).si(p.quantity) for p in points]


def sees_request_path(p: Point) -> bool:
    """A row measured from the client under a load (TTFT, e2e): it is t_req + the engine's time
    (:mod:`mlsysim_serving.request_path`), so it constrains ``request_overhead`` whatever its size."""
    from mlsysim_serving.request_path import CLIENT_FIELDS

    return bool(p.load) and p.quantity in CLIENT_FIELDS


def constrained(points: list[Point], hardware: Any, models: dict) -> list[str]:
    """The parameters the points constrain and no row states, in ``PARAMETERS`` order: ``request_overhead`` when a
    row sees the request path (:func:`sees_request_path`), the others when a 10 % change of them (0.1 ms for the
    engine's step overhead) moves some row by at least ``SENSITIVITY``; otherwise the points say nothing about it
    and it keeps its default."""
    out = []
    for k in (k for k in PARAMETERS if not any(k in p.settings for p in points)):
        if k == "request_overhead":
            if any(sees_request_path(p) for p in points):
                out.append(k)
            continue
        arg, field = ARGUMENTS[k]
        for p in points:
            base = _solve(p, hardware, models, {})
            used = base.si(field)
            if used is None:  # a static answer: no step overhead in it
                continue
            moved = _solve(p, hardware, models, {arg: used + 1e-4 if k == "engine_overhead" else used * 0.9})
            b, m = base.si(p.quantity), moved.si(p.quantity)  # None: the load overloads the engine
            if (b is None) != (m is None) or (b is not None and abs(m / b - 1.0) >= SENSITIVITY):
                out.append(k)
                break
    return out


def kind(p: Point) -> str:
    """The row's model-error class (:mod:`mlsysim_uncertainty.model_error`): the one whose band the tool gives such
    a row uncalibrated (its regimes with its engine, so a bare PyTorch loop's row is of that class)."""
    from mlsysim_uncertainty.model_error import error_class, regimes

    given = {**p.load, **p.settings, "engine": p.engine}
    found = error_class("ServingModel", regimes("ServingModel", given), p.quantity)
    assert found is not None  # every quantity a row may give (runs.QUANTITIES) is a ServingModel band field
    return found


def bound(p: Point) -> float:
    """q of the row's kind: the 80 % conformal bound of |ln(measured / predicted)| on published points of that
    kind at the defaults (:func:`kind`; the band such a row has uncalibrated)."""
    from mlsysim_uncertainty.model_error import measured

    return float(measured()[kind(p)]["q"])


#: the miscoverage of the held-out errors' rank (:func:`model_error`): half the bands' 0.2, since a leave-one-out
#: interval at level 1 - a covers at least 1 - 2a in the worst case (Barber et al. 2021, Thm. 1)
HELD_OUT_ALPHA = Fraction(1, 10)


def model_error(points: list[Point], loo: list[float]) -> dict[str, float]:
    """The calibrated hardware's model error, {class: q} for each class its rows hold (:func:`kind`): the published
    q of the class (:func:`bound`) times s, where s is the ceil(0.9 (n + 1))-th smallest of the n rows' held-out
    errors in units of their class's q, z_i = |ln(1 + loo_i)| / q_i: the jackknife interval on the leave-one-out
    residuals, whose jackknife+ form covers at least 1 - 2 alpha in the worst case (Barber, Candes, Ramdas &
    Tibshirani 2021, Ann. Statist. 49(1), Thm. 1), at alpha = :data:`HELD_OUT_ALPHA`, so 80 %. That rank exists
    from 9 rows; with fewer, s is the largest z_i and at least 1: a few rows widen a class's published interval
    where they err more, and narrow none (what 3-5 rows predict well need not hold for the user's other calls:
    session 18's subsets study, docs/accuracy.md). An overloaded row counts ``OVERLOADED``. A class the rows do
    not hold keeps its published interval."""
    from mlsysim_uncertainty.model_error import conformal_q

    z = [(OVERLOADED if math.isinf(e) else abs(math.log1p(e))) / bound(p) for p, e in zip(points, loo)]
    s = conformal_q(z, HELD_OUT_ALPHA)
    scale = max(1.0, *z) if s is None else s
    return {kind(p): scale * bound(p) for p in points}


def spread(p: Point) -> float:
    """The standard deviation of the row's log error were it normal: q / Z80 (:func:`bound`)."""
    return bound(p) / Z80


def _residuals(points: list[Point], hardware: Any, models: dict, free: list[str], prior: Prior | None) -> Any:
    """x -> the rows' ln(predicted / measured) over their kind's spread (:func:`spread`), then the prior's
    residuals (none without a prior)."""
    import numpy as np

    weight = np.array([1.0 / spread(p) for p in points])

    def residuals(x: Any) -> Any:
        values = dict(zip(free, (float(v) for v in x)))
        predicted = predict(points, hardware, models, values)
        rows = [OVERLOADED if y is None else math.log(y / p.value) for y, p in zip(predicted, points)]
        return np.concatenate([weight * np.array(rows), prior.residuals(values) if prior else []])

    return residuals


def _least_squares(points: list[Point], hardware: Any, models: dict, free: list[str], prior: Prior | None) -> Any:
    """scipy's result of the bounded fit of ``free`` (:func:`fit`), started at the prior's centres (clipped into
    ``BOUNDS``; a flat parameter at ``START``, as every parameter without a prior), so a parameter no row moves
    stays at its centre."""
    from scipy.optimize import least_squares

    start = dict(START)
    if prior is not None:
        start |= {k: min(max(v, BOUNDS[k][0]), BOUNDS[k][1]) for k, v in prior.centre.items() if k in prior.sigma}
    return least_squares(
        _residuals(points, hardware, models, free, prior),
        [start[k] for k in free],
        bounds=([BOUNDS[k][0] for k in free], [BOUNDS[k][1] for k in free]),
        method="trf",
        x_scale=[SCALE[k] for k in free],
    )


def fit(points: list[Point], hardware: Any, models: dict, free: list[str], prior: Prior | None = None) -> dict:
    """Bounded least squares over the ``free`` parameters of each row's ln(predicted / measured) over its kind's
    model-error spread (:func:`spread`), plus the ``prior``'s residuals where one is given (:mod:`.prior`: the MAP
    fit): a row's residual is the parameters' effect plus the model's own error of that kind, so weights
    1/spread^2 (the maximum-likelihood fit of normal errors of unequal spreads, Aitken's weighted least squares)
    make the rows the model describes well (ITL-like under traffic, q 0.18; static, 0.18) decide the efficiencies,
    27 times a loaded TTFT row (q 0.91), whose error goes mostly to the request path it alone sees: {name: value}."""
    return _values(free, _least_squares(points, hardware, models, free, prior))


def _values(free: list[str], found: Any) -> dict:
    """{parameter: value} of a scipy fit of ``free``."""
    return dict(zip(free, (float(v) for v in found.x)))


@attrs.frozen
class Calibration:
    """A call's fit (:class:`Fit`) of one hardware (and engine), its rows, the range of each fitted parameter over
    the full and the leave-one-out fits and the fit's model error per class (:func:`model_error`): the calibrated
    hardware's bands."""

    hardware_key: str
    engine: str | None
    fit: Fit
    spread: dict  # parameter -> (low, high)
    points: list
    model_error: dict = attrs.field(factory=dict)  # class -> q of the fit kept ({}: none), :func:`model_error`

    @property
    def scope(self) -> str:
        """The hardware, and the engine where the fit is scoped to one."""
        return f"{self.hardware_key}{f' (engine {self.engine})' if self.engine else ''}"

    @property
    def values(self) -> dict:
        """The fitted values ({}: the defaults were kept)."""
        return self.fit.values

    def report(self) -> str:
        from mlsysim_cli.api._out import table

        f = self.fit
        rows = [
            [
                p.model,
                p.quantity,
                p.seq_len,
                p.batch_size or "-",
                p.shown_load(),
                p.output_len or "-",
                f"{b:+.1%}",
                f"{a:+.1%}",
                f"{o:+.1%}",
            ]
            for p, b, a, o in zip(self.points, f.before, f.after, f.loo)
        ]
        med = median_abs
        v = self.values
        t = threshold(len(self.points))
        stated = [k for k in PARAMETERS if any(k in p.settings for p in self.points)]
        kept = [k for k in PARAMETERS if k not in f.free and k not in stated]
        return "\n".join(
            [
                f"calibrated {self.scope} on {len(self.points)} measurements: "
                + (", ".join(f"{k} {_shown(k, x)}" for k, x in v.items()) if v else "the defaults kept"),
                *([] if v else [kept_because(self.points, f)]),
                f"chosen by leave-one-out on these rows: {f.chosen} (held-out mean of (ln error / model error)^2: "
                + ", ".join(f"{k} {'-' if x is None else f'{x:.3g}'}" for k, x in f.scores.items())
                + f"; a fit replaces a simpler one where its held-out gain exceeds {t:.3g} standard errors (Student's "
                f"t, {len(self.points) - 1} degrees of freedom): "
                + ", ".join(
                    f"{k} over {against} {g:.3g} ({'>' if g > t * se else '<='} {t:.3g} x {se:.3g})"
                    for k, against, g, se in f.steps
                )
                + f"); the rows set "
                f"{f.effective:.1f} of its {len(f.free)} parameters (effective number), the defaults "
                "or the prior the rest",
                *(
                    [
                        "range over the leave-one-out fits (the bands of this hardware): "
                        + ", ".join(f"{k} {_shown(k, lo)}-{_shown(k, hi)}" for k, (lo, hi) in self.spread.items())
                    ]
                    if v
                    else []
                ),
                *(
                    [
                        "model error of this scope's bands (80 %: the published points', in brackets, widened where "
                        "the fit's held-out errors are larger; narrowed only from 9 rows): "
                        + ", ".join(
                            f"{k} x{math.exp(-q):.2g}-x{math.exp(q):.2g} (x{math.exp(-q0):.2g}-x{math.exp(q0):.2g})"
                            for k, q in self.model_error.items()
                            for q0 in [_published(k)]
                        )
                    ]
                    if self.model_error
                    else []
                ),
                *([f"not constrained by these points, kept at the default: {', '.join(kept)}"] if kept else []),
                *_request_path(self.points, f.free),
                *([f"stated by the rows, not fitted: {', '.join(stated)}"] if stated else []),
                "",
                table(["model", "quantity", "seq", "batch", "load", "out", "default", "fitted", "leave-one-out"], rows),
                "",
                f"median |error|: default {med(f.before):.1%}, fitted {med(f.after):.1%}, "
                f"leave-one-out {med(f.loo):.1%}",
                *_caution(self.points, v),
            ]
        )


def _published(name: str) -> float:
    """q of model-error class ``name`` on published points."""
    from mlsysim_uncertainty.model_error import measured

    return float(measured()[name]["q"])


def kept_because(points: list[Point], f: Fit) -> str:
    """Why a call kept the defaults, from its rows alone: every row lies within its kind's 80 % model error of them
    (:func:`beyond`: the model's own error of such rows covers what a fit would correct, so 3-5 rows cannot tell a
    fit from the defaults), or some rows lie beyond it and yet no fit of the free parameters predicts the rows, left
    out, better than the defaults by more than Student's t standard errors of the gain (:func:`fitted`): their error
    is not one these parameters explain for every row (errors of both signs, say, or one that changes with the
    load)."""
    out = beyond(points, f.before)
    if not out:
        return (
            f"kept the defaults: your rows are within the model's error of them (median |error| "
            f"{median_abs(f.before):.1%}; each within its kind's 80 % model error on published points)"
        )
    shown = ", ".join(
        f"row {points[i].number} (" + ("overloaded" if math.isinf(f.before[i]) else f"{f.before[i]:+.0%}") + ")"
        for i in out
    )
    signs = {e > 0.0 for e in f.before}
    return (
        f"kept the defaults: {shown} {'lies' if len(out) == 1 else 'lie'} beyond the model's error of them, but no "
        f"fit of {', '.join(f.free)} predicts "
        f"your rows, left out, better than the defaults by more than {threshold(len(points)):.3g} standard errors of "
        "the gain (Student's t): their error is not one "
        "these parameters explain for every row" + (" (your rows' errors have both signs)" if len(signs) > 1 else "")
    )


def _request_path(points: list[Point], free: list[str]) -> list[str]:
    """A line naming the rows that inform ``request_overhead`` where it is fitted: only a client's TTFT or
    end-to-end under a load sees it (:func:`sees_request_path`), so the other rows do not move it."""
    if "request_overhead" not in free:
        return []
    seen = [str(p.number) for p in points if sees_request_path(p)]
    return [f"request_overhead fitted from rows {', '.join(seen)} only (a client's TTFT or e2e under a load)"]


def _caution(points: list[Point], values: dict) -> list[str]:
    """A line when rows of the kind the model errs on most are fitted: TTFT-like under load, whose model error on
    published points (mlsysim_uncertainty.model_error) is several times ITL's; on the calibration set a fit to
    them lowers compute and the ITL predictions pay for it (docs/accuracy.md, calibrating on a few points), unless
    the fit kept (``values``) is the request path alone, which only such rows see."""
    from mlsysim_uncertainty.model_error import TTFT, error_class, measured, regimes

    n = sum(error_class("ServingModel", regimes("ServingModel", p.load), p.quantity) == TTFT for p in points)
    q = measured()[TTFT]["q"]
    if not n or q is None:
        return []
    return [
        f"caution: {n} of these rows are TTFT-like under load, where the model's error on published points is "
        f"x{math.exp(-q):.2g}-x{math.exp(q):.2g} (80 %): "
        + (
            "here they set the request path alone, which only they see"
            if list(values) == ["request_overhead"]
            else "fitted, they move compute and the token gaps pay for it"
        )
        + " (docs/accuracy.md: calibrate on rows the model describes, five or more)"
    ]


def _shown(name: str, value: float) -> str:
    return f"{value * 1e3:.3f} ms" if name in TIMES else f"{value:.3f}"


def median_abs(errors: list) -> float:
    """The median |error| of ``errors``."""
    import statistics

    return statistics.median(abs(e) for e in errors)


def errors(points: list[Point], predicted: list[float | None]) -> list[float]:
    """predicted / measured - 1 of each point; inf where the engine cannot serve its load (no prediction)."""
    return [math.inf if x is None else x / p.value - 1.0 for x, p in zip(predicted, points)]


#: the fits a call chooses among by their leave-one-out error on its own rows, simplest first (:func:`fitted`), with
#: the factor on the prior's widths: the defaults (no fit: widths 0); the request path alone (``REQUEST_PATH``: the
#: engine's parameters held at their defaults, widths 0, ``request_overhead``, flat, fitted); the MAP fit with the prior
#: (:mod:`.prior`, its documented widths) and least squares (None: no prior; a candidate only within the documented
#: ranges, :func:`inside`)
CHOICES = {"defaults": 0.0, "request path": 0.0, "prior": 1.0, "least squares": None}
#: the choice that fits the request path alone (a candidate where the rows constrain it and another parameter)
REQUEST_PATH = "request path"


@attrs.frozen
class Fit:
    """The fit a call keeps: the parameters the rows constrain (``free``), each choice's held-out score
    (:func:`score`), each step of the choice (:func:`fitted`, :func:`gain`), the one ``chosen`` and its values
    ({} for the defaults), each row's error before (defaults), after and left out of the chosen fit, the
    leave-one-out fits, and the effective number of parameters the rows decide (:func:`.prior.effective`)."""

    free: list
    scores: dict
    steps: list  # (candidate, the fit it was set against, its held-out gain over that fit, the gain's standard error)
    chosen: str
    values: dict
    before: list
    after: list
    loo: list
    fits: list
    effective: float


def terms(points: list[Point], errors: list[float]) -> list[float]:
    """Each row's (ln(1 + error) / spread)^2 (:func:`spread`; an overloaded row counts ``OVERLOADED``): the fit's
    own objective on a held-out row, its error in units of its kind's model error."""
    return [((OVERLOADED if math.isinf(e) else math.log1p(e)) / spread(p)) ** 2 for p, e in zip(points, errors)]


def score(points: list[Point], errors: list[float]) -> float:
    """Mean of the rows' :func:`terms`: the leave-one-out estimate of a fit's error on rows it has not seen."""
    return statistics.fmean(terms(points, errors))


def threshold(rows: int) -> float:
    """How many standard errors a fit's held-out gain on ``rows`` rows must exceed (:func:`fitted`): Student's t
    quantile at Phi(1) = 0.841 with rows - 1 degrees of freedom (Student 1908, "The probable error of a mean",
    Biometrika 6(1), 1-25), the confidence of one standard error of a normal mean, since the standard error of 2-4
    paired differences is itself uncertain: 1.321 at 3 rows, 1.197 at 4, 1.142 at 5, towards 1 with more. Above 1
    at every n, so one row's gain with the others tied, which is exactly its standard error (n - 1 zero
    differences: mean x / n, standard error x / n), is never enough."""
    from statistics import NormalDist

    from scipy.stats import t

    return float(t.ppf(NormalDist().cdf(1.0), rows - 1))


def gain(points: list[Point], simpler: list[float], richer: list[float]) -> tuple[float, float]:
    """The held-out gain of a fit over a simpler one on the same rows, and its standard error: the mean of the rows'
    paired differences of :func:`terms` (``simpler``'s minus ``richer``'s leave-one-out errors) and their sample
    standard deviation over sqrt(n) (the paired comparison of two predictors on the same held-out cases: Dietterich
    1998, "Approximate statistical tests for comparing supervised classification learning algorithms", Neural
    Computation 10(7), 1895-1923, the paired t statistic, here required to exceed 1)."""
    d = [a - b for a, b in zip(terms(points, simpler), terms(points, richer))]
    return statistics.fmean(d), statistics.stdev(d) / math.sqrt(len(d))


def held_out(
    points: list[Point], hardware: Any, models: dict, free: list[str], prior: Prior | None
) -> tuple[list[float], list[dict]]:
    """Each row's error predicted by the fit of the others, and those fits; a fit whose rows do not see the
    request path (:func:`sees_request_path`) keeps it at the prior's centre (it is flat there)."""
    out, fits = [], []
    for i, p in enumerate(points):
        rest = points[:i] + points[i + 1 :]
        mine = [k for k in free if k != "request_overhead" or any(sees_request_path(q) for q in rest)]
        fits.append(fit(rest, hardware, models, mine, prior) if mine else {})
        out += errors([p], predict([p], hardware, models, fits[-1]))
    return out, fits


def candidates(points: list[Point], hardware: Any, models: dict) -> tuple[list[str], list[float], dict]:
    """The parameters the rows constrain, each row's error at the defaults, and each candidate fit (:data:`CHOICES`):
    name -> (values, each row's leave-one-out error, the leave-one-out fits, effective number of parameters). Refused
    (fewer than ``MIN_ROWS`` rows, nothing constrained, rows that contradict each other: one the least-squares fit
    leaves further off than its kind's 80 % model error, :func:`bound`) with one clear message."""
    free = constrained(points, hardware, models)
    if len(points) < MIN_ROWS:
        raise InvalidInputError(
            "runs",
            f"{len(points)} distinct measurements",
            f"at least {MIN_ROWS} (these constrain {', '.join(free) or 'nothing'}; leave-one-out chooses the fit "
            "on two rows predicting the third; a row given again counts once)",
        )
    if not free:
        raise InvalidInputError("runs", "these measurements", "runs whose time depends on the efficiencies")
    base = [_solve(p, hardware, models, {}) for p in points]
    used = {k: [x for r in base if (x := r.si(ARGUMENTS[k][1])) is not None] for k in free}
    before = errors(points, [r.si(p.quantity) for r, p in zip(base, points)])
    centred = prior(used)
    plain = _least_squares(points, hardware, models, free, attrs.evolve(centred, scale=None))
    _agree(points, errors(points, predict(points, hardware, models, _values(free, plain))))
    results: dict[str, tuple[dict, list[float], list[dict], float]] = {
        "defaults": ({}, before, [{}] * len(points), 0.0)
    }
    for name, scale in list(CHOICES.items())[1:]:
        if name == REQUEST_PATH:
            if "request_overhead" in free and len(free) > 1:  # alone, the request path's fit is the MAP fit (flat)
                results[name] = _request_path_fit(points, hardware, models)
            continue
        if scale is None and (len(points) - 1 < len(free) or not inside(_values(free, plain))):
            continue  # each leave-one-out fit would have fewer rows than parameters, or outside the documented ranges
        pri = attrs.evolve(centred, scale=scale)
        found = plain if scale is None else _least_squares(points, hardware, models, free, pri)
        held, fits = held_out(points, hardware, models, free, pri)
        results[name] = (_values(free, found), held, fits, effective(found.jac, len(points)))
    return free, before, results


def _request_path_fit(points: list[Point], hardware: Any, models: dict) -> tuple[dict, list[float], list[dict], float]:
    """The :data:`REQUEST_PATH` candidate: ``request_overhead`` fitted alone (its prior is flat), the engine's
    parameters at their defaults: (values, each row's leave-one-out error, the leave-one-out fits, effective number
    of parameters). The simpler model between the defaults and the joint fit (:func:`fitted` sets candidates of
    growing complexity against each other, simplest first): a client's TTFT rows under a
    load decide the request path, which only they see, while an efficiency moved by one row of another kind is never
    tested by leave-one-out (that row, left out, is predicted by a fit that did not move it), so the joint fit's
    held-out score credits it with the request path's gain (session 19, docs/accuracy.md)."""
    free = ["request_overhead"]
    found = _least_squares(points, hardware, models, free, None)
    held, fits = held_out(points, hardware, models, free, None)
    return _values(free, found), held, fits, effective(found.jac, len(points))


def inside(values: dict) -> bool:
    """Whether the fitted efficiencies (fractions of peak, :data:`.prior.LOG`) lie within their documented ranges
    (:data:`mlsysim_uncertainty.ranges.RANGES`, each end sourced), the condition for the plain fit to be a candidate:
    outside them 3-5 rows more likely carry another error of the model (TTFT's under load) than an efficiency no
    measured engine shows (session 16's subsets study, docs/accuracy.md: NIM's 5-row plain fits at compute
    0.28-0.38 made the other points' median error x2-x3)."""
    from mlsysim_uncertainty.ranges import RANGES

    from .prior import LOG, RANGED

    return all(RANGES[RANGED[k]].low <= v <= RANGES[RANGED[k]].high for k, v in values.items() if k in LOG)


def fitted(points: list[Point], hardware: Any, models: dict) -> Fit:
    """The fit of the rows: the parameters they constrain, fitted as each of :data:`CHOICES` (:func:`candidates`),
    simplest first, each candidate replacing the fit chosen so far only where its leave-one-out gain over it exceeds
    the gain's standard error (:func:`gain`: the mean and standard error of the rows' paired held-out differences)
    times Student's small-sample factor (:func:`threshold`).
    The held-out errors of two fits on the same rows are paired, so their difference is what is uncertain, not each
    score (session 16's rule took the lowest score's own standard error: the rows' spread of kinds and sizes, which no
    fit changes, kept the defaults where every held-out row gained, group G's; session 19, docs/accuracy.md). So a
    fit is kept only where it predicts the user's held-out rows better than a simpler one by more than the noise of
    that gain (:func:`candidates`: the refusals)."""
    free, before, results = candidates(points, hardware, models)
    scores = {k: score(points, results[k][1]) for k in results}
    chosen, steps = "defaults", []
    for name in list(results)[1:]:
        g, se = gain(points, results[chosen][1], results[name][1])
        steps.append((name, chosen, g, se))
        if g > se * threshold(len(points)):
            chosen = name
    values, loo, fits, n = results[chosen]
    after = errors(points, predict(points, hardware, models, values)) if values else before
    return Fit(free, {k: scores.get(k) for k in CHOICES}, steps, chosen, values, before, after, loo, fits, n)


def beyond(points: list[Point], errors: list[float]) -> list[int]:
    """The rows (indexes) that ``errors`` leave overloaded or further off than their kind's 80 % model error
    (:func:`bound`, the band such a row has uncalibrated)."""
    return [i for i, (p, e) in enumerate(zip(points, errors)) if math.isinf(e) or abs(math.log1p(e)) > bound(p)]


def _agree(points: list[Point], after: list[float]) -> None:
    """Refuse a fit that leaves a row overloaded or further off than its kind's 80 % model error (:func:`beyond`):
    no efficiencies in (0, 1] and overheads explain the rows together."""
    out = beyond(points, after)
    if not out:
        return
    p, e = points[out[0]], after[out[0]]
    raise InvalidInputError(
        "runs",
        f"row {p.number} ({p.quantity} of {p.model}) "
        + ("overloaded at the fit" if math.isinf(e) else f"still off by {e:+.0%}"),
        "measurements that one set of efficiencies in (0, 1] and the overheads explain within the model's "
        f"80 % error on published points of that kind (x{math.exp(-bound(p)):.2g}-x{math.exp(bound(p)):.2g}):"
        " they contradict each other (different engines, settings or a unit slip?)",
    )


def calibrate(runs: str | Path, previous: list[dict] | None = None) -> Calibration:
    """Fit the points of ``runs`` (plus ``previous`` rows, from an earlier overlay) for one hardware."""
    from mlsysim_cli.api import lookup

    new = read_points(runs)
    engines = {p.engine for p in new}
    if len(engines) != 1:
        raise InvalidInputError(
            "runs", ", ".join(sorted(str(e) for e in engines)), "runs of one engine (or none given) per call"
        )
    engine = engines.pop()
    kept = [p for p in (point(i + 1, r) for i, r in enumerate(previous or [])) if p.engine == engine]
    # a row given again counts once, in this file as across calls: three copies of one measurement were fitted as
    # three (2 parameters "set" by 1 configuration, leave-one-out 0.0 %, a zero-width range: a band of a point)
    once = {_key(p.row): p for p in reversed(new)}
    new = [p for p in new if once[_key(p.row)] is p]
    points = [p for p in kept if _key(p.row) not in once] + new
    keys = {lookup("hardware", p.hardware, "hardware")[0] for p in points}
    if len(keys) != 1:
        raise InvalidInputError("runs", ", ".join(sorted(keys)), "measurements of one hardware (one overlay each)")
    key = keys.pop()
    hardware = lookup("hardware", key, "hardware")[1]
    models = {p.model: lookup("model", p.model, "model")[1] for p in points}
    f = fitted(points, hardware, models)
    return Calibration(
        hardware_key=key,
        engine=engine,
        fit=f,
        spread=refit_range(f),
        points=points,
        model_error=model_error(points, f.loo) if f.values else {},
    )


def refit_range(f: Fit) -> dict[str, tuple[float, float]]:
    """(low, high) of each fitted parameter over the fit kept and its leave-one-out refits: its calibrated range,
    which the bands of the calibrated hardware take in place of the documented one (``Range.corners``)."""
    return {k: (min(xs), max(xs)) for k in f.values for xs in [[x[k] for x in (f.values, *f.fits) if k in x]]}


def table(f: Fit, points: list[Point]) -> dict:
    """The calibration table (SI) the fit ``f`` of ``points`` gives its scope, as the overlay writes it
    (:mod:`.overlay`) and the catalog reads it back: the values, their range (:func:`refit_range`), the model error
    (:func:`model_error`) and the rows; {} where the defaults were kept."""
    if not f.values:
        return {}
    return {
        **f.values,
        "range": {k: list(pair) for k, pair in refit_range(f).items()},
        "model_error": model_error(points, f.loo),
        "points": [p.row for p in points],
    }


def _key(row: dict) -> tuple:
    """A row as compared across calls (values as text: CSV gives strings, the overlay numbers)."""
    return tuple(sorted((k, str(v)) for k, v in row.items()))
