"""The rental price catalog (``data/prices.toml``, format in ``SCHEMA.md``): what renting an accelerator
costs per accelerator-hour, as a provider listed it on a date, with its source.

Light to import (the command line declares ``--rent-term`` from :data:`TERMS`); units load on first use.
Read and validated once per process on first use (a field of the wrong unit, a missing or unknown field,
a non-positive price, an accelerator the hardware catalog does not have: a ``CatalogError`` naming file,
line, entry and field). ``EconomicsModel(rent=...)`` and ``mlsysim catalog prices`` use :func:`rentals`
and :func:`lookup`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import CatalogError, InvalidInputError

PRICES_FILE = Path(__file__).with_name("data") / "prices.toml"
#: the rental terms a price may be listed for, in the order tables show them
TERMS = ("on_demand", "reserved_1yr", "reserved_3yr", "spot")
_REQUIRED = ("provider", "instance", "accelerator", "gpus", "region", "currency", "date", "source")
_OPTIONAL = ("notes",)
_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


@attrs.frozen(kw_only=True)
class Rental:
    """One rentable instance type and its list prices per accelerator-hour (USD Quantities; None: not listed)."""

    key: str
    provider: str
    instance: str
    accelerator: str  # hardware catalog key
    gpus: int  # accelerators per instance
    region: str
    currency: str
    date: str  # when the price was read (YYYY-MM or YYYY-MM-DD)
    source: str
    on_demand: Any = None
    reserved_1yr: Any = None
    reserved_3yr: Any = None
    spot: Any = None
    notes: str = ""

    def terms(self) -> tuple[str, ...]:
        """The terms this rental lists a price for."""
        return tuple(t for t in TERMS if getattr(self, t) is not None)

    def rate(self, term: str) -> float:
        """Price of one accelerator-second (SI, USD/s) for ``term``; a term not listed names the ones that are."""
        if term not in TERMS:
            raise InvalidInputError("rent_term", term, f"one of {', '.join(TERMS)}")
        price = getattr(self, term)
        if price is None:
            raise InvalidInputError(
                "rent_term",
                term,
                f"a term {self.key!r} lists: {', '.join(self.terms())}",
                f"its source gives no {term} price",
            )
        from mlsysim_core.units import USD_PER_HOUR, to_si

        return float(to_si(price, USD_PER_HOUR, name=term))

    def hardware(self) -> Any:
        """The catalog's HardwareNode this rental's accelerator key names."""
        from mlsysim_core.plugins import catalog

        return catalog().entry("hardware", self.accelerator).value


def _line(text: str, key: str, field: str = "") -> int:
    """Line of ``[key]`` (or of ``field = `` inside it) in ``text``: for error messages."""
    lines = text.splitlines()
    start = next((i for i, s in enumerate(lines) if s.strip() == f"[{key}]"), 0)
    if field:
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if re.match(rf"\s*{re.escape(field)}\s*=", lines[i]):
                return i + 1
    return start + 1


def parse(text: str, file: str, hardware_keys: set[str]) -> dict[str, Rental]:
    """Validate the TOML ``text`` of a price file into rentals; ``hardware_keys``: the accelerator keys allowed."""
    from mlsysim_core.units import USD_PER_HOUR, parse_quantity

    def fail(key: str, field: str, why: str) -> CatalogError:
        where = f"{file}:{_line(text, key, field)}: [{key}]"
        return CatalogError(f"{where} field {field!r}: {why}" if field else f"{where}: {why}")

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{file}: not valid TOML: {exc}") from None
    out: dict[str, Rental] = {}
    for key, table in doc.items():
        if not isinstance(table, dict):
            raise fail(key, "", "each rental is a table: [provider-instance] with fields")
        unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL) - set(TERMS))
        if unknown:
            close = difflib.get_close_matches(unknown[0], [*_REQUIRED, *_OPTIONAL, *TERMS], n=1)
            raise fail(key, unknown[0], "unknown field" + (f" (did you mean {close[0]!r}?)" if close else ""))
        missing = [f for f in _REQUIRED if f not in table]
        if missing:
            raise fail(key, missing[0], "required field is missing")
        for f in (*_REQUIRED, *_OPTIONAL):
            if f != "gpus" and f in table and not (isinstance(table[f], str) and table[f].strip()):
                raise fail(key, f, "must be a non-empty string")
        gpus = table["gpus"]
        if type(gpus) is not int or gpus < 1:
            raise fail(key, "gpus", f"{gpus!r}: must be an integer >= 1 (accelerators per instance)")
        if table["accelerator"] not in hardware_keys:
            close = difflib.get_close_matches(table["accelerator"], sorted(hardware_keys), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise fail(key, "accelerator", f"{table['accelerator']!r} is not a hardware catalog key{hint}")
        if table["currency"] != "USD":
            raise fail(
                key,
                "currency",
                f"{table['currency']!r}: prices are stored in USD; convert a listed price and state the exchange "
                "rate and its date in source",
            )
        if not _DATE.fullmatch(table["date"]):
            raise fail(key, "date", f"{table['date']!r}: the date read, YYYY-MM or YYYY-MM-DD")
        prices = {}
        for term in TERMS:
            if term in table:
                try:
                    q = parse_quantity(table[term], USD_PER_HOUR, name=term)
                except InvalidInputError as exc:
                    raise fail(key, term, f"{exc} (USD per accelerator-hour)") from None
                if not q.magnitude > 0:
                    raise fail(key, term, f"{table[term]!r}: a price must be > 0")
                prices[term] = q
        if not prices:
            raise fail(key, "", f"lists no price: give at least one of {', '.join(TERMS)}")
        out[key] = Rental(key=key, **{f: table[f] for f in (*_REQUIRED, *_OPTIONAL) if f in table}, **prices)
    return out


@cache
def _load(path: Path, hardware_keys: frozenset[str]) -> dict[str, Rental]:
    return parse(path.read_text(encoding="utf-8"), path.name, set(hardware_keys))


def rentals() -> dict[str, Rental]:
    """Every rental of the default price catalog, validated against the current hardware catalog."""
    from mlsysim_core.plugins import catalog

    hw = catalog().entries["hardware"].values()
    keys = frozenset(k for e in hw for k in (e.key, *e.aliases))
    return _load(PRICES_FILE, keys)


def lookup(name: Any) -> Rental:
    """A rental by key (case-insensitive) or a :class:`Rental` itself; an unknown name lists close ones."""
    if isinstance(name, Rental):
        return name
    table = rentals()
    if isinstance(name, str):
        low = {k.lower(): r for k, r in table.items()}
        if name.lower() in low:
            return low[name.lower()]
    close = difflib.get_close_matches(str(name), list(table), n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise InvalidInputError(
        "rent", name, "a rental key of the price catalog", f"{hint}`mlsysim catalog prices` lists {len(table)}"
    )
