"""How honest the bands are on the calibration set, and what calibrating one hardware buys.

``bands()``: every counted prediction of every group run three times through its mapping
(``points.py``): as shipped, then with every call of a solver with ranges of its own
(``mlsysim_uncertainty.declaring(*OWN_RANGES)``) at the fast and at the slow corner (what ``banded``
does for one call; a fleet solver's input result is then that corner's), with the model-error class of
the solver call giving the number (:func:`classified`: what ``banded`` applies to that field). A point is
covered when its measurement lies in [low, high] (a one-sided record, when the band reaches the side
its bound allows: a lower bound, high >= measured; an upper bound, low <= measured); the half-width is
(high - low) / 2 relative to the prediction, and a miss lies ``outside`` by its distance from the band's
nearer end (relative to it).
The ranges come from the sources of ``mlsysim_physics.efficiency``, not from these points, so leaving a
point out changes no corner band; the model-error interval does come from these points, so
:func:`with_model_error` widens each band with its class's q computed from the class's OTHER points
(leave-one-out: the band the point would get had it not been measured), and the coverage reported is
that one. Left out, a point may lie out of the domain the other points measured (a hardware or
precision only it has, a batch or context far beyond theirs: ``mlsysim_uncertainty.domain``); its q is
then the class's largest error among the others, as ``banded`` takes for a call out of domain. A point
no ranged solver moves has a corner band of no width (``banded`` false), counted only with the model
error.

``calibrations()``: per hardware, ``mlsysim calibrate`` on the serving points of that hardware listed
in ``CALIBRATION_RUNS`` (the same configurations as their mappings), then that hardware's other
counted points predicted with the overlay loaded, before and after.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import tempfile
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import attrs

from mlsysim_uncertainty.domain import lines as domain_lines
from mlsysim_uncertainty.domain import query, recorder, spans
from mlsysim_uncertainty.model_error import conformal_q, log_error

from . import points, train_points
from .harness import GROUPS, added_measurements, bound_of, load_measurements, relative_error

#: hardware key -> (record id, the calibrate row of its mapping's configuration) it is calibrated on
CALIBRATION_RUNS = {
    "H100": [
        (
            f"B-nim-llama33-70b-2xh100-isl{isl}-osl{osl}-c{c}-itl",
            dict(model="Llama3_3_70B", seq_len=isl, batch_size=c, output_len=osl, precision="fp8", tp=2, engine="nim"),
        )
        for isl, osl, c in ((5000, 500, 5), (5000, 500, 25), (500, 2000, 1))
    ],
    "H200": [
        (
            f"B-vllm-ci-h200-{name}-tp{tp}-e2e",
            dict(model=model, seq_len=32, batch_size=8, output_len=128, precision="bf16", tp=tp),
        )
        for name, model, tp in (
            ("llama-3.1-8B", "Llama3_1_8B", 1),
            ("llama-3-70B", "Llama3_70B", 4),
            ("mixtral-8x7B", "Mixtral_8x7B", 2),
        )
    ],
}
#: groups ``mlsysim validate`` reports and counts that are not calibration points (no model-error class's q, no
#: domain): the reason
NOT_CALIBRATION = {"T": train_points.NOT_CALIBRATION}
#: a solver call's place in the calibration domain: (the solver whose domain it is, its
#: ``mlsysim_uncertainty.domain.query``: hardware, precision, batch, context)
Where = tuple[str, tuple[Any, ...]]
#: the quantity of each calibration record's mapping (ServingModel field)
_QUANTITY = {"B-nim": "itl_continuous", "B-vll": "e2e_latency"}
#: hardware key -> the other counted serving points on it (predicted before/after calibrating): on H100
#: the other engines' (MLPerf, TensorRT-LLM) and NIM's own ITL under load (group M, its mappings solve with
#: engine="nim", as the calibration rows name it)
REMAINING = {
    "H100": (
        "A-mlperf41-h100x8-gptj-99-offline-per-gpu",
        "B-trtllm-llama-3.1-8b-h100-tp1-fp8-128-128",
        "B-trtllm-llama-3.1-405b-h100-tp8-fp8-1000-1000",
        *(
            f"M-nim-llama33-70b-2xh100-isl{isl}-osl{osl}-c{c}-itl"
            for isl, osl, cs in points._NIM_LOADED  # noqa: SLF001  # the same table the mappings come from
            for c in cs
        ),
    ),
    "H200": ("A-mlperf41-h200x8-llama2-70b-99-offline-per-gpu", "A-mlperf41-h200x8-llama2-70b-99-server-per-gpu"),
}


@contextlib.contextmanager
def _patched(wrap: Callable[[Any, Any], Any]) -> Iterator[None]:
    """Every solve() of the solvers with ranges of their own (``mlsysim_uncertainty.declaring``) replaced
    by ``wrap(cls, cls.solve)``."""
    import mlsysim
    from mlsysim_uncertainty import OWN_RANGES, declaring

    with contextlib.ExitStack() as patches:
        for name in declaring(*OWN_RANGES):
            cls = getattr(mlsysim, name)
            patches.enter_context(mock.patch.object(cls, "solve", wrap(cls, cls.solve)))
        yield


def _corner(which: int) -> contextlib.AbstractContextManager[None]:
    """Every solve() call of the solvers with ranges of their own at corner ``which`` (0 fast, 1 slow)
    of the efficiency ranges: what ``banded`` evaluates for one call. The
    fleet solvers in a mapping then take those corner results as their inputs, as ``banded`` carries
    an input's band through."""
    from mlsysim_uncertainty import corner_arguments, given_arguments

    def cornered(cls: Any, original: Any) -> Any:
        def solve(self: Any, *args: Any, **kw: Any) -> Any:
            used = original(self, *args, **kw)
            corners = corner_arguments(cls, used, given_arguments(original, args, kw))
            return used if corners is None else original(self, **corners[which])

        return solve

    return _patched(cornered)


