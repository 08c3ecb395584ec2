"""The solver protocol: what every solver (built-in or third-party) declares and provides (docs/sweeps.md,
"Writing a solver": the ``solve()`` and ``sweep_columns()`` contracts)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from .errors import MlsysimError, PluginError, UnknownArgumentError
from .results import Result


class Solver:
    """Base class of every solver: declarations, ``solve()``, ``sweep_columns()`` and ``sweep()``."""

    #: The solver's name (``mlsysim.sweep("MySolver", ...)``, ``mlsysim plugins``).
    name: ClassVar[str] = ""
    #: The catalog types ``solve()`` takes (e.g. ``(TransformerWorkload, HardwareNode)``).
    consumes: ClassVar[tuple[type, ...]] = ()
    #: The Result subclass ``solve()`` returns.
    produces: ClassVar[type] = Result
    #: ``solve()`` arguments ``sweep_columns`` accepts as numpy arrays (numeric arguments only).
    sweep_vector: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the declarations when the class is defined (a wrong one fails at import, not in a sweep)."""
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.name, str) or not cls.name:
            raise TypeError(f"{cls.__qualname__}.name must be a non-empty str")
        if not isinstance(cls.consumes, tuple) or not all(isinstance(t, type) for t in cls.consumes):
            raise TypeError(f"{cls.__qualname__}.consumes must be a tuple of types, not {cls.consumes!r}")
        if not (isinstance(cls.produces, type) and issubclass(cls.produces, Result)):
            raise TypeError(f"{cls.__qualname__}.produces must be a Result subclass, not {cls.produces!r}")
        params = inspect.signature(cls.solve).parameters
        unknown = [a for a in cls.sweep_vector if a not in params]
        if not isinstance(cls.sweep_vector, tuple) or unknown:
            raise TypeError(
                f"{cls.__qualname__}.sweep_vector must be a tuple of solve() arguments; not arguments: {unknown}"
            )

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        """Answer one configuration (subclasses define the arguments)."""
        raise NotImplementedError(f"{type(self).__name__} must define solve()")

    def sweep_columns(self, n: int, vectors: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` configurations as columns (see the module documentation); this default calls
        ``solve()`` once per point."""
        from .sweep import solve_each

        return solve_each(self, self.produces, args, vectors, n)[0]

    @classmethod
    def sweep(cls, *, client: Any = None, chunk_size: int | None = None, progress: Any = None, **grid: Any) -> Any:
        """Solve every configuration of a grid: each ``solve()`` argument takes one value or a
        list/range/array of values. Returns a :class:`mlsysim_core.sweep.SweepResult` of columns;
        see :mod:`mlsysim_core.sweep` for row order, invalid points (kept, ``valid=False``),
        ``chunk_size``, ``progress`` and ``client=`` (dask)."""
        from .sweep import sweep

        return sweep(cls, client=client, chunk_size=chunk_size, progress=progress, **grid)


T = TypeVar("T")


class PreparedCache(Generic[T]):
    """Memo of a solver's per-configuration preparation (argument checks and everything that does
    not depend on its vector arguments), keyed by the identity of every argument.

    An entry keeps its arguments alive, so equal ids mean the very same objects: catalog objects,
    results and numbers are immutable, hence the same preparation every time and ``solve()`` stays
    pure. A call that raises caches nothing. Bounded (cleared when full). Only for preparations
    whose arguments cannot be mutated in place (no dicts or lists accepted) and whose value is
    read-only (copy mutable parts, e.g. a dict field, per result).
    """

    def __init__(self, prepare: Callable[..., T], size: int = 1024):
        self._prepare = prepare
        self._size = size
        self._memo: dict[tuple, tuple[tuple, T]] = {}

    def __call__(self, *args: Any) -> T:
        key = tuple(map(id, args))
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        value = self._prepare(*args)
        if len(self._memo) >= self._size:
            self._memo.clear()
        self._memo[key] = (args, value)
        return value


class _Checked:
    """A solver whose ``solve()`` either returns a Result or raises an :class:`MlsysimError`."""

    def __init__(self, inner: Any, name: str, distribution: str):
        self._inner, self._name, self._distribution = inner, name, distribution

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        origin = f"solver {self._name} ({self._distribution or 'unknown distribution'})"
        try:
            out = self._inner.solve(*args, **kwargs)
        except MlsysimError:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the point of checked()
            if isinstance(exc, TypeError):  # the caller's misspelt keyword, not the plugin's fault
                UnknownArgumentError.check(type(self._inner).solve, kwargs, f"{self._name}.solve()")
            raise PluginError(f"{origin} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(out, Result):
            raise PluginError(f"{origin} returned {type(out).__name__}, not an mlsysim Result")
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"checked({self._inner!r})"


def checked(solver: Any) -> Any:
    """Wrap a solver (its name, class or instance) so that ``solve()`` returns a Result or raises an
    :class:`MlsysimError`: a keyword it does not take, an :class:`UnknownArgumentError`; any other exception, or
    a return value that is not a Result, a :class:`PluginError` naming the solver and its distribution.
    Plain ``solve()`` calls are not wrapped (that would cost every call: Python's TypeError names a misspelt
    keyword). Use ``checked`` where one bad plugin must not take a batch job down: ``checked("MySolver").solve(...)``.
    """
    from .plugins import get_solver, solvers

    if isinstance(solver, str):
        solver = get_solver(solver)
    inner = solver() if isinstance(solver, type) else solver
    name = type(inner).__name__
    spec = solvers().get(name)
    return _Checked(inner, name, spec.distribution if spec else "")
