"""Renting next to owning: the price catalog's rental a plan prices each part at.

A plan's owned cost is EconomicsModel's TCO; its rental cost is EconomicsModel's ``cloud_cost`` for the
same accelerator-hours at the rental's list price (``rent=``), and its break-even utilization
(``breakeven_utilization`` = TCO / rental) is the share of the time the GPUs must be busy for owning to
cost less than renting only the busy hours.
"""

from __future__ import annotations

from typing import Any

#: the term plans rent at (list prices anyone can get; reserved terms need a commitment)
TERM = "on_demand"


def rental(part: Any) -> Any:
    """The cheapest on-demand rental of accelerator ``part`` in the price catalog
    (``mlsysim_registry/data/prices.toml``), or None when the catalog rents none."""
    from mlsysim_registry.prices import rentals

    offers = [r for r in rentals().values() if r.on_demand is not None and r.hardware().name == part.name]
    return min(offers, key=lambda r: r.rate(TERM)) if offers else None


def note(rented: dict[str, tuple[Any, float]]) -> str:
    """The plan's note naming each part's rental and break-even utilization (``rented``: part name ->
    (Rental or None, owned TCO / rent))."""
    named = [
        f"{r.key} ({r.provider} {r.instance}, {r.on_demand:~P} per GPU, read {r.date}): break-even utilization {u:.2f}"
        for r, u in rented.values()
        if r is not None
    ]
    missing = [name for name, (r, _) in rented.items() if r is None]
    text = "rent: the price catalog's cheapest on-demand rental of the part, " + ("; ".join(named) or "none")
    if missing:
        text += f"; none for {', '.join(missing)}"
    return text + " (owned TCO / rent: owning costs less above that busy share of the hours)"