def _doubled(result: Any, stored: list[str]) -> Any:
    """A copy of ``result`` with the numbers in the attributes ``stored`` doubled."""
    new = object.__new__(type(result))
    for field in attrs.fields(type(result)):  # a field a result answers on its first read (mlsysim_serving.results.
        getattr(result, field.name)  # Trusted's later ones) is in its dict once read, and the copy's is then whole
    new.__dict__.update(vars(result))
    for s in stored:
        if isinstance(new.__dict__[s], float):
            new.__dict__[s] *= 2.0
    return new


def _reads(fn: Callable[[], float], index: int, stored: list[str], value: float) -> bool:
    """Whether ``fn()`` moves when the result of its ``index``-th ranged solve() call has the fields
    ``stored`` doubled."""
    made = [0]

    def doubling(cls: Any, original: Any) -> Any:
        def solve(self: Any, *args: Any, **kw: Any) -> Any:
            result = original(self, *args, **kw)
            made[0] += 1
            return _doubled(result, stored) if made[0] == index + 1 else result

        return solve

    with _patched(doubling):
        return fn() != value


def classified(fn: Callable[[], float]) -> tuple[float, str | None, Where | None]:
    """``fn()``, the model-error class of its number and where that call lies (:data:`Where`: None for a
    solver with no domain of its own): the class of the last ranged solve() call to return
    (the one whose result gives the number: an inner call returns first), of the fields the number reads
    when that call's fields fall in several classes (a ServingModel under traffic or speculating: each
    class's fields are doubled in that result in turn, and the class whose doubling moves the number is
    the one read). None: no ranged solver gives the number."""
    from mlsysim_uncertainty.bands import domain_owner, error_classes, given_arguments

    calls: list[tuple[Any, dict, Any]] = []

    def recording(cls: Any, original: Any) -> Any:
        def solve(self: Any, *args: Any, **kw: Any) -> Any:
            result = original(self, *args, **kw)
            calls.append((cls, given_arguments(original, args, kw), result))
            return result

        return solve

    with _patched(recording):
        value = fn()
    if not calls:
        return value, None, None
    cls, given, result = calls[-1]
    owner = domain_owner(cls)
    where = None if owner is None else (owner, query(result))
    fields = error_classes(cls, result, given)
    classes = set(fields.values())
    if len(classes) > 1:
        classes = {k for k in classes if _reads(fn, len(calls) - 1, [s for s, c in fields.items() if c == k], value)}
    if len(classes) != 1:
        raise ValueError(
            f"the number reads the band fields of {len(classes)} model-error classes ({sorted(map(str, classes))}): "
            "one expected (a field missing from the solver's band_fields gets no band at run time)"
        )
    return value, classes.pop(), where


