"""The host's shape: no import cycles, no import of the public face or of a plugin, a size budget,
and hook specifications that are typed, documented in docs/hooks.md and implemented somewhere."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from mlsysim_core import hookspecs

REPO = Path(__file__).resolve().parents[1]
HOST = REPO / "mlsysim_core"
#: Non-blank lines of Python the host may hold (issue 13: a minimal host).
HOST_LINE_BUDGET = 3000


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never executed)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            if test is not None and "TYPE_CHECKING" in ast.unparse(test):
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return out


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules this file imports when it runs: at module level and inside functions (not the
    ``if TYPE_CHECKING:`` imports, which exist for annotations only)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:  # `from . import x`: x may be a submodule
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(HOST.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, modules) for f in files}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ()) & graph.keys()):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        state[m] = 2
        stack.pop()
        return []

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return []


def test_the_host_has_no_import_cycle():
    cycle = _cycle(import_graph())
    assert not cycle, "import cycle in mlsysim_core: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "mlsysim_core.catalog" in graph["mlsysim_core.plugins"]  # from .catalog import ...
    assert "mlsysim_core.hookspecs" in graph["mlsysim_core"]  # inside __getattr__
    assert "mlsysim_core.catalog" not in graph["mlsysim_core.hookspecs"]  # under TYPE_CHECKING only


def test_the_host_imports_neither_the_public_face_nor_any_plugin():
    for module, imported in import_graph().items():
        outside = {m for m in imported if m.split(".")[0].startswith("mlsysim") and not m.startswith("mlsysim_core")}
        assert not outside, f"{module} imports {sorted(outside)}"


#: The solver contract suite (issue 13 item 6 asks for it as ``mlsysim_core.testing``) is test code that
#: plugins run under pytest; nothing imports it at run time, so it has a budget of its own.
CONTRACT_SUITE, CONTRACT_SUITE_BUDGET = HOST / "testing.py", 400


def _lines(files: list[Path]) -> int:
    return sum(1 for f in files for line in f.read_text().splitlines() if line.strip())


def test_host_size_budget():
    lines = _lines([f for f in HOST.rglob("*.py") if f != CONTRACT_SUITE])
    assert lines <= HOST_LINE_BUDGET, f"mlsysim_core holds {lines} non-blank lines (budget {HOST_LINE_BUDGET})"
    assert _lines([CONTRACT_SUITE]) <= CONTRACT_SUITE_BUDGET


# --------------------------------------------------------------------------- hooks


HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("mlsysim_"))


def _documented() -> dict[str, str]:
    """docs/hooks.md: ``## `hook_name` `` headings, each followed by a ``Returns: `type` `` line."""
    text = (REPO / "docs" / "hooks.md").read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    out = {}
    for s in sections:
        name = re.match(r"`(\w+)`", s)
        ret = re.search(r"^Returns: `([^`]+)`", s, flags=re.MULTILINE)
        assert name and ret and "Called:" in s, f"docs/hooks.md section without name, Returns or Called: {s[:60]!r}"
        out[name.group(1)] = ret.group(1)
    return out


def test_every_hook_is_typed_and_documented_as_specified():
    specs = {n: inspect.get_annotations(getattr(hookspecs, n))["return"] for n in HOOKS}
    for name, ret in specs.items():
        assert ret.startswith("list[") and ret != "list[Any]", f"{name} returns {ret!r}: say what the list holds"
        assert getattr(hookspecs, name).__doc__, name
    assert _documented() == specs


def test_every_hook_is_implemented_by_a_plugin_somewhere():
    """Each hook has an implementation in a shipped plugin or in a test plugin (no dead hooks)."""
    sources = [
        *REPO.glob("mlsysim_registry/**/*.py"),
        *REPO.glob("plugins/*/src/**/*.py"),
        *REPO.glob("templates/*/src/**/*.py"),
        *REPO.glob("tests/**/*.py"),
        *REPO.glob("plugins/*/tests/*.py"),
    ]
    text = "\n".join(p.read_text() for p in sources)
    missing = [h for h in HOOKS if not re.search(rf"@hookimpl\s+def {h}\(", text)]
    assert not missing, f"hooks no plugin implements: {missing}"


# --------------------------------------------------------------------------- versions


def test_one_version_for_every_distribution_shipped_here():
    """The root pyproject's version is the one source: every distribution requirements.txt installs
    carries it, and ``__version__`` is read from the installed metadata (never written twice)."""
    import importlib.metadata
    import tomllib

    def project(folder: Path) -> dict:
        return tomllib.loads((folder / "pyproject.toml").read_text())["project"]

    version = project(REPO)["version"]
    folders = [
        REPO / line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(folders) >= 8
    for folder in folders:
        meta = project(folder)
        assert meta["version"] == version, f"{meta['name']} is {meta['version']}, the root says {version}"
        assert importlib.metadata.version(meta["name"]) == version
    import mlsysim
    import mlsysim_core

    assert mlsysim.__version__ == mlsysim_core.__version__ == version
    literal = re.compile(r"""^__version__\s*=\s*["']""", re.MULTILINE)
    sources = [*REPO.glob("mlsysim*/**/*.py"), *REPO.glob("plugins/*/src/**/*.py")]
    written = [p for p in sources if literal.search(p.read_text())]
    assert not written, f"__version__ written by hand in {written}"
