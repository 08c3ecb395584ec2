"""Bands on a result: the solver's own kernels evaluated at the corners of the efficiency ranges.

A solver opts in by declaring ``band_arguments`` on its class: ``{solve() argument: result field
holding the value used}`` for each named efficiency or overhead it takes (``ServingModel``:
efficiency, memory_efficiency, engine_overhead, network_efficiency and the power shares power_idle, power_compute,
power_memory); a dotted name is an attribute of
an argument that is an efficiency object (``DistributedModel``: ``efficiency.compute`` held in the result's
``efficiency.compute``; the fleet solvers: the node ``utilization``, with ``band_aliases``
``{"mfu": "utilization"}``, its upstream name, which holds it too when given). Optionally
``band_fields``, the headline fields that get bands (default: every measured field), ``band_inputs``,
arguments that take another solver's result
(``SustainabilityModel``'s ``workload``): their band is carried through by solving at that input's own
corner results, ``band_sources``, ``{argument: result field naming where the value used came from}``: an
argument whose value the nominal took from a band input (the fleet solvers' ``utilization``, taken from a
serving result's ``loaded_power`` where ``utilization_source`` is ``"workload"``) is held, so each corner takes
it from that input's corner (its own band, not the argument's range), and ``band_catalog``, ``{name of a catalog
number: the end of its range paired with the fast corner}``: each catalog value among the arguments (a fleet, its
node and accelerator, a grid) has its ranged numbers of those names (``provenance``,
``mlsysim_uncertainty.provenance``) moved to that end. :func:`banded` solves once, then evaluates the two extreme
corners of the ranges (``ranges.RANGES``: every efficiency at its high end and every overhead at its low end, then the
reverse; the catalog numbers at the ends ``band_catalog`` pairs with them) with two more ``solve()`` calls: the same
kernels (a ``sweep_columns`` call of two points costs more than two scalar solves in numpy overhead,
bench/bench_bands.py). A solver declaring only ``band_arguments`` may offer
``solve_corners(corners, *args, **kwargs) -> (nominal, fast, slow)`` to evaluate the corners on the
nominal's checked inputs (``corners(nominal)``: :func:`corner_moves`, the arguments that move; the nominal a new
result of its own, which the bands are set on; ``ServingModel``: one ``prepare`` for the three; ``SingleNodeModel``:
the step's work once, re-timed at each corner's efficiencies). Every field of these
models is monotone in each efficiency and overhead (a sum or max of terms each falling with an
efficiency and growing with an overhead), and every field of a fleet solver in each of its
``band_catalog`` numbers and its utilization (energy, carbon and cost grow with power, intensity and
utilization; failures fall with part MTTFs), so the two corners bound the whole box of ranges.
An argument the caller gives explicitly is held at that value. The band a result carries is the hull
of that corner band and the model-error interval of the field's class (:mod:`.model_error`: how far the
model lies from published measurements of its kind), which holds even where every range is held.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from functools import cache, partial
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError, UnknownArgumentError
from mlsysim_core.plugins import host
from mlsysim_core.results import Result
from mlsysim_core.units import from_si, unit_and_factor

from .calibration import scoped
from .model_error import CALIBRATED, FLOORS, calibrated, error_class, factor, regimes, why_lines
from .provenance import at_corner
from .ranges import RANGES

#: Relative difference below which the corners' values are the nominal one (floating-point noise)
_SAME = 1e-12


@cache
def _names(solve: Any) -> list[str]:
    """The names of a solve method's parameters in order, without self."""
    return list(inspect.signature(solve).parameters)[1:]


