"""The public CLI API (``mlsysim_cli.api``): any plugin's SolverCommand gets ``mlsysim <cmd>``,
``mlsysim sweep <cmd>`` (on the sweep engine), --json/--csv/--all/--plot and the Pareto front; the host
names no built-in solver, keyword or result field.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
import uuid
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

import mlsysim_core
from mlsysim_cli import main
from mlsysim_cli.api import PRECISIONS, LazyCommand, Param, SolverCommand

HOST = Path(mlsysim_core.__file__).parent
BUILTINS = ["single_node", "serving", "distributed", "economics", "sustainability", "reliability"]

# A third-party plugin: a solver (doubling a number, or failing on 13) and its command, in one module.
PLUGIN = """
import attrs
from mlsysim_core import hookimpl
from mlsysim_cli.api import Param, SolverCommand
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.plugins import SolverSpec
from mlsysim_core.results import Result, measure, result


@result("Doubler")
class DoubleResult(Result):
    label: str = attrs.field()
    twice = measure("ms", doc="2 x the input, as a time")
    ratio: float = attrs.field()


class Doubler:
    produces = DoubleResult

    def solve(self, x, factor=2, label="a"):
        if x == 13:
            raise InvalidInputError("x", x, "anything but 13")
        return DoubleResult(label=label, twice=factor * x / 1000, ratio=float(factor))


def _plot(result, kwargs):
    from mlsysim_plots import figure
    fig, ax = figure()
    ax.plot([0, 1], [0, result.ratio])
    return fig


@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="Doubler", factory=lambda: Doubler)]


@hookimpl
def mlsysim_cli_commands():
    return [SolverCommand(
        name="double", solver="Doubler", summary="Twice X.", example="mlsysim double 3",
        sweep_example="mlsysim sweep double --x 1..4", pareto=(("twice", "min"), ("factor", "max")),
        params=(Param("x", "X", "int", required=True, help="A number."),
                Param("factor", "--factor", "int", 2, help="The factor."),
                Param("label", "--label", "choice", "a", choices=("a", "b"))),
        key_fields=("twice", "label"), plot=_plot)]
"""


DOUBLE = """
from mlsysim_cli.api import Param, SolverCommand

DOUBLE = SolverCommand(
    name="double", solver="Doubler", summary="Twice X.", example="mlsysim double 3",
    sweep_example="mlsysim sweep double --x 1..4", pareto=(("twice", "min"), ("x", "max")),
    params=(Param("x", "X", "int", required=True, help="A number."),), key_fields=("twice",))
"""


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def doubler(fake_dists, fresh_host):
    fake_dists("mlsysim-doubler", "doubler", PLUGIN)
    fresh_host()


def test_a_third_party_command_and_its_sweep(doubler, tmp_path):
    code, out, _ = cli("double", "3", "--json")
    assert code == 0 and json.loads(out) == {
        "solver": "Doubler",
        "inputs": {"x": 3, "factor": 2, "label": "a"},
        "result": {
            "solver": "Doubler",
            "label": "a",
            "twice": {"value": 6.0, "unit": "ms"},
            "ratio": 2.0,
            "bands": {},  # a solver the calibration set never measured says so (docs/accuracy.md, out of domain)
            "out_of_domain": ["Doubler has no calibration points"],
        },
    }
    code, out, _ = cli("double", "3", "--all")
    assert code == 0 and "twice" in out and "ratio" in out
    code, out, err = cli("double", "13")
    assert code == 1 and err.strip() == "Error: X: x=13 is invalid: expected anything but 13"
    # sweep: rows in itertools.product order of the options, the 13 kept with its error, front marked
    code, out, _ = cli("sweep", "double", "--x", "12..14", "--factor", "1,3", "--label", "A,b", "--json", "-")
    doc = json.loads(out)
    assert code == 0 and doc["sweep"] == {"x": [12, 13, 14], "factor": [1, 3], "label": ["a", "b"]}
    assert [tuple(p["inputs"].values()) for p in doc["points"]] == [
        (x, f, lab) for x in (12, 13, 14) for f in (1, 3) for lab in ("a", "b")
    ]
    for p in doc["points"]:
        i = p["inputs"]
        if i["x"] == 13:
            assert p["result"] is None and "anything but 13" in p["error"] and not p["pareto"]
        else:
            assert p["result"]["twice"] == {"value": i["factor"] * i["x"], "unit": "ms"}
    # front of (twice min, factor max): x=12 at both factors (and both labels: equal points)
    assert {(p["inputs"]["x"], p["inputs"]["factor"]) for p in doc["points"] if p["pareto"]} == {(12, 1), (12, 3)}
    code, out, _ = cli("sweep", "double", "--x", "1,2", "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["result.twice [ms]"] for r in rows] == ["2.0", "4.0"] and rows[0]["inputs.x"] == "1"
    code, out, err = cli("sweep", "double", "--x", "1,2")
    assert code == 0 and "twice" in out and "2 points, 2 solved, 1 on the Pareto front" in err


def test_plots_of_a_third_party_command(doubler, tmp_path):
    pytest.importorskip("matplotlib")
    for args in (["double", "3"], ["sweep", "double", "--x", "1..5"]):
        png = tmp_path / "p.png"
        code, _, err = cli(*args, "--plot", str(png))
        assert code == 0 and f"wrote {png}" in err and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        png.unlink()


def test_sweep_help_and_errors_name_the_option(doubler):
    code, out, _ = cli("sweep", "--help")
    assert code == 0 and "double" in out
    code, _, err = cli("sweep", "double", "--x", "1,x")
    assert code == 1 and "--x: 'x' is invalid: expected an integer" in err
    code, _, err = cli("sweep", "double", "--x", "1", "--label", "c")
    assert code == 1 and "--label: 'c' is invalid: expected one of a, b" in err
    code, _, err = cli("sweep", "double", "--x", "1", "--pareto", "twice:up,ratio:min")
    assert code == 1 and "--pareto" in err


def test_a_command_whose_solver_is_missing_says_so(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-orphan",
        "orphan",
        """
