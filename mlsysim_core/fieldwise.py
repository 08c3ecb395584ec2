"""``==`` and ``hash()`` over an attrs class's compared fields, with no code generated: attrs compiles both for
each class (~19 M instructions of a command's first answer, issue 21). Same answers, except that fields are
compared as one tuple, so an object equals itself even where it holds a NaN."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import attrs

_getters: dict[type, Callable[[Any], Any]] = {}


def _compared(cls: type) -> Callable[[Any], Any]:
    got = _getters.get(cls)
    if got is None:
        names = [a.name for a in attrs.fields(cls) if a.eq]
        got = _getters[cls] = operator.attrgetter(*names) if names else lambda obj: ()
    return got


class ByFields:
    """Base of an attrs class decorated with ``eq=False`` (which keeps these two methods)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        values = _compared(self.__class__)
        return bool(values(self) == values(other))

    def __hash__(self) -> int:
        return hash((self.__class__, _compared(self.__class__)(self)))
