"""One search space on the sweep engine (``mlsysim_core.sweep``): every point solved with the solver's
vectorized kernels, each row's inputs recovered from the engine's documented row order (docs/sweeps.md:
group axes slowest, in the order given; the solver's vector arguments fastest, in the order given)."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.plugins import get_solver
from mlsysim_core.sweep import SweepResult, sweep
from mlsysim_core.validate import choice

#: A search of at least this many points shows a progress bar (on a terminal only).
PROGRESS_POINTS = 200_000


class Space:
    """The axes of a search (name -> list of values) and the arguments fixed for all of it."""

    def __init__(self, solver: str, axes: dict[str, list], fixed: dict[str, Any]):
        self.solver = solver
        vector = set(getattr(get_solver(solver), "sweep_vector", ()))
        # group axes first, vector axes last: the order the engine lays rows out in
        self.axes = {k: v for k, v in axes.items() if k not in vector} | {k: v for k, v in axes.items() if k in vector}
        self.fixed = fixed

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.axes.values())

    def indices(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The index into every axis at each of ``rows``."""
        return dict(zip(self.axes, np.unravel_index(rows, tuple(len(v) for v in self.axes.values()))))

    def inputs(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The value of every axis at each of ``rows`` (object arrays; int64 for integer axes)."""
        return {name: _array(self.axes[name])[i] for name, i in self.indices(rows).items()}

    def point(self, row: int) -> dict[str, Any]:
        """solve() keyword arguments of one row."""
        one = self.inputs(np.array([row]))
        return {**self.fixed, **{k: _plain(v[0]) for k, v in one.items()}}


def _array(values: list) -> np.ndarray:
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def run(space: Space, client: Any = None, progress: Any = None, label: str = "plan") -> tuple[SweepResult, float]:
    """Solve every point of ``space`` (``client``: a dask Client); returns the columns and the seconds taken.
    ``progress``: True/False, a callable ``(done, total)``, or None (a bar on a terminal for large spaces)."""
    start = time.perf_counter()
    with warnings.catch_warnings():  # about points the search discards; explain() re-solves a row with them
        warnings.simplefilter("ignore")
        grid: dict[str, Any] = {**space.fixed, **space.axes}
        r = sweep(space.solver, client=client, progress=progress_bar(progress, space.size, label), **grid)
    return r, time.perf_counter() - start


def no_valid(r: SweepResult, valid: np.ndarray) -> str:
    """What to say when no point of a search is valid: its most common error."""
    errors = r.error[~valid]
    errors = errors[errors != ""]
    if not len(errors):
        return "no configuration of the space is valid"
    text, counts = np.unique(errors.astype(str), return_counts=True)
    return (
        f"no configuration of the space is valid; most common reason ({counts.max():,} points): {text[counts.argmax()]}"
    )


def progress_bar(progress: Any, total: int, label: str) -> Callable[[int, int], None] | None:
    """The progress callback for ``progress`` (see :func:`run`), or None for no report."""
    if callable(progress):
        return progress
    if progress is None:
        progress = total >= PROGRESS_POINTS and sys.stderr.isatty()
    return bar(label) if progress else None


def bar(label: str, width: int = 30) -> Callable[[int, int], None]:
    """A progress bar on stderr: ``label [#####.....] 42% (420,000/1,000,000)``."""

    def show(done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        sys.stderr.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done / max(total, 1):4.0%} ({done:,}/{total:,})"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def named_axis(name: str, value: Any, default: list, valid: tuple) -> list:
    """:func:`axis` whose values must be among ``valid`` (names: precisions, schedules): a misspelt one is an
    error at once, not a search whose every point is invalid."""
    values = axis(name, value, default)
    for v in values:
        if v is not None:
            choice(name, v, valid)
    return values


def axis(name: str, value: Any, default: list) -> list:
    """A search axis from the caller's argument: one value or a list/tuple/range; None gives ``default``."""
    if value is None:
        return default
    values = list(value) if isinstance(value, (list, tuple, range)) else [value]
    if not values:
        raise InvalidInputError(name, value, "one value or a non-empty list")
    return values