@cache
def domain_calls() -> dict[str, dict[str, list[dict]]]:
    """Per mapped record (every kind, as ``mlsysim validate`` runs them): the feasible calls its mapping
    makes to each solver with a domain of its own (``mlsysim_uncertainty.domain.recorder``); their union
    per solver is ``data/domain.json`` (``tools/calibration_domain.py``). A mapping that raises keeps the
    calls it made before (``mlsysim validate`` reports it failed)."""
    import mlsysim
    from mlsysim_uncertainty.bands import domain_solvers

    maps = points.mappings()
    made: dict[str, list[dict]] = {name: [] for name in domain_solvers()}
    out = {}
    with contextlib.ExitStack() as patches, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, calls in made.items():
            cls = getattr(mlsysim, name)
            patches.enter_context(mock.patch.object(cls, "solve", recorder(cls.solve, calls)))
        for r in _calibration_set():
            if r["id"] not in maps:
                continue
            with contextlib.suppress(Exception):  # reported by mlsysim validate as a failed row
                maps[r["id"]].fn()
            out[r["id"]] = {name: calls[:] for name, calls in made.items()}
            for calls in made.values():
                calls.clear()
    return out


def outside_without(pid: str, where: Where | None) -> tuple[str, ...]:
    """Why lines of the call ``where`` of point ``pid`` out of the domain of the OTHER mapped points (the
    domain ``data/domain.json`` would hold had ``pid`` not been measured)."""
    if where is None:
        return ()
    solver, at = where
    others = [c for p, made in domain_calls().items() if p != pid for c in made[solver]]
    return domain_lines(spans(others), *at) if others else (f"{solver} has no other calibration points",)


@attrs.frozen
class Band:
    """One counted prediction's band: ``low``, ``high`` from the corners (equal to the prediction when no
    range moves it) and, once :func:`with_model_error` widened it, the hull with its class's interval."""

    id: str
    group: str
    measured: float
    predicted: float
    low: float
    high: float
    #: the model-error class of the solver call giving the prediction (:func:`classified`)
    error_class: str | None = None
    #: that class's q from its other points (leave-one-out); None: too few of them, or not widened yet
    q: float | None = None
    #: the record is a fraction (its unit "fraction ..."): the model-error interval stops at 1, as ``banded``
    #: stops a plain-number field
    fraction: bool = False
    #: "lower" / "upper": a one-sided record (``harness.bound_of``)
    bound: str | None = None
    #: where the solver call giving the prediction lies (:func:`classified`)
    where: Where | None = None
    #: once :func:`with_model_error` widened it: why it lies out of the other points' domain (q their largest)
    outside_domain: tuple[str, ...] = ()

    @property
    def banded(self) -> bool:
        return self.high > self.low

    @property
    def covered(self) -> bool:
        return self.outside == 0.0

    @property
    def score(self) -> float:
        """|ln(measured / predicted)|, the point's conformity score (``log_error``); 0 for a one-sided
        record whose prediction satisfies its bound (its error is then 0, as the harness scores it)."""
        return (
            0.0
            if relative_error(self.predicted, self.measured, self.bound) == 0.0
            else log_error(self.measured, self.predicted)
        )

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2 / self.predicted

    @property
    def outside(self) -> float:
        """How far the measurement lies beyond the band's nearer end, relative to that end: 0 when
        covered, > 0 above the band, < 0 below it. A miss far outside a band of normal width is a model
        bias; one outside a band of almost no width, a number or efficiency that carries no range."""
        if self.measured > self.high and self.bound != "upper":
            return self.measured / self.high - 1
        if self.measured < self.low and self.bound != "lower":
            return self.measured / self.low - 1
        return 0.0


