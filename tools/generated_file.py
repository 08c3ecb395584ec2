"""The command line of a tool that writes a generated data file: write it, or with ``--check`` fail when
the file on disk differs from what the tool would write (tools/calibration_domain.py, tools/model_error.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(target: Path, text: str, argv: list[str], tool: str) -> int:
    """Write ``text`` to ``target`` (exit status 0); with ``--check`` in ``argv`` write nothing and return 1,
    naming ``tool`` to run, when ``target`` holds something else."""
    if "--check" in argv:
        if target.read_text() != text:
            print(f"{target.relative_to(ROOT)} is stale: run python tools/{tool}")
            return 1
        return 0
    target.write_text(text)
    return 0
