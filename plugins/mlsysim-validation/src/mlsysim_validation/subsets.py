"""Does calibrating on a few of one hardware's serving points improve its other points? (issue 20 item 4)

The rule, fixed before looking at any result: every counted serving point of the calibration set that is one
``ServingModel`` solve (a :class:`.serving_call.ServingCall` mapping with an exact measured value), grouped
by hardware and engine (the scope of a fit: ``mlsysim calibrate`` with an ``engine`` column); each group of at
least ``MIN_POINTS``; for each size in ``SIZES``, every subset of that size, or ``SAMPLE`` of them drawn with
``random.Random(SEED)`` where there are more. Each subset is calibrated as a user's rows would be (the point's
solve as a row, under its own load: :func:`.calibrate.fitted`, the fit ``mlsysim calibrate`` reports) and the
group's remaining points are predicted with the fit: their median |error| before (the defaults) and after, and
the band ``mlsysim serve --bands`` gives each of them before and after (the hardware carrying the calibration
table ``mlsysim calibrate`` writes, :func:`.calibrate.table`): how many it covers and its median half-width.
A subset the tool refuses (too few points for the parameters it constrains, or points that contradict each
other) counts as refused, not dropped.
"""

from __future__ import annotations

import math
import random
import statistics
import warnings
from itertools import combinations
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

from . import points
from .calibrate import beyond, call, errors, fitted, predict, table
from .harness import added_measurements, bound_of, load_measurements
from .runs import Point, point
from .serving_call import ServingCall

MIN_POINTS = 6
#: the rows a group holds: every serving point, or the ITL-like ones only (the token gaps, ServingModel's
#: ``itl*`` fields), whose model error is a fifth of TTFT's under load (docs/accuracy.md, Bands)
ROWS = {"all": lambda field: True, "ITL": lambda field: field.startswith("itl")}
SIZES = (3, 5)
SAMPLE = 20
SEED = 20


@attrs.frozen
class Group:
    """One hardware and engine's serving points: ids, their solves and measured values (ms)."""

    hardware: str
    engine: str | None
    rows: str  # a key of ROWS
    ids: tuple[str, ...]
    calls: tuple[ServingCall, ...]
    measured: tuple[float, ...]

    def points(self, which: tuple[int, ...]) -> list[Point]:
        """Points ``which`` as ``mlsysim calibrate`` reads them."""
        return [point(n + 1, self.calls[i].row(self.measured[i])) for n, i in enumerate(which)]

    def solved(self) -> tuple[Any, dict]:
        """The hardware and the models the group's rows name (catalog objects)."""
        import mlsysim

        models = {c.model: getattr(mlsysim.Models.Language, c.model) for c in self.calls}
        return getattr(mlsysim.Hardware.Cloud, self.hardware), models


