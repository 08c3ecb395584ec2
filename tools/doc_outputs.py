"""Outputs shown in the documents, produced by the program: check them, or write them anew.

Two kinds of block in the Markdown files listed in ``DOCUMENTS`` are outputs:

* a fenced block whose first line is ``$ mlsysim ...``: the rest of the block is what that command
  prints (stdout and stderr, as a terminal shows them), run in a temporary folder holding the
  document's file blocks (a fenced block whose info string is ``LANGUAGE FILENAME``, e.g.
  ``csv my_runs.csv``); ``$ mlsysim A && mlsysim B`` runs both there, in order, with a fresh plugin
  host (so a ``--catalog`` file is not left loaded for the next block);
* a fenced block with the info string ``output`` right after a ``python`` block: what that
  block prints (the blocks of one document run in order, in one namespace, in a temporary folder).

Tables that state a named default of ``mlsysim_physics.efficiency`` (a row ``| `NAME` | value ... |``)
must state its current value (checked, not rewritten: the row's words around it are prose).

``python tools/doc_outputs.py`` rewrites every such block from the program's current output;
``python tools/doc_outputs.py --check`` (and tests/test_doc_outputs.py) fails naming each stale
block, so a change that moves a number fails until the documents are regenerated.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (
    "README.md",
    "docs/accuracy.md",
    "docs/serving-topologies.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "plugins").glob("*/README.md")),
)
#: Documents whose tables of named defaults are checked (besides DOCUMENTS).
CONSTANT_DOCUMENTS = ("docs/accuracy.md",)
_FILE = re.compile(r"(\w+) ([\w-]+\.\w+)")  # a file block's info string: "csv my_runs.csv"
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.S | re.M)


def run_command(line: str, files: dict[str, str] | None = None) -> str:
    """What ``$ mlsysim ...`` (or ``$ mlsysim A && mlsysim B``) prints, through the real command
    (click's runner, one process), in a temporary folder holding ``files``."""
    from click.testing import CliRunner

    from mlsysim_cli import main
    from mlsysim_core import plugins

    commands = [shlex.split(part)[1:] for part in line[2:].split(" && ")]  # "$ mlsysim ARGS..."
    output, saved = "", plugins._host
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, body in (files or {}).items():
            Path(name).write_text(body)
        if len(commands) > 1:
            plugins.reset(plugins.PluginHost())
        try:
            for args in commands:
                result = CliRunner().invoke(main, args, prog_name="mlsysim", env={"COLUMNS": "200"})
                if result.exception and not isinstance(result.exception, SystemExit):
                    raise RuntimeError(f"{line!r} raised {result.exception!r}") from result.exception
                output += result.output
                if result.exit_code:
                    break
        finally:
            plugins.reset(saved)
    return output


def run_python(blocks: list[str]) -> list[str]:
    """stdout of each block, run in order in one namespace (in a temporary folder)."""
    namespace: dict = {"__name__": "__doc__"}
    outputs = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, "<document>", "exec"), namespace)  # noqa: S102 - our own documents
            outputs.append(buffer.getvalue())
    return outputs


def regenerate(text: str) -> str:
    """The document with every output block replaced by what the program prints now."""
    blocks = list(_FENCE.finditer(text))
    python = [m for m in blocks if m.group(1).strip() == "python"]
    wanted = {m.start(): i for i, m in enumerate(python)}
    needs = {}
    for prev, m in zip(blocks, blocks[1:]):
        if m.group(1).strip() == "output" and prev.group(1).strip() == "python":
            needs[m.start()] = wanted[prev.start()]
    outputs = run_python([m.group(2) for m in python[: max(needs.values()) + 1]]) if needs else []
    files = {f.group(2): m.group(2) for m in blocks for f in [_FILE.fullmatch(m.group(1).strip())] if f}
    out, pos = [], 0
    for m in blocks:
        body = m.group(2)
        if m.start() in needs:
            new = outputs[needs[m.start()]]
        elif body.startswith("$ mlsysim "):
            command = body.splitlines()[0]
            new = f"{command}\n{run_command(command, files)}"
        else:
            continue
        out += [text[pos : m.start(2)], new.rstrip("\n") + "\n"]
        pos = m.end(2)
    return "".join(out) + text[pos:]


_ROW = re.compile(r"^\| `([A-Z_]+)` \| ([0-9.]+)\s*(us|ms|s)?\b", re.M)
_SCALE = {None: 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def stale_constants(path: str) -> list[str]:
    """Table rows of ``path`` stating a named default (mlsysim_physics.efficiency) with another value."""
    from mlsysim_physics.efficiency import NAMED_DEFAULTS

    out = []
    for m in _ROW.finditer((ROOT / path).read_text()):
        name, shown = m.group(1), float(m.group(2)) * _SCALE[m.group(3)]
        if name in NAMED_DEFAULTS and abs(shown - NAMED_DEFAULTS[name]) > 1e-9 * max(1.0, abs(shown)):
            out.append(f"{path}: {name} is shown as {m.group(2)} {m.group(3) or ''} but is {NAMED_DEFAULTS[name]:g}")
    return out


def stale(path: str) -> list[str]:
    """Lines of the output blocks of ``path`` that differ from the program's output (empty: up to date)."""
    import difflib

    text = (ROOT / path).read_text()
    return list(
        difflib.unified_diff(text.splitlines(), regenerate(text).splitlines(), path, "program", n=1, lineterm="")
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    bad = 0
    for line in (x for path in (*DOCUMENTS, *CONSTANT_DOCUMENTS) for x in stale_constants(path)):
        bad += 1
        print(line)
    for path in DOCUMENTS:
        if check:
            diff = stale(path)
            if diff:
                bad += 1
                print("\n".join(diff[:60]))
        else:
            text = (ROOT / path).read_text()
            new = regenerate(text)
            if new != text:
                (ROOT / path).write_text(new)
                print(f"wrote {path}")
    if bad:
        print(f"{bad} document(s) show outputs the program no longer prints: python tools/doc_outputs.py")
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "200")
    sys.exit(main(sys.argv[1:]))
