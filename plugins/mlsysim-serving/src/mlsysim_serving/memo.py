"""The bounded memo the serving plugin's value-keyed caches share (set-ups, engines, trial rates, parsed
layout texts): a dict emptied when full, so that a long sweep of distinct configurations holds at most
``size`` entries (an entry is cheap to redo; a least-recently-used order would cost every hit its bookkeeping)."""

from __future__ import annotations

from typing import Any


class Memo(dict):
    """A dict of at most ``size`` entries: :meth:`put` empties it first when it is full."""

    __slots__ = ("size",)

    def __init__(self, size: int = 1024):
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> Any:
        """Store ``value`` under ``key`` (after emptying the memo if it holds ``size`` entries) and return it."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
