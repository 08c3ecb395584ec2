"""Parameter sweeps: one call over a grid of configurations, answers as columns; docs/sweeps.md describes the grid,
row order, the vectorized path (``Solver.sweep_columns``), masked invalid points and dask chunks."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, UnknownArgumentError
from .lazy import lazy_numpy

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_numpy(__name__)  # numpy on first use: a solve on floats imports none

#: Points per chunk: bounds the temporaries of one step (and one dask task) to ~100 MB.
DEFAULT_CHUNK = 1 << 18
#: Largest grid accepted (the answer alone needs ~250 bytes a point).
MAX_POINTS = 1 << 30


# --------------------------------------------------------------------------- helpers for solvers


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a if cond else b`` for a scalar ``cond`` (solve), ``np.where`` for an array (sweep);
    None becomes NaN in arrays."""
    if isinstance(cond, np.ndarray):
        return np.where(cond, np.nan if a is None else a, np.nan if b is None else b)
    return a if cond else b


def notes_column(n: int, notes: tuple) -> np.ndarray:
    """A group's result ``notes`` (one tuple of strings) as a column of n rows: an object array,
    so a tuple stays one value per row (a plain tuple would be read as n values)."""
    col = np.empty(n, dtype=object)
    col.fill(notes)
    return col


def not_integers(values: np.ndarray, low: int, high: int) -> np.ndarray:
    """Points an integer argument check rejects: outside [low, high], or every point of a float
    array (``solve()`` takes integers only)."""
    if values.dtype.kind == "f":
        return np.ones(len(values), dtype=bool)
    return (values < low) | (values > high)


class PointErrors:
    """Which points of a block solve() would reject, and its message for each (vector arguments).

    ``check(bad, keys, scalar_check)``: ``bad`` marks the points failing a vector test; for each
    distinct ``keys`` value (or row, for 2-D keys) among them, ``scalar_check(i)`` runs solve()'s own scalar check on
    point ``i`` and must raise InvalidInputError, whose message the points get. Checks run in
    solve()'s order; a point keeps its first error.
    """

    def __init__(self, n: int):
        self.ok = np.ones(n, dtype=bool)
        self.messages = np.full(n, "", dtype=object)

    def check(self, bad: np.ndarray, keys: np.ndarray, scalar_check: Callable[[int], Any]) -> None:
        bad = bad & self.ok
        if not bad.any():
            return
        where_bad = np.flatnonzero(bad)
        _, first, inverse = np.unique(
            keys[where_bad], return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None
        )
        texts = []
        for i in where_bad[first]:
            try:
                scalar_check(int(i))
            except InvalidInputError as exc:
                texts.append(str(exc))
            else:  # pragma: no cover - a vector test that disagrees with solve()'s check is a bug
                raise AssertionError(f"point {i}: the vector check failed but solve()'s check passed")
        self.messages[where_bad] = np.array(texts, dtype=object)[inverse.ravel()]
        self.ok &= ~bad


def checked(
    errors: PointErrors, name: str, vectors: dict[str, np.ndarray], args: dict[str, Any], check: Callable[[Any], Any]
) -> Any:
    """Argument ``name`` through solve()'s own scalar check ``check(value) -> SI value`` (which raises
    InvalidInputError): an array when ``name`` is in ``vectors`` (the check runs once per distinct
    value), else ``check(args[name])``. Points whose value is rejected get its message through
    ``errors`` (unless an earlier check rejected them) and NaN here. Call in solve()'s order."""
    values = vectors.get(name)
    if values is None:
        try:
            return check(args[name])
        except InvalidInputError:
            n = len(errors.ok)
            errors.check(np.ones(n, dtype=bool), np.zeros(n), lambda i: check(args[name]))
            return math.nan
    distinct, inverse = np.unique(values, return_inverse=True)
    out = np.full(len(distinct), np.nan)
    rejected = np.zeros(len(distinct), dtype=bool)
    for j, v in enumerate(distinct.tolist()):
        try:
            out[j] = check(v)
        except InvalidInputError:
            rejected[j] = True
    inverse = inverse.ravel()
    errors.check(rejected[inverse], values, lambda i: check(values[i].item()))
    return out[inverse]