def given_arguments(solve: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call ``solve(solver, *args, **kwargs)`` that it accepted, by name."""
    return dict(zip(_names(solve), args), **kwargs)  # solve() accepted them: no name twice


@cache
def _signature(solve: Any) -> tuple[list[str], frozenset[str], dict[str, Any]]:
    """A solve method's parameter names without self (in order and as a set) and their defaults."""
    params = list(inspect.signature(solve).parameters.values())[1:]
    return _names(solve), frozenset(_names(solve)), {p.name: p.default for p in params if p.default is not p.empty}


def bound_arguments(solve: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """Every argument of a call ``solve(solver, *args, **kwargs)`` by name, defaults filled in; None
    when Python would refuse the call (too many or unknown arguments, one given twice, one missing):
    a solver's ``solve_corners`` then calls ``solve`` itself, which says why."""
    names, known, defaults = _signature(solve)
    if len(args) > len(names) or not kwargs.keys() <= known or not kwargs.keys().isdisjoint(names[: len(args)]):
        return None
    a = defaults.copy()  # one copy, updated in place (two merges would copy the defaults twice)
    a.update(zip(names, args))
    a.update(kwargs)
    return a if len(a) == len(names) else None  # every name is known: all there, none missing


@cache
def _measured(solver_cls: Any, result_cls: type) -> list[tuple[str, str, str]]:
    """(field, stored attribute, unit) of the solver's ``band_fields`` (every measured field if it
    declares none); a plain number it names (a fraction such as ``ReliabilityModel``'s goodput) has
    the unit "" and its band is two plain numbers."""
    wanted = getattr(solver_cls, "band_fields", None)
    return [
        (f.alias, f.name, (f.metadata or {}).get("mlsysim_unit", ""))
        for f in attrs.fields(result_cls)
        if ("mlsysim_unit" in (f.metadata or {}) and wanted is None) or (wanted is not None and f.alias in wanted)
    ]


@cache
def _solver_name(solver_cls: Any) -> str:
    """The name of the class declaring the solver's band declarations (``Engine``: ``SingleNodeModel``),
    which names its model-error class."""
    name = _owner(solver_cls, ("band_arguments", "band_catalog", "band_inputs"))
    if name is None:
        raise InvalidInputError(
            "solver", solver_cls.__name__, "a solver declaring band_arguments, band_inputs or band_catalog"
        )
    return name


def error_classes(solver_cls: Any, result: Any, given: dict[str, Any]) -> dict[str, str | None]:
    """The model-error class (``model_error.error_class``) of each banded field of ``result``, which
    ``solver_cls`` gave for the arguments ``given``, by the field's stored attribute."""
    name = _solver_name(solver_cls)
    regime = regimes(name, given, result)
    measured = _measured(solver_cls, type(result))  # type: ignore[arg-type]  # a class is hashable
    return {stored: error_class(name, regime, f) for f, stored, _ in measured}


@cache
def _with_error(
    solver_cls: Any, result_cls: type, regime: tuple[str, ...], outside: bool, fit: tuple | None = None
) -> tuple[list[tuple[str, str, str, float | None, Any]], tuple[str, ...]]:
    """:func:`_measured`'s rows each with exp(q) of its model-error class (None: no interval) for a call in
    ``regime`` (``outside``: out of domain, q the class's largest error; ``fit``: the hardware's calibrated
    model error, ``model_error.calibrated``) and the floor it scales the distance from (``model_error.FLOORS``:
    a number, or (field, stored attribute); None: 0), and a why line per class."""
    name = _solver_name(solver_cls)
    measured = _measured(solver_cls, result_cls)
    classes = [error_class(name, regime, f) for f, _, _ in measured]
    stored_of = {f.alias: f.name for f in attrs.fields(result_cls)}
    floors = {
        field: floor if isinstance(floor, float) else (floor, stored_of[floor])
        for field, floor in FLOORS.get(name, {}).items()
    }
    rows = [
        (f, stored, unit, factor(k, outside, fit), floors.get(f)) for (f, stored, unit), k in zip(measured, classes)
    ]
    return rows, why_lines(name, classes, outside, fit)


class Pending:
    """A corner result not built yet: its result class and keyword arguments (SI floats), which are
    all the band needs; ``Bands.corners`` builds it on first use (``ServingModel.solve_corners``).
    ``base``: the fields it shares with the nominal result, ``fields`` then holds only those the
    efficiencies moved (``SingleNodeModel.solve_corners``); a band field missing from ``fields`` is
    the nominal's value, so it has no band."""

    __slots__ = ("cls", "fields", "base")

    def __init__(self, cls: type, fields: dict[str, Any], base: dict[str, Any] | None = None):
        self.cls, self.fields, self.base = cls, fields, base

    def build(self) -> Any:
        return self.cls(**self.fields) if self.base is None else self.cls(**(self.base | self.fields))


def _built(corner: Any) -> Any:
    return corner.build() if isinstance(corner, Pending) else corner


class Bands(Mapping):
    """field -> (low, high) Quantities in the field's unit, built on access from SI floats (``si``:
    field -> (low, high, unit)); a plain number's field (unit "") -> (low, high) plain numbers.
    ``corners``: the (fast, slow) corner results, which a solver taking this result as an input
    (``band_inputs``) solves at to carry the band through; None when nothing moved. ``model_error``: a
    why line per model-error class the bands hold (``model_error.why``). ``ranges``: the bands of the
    ranges alone (the corners, without the model-error interval)."""

    def __init__(
        self,
        si: dict[str, tuple[float, float, str]],
        corners: tuple[Any, Any] | None = None,
        model_error: tuple[str, ...] = (),
        spans: tuple[list, dict, Any, Any, dict, dict] | None = None,
    ):
        self._si = si
        self._corners = corners
        self.model_error = model_error
        self._spans = spans

    @property
    def ranges(self) -> Bands:
        """The bands the efficiency and catalog ranges' corners span, without the model error (``spans``:
        :func:`_spans`'s inputs, evaluated on access)."""
        return self if self._spans is None else Bands(_spans(*self._spans, False), self._corners)

    @property
    def corners(self) -> tuple[Any, Any] | None:
        """The (fast, slow) corner results, built on first use where a solver left them ``Pending``."""
        c = self._corners
        if c is not None and (isinstance(c[0], Pending) or isinstance(c[1], Pending)):
            c = self._corners = (_built(c[0]), _built(c[1]))
        return c

    @classmethod
    def recorded(cls, bands: dict, corners: tuple[Any, Any]) -> Bands:
        """The bands a ``--json`` document wrote (``{field: {"low", "high"}}``, each ``{"value", "unit"}``
        or a number) with its corner results read back."""
        si = {}
        for name, band in bands.items():
            low, high = band["low"], band["high"]
            if isinstance(low, dict):
                (lo, hi), unit = (x["value"] / unit_and_factor(x["unit"])[1] for x in (low, high)), low["unit"]
            else:
                lo, hi, unit = low, high, ""
            si[name] = (lo, hi, unit)
        return cls(si, corners)

    def __getitem__(self, name: str) -> tuple[Any, Any]:
        lo, hi, unit = self._si[name]
        return (lo, hi) if unit == "" else (from_si(lo, unit), from_si(hi, unit))

    def si(self, name: str) -> tuple[float, float]:
        """(low, high) of field ``name`` in SI (plain numbers), as ``result.si(name)`` gives the value."""
        lo, hi, _ = self._si[name]
        return lo, hi

    def __iter__(self) -> Iterator[str]:
        return iter(self._si)

    def __len__(self) -> int:
        return len(self._si)


def _used(result: Any, field: str) -> Any:
    """The value a result holds in ``field`` (``a.b``: attribute ``b`` of field ``a``)."""
    head, _, attr = field.partition(".")
    value = result.si(head)
    return getattr(value, attr) if attr else value


#: the corner efficiency objects made so far, by their class, values and the value set (see :func:`_with`)
_made: dict[tuple, Any] = {}


def _with(efficiency: Any, attr: str, value: float) -> Any:
    """``efficiency`` (an attrs efficiency object) with ``attr`` = ``value``, one object per distinct
    result (keyed by the object, hashed and compared by class and values, so a mutated object is a new
    key): a solver's preparation cache, keyed by its arguments' identity
    (``mlsysim_core.solver.PreparedCache``), then hits on a repeated banded call instead of filling up
    with a new object per call. An unhashable object or one hashed by identity (not frozen): a new object."""
    if efficiency.__class__.__hash__ is object.__hash__:  # hashed by identity: it could change in place
        return attrs.evolve(efficiency, **{attr: value})
    try:
        key = (efficiency, attr, value)
        made = _made.get(key)
    except TypeError:
        return attrs.evolve(efficiency, **{attr: value})
    if made is None:
        if len(_made) >= 1024:
            _made.clear()
        made = _made[key] = attrs.evolve(efficiency, **{attr: value})
    return made


def _owner(solver_cls: Any, declarations: tuple[str, ...] = ("band_arguments",)) -> str | None:
    """The name of the class declaring any of ``declarations`` in its own body (``Engine``:
    ``SingleNodeModel``), None if none does."""
    return next((c.__name__ for c in solver_cls.__mro__ if any(vars(c).get(d) for d in declarations)), None)


def domain_owner(solver_cls: Any) -> str | None:
    """The name of the class whose calibration domain the calls of ``solver_cls`` have (``Engine``:
    ``SingleNodeModel``'s), None for a solver with none (a fleet solver: :func:`domain_solvers`)."""
    return _declared(solver_cls)[3]


def domain_solvers() -> list[str]:
    """The installed solvers with a calibration domain of their own (out-of-domain lines,
    ``data/domain.json``): those declaring efficiency ranges (``band_arguments``) but taking no other
    solver's result (``band_inputs``: a fleet solver's domain is its workload's, carried through)."""
    from mlsysim_core import plugins

    return [n for n in declaring("band_arguments") if not getattr(plugins.get_solver(n), "band_inputs", ())]


@cache
def _declared(solver_cls: Any) -> tuple[tuple, tuple[str, ...], dict[str, str], str | None]:
    """A solver class's band declarations, read once: ((argument, attribute, result field, its head,
    range, the arguments giving its value under another name: ``band_aliases``) per ``band_arguments``
    entry), ``band_inputs``, ``band_catalog`` and the name of the class whose calibration domain its
    calls have (``Engine``: ``SingleNodeModel``'s; none for a fleet solver: :func:`domain_solvers`)."""
    aliases: dict[str, str] = getattr(solver_cls, "band_aliases", {})
    arguments = tuple(
        (
            *path.partition(".")[::2],
            field,
            field.partition(".")[0],
            RANGES[path],
            [a for a in aliases if aliases[a] == path],
        )
        for path, field in getattr(solver_cls, "band_arguments", {}).items()
    )
    owner = None if getattr(solver_cls, "band_inputs", ()) else _owner(solver_cls)
    inputs = tuple(getattr(solver_cls, "band_inputs", ()))
    return arguments, inputs, getattr(solver_cls, "band_catalog", None) or {}, owner


@cache
def _heads(
    solver_cls: Any, result_cls: type
) -> tuple[tuple[tuple[str, str, list[str]], ...], tuple[tuple[str, str], ...]]:
    """Per ``band_arguments`` entry of the solver (:func:`_declared`'s order): (argument, the attribute of
    ``result_cls`` storing the field that holds the value used, the arguments giving it under another name); and per
    ``band_sources`` entry: (argument, the attribute of ``result_cls`` storing the field that names where the value
    used came from: a ``band_inputs`` name there holds the argument, :func:`_moves`)."""
    stored = {f.alias: f.name for f in attrs.fields(result_cls)}  # ``_latency`` stores ``latency``
    return (
        tuple((arg, stored[head], aliases) for arg, _, _, head, _, aliases in _declared(solver_cls)[0]),
        tuple((arg, stored[field]) for arg, field in getattr(solver_cls, "band_sources", {}).items()),
    )


#: the argument values :func:`_moves` found so far, by solver class, calibration and the values used (which
#: decide them), with the calibration table they were found for (its identity is in the key: kept alive)
_found: dict[tuple, tuple[dict, dict, Any]] = {}


def _moves(solver_cls: Any, nominal: Result, given: dict[str, Any]) -> tuple[dict, dict]:
    """({argument: fast value}, {argument: slow value}) of each declared efficiency or overhead the caller
    left out (``band_arguments``): the ends of its range (``Range.corners``) around the value the nominal
    used, or the hardware's calibrated range. Memoized by what decides them: the solver class, the hardware's
    calibration table (by identity) and engine, and per argument the value used (None where the caller held
    it; an efficiency object by value), so a repeated banded call finds them set up (a value hashed by
    identity, which could change in place, or an unhashable one: found anew)."""
    stored = vars(nominal)  # @result classes store their fields in __dict__
    table = getattr(given.get("hardware"), "calibration", None) or None  # an empty table: none
    key = [solver_cls, None, None] if table is None else [solver_cls, id(table), given.get("engine")]
    heads, derived = _heads(solver_cls, type(nominal))  # type: ignore[arg-type]  # a class is hashable
    if derived:  # a value taken from a band input stands as given: its band comes through the input's corners
        given = given | {a: True for a, source in derived if stored.get(source) in _declared(solver_cls)[1]}
    for arg, head, aliases in heads:
        if given.get(arg) is not None or (aliases and any(given.get(a) is not None for a in aliases)):
            key.append(None)  # held
            continue
        value = stored.get(head)
        if value is None:  # not stored yet: answered on its first read (:func:`_read`)
            value = getattr(nominal, head)
        if value.__class__ is not float and value.__class__.__hash__ is object.__hash__:
            return _ends(solver_cls, nominal, given, table)  # hashed by identity: it could change in place
        key.append(value)
    try:
        hit = _found.get(tuple(key))
    except TypeError:  # an unhashable efficiency object: nothing kept
        return _ends(solver_cls, nominal, given, table)
    if hit is not None and hit[2] is table:
        return hit[0], hit[1]
    fast, slow = _ends(solver_cls, nominal, given, table)
    if len(_found) >= 1024:
        _found.clear()
    _found[tuple(key)] = (fast, slow, table)
    return fast, slow


def _ends(solver_cls: Any, nominal: Result, given: dict[str, Any], table: Any) -> tuple[dict, dict]:
    """:func:`_moves`' values, found: each range's corners (``Range.corners``) at the value ``nominal`` used
    (an attribute of an efficiency object: that object with the attribute moved) or at the hardware's
    calibration ``table`` scoped to the engine."""
    calibration = scoped(table, given.get("engine")) if table else None
    fast: dict[str, Any] = {}
    slow: dict[str, Any] = {}
    for arg, attr, field, head, span, aliases in _declared(solver_cls)[0]:
        if given.get(arg) is not None or any(given.get(a) is not None for a in aliases):
            continue  # given (under its own name or an alias): held
        f, s = span.corners(_used(nominal, field), calibration)
        if attr:  # an attribute of the efficiency object the solver used
            held = nominal.si(head)
            f = _with(fast.get(arg, held), attr, f)
            s = _with(slow.get(arg, held), attr, s)
        fast[arg], slow[arg] = f, s
    return fast, slow


def corner_moves(solver_cls: Any, nominal: Result, given: dict[str, Any]) -> tuple[dict, dict] | None:
    """(fast, slow): only the declared efficiencies and overheads the caller left out, at the ends of their
    ranges (:func:`_moves`: read-only, the same two dicts on a repeated call with the same values used, so a
    solver may key what it made for a corner by their identity); None when none would move. What a solver's
    ``solve_corners`` evaluates its corners at (an argument it does not find there is held at the caller's value)."""
    fast, slow = _moves(solver_cls, nominal, given)
    return (fast, slow) if fast else None


def corner_arguments(solver_cls: Any, nominal: Result, given: dict[str, Any]) -> tuple[dict, dict] | None:
    """(fast, slow): ``given`` with each declared efficiency or overhead the caller left out at the
    ends of its range (``band_arguments``, :func:`_moves`) and each banded input result (``band_inputs``)
    replaced by its corner results; None when nothing would move."""
    _, inputs, ends, _ = _declared(solver_cls)
    moved_fast, moved_slow = _moves(solver_cls, nominal, given)
    fast, slow = given | moved_fast, given | moved_slow
    moved = bool(moved_fast)
    for arg in inputs:
        corners = getattr(getattr(given.get(arg), "bands", None), "corners", None)
        if corners is not None:
            fast[arg], slow[arg] = corners
            moved = True
    for arg in given if ends else ():
        f, s = at_corner(fast[arg], ends, 0), at_corner(slow[arg], ends, 1)
        if f is not fast[arg] or s is not slow[arg]:
            fast[arg], slow[arg], moved = f, s, True
    return (fast, slow) if moved else None


#: declarations by which a solver has ranges of its own (efficiencies, catalog numbers); ``band_inputs``
#: only carries another solver's band through
OWN_RANGES = ("band_arguments", "band_catalog")


def declaring(*declarations: str) -> list[str]:
    """The names of the installed solvers whose class declares any of ``declarations`` (e.g.
    :data:`OWN_RANGES`) in its own body: who gets bands, derived from the solvers rather than listed by
    hand. A subclass inheriting them (``Engine``, a shortcut to ``SingleNodeModel``) solves through its
    base, so it is not listed twice."""
    from mlsysim_core import plugins

    return [name for name in plugins.solvers() if any(vars(plugins.get_solver(name)).get(d) for d in declarations)]


def _spans(rows: list, mids: dict, pending1: Any, pending2: Any, ones: dict, others: dict, error: bool) -> dict:
    """field -> (low, high, unit) over ``rows`` (:func:`_with_error`): the hull of the nominal (``mids``:
    its stored attributes) and the two corners (``ones``, ``others``: by field name where the corner is
    ``Pending`` (``pending1``, ``pending2`` not None), else by stored attribute), and with ``error`` the
    model-error interval [mid / f, mid * f] (of the distance from the row's floor where it has one: [floor + d / f,
    floor + d * f]); only the fields whose band has a width. Runs per banded call."""
    si = {}
    by_name1, by_name2 = pending1 is not None, pending2 is not None
    for name, stored, unit, f, floor in rows:
        # an optional field a Pending corner was not given is the nominal's (None: a field not computed)
        mid = mids[stored]
        if mid is None:
            continue
        a = ones.get(name if by_name1 else stored, mid)
        b = others.get(name if by_name2 else stored, mid)
        if a is None or b is None:
            lo = hi = mid
        elif a < b:  # comparisons, not min/max of tuples
            lo = mid if mid < a else a
            hi = mid if mid > b else b
        else:
            lo = mid if mid < b else b
            hi = mid if mid > a else a
        if error and f is not None:
            if floor is None:  # the distance from 0: the nominal itself (float literals: CPython's fast path)
                if mid > 0.0:
                    m1, m2 = mid / f, mid * f
                else:
                    m1, m2 = mid * f, mid / f
            else:
                base = floor if floor.__class__ is float else mids[floor[1]]
                d = mid - base
                if d > 0.0:
                    m1, m2 = base + d / f, base + d * f
                else:
                    m1, m2 = base + d * f, base + d / f
            if m1 < lo:
                lo = m1
            if m2 > hi:
                hi = m2
            if unit == "":  # a plain-number field is a fraction (band_fields): within [0, 1]
                if hi > 1.0 >= mid:
                    hi = 1.0
                if lo < 0.0 <= mid:
                    lo = 0.0
        if hi - lo > _SAME * (hi if hi > 0.0 else -hi):
            si[name] = (lo, hi, unit)
    return si


def banded(solver: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``solver.solve(*args, **kwargs)`` with ``bands`` and ``out_of_domain`` (why lines) filled in.
    ``bands``: field -> (low, high) Quantities, on every band field, the hull of the corners' band
    (``bands.ranges``) and the model-error interval of the field's class around the nominal
    (``model_error``: [nominal / exp(q), nominal * exp(q)], q read from ``data/model_error.json``;
    ``bands.model_error``: a why line per class); a plain-number field (a fraction) stops at 1."""
    solver = solver() if isinstance(solver, type) else solver
    cls = type(solver)
    arguments, inputs, ends, _ = _declared(cls)  # type: ignore[arg-type]  # a class is hashable
    if not (arguments or inputs or ends):
        raise InvalidInputError(
            "solver", cls.__name__, "a solver declaring band_arguments, band_inputs or band_catalog (e.g. ServingModel)"
        )
    given = given_arguments(cls.solve, args, kwargs)
    at_corners = None if inputs or ends else getattr(solver, "solve_corners", None)
    try:
        if at_corners is not None:  # the corners on its one checked layout: only efficiencies move
            nominal, one, other = at_corners(partial(corner_moves, cls, given=given), *args, **kwargs)
        else:
            nominal = solver.solve(*args, **kwargs)
    except TypeError:  # Python refused the call: a misspelt keyword is named with the closest ones
        UnknownArgumentError.check(cls.solve, kwargs, f"{cls.__name__}.solve()")
        raise
    if at_corners is None:
        corners = corner_arguments(cls, nominal, given)
        one, other = (None, None) if corners is None else (solver.solve(**corners[0]), solver.solve(**corners[1]))
    # what the nominal's out_of_domain answers (mlsysim_domain_checks), asked of the host here: the property imports
    # the host on a result's first read (~12 k instructions), and this copy carries the lines (_with_bands)
    why = host().out_of_domain(nominal)
    solver_name = _solver_name(cls)  # type: ignore[arg-type]  # hashable
    regime = regimes(solver_name, given, nominal)
    # a solver taking banded inputs states their lines (its domain is theirs): its own interval stays in domain
    fit = calibrated(given) if CALIBRATED in regime else None
    rows, error_why = _with_error(cls, type(nominal), regime, bool(why) and not inputs, fit)  # type: ignore[arg-type]
    mids = _read(nominal, rows)  # @result classes store fields in __dict__ (SI floats), a Pending corner by name
    p1, p2 = isinstance(one, Pending), isinstance(other, Pending)
    ones = mids if one is None else one.fields if p1 else _read(one, rows)
    others = mids if other is None else other.fields if p2 else _read(other, rows)
    spans = (rows, mids, ones if p1 else None, others if p2 else None, ones, others)
    corners = None if one is None else (one, other)
    return _with_bands(nominal, Bands(_spans(*spans, True), corners, error_why, spans), why, at_corners is not None)


def _read(result: Result, rows: list) -> dict:
    """The dict of ``result`` (@result classes store their fields in __dict__) with the stored field of each of
    ``rows`` (:func:`_with_error`) and its floor's in it: a result may answer some fields on their first read (a
    non-data descriptor of its class, e.g. a serving answer's static fields under traffic,
    mlsysim_serving.results.Trusted's ``later``), which stores them there. Those names (an attribute of the class:
    the others are stored when it is made) are found once per ``rows`` (:func:`_with_error` is cached: the same list,
    alive, for a class and regime) and tested in one C call."""
    d = vars(result)
    needed = _needed.get(id(rows))
    if needed is None:
        floors = [floor[1] for *_, floor in rows if floor.__class__ is tuple]  # a floor field (:func:`_spans`)
        cls = type(result)
        needed = _needed[id(rows)] = frozenset(
            name for name in [stored for _, stored, *_ in rows] + floors if hasattr(cls, name)
        )
    if not d.keys() >= needed:
        for name in needed.difference(d):
            getattr(result, name)
    return d


#: :func:`_read`'s stored names by the id of :func:`_with_error`'s rows (kept alive by its cache: an id is not reused)
_needed: dict[int, frozenset] = {}


def _with_bands(result: Result, bands: Bands, out_of_domain: tuple[str, ...], own: bool = False) -> Any:
    """``result`` carrying ``bands`` and ``out_of_domain`` (its lazy accessor's value, set): a copy, or ``result``
    itself where it is this call's ``own`` (a ``solve_corners`` nominal: a new result no one else holds)."""
    if own:
        new = result
    else:
        new = object.__new__(type(result))
        new.__dict__.update(result.__dict__)  # @result classes are dict classes (slots=False)
    new.__dict__.update(bands=bands, _out_of_domain=out_of_domain)
    return new