def _calibration_set() -> list[dict]:
    """The records of the calibration set: every measurement but those of the :data:`NOT_CALIBRATION` groups."""
    return [r for r in load_measurements() + added_measurements() if r["group"] not in NOT_CALIBRATION]


def _records() -> list[dict]:
    maps = points.mappings()
    return [r for r in _calibration_set() if r["id"] in maps and maps[r["id"]].kind == "prediction"]


@cache
def bands() -> tuple[Band, ...]:
    """The corner band and model-error class of every counted prediction a ranged solver gives (run once
    per process: the mappings' numbers do not change within it)."""
    maps = points.mappings()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in _records():
            fn = maps[r["id"]].fn
            mid, error_class, where = classified(fn)
            with _corner(0):
                fast = fn()
            with _corner(1):
                slow = fn()
            if error_class is None and fast == mid == slow:
                continue
            low, high = min(mid, fast, slow), max(mid, fast, slow)
            fraction = r["unit"].startswith("fraction")
            band = Band(r["id"], r["group"], float(r["value"]), mid, low, high, error_class, fraction=fraction)
            out.append(attrs.evolve(band, bound=bound_of(r), where=where))
    return tuple(out)


def class_errors(rows: tuple[Band, ...]) -> dict[str, list[float]]:
    """The conformity scores (``Band.score``: |ln(measured / predicted)|) of the points of each model-error class."""
    out: dict[str, list[float]] = {}
    for b in rows:
        if b.error_class is not None:
            out.setdefault(b.error_class, []).append(b.score)
    return out


def with_model_error(rows: tuple[Band, ...]) -> list[Band]:
    """Each band hulled with its class's interval, q from the class's OTHER points (leave-one-out: the
    band a point would get had it not been in the calibration set; jackknife, Barber et al. 2021), their
    largest when the point lies out of their domain (:func:`outside_without`), a fraction's stopping at 1
    (``mlsysim_uncertainty.banded``'s rules)."""
    out = []
    for b in rows:
        others = [o.score for o in rows if o.error_class == b.error_class and o is not b]
        q = None if b.error_class is None else conformal_q(others)
        if q is None:
            out.append(b)
            continue
        outside = outside_without(b.id, b.where)
        q = max(others) if outside else q
        low, high = min(b.low, b.predicted * math.exp(-q)), max(b.high, b.predicted * math.exp(q))
        if b.fraction and high > 1.0 >= b.predicted:
            high = 1.0
        out.append(attrs.evolve(b, low=low, high=high, q=q, outside_domain=outside))
    return out


def _rows_for(hardware: str) -> list[dict]:
    values = {r["id"]: r["value"] for r in load_measurements() + added_measurements()}
    return [
        dict(row, hardware=hardware, quantity=_QUANTITY[pid[:5]], value=values[pid], unit="ms")
        for pid, row in CALIBRATION_RUNS[hardware]
    ]


@attrs.frozen
class BeforeAfter:
    hardware: str
    calibration: Any  # mlsysim_validation.calibrate.Calibration
    remaining: list  # (record id, measured, before, after)


def calibrations() -> list[BeforeAfter]:
    """Per hardware of CALIBRATION_RUNS: the fit, and its other points before and after."""
    import json

    from mlsysim_core import plugins

    from .calibrate import calibrate
    from .overlay import overlay

    maps = points.mappings()
    measured = {r["id"]: float(r["value"]) for r in _records()}
    out = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for hw, remaining in REMAINING.items():
            runs = Path(tmp, f"{hw}.json")
            runs.write_text(json.dumps(_rows_for(hw)))
            cal = calibrate(runs)
            before = [maps[pid].fn() for pid in remaining]
            if not cal.values:  # the defaults kept: nothing written, nothing moves
                out.append(BeforeAfter(hw, cal, [(p, measured[p], b, b) for p, b in zip(remaining, before)]))
                continue
            lab = Path(tmp, f"{hw}.toml")
            lab.write_text(overlay(cal))
            saved = plugins._host
            plugins.reset(plugins.PluginHost())
            try:
                plugins.load_catalog(lab)
                after = [maps[pid].fn() for pid in remaining]
            finally:
                plugins.reset(saved)
            out.append(BeforeAfter(hw, cal, [(p, measured[p], b, a) for p, b, a in zip(remaining, before, after)]))
    return out


