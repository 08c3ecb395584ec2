"""Reading catalog TOML files safely: data only, limits on size and depth, errors with file and line.

Format: ``mlsysim_registry/SCHEMA.md``. A file named ``hardware.toml`` or ``models.toml`` holds one
table per entry; any other file holds section tables (``[hardware.X]``, ``[models.X]``,
``[fabrics.X]``, ``[nodes.X]``, ``[clusters.X]``, ``[grids.X]``, ``[datacenters.X]``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import attrs

from .errors import CatalogError

SECTIONS = ("hardware", "models", "fabrics", "nodes", "clusters", "grids", "datacenters")
MAX_FILE_BYTES = 4_000_000
MAX_DEPTH = 6
MAX_STRING = 20_000


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


def _header_line(text: str, section: str, key: str, sectioned: bool) -> int:
    names = [f"{section}.{key}", f'{section}."{key}"'] if sectioned else [key, f'"{key}"']
    for i, line in enumerate(text.splitlines()):
        s = line.strip().replace(" ", "")
        if any(s == f"[{n}]" for n in names):
            return i + 1
    return 1


def _long_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_STRING
    if isinstance(value, dict):
        return any(_long_string(v) for v in value.values())
    if isinstance(value, list):
        return any(_long_string(v) for v in value)
    return False


def read_file(path: str | Path) -> list[RawEntry]:
    """Parse one catalog file into raw entries; any problem raises :class:`CatalogError`."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CatalogError(f"{name}: file is {size} bytes; catalog files are limited to {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except CatalogError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot read catalog file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: not valid TOML: {exc}") from None
    sectioned = path.stem not in ("hardware", "models")
    if not sectioned:
        data = {path.stem: data}
    entries = []
    for section, tables in data.items():
        if section not in SECTIONS:
            raise CatalogError(f"{name}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}")
        if not isinstance(tables, dict):
            raise CatalogError(f"{name}: section {section!r} must be a table of entries")
        for key, table in tables.items():
            line = _header_line(text, section, key, sectioned)
            raw = RawEntry(section, key, table if isinstance(table, dict) else {}, name, line, text)
            if not isinstance(table, dict):
                raise raw.error("", "an entry must be a table")
            if not key.isidentifier():
                raise raw.error("", "entry keys must be Python identifiers (letters, digits, underscores)")
            if _depth(table) > MAX_DEPTH:
                raise raw.error("", f"tables nested deeper than {MAX_DEPTH} levels")
            if _long_string(table):
                raise raw.error("", f"a string longer than {MAX_STRING} characters")
            entries.append(raw)
    return entries
