"""Catalog search for the pickers: every entry of the merged catalog with its name and source."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mlsysim

SECTIONS = ("hardware", "models", "clusters", "nodes", "fabrics", "datacenters", "grids")


@dataclass(frozen=True)
class Item:
    """One pickable catalog entry."""

    section: str
    key: str
    name: str
    category: str
    aliases: tuple
    source: str
    origin: str

    @property
    def haystack(self) -> str:
        return " ".join((self.key, self.name, self.category, *self.aliases)).lower()


@lru_cache(maxsize=1)
def items() -> dict[str, tuple[Item, ...]]:
    """Every entry per section (the catalog is read once per process; ``reset()`` after loading a file)."""
    cat = mlsysim.catalog()
    return {
        s: tuple(
            Item(
                s,
                e.key,
                str(getattr(e.value, "name", e.key)),
                e.category,
                tuple(e.aliases),
                str(getattr(e.value, "source", "") or ""),
                e.origin,
            )
            for e in cat.entries[s].values()
        )
        for s in SECTIONS
    }


def reset() -> None:
    items.cache_clear()


def search(sections: tuple, query: str, limit: int = 12) -> list[Item]:
    """Entries of ``sections`` whose key, name, category or alias contains every word of ``query``;
    keys that start with the query first."""
    words = query.lower().split()
    found = [i for s in sections for i in items().get(s, ()) if all(w in i.haystack for w in words)]
    q = query.strip().lower()
    found.sort(key=lambda i: (not i.key.lower().startswith(q), i.key.lower()))
    return found[:limit]


def source_of(value: object) -> str:
    """The catalog source of a part (``""`` where the catalog has none)."""
    return str(getattr(value, "source", "") or "")