def groups() -> list[Group]:
    """The groups of the rule, in (hardware, engine, rows) order."""
    maps = points.mappings()
    found: dict[tuple[str, str | None], list[tuple[str, ServingCall, float]]] = {}
    for rec in load_measurements() + added_measurements():
        m = maps.get(rec["id"])
        if m is None or m.kind != "prediction" or not isinstance(m.fn, ServingCall) or bound_of(rec) is not None:
            continue
        found.setdefault((m.fn.hardware, m.fn.engine), []).append((rec["id"], m.fn, float(rec["value"])))
    out = []
    for (hw, engine), rows in sorted(found.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        for name, kept in ROWS.items():
            picked = sorted((r for r in rows if kept(r[1].field)), key=lambda r: r[0])
            if len(picked) >= MIN_POINTS:
                ids, calls, measured = zip(*picked)
                out.append(Group(hw, engine, name, ids, calls, measured))
    return out


def drawn(n: int, k: int) -> list[tuple[int, ...]]:
    """The subsets of size ``k`` of ``n`` points the rule calibrates on, sorted."""
    if math.comb(n, k) <= SAMPLE:
        return list(combinations(range(n), k))
    rng, out = random.Random(SEED), set[tuple[int, ...]]()
    while len(out) < SAMPLE:
        out.add(tuple(sorted(rng.sample(range(n), k))))
    return sorted(out)


@attrs.frozen
class Trial:
    """One subset: the fit (None: refused, with the tool's message; {}: the defaults kept), the choice that
    made it, the median |error| on the group's remaining points before and after it, and whether every row of the
    subset lies within its kind's 80 % model error of the defaults (:func:`.calibrate.beyond`: why a call that kept
    them did, :func:`.calibrate.kept_because`)."""

    subset: tuple[str, ...]
    values: dict | None
    chosen: str | None  # calibrate.CHOICES: the fit leave-one-out on the subset chose
    refused: str | None
    before: float
    after: float | None
    within: bool
    #: the remaining points the band covers, and its median half-width (of the nominal), before and after
    covered: tuple[int, int]
    width: tuple[float, float]


def _median_error(points: list[Point], predicted: list[float | None]) -> float:
    return statistics.median(abs(e) for e in errors(points, predicted))


def band(p: Point, hardware: Any, models: dict) -> tuple[bool, float]:
    """Whether the band of the point's solve (``mlsysim_uncertainty.banded``, as ``mlsysim serve --bands``) holds
    its measured value, and its half-width over the nominal ((high - low) / 2 / nominal)."""
    import mlsysim
    from mlsysim_uncertainty import banded

    args, kwargs = call(p, hardware, models)
    r = banded(mlsysim.ServingModel, *args, **kwargs)
    low, high = r.bands.si(p.quantity)
    return low <= p.value <= high, (high - low) / 2.0 / r.si(p.quantity)


def _bands(points: list[Point], hardware: Any, models: dict) -> tuple[int, float]:
    """How many of ``points`` their bands cover, and the median half-width (:func:`band`)."""
    found = [band(p, hardware, models) for p in points]
    return sum(c for c, _ in found), statistics.median(w for _, w in found)


def calibrated(hardware: Any, engine: str | None, fit: dict) -> Any:
    """``hardware`` carrying the calibration table ``fit`` (:func:`.calibrate.table`), scoped to ``engine``, as the
    overlay of a call on those rows has it."""
    return attrs.evolve(hardware, calibration={"engines": {engine: fit}} if engine else fit)


def trials(group: Group, k: int, count: int | None = None) -> list[Trial]:
    """The rule's trials of ``group`` at subset size ``k`` (the first ``count`` of them)."""
    hardware, models = group.solved()
    everything = group.points(tuple(range(len(group.ids))))
    default = predict(everything, hardware, models)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bands = [band(p, hardware, models) for p in everything]
        for subset in drawn(len(group.ids), k)[:count]:
            rest = [i for i in range(len(group.ids)) if i not in subset]
            others = [everything[i] for i in rest]
            before = _median_error(others, [default[i] for i in rest])
            ids = tuple(group.ids[i] for i in subset)
            within = not beyond(
                [everything[i] for i in subset], errors([everything[i] for i in subset], [default[i] for i in subset])
            )
            covered = sum(bands[i][0] for i in rest)
            width = statistics.median(bands[i][1] for i in rest)
            try:
                f = fitted(group.points(subset), hardware, models)
            except InvalidInputError as e:
                out.append(Trial(ids, None, None, str(e), before, None, within, (covered, covered), (width, width)))
                continue
            after = _median_error(others, predict(others, hardware, models, f.values)) if f.values else before
            fit = table(f, group.points(subset))
            now = _bands(others, calibrated(hardware, group.engine, fit), models) if fit else (covered, width)
            out.append(Trial(ids, f.values, f.chosen, None, before, after, within, (covered, now[0]), (width, now[1])))
    return out


def study() -> list[dict]:
    """Every group's trials at every size, as the generated file holds them."""
    return [
        dict(
            hardware=g.hardware,
            engine=g.engine,
            rows=g.rows,
            points=len(g.ids),
            trials={str(k): [attrs.asdict(t) for t in trials(g, k)] for k in SIZES},
        )
        for g in groups()
    ]


def _share(trials: list[dict], which: int, others: int) -> str:
    """The share of the other points (``others`` per trial) the band covers over ``trials``, before (0) or after
    (1) the fit."""
    return f"{sum(t['covered'][which] for t in trials) / (others * len(trials)):.0%}"


def summary(groups: list[dict]) -> str:
    """The study's lines: per group and size, the subsets, the refused, those whose fit kept the defaults (and of
    these, those whose every row lies within its kind's model error of the defaults), and over
    every subset (a refused one, like one that kept the defaults, leaves the other points at the defaults) the
    median of the remaining points' median |error| before and after, the median and mean over subsets of after /
    before (the median of the ratios compares each subset's points with themselves; the medians before and after
    do not: a subset whose other points hold more of the large errors moves from above the median before to near it
    after, session 19, docs/accuracy.md), how
    many subsets improve or worsen them, and the share of the remaining points their bands cover after the fit (the
    defaults') with the median over subsets of the bands' median half-width after (before)."""
    lines = []
    for g in groups:
        for k, ts in g["trials"].items():
            after = [t["before"] if t["after"] is None else t["after"] for t in ts]
            rest = g["points"] - int(k)
            scope = g["hardware"] + (f" (engine {g['engine']})" if g["engine"] else "")
            lines.append(
                f"{scope}, {g['rows']} rows, {k} of {g['points']}: {len(ts)} subsets, "
                f"{sum(t['refused'] is not None for t in ts)} refused, "
                f"{sum(t['chosen'] == 'defaults' for t in ts)} kept the defaults "
                f"({sum(t['chosen'] == 'defaults' and t['within'] for t in ts)} within the model's error); "
                "the other points' median |error| "
                f"before {statistics.median(t['before'] for t in ts):.1%}, after {statistics.median(after):.1%}; "
                f"after/before: median {statistics.median(a / t['before'] for a, t in zip(after, ts)):.2f}, "
                f"mean {statistics.mean(a / t['before'] for a, t in zip(after, ts)):.2f}; "
                f"better in {sum(a < t['before'] for a, t in zip(after, ts))}, "
                f"worse in {sum(a > t['before'] for a, t in zip(after, ts))}; "
                f"the band covers {_share(ts, 1, rest)} of the other points (defaults' {_share(ts, 0, rest)}), "
                "median half-width "
                f"{statistics.median(t['width'][1] for t in ts):.1%} "
                f"({statistics.median(t['width'][0] for t in ts):.1%})"
            )
    return "\n".join(lines)