# --------------------------------------------------------------------------- the answer


class _Runs:
    """A column that is constant over runs of rows (per-group values: hardware, peak_flops, ...),
    kept as (start, stop, value) runs and expanded on first read."""

    __slots__ = ("starts", "stops", "values")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.stops: list[int] = []
        self.values: list[Any] = []

    def add(self, start: int, stop: int, value: Any) -> None:
        if self.stops and self.stops[-1] == start and _same(self.values[-1], value):
            self.stops[-1] = stop
        else:
            self.starts.append(start)
            self.stops.append(stop)
            self.values.append(value)

    def expand(self) -> np.ndarray:
        order = np.argsort(self.starts, kind="stable")
        counts = np.asarray(self.stops)[order] - np.asarray(self.starts)[order]
        return np.repeat(_values_array(self.values)[order], counts)


def _values_array(values: list) -> np.ndarray:
    if all(isinstance(v, (bool, np.bool_)) for v in values) or all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in values
    ):
        return np.asarray(values)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


class SweepResult:
    """Columns of a sweep: one entry per configuration.

    ``r[name]`` (or ``r.name``, ``r.columns[name]``): a Quantity array in the unit of the solver's
    result field (``r["latency"].to("us")``), or a numpy array for plain fields (``feasible``,
    ``batch_size``, ``hardware``). ``r.valid`` and ``r.error`` say which points
    ``solve()`` would reject and why. ``to_pandas()`` / ``to_polars()`` give a data frame of
    magnitudes in those units (``df.attrs["units"]`` names them for pandas).
    """

    def __init__(self, solver: str, size: int, data: dict[str, Any], units: dict[str, tuple[Any, float]]):
        self.solver = solver
        self._size = size
        self._data = data  # name -> SI ndarray, or _Runs until first read
        self._units = units  # name -> (pint Unit, factor from SI to that unit)

    def __len__(self) -> int:
        return self._size

    def fields(self) -> list[str]:
        """Column names: the solver's result fields, then ``valid`` and ``error``."""
        return list(self._data)

    def unit(self, name: str) -> Any:
        """The pint Unit of column ``name`` (None for a plain column)."""
        u = self._units.get(name)
        return None if u is None else u[0]

    def si(self, name: str) -> np.ndarray:
        try:
            v = self._data[name]
        except KeyError:
            raise KeyError(
                f"{name!r}: not a column of this {self.solver} sweep (columns: {', '.join(self._data)})"
            ) from None
        if isinstance(v, _Runs):
            v = self._data[name] = v.expand()
        return v

    def magnitude(self, name: str, rows: Any = None) -> np.ndarray:
        """Column ``name`` as plain numbers in its unit (``unit(name)``); ``rows`` (an index or slice)
        reads part of it."""
        v = self.si(name) if rows is None else self.si(name)[rows]
        u = self._units.get(name)
        return v if u is None else v * u[1]

    def __getitem__(self, name: str) -> Any:
        v = self.si(name)
        u = self._units.get(name)
        if u is None:
            return v
        from .units import Q_

        return Q_(v * u[1], u[0])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} of {self.solver} has no column {name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._data})

    @property
    def columns(self) -> dict[str, Any]:
        """Every column: Quantity arrays for physical fields, numpy arrays for the others."""
        return {name: self[name] for name in self._data}

    @property
    def valid(self) -> np.ndarray:
        """True where ``solve()`` accepts the point."""
        return self.si("valid")

    @property
    def error(self) -> np.ndarray:
        """The InvalidInputError message ``solve()`` raises for the point ("" when valid)."""
        return self.si("error")

    def to_pandas(self) -> Any:
        """A pandas DataFrame (magnitudes in each column's unit; ``df.attrs["units"]``)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SweepResult.to_pandas() needs pandas: pip install pandas") from exc
        df = pd.DataFrame({name: self.magnitude(name) for name in self._data})
        df.attrs["units"] = {name: f"{u[0]:~P}" for name, u in self._units.items()}
        return df

    def to_polars(self) -> Any:
        """A polars DataFrame (magnitudes in each column's unit, see ``unit(name)``)."""
        try:
            import polars as pl
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SweepResult.to_polars() needs polars: pip install polars") from exc
        data = {}
        for name in self._data:
            v = self.magnitude(name)
            data[name] = v.tolist() if v.dtype == object else v
        return pl.DataFrame(data, strict=False)

    def __repr__(self) -> str:
        return (
            f"<SweepResult of {self.solver}: {self._size} points, {int(self.valid.sum())} valid, "
            f"{len(self._data)} columns>"
        )


class _Assembler:
    """Writes blocks (in any order) into the final columns: arrays into one preallocated array per
    column, values constant over a block as runs (per-group constants are not copied per row)."""

    def __init__(self, size: int):
        self.size = size
        self.data: dict[str, Any] = {}
        self.covered: dict[str, list[tuple[int, int]]] = {}
        self.produces: Any = None

    def add_chunk(self, chunk: tuple[Any, list]) -> None:
        produces, blocks = chunk
        self.produces = self.produces or produces
        for block in blocks:
            self.add(*block)

    def add(self, start: int, n: int, cols: dict[str, Any]) -> None:
        stop = start + n
        for name, v in cols.items():
            col = self.data.get(name)
            self.covered.setdefault(name, []).append((start, stop))
            if not isinstance(v, np.ndarray) and (col is None or isinstance(col, _Runs)):
                if col is None:
                    col = self.data[name] = _Runs()
                col.add(start, stop, v)
            elif isinstance(col, np.ndarray):
                self._put(name, start, stop, v)
            else:  # the first array of this column: earlier runs move into it
                self.data[name] = np.empty(self.size, dtype=v.dtype)
                for begin, end, value in zip(col.starts, col.stops, col.values) if col is not None else ():
                    self._put(name, begin, end, value)
                self._put(name, start, stop, v)

    def finish(self) -> dict[str, Any]:
        """The columns in the result's field order, then valid and error; rows a column never got
        (a group where the solver answered nothing) hold NaN in physical columns, None elsewhere."""
        fields, units = _fields_of(self.produces)
        for name, spans in self.covered.items():
            begin = 0
            gap = np.nan if name in units else None
            for start, stop in sorted(spans) + [(self.size, self.size)]:
                if start > begin:
                    col = self.data[name]
                    col.add(begin, start, gap) if isinstance(col, _Runs) else self._put(name, begin, start, gap)
                begin = max(begin, stop)
        order = [name for name, _ in fields if name in self.data] + ["valid", "error"]
        return {name: self.data[name] for name in order + [n for n in self.data if n not in order]}

    def _put(self, name: str, start: int, stop: int, v: Any) -> None:
        col = self.data[name]
        kind = col.dtype.kind
        if isinstance(v, np.ndarray):
            ok = (
                kind == "O"
                or (v.dtype.kind == "U" and kind == "U" and v.dtype.itemsize <= col.dtype.itemsize)
                or (v.dtype.kind != "U" and kind != "U" and np.can_cast(v.dtype, col.dtype, "same_kind"))
            )
            wider = np.result_type(col.dtype, v.dtype) if v.dtype.kind == kind == "U" else object
        else:
            if v is None and kind == "f":
                v = np.nan
            ok = kind == "O" or (
                kind == "b"
                if isinstance(v, (bool, np.bool_))
                else kind in "iuf"
                if isinstance(v, (int, np.integer))
                else kind == "f"
                if isinstance(v, (float, np.floating))
                else kind == "U" and isinstance(v, str) and len(v) * 4 <= col.dtype.itemsize
            )
            wider = np.dtype(f"U{len(v)}") if kind == "U" and isinstance(v, str) else object
        if not ok:
            col = self.data[name] = col.astype(wider)
        col[start:stop] = v


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


# --------------------------------------------------------------------------- the grid


def _solver_class(solver: Any) -> type:
    if isinstance(solver, str):
        from .plugins import get_solver

        return get_solver(solver)
    cls = solver if isinstance(solver, type) else type(solver)
    if not callable(getattr(cls, "solve", None)):
        raise InvalidInputError("solver", solver, "a solver class, instance or name with a solve() method")
    return cls


class _Plan:
    """The grid: group axes (looped in Python), vector axes (numpy), fixed arguments."""

    def __init__(self, cls: type, kwargs: dict[str, Any]):
        self.cls = cls
        params = UnknownArgumentError.check(cls.solve, kwargs, f"{cls.__name__}.solve()")  # type: ignore[attr-defined]
        vector = set(getattr(cls, "sweep_vector", ()) if callable(getattr(cls, "sweep_columns", None)) else ())
        self.fixed: dict[str, Any] = {}
        self.group: list[tuple[str, list]] = []
        self.vector: list[tuple[str, np.ndarray]] = []
        for name, value in kwargs.items():
            if not isinstance(value, (list, tuple, range, np.ndarray)):
                self.fixed[name] = value
                continue
            values = list(value) if not isinstance(value, np.ndarray) else value
            if isinstance(values, np.ndarray) and values.ndim != 1:
                raise InvalidInputError(name, value, "a 1-D list or array of values")
            if len(values) == 0:
                raise InvalidInputError(name, value, "at least one value")
            dtype = _vector_dtype(values) if name in vector else None
            if dtype is not None:
                self.vector.append((name, np.asarray(values, dtype=dtype)))
            else:
                self.group.append((name, list(values)))
        for name in vector:  # vector arguments given once still go through the vector path
            dtype = _vector_dtype([self.fixed[name]]) if name in self.fixed else None
            if dtype is not None:
                self.vector.append((name, np.asarray([self.fixed.pop(name)], dtype=dtype)))
        missing = [
            p
            for p, q in params.items()
            if p != "self"
            and q.default is q.empty
            and q.kind not in (q.VAR_KEYWORD, q.VAR_POSITIONAL)
            and p not in kwargs
        ]
        if missing:
            raise TypeError(f"{cls.__name__}.sweep() missing required argument(s): {', '.join(missing)}")
        # arguments left out take solve()'s defaults (they show in the input columns)
        self.defaults = {p: q.default for p, q in params.items() if q.default is not q.empty and p not in kwargs}
        self.group_shape = tuple(len(v) for _, v in self.group)
        self.vector_shape = tuple(len(v) for _, v in self.vector)
        self.n_vector = math.prod(self.vector_shape)
        self.size = math.prod(self.group_shape) * self.n_vector
        if self.size > MAX_POINTS:
            raise InvalidInputError("grid", self.size, f"at most {MAX_POINTS} points (split the sweep)")

    def chunks(self, chunk_size: int) -> list[tuple[int, int]]:
        return [(s, min(s + chunk_size, self.size)) for s in range(0, self.size, chunk_size)]

    def block(self, g: int, lo: int, hi: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(arguments, vector arguments) of group ``g``'s points [lo, hi): one block solved at once."""
        idx = np.unravel_index(g, self.group_shape) if self.group_shape else ()
        args = {**self.defaults, **self.fixed, **{name: values[i] for (name, values), i in zip(self.group, idx)}}
        rows = np.unravel_index(np.arange(lo, hi), self.vector_shape) if self.vector else ()
        return args, {name: values[i] for (name, values), i in zip(self.vector, rows)}


def _vector_dtype(values: Any) -> Any:
    """int64 when every value is an int, float64 when every one is a float, else None (a group axis:
    solve() sees each value exactly as given, so its error messages match)."""
    if isinstance(values, np.ndarray):
        return np.int64 if values.dtype.kind in "iu" else np.float64 if values.dtype.kind == "f" else None
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.int64
    if all(isinstance(v, (float, np.floating)) for v in values):
        return np.float64
    return None


def _fields_of(produces: Any) -> tuple[list[tuple[str, Any]], dict[str, tuple[Any, float]]]:
    """(name, attrs field) of a result class, and the unit of each physical field."""
    import attrs

    from .results import _UNIT_KEY
    from .units import unit_and_factor

    if not (isinstance(produces, type) and attrs.has(produces)):
        return [], {}
    out, units = [], {}
    for f in attrs.fields(produces):
        name = f.alias if f.name.startswith("_") else f.name
        meta = f.metadata or {}
        if _UNIT_KEY in meta:
            units[name] = unit_and_factor(meta[_UNIT_KEY])
        out.append((name, f))
    return out, units


def _input_value(value: Any) -> Any:
    """How an input shows in a column: catalog objects by name."""
    return getattr(value, "name", value) if not isinstance(value, (int, float, str, type(None))) else value


def _run_chunk(cls: type, plan: _Plan, start: int, stop: int) -> tuple[Any, list[tuple[int, int, dict[str, Any]]]]:
    """Solve points [start, stop) of the grid: (result class, [(first point, count, columns), ...])
    with one block per group, each column an array of count SI values or one value for the block."""
    produces = getattr(cls, "produces", None)
    fields, units = _fields_of(produces)
    solver = cls()
    columns = getattr(solver, "sweep_columns", None)
    blocks = []
    nv = plan.n_vector
    for g in range(start // nv, (stop - 1) // nv + 1):
        lo, hi = max(start - g * nv, 0), min(stop - g * nv, nv)
        n = hi - lo
        args, vec = plan.block(g, lo, hi)
        if callable(columns):
            try:
                with np.errstate(all="ignore"):
                    cols = columns(n, vec, args)
            except InvalidInputError as exc:
                cols = {"valid": False, "error": str(exc)}
            cols = _fill(cols, fields, units, args, vec, n)
        else:
            cols, produces = solve_each(solver, produces, args, vec, n)
            fields, units = _fields_of(produces)
        blocks.append((g * nv + lo, n, cols))
    return produces, blocks


def _fill(cols: dict, fields: list, units: dict, args: dict, vec: dict, n: int) -> dict[str, Any]:
    """Complete a block: every result field (an array of n or one value); rows that are not
    valid keep their non-physical inputs and get NaN (physical fields), False (flags) or ""
    (labels) elsewhere."""
    valid = cols["valid"]
    rejected = not isinstance(valid, np.ndarray) and not valid
    partly = isinstance(valid, np.ndarray) and not valid.all()
    out: dict[str, Any] = {}
    for name, f in fields:
        v = None if rejected else cols.get(name)
        is_input = name in vec or name in args
        if v is None:
            v = (
                np.nan
                if name in units
                else vec[name]
                if name in vec
                else _input_value(args[name])
                if is_input
                else False
                if f.type in ("bool", bool)
                else ""
                if f.type in ("str", str)
                else None
            )
        elif partly and (name in units or not is_input):
            arr = v if isinstance(v, np.ndarray) else np.full(n, v)
            kind = arr.dtype.kind
            v = (
                np.where(valid, arr, np.nan)
                if kind in "fi" and name in units or kind == "f"
                else arr & valid
                if kind == "b"
                else np.where(valid, arr, "")
                if kind == "U"
                else arr
            )
        out[name] = v
    if isinstance(valid, np.ndarray) and not partly:
        valid, cols["error"] = True, ""
    out["valid"], out["error"] = valid, cols["error"]
    return out


def solve_each(solver: Any, produces: Any, args: dict, vec: dict, n: int) -> tuple[dict[str, Any], Any]:
    """The loop path: ``solver.solve()`` once per point of a block (``Solver.sweep_columns``'s default,
    and how a solver without ``sweep_columns`` is swept). Returns (columns, result class); the class
    is learnt from an answer when ``produces`` is not a result class."""
    points = [{**args, **{k: v[i].item() for k, v in vec.items()}} for i in range(n)]
    results: list[Any] = []
    for kw in points:
        try:
            results.append(solver.solve(**kw))
        except InvalidInputError as exc:
            results.append(exc)
    if not _fields_of(produces)[0]:
        produces = next((type(r) for r in results if not isinstance(r, InvalidInputError)), None)
    fields, units = _fields_of(produces)
    rows: dict[str, list] = {name: [] for name, _ in fields}
    for kw, r in zip(points, results):
        failed = isinstance(r, InvalidInputError)
        for name, _ in fields:
            if name in units:
                v = np.nan if failed else r.si(name)
                rows[name].append(np.nan if v is None else v)
            else:
                rows[name].append(_input_value(kw.get(name)) if failed else getattr(r, name))
    out: dict[str, Any] = {name: (vals[0] if n == 1 else _values_array(vals)) for name, vals in rows.items()}
    valid = [not isinstance(r, InvalidInputError) for r in results]
    errors = [str(r) if isinstance(r, InvalidInputError) else "" for r in results]
    out["valid"], out["error"] = (valid[0], errors[0]) if n == 1 else (np.array(valid), _values_array(errors))
    return out, produces


# --------------------------------------------------------------------------- the entry point


def sweep(
    solver: Any,
    *,
    client: Any = None,
    chunk_size: int | None = None,
    progress: bool | Callable[[int, int], Any] | None = None,
    **grid: Any,
) -> SweepResult:
    """Solve every configuration of a grid; see the module documentation.

    Args:
        solver: a solver class or instance (``mlsysim.MySolver``) or its name.
        client: a ``dask.distributed.Client`` to spread the chunks over (optional).
        chunk_size: points per chunk (default 262,144): bounds memory per step and per dask task.
        progress: True prints progress to stderr; a callable gets ``(done_points, total_points)``.
        **grid: the solver's ``solve()`` arguments, each one value or a list/range/array of values.
    """
    cls = _solver_class(solver)
    plan = _Plan(cls, grid)
    size = DEFAULT_CHUNK if chunk_size is None else chunk_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise InvalidInputError("chunk_size", chunk_size, "a positive integer")
    chunks = plan.chunks(int(size))
    report = _progress(progress, plan.size)
    out = _Assembler(plan.size)
    if client is None:
        for start, stop in chunks:
            out.add_chunk(_run_chunk(cls, plan, start, stop))
            report(stop)
    else:
        _run_dask(client, cls, plan, chunks, report, out)
    return SweepResult(getattr(cls, "name", cls.__name__), plan.size, out.finish(), _fields_of(out.produces)[1])


def _run_dask(
    client: Any, cls: type, plan: _Plan, chunks: list, report: Callable[[int], None], out: _Assembler
) -> None:
    """Map the chunks over a dask client; write each into the columns as it finishes."""
    try:
        from dask.distributed import as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('sweep(client=...) needs dask: pip install "mlsysim-core[dask]"') from exc
    # hash=False: a fresh key per sweep (a repeated identical sweep must not share, then lose, the key)
    [plan_future] = client.scatter([plan], broadcast=True, hash=False)
    futures = [client.submit(_run_chunk, cls, plan_future, start, stop, pure=False) for start, stop in chunks]
    size = {f.key: stop - start for f, (start, stop) in zip(futures, chunks)}
    done = 0
    for future in as_completed(futures):
        out.add_chunk(future.result())
        done += size[future.key]
        report(done)
        future.release()


def _progress(progress: Any, total: int) -> Callable[[int], None]:
    if callable(progress):
        return lambda done: progress(done, total)
    if progress:

        def show(done: int) -> None:
            sys.stderr.write(f"\rsweep {done / total:6.1%}  ({done:,}/{total:,} points)")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

        return show
    return lambda done: None
