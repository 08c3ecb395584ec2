"""The bounded memo the serving plugin's value-keyed caches share (set-ups, engines, trial rates, parsed
layout texts): a dict emptied when full, so that a long sweep of distinct configurations holds at most
``size`` entries (an entry is cheap to redo; a least-recently-used order would cost every hit its bookkeeping)."""

from __future__ import annotations

from collections.abc import Callable
from operator import is_, itemgetter
from typing import Any, cast


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


def sized(size: int) -> type[Memo]:
    """A :class:`Memo` class of ``size`` entries (a class attribute, read where the slot is not set) whose memos are
    made by dict's own constructor, without :class:`Memo`'s Python ``__init__`` (~1.2 k instructions less each): for a
    memo made anew per engine, layout or search (``sized(256)()``, an empty memo of 256 entries)."""
    return cast(type[Memo], type(f"Memo{size}", (Memo,), {"__slots__": (), "size": size, "__init__": dict.__init__}))


class SameArguments(Memo):
    """Answers by the identity of solve()'s arguments: keyed by ``varied(a)``, the ids of the values of those a sweep
    varies most (a function that makes the tuple: ``lambda a: (id(a["model"]), ...)``, ~0.35 k instructions an id),
    an entry answers only where every value of ``keyed`` is the same object too, else a new one replaces it. An entry
    keeps its values alive, so an id is not reused; comparing identities costs less than keying by all of them.
    ``given``: an entry made keeps the arguments ``a`` themselves (a caller's dict it never changes, e.g. solve()'s
    ``locals()``) and reads the values of ``keyed`` from them on the first call that compares them (a miss without the
    ~8 k instructions of reading ~55 values)."""

    __slots__ = ("_varied", "_keyed", "_given")

    def __init__(self, varied: Callable[[dict], tuple], keyed: tuple[str, ...], size: int = 1024, given: bool = False):
        super().__init__(size)
        self._varied, self._keyed, self._given = varied, itemgetter(*keyed), given

    def answer(self, a: dict, make: Callable[[dict], Any]) -> Any:
        """``make(a)`` for solve()'s arguments ``a``, kept as the class says."""
        key = self._varied(a)
        hit = self.get(key)
        values = None
        if hit is not None:
            kept = hit[0]
            if kept.__class__ is dict:  # (``given``: the arguments of the call that made it, their values read now)
                kept = self._keyed(kept)
                self[key] = hit = (kept, hit[1])
            values = self._keyed(a)
            if all(map(is_, values, kept)):
                return hit[1]
        if self._given:
            values = a
        elif values is None:
            values = self._keyed(a)
        return self.put(key, (values, make(a)))[1]


class SameObjects:
    """``prepare`` memoized by the identity of its positional arguments, as :class:`mlsysim_core.solver.PreparedCache`
    does, keyed by ``varied(args)``, the ids of the arguments callers vary most (a function that makes the tuple:
    ``lambda args: (id(args[0]), ...)``, as :class:`SameArguments`): the entries under a key (at most ``bucket``,
    emptied when full) answer where every argument is the same object as theirs. An id costs ~0.35 k instructions
    (``id``'s audit hook and a new int), an ``is`` ~0.25 k: a miss costs the few ids, a hit those and the identity
    checks, where an id of every argument cost ~13 k for 26. An entry keeps its arguments alive, so an id is not
    reused; a call that raises stores nothing. Bounded (``size`` keys, emptied when full)."""

    __slots__ = ("_prepare", "_varied", "_bucket", "_memo")

    def __init__(
        self, prepare: Callable[..., Any], varied: Callable[[tuple], tuple], size: int = 1024, bucket: int = 8
    ):
        self._prepare = prepare
        self._varied = varied
        self._bucket = bucket
        self._memo = Memo(size)

    def __call__(self, *args: Any) -> Any:
        key = self._varied(args)
        entries = self._memo.get(key)
        if entries is not None:
            for entry in entries:
                if all(map(is_, args, entry[0])):
                    return entry[1]
        value = self._prepare(*args)
        if entries is None:
            entries = self._memo.put(key, [])
        elif len(entries) >= self._bucket:
            entries.clear()
        entries.append((args, value))
        return value


class PartKeyed:
    """``fn(part, *values)`` memoized by the identity of ``part`` (a catalog object: the entry keeps it alive, so an id
    is not reused) and the values of the rest (names, numbers, None: immutable, equal ones give the same answer), where
    :class:`mlsysim_core.solver.PreparedCache` keys by the id of every argument (an id costs ~0.35 k instructions with
    its audit hook and new int; a string's hash is cached): a hit ~2.6 k where it took ~6.7 k for five arguments. An
    argument that cannot be hashed is not kept (``fn`` checks it: its error). A call that raises stores nothing.
    Bounded (``size`` entries, emptied when full)."""

    __slots__ = ("_fn", "_memo")

    def __init__(self, fn: Callable[..., Any], size: int = 1024):
        self._fn = fn
        self._memo = Memo(size)

    def __call__(self, part: Any, *values: Any) -> Any:
        key = (id(part),) + values  # (a tuple's concatenation: ~0.3 k instructions less than ``(id(part), *values)``)
        try:
            hit = self._memo.get(key)
        except TypeError:  # an unhashable value: the function's own check names it
            return self._fn(part, *values)
        if hit is not None and hit[0] is part:
            return hit[1]
        return self._memo.put(key, (part, self._fn(part, *values)))[1]
