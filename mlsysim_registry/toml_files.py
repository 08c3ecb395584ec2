"""Reading catalog TOML files safely: data only, limits on size and depth, errors with file and line.

The default catalog's reader of ``.toml`` files (the ``mlsysim_catalog_readers`` hook): the host reads
no file format itself. Each table becomes a :class:`RawEntry`, built into a typed value by
:mod:`mlsysim_registry.tables` once the entries it refers to are built.

Format: ``mlsysim_registry/SCHEMA.md``. A file named ``hardware.toml`` or ``models.toml`` holds one
table per entry; any other file holds section tables (``[hardware.X]``, ``[models.X]``,
``[fabrics.X]``, ``[nodes.X]``, ``[clusters.X]``, ``[grids.X]``, ``[datacenters.X]``).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.catalog import SECTIONS, Entry, key_problem
from mlsysim_core.errors import CatalogError

MAX_FILE_BYTES = 4_000_000
MAX_DEPTH = 6
MAX_STRING = 20_000
MAX_ENTRIES = 5_000
MAX_DOTTED = 32


@attrs.frozen
class RawEntry:
    """One entry's table as read from a file, with where it came from."""

    section: str
    key: str
    table: dict
    file: str
    line: int
    text: str = attrs.field(repr=False, eq=False)

    def line_of(self, field_name: str) -> int:
        """Line of ``field_name = ...`` inside this entry (the header line if not found)."""
        lines = self.text.splitlines()
        parts = field_name.split(".")
        pat = re.compile(rf"(^|[\s{{,]){re.escape(parts[-1] if parts[-1] else parts[0])}\s*=")
        for i in range(self.line, min(len(lines), self.line + 400)):
            if lines[i].lstrip().startswith("["):
                break
            if pat.search(lines[i]):
                return i + 1
        return self.line

    def build(self, built: dict[str, dict[str, Entry]], provider: str) -> Entry:
        """The typed :class:`Entry` of this table (``built``: the entries it may refer to)."""
        from .tables import build_entry

        return build_entry(self, built, provider)

    def error(self, field_name: str, message: str) -> CatalogError:
        line = self.line_of(field_name) if field_name else self.line
        where = f"{self.file}:{line}: [{self.section}.{self.key}]"
        return CatalogError(f"{where} field {field_name!r}: {message}" if field_name else f"{where}: {message}")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _header_index(text: str) -> dict[str, int]:
    """``"[section.key]"`` (spaces removed) -> 1-based line of its first occurrence, built once per file."""
    index: dict[str, int] = {}
    for i, line in enumerate(text.splitlines()):
        s = line.strip()
        if s.startswith("[") and not s.startswith("[["):
            index.setdefault(s.split("#", 1)[0].replace(" ", "").rstrip(), i + 1)
    return index


def _header_line(index: dict[str, int], section: str, key: str, sectioned: bool) -> int:
    names = [f"{section}.{key}", f'{section}."{key}"'] if sectioned else [key, f'"{key}"']
    for n in names:
        if f"[{n}]" in index:
            return index[f"[{n}]"]
    return 1


_BARE_OR_QUOTED = re.compile(r'\s*(?:[A-Za-z0-9_-]+|"[^"]*"|' "'[^']*'" r")\s*")


def _prescan(name: str, text: str) -> None:
    """Refuse inputs that would make the TOML parser itself slow: tomllib's cost grows with the
    square of a dotted key's length, so a key of more than ``MAX_DOTTED`` parts is refused before
    parsing (a valid catalog never nests deeper than ``MAX_DEPTH``). Linear in the text."""
    for i, line in enumerate(text.splitlines()):
        if line.count(".") <= MAX_DOTTED:
            continue
        run = 0
        for part in line.split("."):
            run = run + 1 if _BARE_OR_QUOTED.fullmatch(part) else 0
            if run > MAX_DOTTED:
                raise CatalogError(
                    f"{name}:{i + 1}: a dotted key of more than {MAX_DOTTED} parts "
                    f"(catalog tables nest at most {MAX_DEPTH} levels)"
                )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _bad_string(value: Any) -> str:
    """Why a string inside ``value`` is refused: too long, or a control character (a terminal
    escape sequence in a name would be printed by ``mlsysim catalog``); "" if none is."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            return f"a string longer than {MAX_STRING} characters"
        if _CONTROL.search(value):
            return f"a string with a control character ({value[:40]!r})"
        return ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        why = (_bad_string(k) if isinstance(k, str) else "") or _bad_string(v)
        if why:
            return why
    return ""


def read_file(path: str | Path) -> list[RawEntry]:
    """Parse one catalog file into raw entries; any problem raises :class:`CatalogError`."""
    if not isinstance(path, (str, os.PathLike)):
        raise CatalogError(f"{path!r}: a catalog file must be given as a path (str or pathlib.Path)")
    path = Path(path)
    name = str(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise CatalogError(f"{name}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise CatalogError(f"{name}: file is {st.st_size} bytes; catalog files are limited to {MAX_FILE_BYTES}")
        with open(path, "rb") as f:
            blob = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
        if len(blob) > MAX_FILE_BYTES:
            raise CatalogError(f"{name}: file is larger than {MAX_FILE_BYTES} bytes, the limit for catalog files")
        text = blob.decode("utf-8")
    except CatalogError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, embedded NUL in the path
        raise CatalogError(f"{name}: cannot read catalog file: {exc}") from None
    _prescan(name, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:
        raise CatalogError(
            f"{name}: not valid TOML: arrays or inline tables nested too deeply "
            f"(catalog tables nest at most {MAX_DEPTH} levels)"
        ) from None
    sectioned = path.stem not in ("hardware", "models")
    if not sectioned:
        data = {path.stem: data}
    entries = []
    index = _header_index(text)
    for section, tables in data.items():
        if section not in SECTIONS:
            raise CatalogError(f"{name}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}")
        if not isinstance(tables, dict):
            raise CatalogError(f"{name}: section {section!r} must be a table of entries")
        for key, table in tables.items():
            line = _header_line(index, section, key, sectioned)
            raw = RawEntry(section, key, table if isinstance(table, dict) else {}, name, line, text)
            if not isinstance(table, dict):
                raise raw.error("", "an entry must be a table")
            why = key_problem(key)
            if why:
                raise raw.error("", f"invalid entry key: {why}")
            if _depth(table) > MAX_DEPTH:
                raise raw.error("", f"tables nested deeper than {MAX_DEPTH} levels")
            why = _bad_string(table)
            if why:
                raise raw.error("", why)
            entries.append(raw)
            if len(entries) > MAX_ENTRIES:
                raise raw.error("", f"more than {MAX_ENTRIES} entries in one file")
    return entries
