"""Choosing among evaluated candidates: constraints, ranking, one row per layout, what binds.

A candidate set is a dict of equal-length columns. A :class:`Constraint` marks which candidates meet it
and says in words why one does not. The ranked answer keeps, for each layout, its best candidate by the
objective (ties: the earlier candidate), best layouts first. What *binds* the winner is the constraint
that rejects the best candidate that would beat it; when no constraint is met by everything, the answer is
the closest candidates (fewest constraints missed, then the objective) and what to relax.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Constraint:
    """``ok``: bool per candidate; ``why(i)``: why candidate ``i`` misses it, in words (e.g. "needs 93 GB
    per GPU of 80 GB"); ``relax``: what to change to admit more (e.g. "a larger --max-gpus")."""

    def __init__(self, name: str, ok: np.ndarray, why: Callable[[int], str], relax: str):
        self.name, self.ok, self.why, self.relax = name, ok, why, relax


def order(values: np.ndarray, sense: str) -> np.ndarray:
    """Indices best first (``sense`` "min" or "max"), NaN last, ties in index order."""
    key = np.where(np.isnan(values), np.inf, values if sense == "min" else -values)
    return np.argsort(key, kind="stable")


def best_per_layout(layout: np.ndarray, values: np.ndarray, sense: str, among: np.ndarray) -> np.ndarray:
    """Indices of the best candidate of each layout among ``among`` (a bool mask), best layouts first."""
    idx = np.flatnonzero(among)
    ranked = idx[order(values[idx], sense)]
    _, first = np.unique(layout[ranked], return_index=True)
    return ranked[np.sort(first)]


def choose(
    layout: np.ndarray,
    values: np.ndarray,
    sense: str,
    constraints: list[Constraint],
    describe: Callable[[int], str],
    empty: Callable[[], str],
) -> tuple[np.ndarray, str, bool]:
    """(ranked candidate indices, what binds in words, whether any candidate meets every constraint).

    ``describe(i)`` names candidate ``i`` with its objective value (e.g. "tp8 pp16 at 31.2 days");
    ``empty()``: what to say when there is no candidate at all (called only then)."""
    n = len(values)
    met = np.ones(n, dtype=bool)
    for c in constraints:
        met &= c.ok
    finite = ~np.isnan(values)
    if (met & finite).any():
        ranked = best_per_layout(layout, values, sense, met & finite)
        return ranked, _binding(ranked[0], values, sense, constraints, describe), True
    missed = np.zeros(n, dtype=int)
    for c in constraints:
        missed += ~c.ok
    fewest = missed[finite].min() if finite.any() else 0
    ranked = best_per_layout(layout, values, sense, finite & (missed == fewest))
    if not len(ranked):
        return ranked, empty(), False
    i = ranked[0]
    failed = [c for c in constraints if not c.ok[i]]
    text = (
        f"no configuration meets every constraint; the closest is {describe(i)}: "
        + "; ".join(f"{c.name}: {c.why(i)}" for c in failed)
        + ". Relax "
        + " and ".join(c.relax for c in failed)
    )
    return ranked, text, False


def _binding(
    winner: int, values: np.ndarray, sense: str, constraints: list[Constraint], describe: Callable[[int], str]
) -> str:
    """What rejects the candidate that would beat ``winner`` and misses the fewest constraints (the best of
    those by the objective), or that nothing does."""
    better = values < values[winner] if sense == "min" else values > values[winner]
    if not better.any():
        return f"nothing binds: {describe(winner)} is the best of the whole space searched"
    missed = np.zeros(len(values), dtype=int)
    for c in constraints:
        missed += ~c.ok
    fewest = better & (missed == missed[better].min())
    rival = int(order(np.where(fewest, values, np.nan), sense)[0])
    failed = [c for c in constraints if not c.ok[rival]]
    return (
        " and ".join(c.name for c in failed)
        + f" binds: {describe(rival)} would beat it but "
        + "; ".join(c.why(rival) for c in failed)
    )