from mlsysim_core import hookimpl
from mlsysim_cli.api import Param, SolverCommand

@hookimpl
def mlsysim_cli_commands():
    return [SolverCommand(name="orphan", solver="NoSuchModel", summary="s", example="mlsysim orphan 1",
                          sweep_example="mlsysim sweep orphan --x 1", pareto=(("a", "min"), ("b", "min")),
                          params=(Param("x", "X", "int", required=True),))]
""",
    )
    fresh_host()
    for args in (["orphan", "1"], ["sweep", "orphan", "--x", "1"]):
        code, _, err = cli(*args)
        assert code == 1 and err.startswith("Error: ") and "NoSuchModel" in err and len(err.splitlines()) == 1


def test_a_broken_declaration_fails_only_its_plugin(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-broken",
        "broken",
        """
from mlsysim_core import hookimpl
from mlsysim_cli.api import Param

@hookimpl
def mlsysim_cli_commands():
    return [Param("x", "--x", "complex")]  # not a kind: ValueError in the hook
""",
    )
    host = fresh_host()
    with pytest.warns(Warning, match="broken"):
        code, out, _ = cli("--help")
    assert code == 0 and "sweep" in out
    assert {r.name: r for r in host.records()}["broken"].status == "failed"


def test_a_lazy_command_is_imported_only_when_used(fake_dists, fresh_host):
    """A LazyCommand names ``mlsysim <name>`` without importing its module; another command leaves it
    unimported; running it imports it, and its sweep works as an eager declaration's."""
    commands = f"lazy_double_{uuid.uuid4().hex[:8]}"
    lazy_hook = f"""
@hookimpl
def mlsysim_cli_commands():
    from mlsysim_cli.api import LazyCommand
    return [LazyCommand("double", "{commands}:DOUBLE")]
"""
    plugin = PLUGIN[: PLUGIN.index("@hookimpl\ndef mlsysim_cli_commands")] + lazy_hook
    fake_dists("mlsysim-lazy", "lazy", plugin, files={f"{commands}.py": DOUBLE})
    fresh_host()
    try:
        code, out, _ = cli("plugins")
        assert code == 0 and commands not in sys.modules
        code, out, err = cli("double", "3", "--json")
        assert code == 0, err
        assert json.loads(out)["result"]["twice"]["value"] == pytest.approx(6.0) and commands in sys.modules
        code, out, _ = cli("sweep", "double", "--x", "1,2", "--csv", "-")
        assert code == 0 and len(out.splitlines()) == 3
    finally:
        sys.modules.pop(commands, None)


def test_a_lazy_command_that_cannot_load_fails_only_its_plugin(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-lazy-broken",
        "lazy_broken",
        """
from mlsysim_core import hookimpl
from mlsysim_cli.api import LazyCommand

@hookimpl
def mlsysim_cli_commands():
    return [LazyCommand("ghost", "no_such_module_anywhere:GHOST")]
""",
    )
    host = fresh_host()
    with pytest.warns(Warning, match="lazy_broken.*no_such_module_anywhere"):
        code, _, err = cli("ghost")
    assert code == 1 and "No such command 'ghost'" in err and "lazy_broken" in err and len(err.splitlines()) == 1
    assert {r.name: r for r in host.records()}["lazy_broken"].status == "failed"


def test_lazy_declarations_are_checked():
    with pytest.raises(ValueError, match="module:ATTRIBUTE"):
        LazyCommand("x", "not a target")
    with pytest.raises(ValueError, match="non-empty"):
        LazyCommand("", "m:X")
    with pytest.raises(ValueError, match="not the command 'other'"):
        LazyCommand("other", "mlsysim_serving.commands:SERVE").load()


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Param("x", "--x", "complex")
    with pytest.raises(ValueError, match="positional"):
        Param("x", "X", "int")
    with pytest.raises(ValueError, match="modifies and apply"):
        Param("n", "--n", "int", modifies="x")
    with pytest.raises(ValueError, match="pareto"):
        SolverCommand(
            name="c",
            solver="S",
            summary="",
            example="",
            sweep_example="",
            params=(),
            pareto=(("a", "min"), ("b", "most")),
        )
    with pytest.raises(ValueError, match="not one of its parameters"):
        SolverCommand(
            name="c",
            solver="S",
            summary="",
            example="",
            sweep_example="",
            pareto=(("a", "min"), ("b", "min")),
            params=(Param("n", "--n", "int", modifies="x", apply=lambda x, n: x),),
        )