def _coverage(rows: list[Band]) -> str:
    """How many of ``rows`` their band covers, and the median half-width."""
    if not rows:
        return "no band"
    n = sum(b.covered for b in rows)
    med = statistics.median(b.half_width for b in rows)
    return f"{n} of {len(rows)} points ({n / len(rows):.0%}), median half-width {med:.1%}"


def report() -> str:
    """The text ``mlsysim validate --bands`` prints."""
    from mlsysim_cli.api._out import table
    from mlsysim_core.format import number

    rows = bands()
    widened = with_model_error(rows)
    lines = [
        "Bands (corners: mlsysim_uncertainty ranges through the mappings' own solver calls; with model error:",
        "their hull with the model-error interval of the point's class, q from the class's other points):",
        "",
        table(
            [
                "id",
                "measured",
                "predicted",
                "corners",
                "covered",
                "outside",
                "with model error",
                "covered",
                "half-width",
            ],
            [
                [
                    b.id,
                    number(b.measured),
                    number(b.predicted),
                    f"[{number(b.low)}, {number(b.high)}]" if b.banded else "none",
                    ("yes" if b.covered else "NO") if b.banded else "",
                    "" if b.covered or not b.banded else f"{b.outside:+.1%}",
                    f"[{number(w.low)}, {number(w.high)}]" if w.banded else "none",
                    ("yes" if w.covered else "NO") if w.banded else "",
                    f"{w.half_width:.1%}",
                ]
                for b, w in zip(rows, widened)
            ],
        ),
        "",
        "Model-error classes (mlsysim_uncertainty/data/model_error.json: q from all their points, 80 % conformal):",
        "",
        table(
            ["class", "points", "groups", "q", "interval"],
            [
                [
                    k,
                    str(len(es)),
                    "".join(sorted({b.group for b in rows if b.error_class == k})),
                    "none" if q is None else f"{q:.3f}",
                    "none (4 points needed)" if q is None else f"x{math.exp(-q):.2g}-x{math.exp(q):.2g}",
                ]
                for k, es in class_errors(rows).items()
                for q in [conformal_q(es)]
            ],
        ),
        "",
    ]
    for g in GROUPS:
        before = [b for b in rows if b.group == g and b.banded]
        after = [b for b in widened if b.group == g]
        if after:
            lines.append(f"group {g}: corners {_coverage(before)}; with model error {_coverage(after)}")
    outside = [w for w in widened if w.outside_domain]
    lines += ["", "Out of the domain of their class's other points (q: the largest of their errors):", ""]
    lines += [f"{w.id}: {'; '.join(w.outside_domain)}" for w in outside]
    lines += ["", "Calibrating one hardware on its serving points (mlsysim calibrate), its other points:"]
    for ba in calibrations():
        head = ba.calibration.report().split("\n\n")[0]  # the fitted values, their range, what was kept
        lines += [
            "",
            f"{ba.hardware}, on " + ", ".join(pid for pid, _ in CALIBRATION_RUNS[ba.hardware]) + ":",
            head,
            table(
                ["id", "measured", "before", "after", "error before", "error after"],
                [
                    [p, number(m), number(b), number(a), f"{b / m - 1:+.1%}", f"{a / m - 1:+.1%}"]
                    for p, m, b, a in ba.remaining
                ],
            ),
        ]
        engine = ba.calibration.engine
        for label, picked in (
            (f" of engine {engine}", [r for r in ba.remaining if f"-{engine}-" in r[0]]),
            (
                " of other engines" if engine else "",
                [r for r in ba.remaining if not engine or f"-{engine}-" not in r[0]],
            ),
        ):
            if picked:
                lines.append(
                    f"median |error| on the other points{label}: before "
                    f"{statistics.median(abs(b / m - 1) for _, m, b, _ in picked):.1%}, after "
                    f"{statistics.median(abs(a / m - 1) for _, m, _, a in picked):.1%} ({len(picked)} points)"
                )
    return "\n".join(lines)
