"""The bounded memo the serving plugin's value-keyed caches share (set-ups, engines, trial rates, parsed
layout texts): a dict emptied when full, so that a long sweep of distinct configurations holds at most
``size`` entries (an entry is cheap to redo; a least-recently-used order would cost every hit its bookkeeping)."""

from __future__ import annotations

from collections.abc import Callable
from operator import is_, itemgetter
from typing import Any


class Memo(dict):
    """A dict of at most ``size`` entries: :meth:`put` empties it first when it is full."""

    __slots__ = ("size",)

    def __init__(self, size: int = 1024):
        self.size = size  # (an empty dict already: dict.__init__ without arguments adds nothing)

    def put(self, key: Any, value: Any) -> Any:
        """Store ``value`` under ``key`` (after emptying the memo if it holds ``size`` entries) and return it."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


class SameArguments(Memo):
    """Answers by the identity of solve()'s arguments: keyed by the ids of the values of ``varied`` (those a sweep
    varies most), an entry answers only where every value of ``keyed`` is the same object too, else a new one
    replaces it. An entry keeps its values alive, so an id is not reused; comparing identities costs less than
    keying by all of them."""

    __slots__ = ("_varied", "_keyed")

    def __init__(self, varied: tuple[str, ...], keyed: tuple[str, ...], size: int = 1024):
        super().__init__(size)
        self._varied, self._keyed = itemgetter(*varied), itemgetter(*keyed)

    def answer(self, a: dict, make: Callable[[dict], Any]) -> Any:
        """``make(a)`` for solve()'s arguments ``a``, kept as the class says."""
        values = self._keyed(a)
        key = tuple(map(id, self._varied(a)))
        hit = self.get(key)
        if hit is None or not all(map(is_, values, hit[0])):
            hit = self.put(key, (values, make(a)))
        return hit[1]