def test_precisions_are_the_hosts():
    from mlsysim_core.types import PRECISION_BYTES

    assert PRECISIONS == tuple(PRECISION_BYTES)


# --------------------------------------------------------------------------- the host names no built-in


def _builtin_names() -> set[str]:
    """Every built-in solver's names, its commands' keywords, result fields and objectives, less the
    vocabulary the host itself defines (fields and members of its types and capability protocols)."""
    import mlsysim_core.results as results
    import mlsysim_core.types as types

    words: set[str] = set()
    for name in BUILTINS:
        plugin = importlib.import_module(f"mlsysim_{name}.plugin")
        for spec in plugin.mlsysim_solvers():
            cls = spec.factory()
            words |= {spec.name, cls.__name__, getattr(getattr(cls, "produces", None), "__name__", spec.name)}
        for declared in plugin.mlsysim_cli_commands():
            cmd = declared.load() if isinstance(declared, LazyCommand) else declared
            if isinstance(cmd, SolverCommand):
                words |= {cmd.solver, *(p.name for p in cmd.params), *cmd.key_fields, *(f for f, _ in cmd.pareto)}
    shared = {
        "model",
        "hardware",
        "fleet",
        "datacenter",
        "precision",
        "batch_size",
        "seq_len",
        "efficiency",
        "feasible",
        "nodes",
        "tokens",
        "utilization",
        "accelerators",
        "phase",
        "storage",  # a catalog kind (mlsysim.Systems.Storage)
        "fp8",  # a precision the host defines
        "training",
        "method",
        "workload",
        "engine",  # a plain word in the host's prose ("serving engine"); ServingModel's calibration scope
    }  # catalog kinds, host arguments, plain words
    for obj in [*vars(types).values(), *vars(results).values()]:
        if isinstance(obj, type) and attrs.has(obj):
            shared |= {f.alias for f in attrs.fields(obj)} | {n for n in dir(obj) if not n.startswith("_")}
        elif isinstance(obj, type) and getattr(obj, "_is_protocol", False):
            shared |= set(getattr(obj, "__annotations__", {})) | {n for n in vars(obj) if not n.startswith("_")}
    return words - shared


def test_host_code_names_no_builtin_solver_keyword_or_field():
    words = _builtin_names()
    assert {"SingleNodeModel", "ServingModel", "tp_size", "ttft", "itl", "goodput", "tco"} <= words
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b")
    found = {}
    for path in sorted(HOST.rglob("*.py")):
        rel = path.relative_to(HOST).as_posix()
        hits = set(pattern.findall(path.read_text(encoding="utf-8")))
        if hits:
            found[rel] = sorted(hits)
    assert found == {}, f"built-in solver names in host code: {found}"
    assert not (HOST / "cli" / "solvers.py").exists() and not (HOST / "plots.py").exists()


def test_the_documented_example_builds_both_commands():
    from mlsysim_cli.build import make_command
    from mlsysim_cli.sweep import make_sweep_command

    text = (HOST.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    block = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    ns: dict = {}
    exec(compile(block, "docs/cli.md", "exec"), ns)
    cmd = ns["ARITHMETIC_INTENSITY"]
    template = HOST.parent / "templates" / "solver-plugin" / "src" / "mlsysim_arithmetic_intensity" / "commands.py"
    assert "ARITHMETIC_INTENSITY = SolverCommand(" in template.read_text(encoding="utf-8")
    for build in (make_command, make_sweep_command):
        made = build(cmd)
        assert made.name == "arithmetic-intensity" and "Example" in made.help
        assert {"--json", "--plot"} <= {o for p in made.params for o in p.opts}


def test_one_format_for_a_measured_scalar():
    """Tables print a measured scalar alike wherever it comes from: a Quantity (format.value), an SI float
    with its unit's factor and symbol (the CLI's first answer, _out.cell) or a sweep's {value, unit}."""
    from mlsysim_cli.sweep import _cell
    from mlsysim_core.format import measured, value
    from mlsysim_core.units import Q_

    assert measured(12345.678, "ms") == value(Q_(12345.678, "ms")) == _cell({"value": 12345.678, "unit": "ms"})
    assert measured(12345.678, "ms") == "12,350 ms"
    assert measured(0.5, "") == value(Q_(0.5, "")) == _cell({"value": 0.5, "unit": ""}) == "0.5"
    assert measured(None, "GB") == _cell({"value": None, "unit": "GB"}) == "- GB"
