"""Plugin faults beyond import errors (tests/test_plugin_host.py has import errors, raising hooks,
wrong item types, unknown hooks, duplicate solver names): each is recorded against its plugin, the
host keeps serving the rest, and ``mlsysim plugins`` tells the user."""

from __future__ import annotations

import json
import warnings

import pytest

from mlsysim_core.errors import InvalidInputError, PluginError, SolverNotInstalledError, UnknownArgumentError
from mlsysim_core.plugins import PluginConflictWarning, PluginWarning
from mlsysim_core.solver import checked

GOOD = """
from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec

class GoodModel:
    def solve(self):
        return 42

@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="GoodModel", factory=GoodModel, summary="test solver")]
"""

HEADER = """
import sys, time
from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec

class BadModel:
    def solve(self):
        return 1
"""


def _rec(host, name):
    return {r.name: r for r in host.records()}[name]


def _solvers_with_failure(host, plugin):
    with pytest.warns(PluginWarning, match=plugin):
        solvers = host.solvers()
    assert "GoodModel" in solvers, "the good plugin must keep working"
    rec = _rec(host, plugin)
    assert rec.status == "failed"
    return rec


# --------------------------------------------------------------------------- hooks returning the wrong thing

WRONG_RETURNS = {
    "none": ("return None", "returned NoneType, expected a list of SolverSpec"),
    "dict": ('return {"BadModel": SolverSpec(name="BadModel", factory=BadModel)}', "returned dict"),
    "string": ('return "BadModel"', "returned str"),
    "number": ("return 7", "returned int"),
    "spec_not_in_list": (
        'return SolverSpec(name="BadModel", factory=BadModel)',
        "returned SolverSpec, expected a list",
    ),
    "class_not_spec": ("return [BadModel]", "returned type, expected SolverSpec"),
}


@pytest.mark.parametrize("case", sorted(WRONG_RETURNS))
def test_hook_returning_the_wrong_type(case, fake_dists, fresh_host):
    body, message = WRONG_RETURNS[case]
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-wrong", "wrong", HEADER + f"\n@hookimpl\ndef mlsysim_solvers():\n    {body}\n")
    rec = _solvers_with_failure(fresh_host(), "wrong")
    assert message in rec.error and "mlsysim_solvers" in rec.error


def test_generator_raising_midway_contributes_nothing(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists(
        "mlsysim-halfway",
        "halfway",
        HEADER
        + """
@hookimpl
def mlsysim_solvers():
    yield SolverSpec(name="BadModel", factory=BadModel)
    raise RuntimeError("died halfway")
""",
    )
    host = fresh_host()
    rec = _solvers_with_failure(host, "halfway")
    assert "died halfway" in rec.error
    assert "BadModel" not in host.solvers()  # not half a plugin


def test_generator_hook_is_fine(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-gen",
        "gen",
        HEADER
        + """
@hookimpl
def mlsysim_solvers():
    yield SolverSpec(name="BadModel", factory=BadModel)
""",
    )
    host = fresh_host()
    assert "BadModel" in host.solvers() and _rec(host, "gen").status == "active"


def test_catalog_hook_returning_a_dict(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-dictcat",
        "dictcat",
        """
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_catalog_files():
            return {"a": "b.toml"}
    """,
    )
    host = fresh_host()
    from mlsysim_core.plugins import catalog

    with pytest.warns(PluginWarning, match="dictcat"):
        cat = catalog()
    assert _rec(host, "dictcat").status == "failed" and "returned dict" in _rec(host, "dictcat").error
    assert cat.Hardware.Cloud.H100.name


# --------------------------------------------------------------------------- solver specs the registry refuses

BAD_SPECS = {
    "factory_instance": ('SolverSpec(name="BadModel", factory=BadModel())', "expected a class with solve()"),
    "factory_string": ('SolverSpec(name="BadModel", factory="BadModel")', "factory str"),
    "factory_without_solve": ('SolverSpec(name="BadModel", factory=int)', "without a callable solve()"),
    "solve_not_callable": (
        'SolverSpec(name="BadModel", factory=type("BadModel", (), {"solve": 3}))',
        "without a callable solve()",
    ),
    "lowercase_name": ('SolverSpec(name="badmodel", factory=BadModel)', "capital letter"),
    "unicode_name": ('SolverSpec(name="B\\u0430dModel", factory=BadModel)', "ASCII identifier"),
    "name_not_string": ("SolverSpec(name=42, factory=BadModel)", "ASCII identifier"),
    "name_with_dot": ('SolverSpec(name="Bad.Model", factory=BadModel)', "ASCII identifier"),
    "name_taken_by_mlsysim": ('SolverSpec(name="Hardware", factory=BadModel)', "taken by mlsysim"),
    "name_of_an_error": ('SolverSpec(name="InvalidInputError", factory=BadModel)', "taken by mlsysim"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_solver_spec_the_registry_refuses(case, fake_dists, fresh_host):
    spec, message = BAD_SPECS[case]
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists(
        "mlsysim-badspec",
        "badspec",
        HEADER
        + f"""
class Fine:
    def solve(self):
        return 0

@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="FineModel", factory=Fine), {spec}]
""",
    )
    host = fresh_host()
    rec = _solvers_with_failure(host, "badspec")
    assert message in rec.error
    assert "FineModel" not in host.solvers()  # a plugin with one bad spec contributes nothing


def test_lazy_factory_is_checked_on_use(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists(
        "mlsysim-lazy",
        "lazy",
        HEADER
        + """
def boom():
    raise RuntimeError("cannot build")

@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="LazyOk", factory=lambda: BadModel),
            SolverSpec(name="LazyNotClass", factory=lambda: "BadModel"),
            SolverSpec(name="LazyBoom", factory=boom)]
""",
    )
    host = fresh_host()
    import mlsysim

    assert mlsysim.LazyOk is not None and _rec(host, "lazy").status == "active"
    with pytest.raises(SolverNotInstalledError, match="LazyNotClass.*mlsysim-lazy.*returned str, not a class"):
        mlsysim.LazyNotClass
    assert _rec(host, "lazy").status == "failed"
    with pytest.raises(ImportError, match="LazyBoom"):
        from mlsysim import LazyBoom  # noqa: F401
    assert mlsysim.GoodModel().solve() == 42


# --------------------------------------------------------------------------- hook implementations the host cannot call

ODD_IMPLS = {
    "takes_arguments": ("@hookimpl\ndef mlsysim_solvers(config):\n    return []", "config"),
    "hookwrapper": ("@hookimpl(hookwrapper=True)\ndef mlsysim_solvers():\n    yield", "plain function"),
    "new_style_wrapper": ("@hookimpl(wrapper=True)\ndef mlsysim_solvers():\n    return (yield)", "plain function"),
    "coroutine": ("@hookimpl\nasync def mlsysim_solvers():\n    return []", "plain function"),
    "callable_object": (
        "class C:\n    def __call__(self):\n        return []\nmlsysim_solvers = hookimpl(C())",
        "plain function",
    ),
}


@pytest.mark.parametrize("case", sorted(ODD_IMPLS))
def test_hookimpl_the_host_cannot_call(case, fake_dists, fresh_host):
    source, message = ODD_IMPLS[case]
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-odd", "odd", HEADER + "\n" + source + "\n")
    with pytest.warns(PluginWarning, match="odd"):
        host = fresh_host()
    rec = _rec(host, "odd")
    assert rec.status == "failed" and message in rec.error
    assert "GoodModel" in host.solvers()


# ------------------------------------------------------------ plugins that try to end the process or are slow


def test_sys_exit_at_import_does_not_end_the_host(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-quitter", "quitter", "import sys\nsys.exit(3)\n")
    with pytest.warns(PluginWarning, match="quitter"):
        host = fresh_host()
    assert _rec(host, "quitter").status == "failed" and "SystemExit" in _rec(host, "quitter").error
    assert "GoodModel" in host.solvers()


def test_sys_exit_in_a_hook_does_not_end_the_host(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-quitter", "quitter", HEADER + "\n@hookimpl\ndef mlsysim_solvers():\n    sys.exit(0)\n")
    rec = _solvers_with_failure(fresh_host(), "quitter")
    assert "SystemExit" in rec.error


def test_slow_import_is_recorded_and_others_load(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-slow", "slow", "import time\ntime.sleep(0.2)\n" + GOOD.replace("GoodModel", "SlowModel"))
    host = fresh_host()
    assert _rec(host, "slow").import_seconds >= 0.2  # a lower bound of a sleep, not a timing assertion
    assert _rec(host, "slow").status == "active" and {"GoodModel", "SlowModel"} <= set(host.solvers())
    assert _rec(host, "good").import_seconds >= 0.0


# --------------------------------------------------------------------------- two plugins claiming one name


def _grid_plugin(fake_dists, dist, ep, name, extra=""):
    fake_dists(
        dist,
        ep,
        f"""
        from pathlib import Path
        from mlsysim_core import hookimpl
        {extra}
        @hookimpl
        def mlsysim_catalog_files():
            return [Path(__file__).with_name("{ep}.toml")]
    """,
        files={
            f"{ep}.toml": f"""
        [grids.SameGrid]
        name = "{name}"
        carbon_intensity = "100 g/kWh"
        source = "test"
    """
        },
    )


def test_two_plugins_claiming_one_catalog_key(fake_dists, fresh_host, monkeypatch):
    _grid_plugin(fake_dists, "mlsysim-aaa", "aaa", "from aaa")
    _grid_plugin(fake_dists, "mlsysim-bbb", "bbb", "from bbb")
    fresh_host()
    from mlsysim_core.plugins import catalog

    with pytest.warns(PluginConflictWarning, match="SameGrid.*mlsysim-aaa.*mlsysim-bbb"):
        cat = catalog()
    assert cat.Infra.Grids.SameGrid.name == "from aaa"  # equal priority: first in plugin order
    monkeypatch.setenv("MLSYSIM_CATALOG_PRIORITY", "bbb=500")
    fresh_host()
    with pytest.warns(PluginConflictWarning, match="using the one from plugin 'bbb'"):
        assert catalog().Infra.Grids.SameGrid.name == "from bbb"


def test_two_distributions_claiming_one_entry_point_name(fake_dists, fresh_host):
    fake_dists("mlsysim-first", "samename", GOOD)
    fake_dists("mlsysim-second", "samename", GOOD.replace("GoodModel", "OtherModel"))
    with pytest.warns(PluginConflictWarning, match="samename"):
        host = fresh_host()
    assert [r.name for r in host.records()].count("samename") == 1


def test_two_plugins_claiming_one_solver_name_via_priority_free_rule(fake_dists, fresh_host):
    fake_dists("mlsysim-aaa", "aaa", GOOD)
    fake_dists("mlsysim-bbb", "bbb", GOOD.replace("return 42", "return 43"))
    host = fresh_host()
    with pytest.warns(PluginConflictWarning, match="GoodModel.*mlsysim-aaa.*mlsysim-bbb"):
        assert host.solvers()["GoodModel"].factory().solve() == 42


# ------------------------------------------------------------ solve() that raises or returns a non-result

FAULTY_SOLVERS = """
from mlsysim_core import hookimpl
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.plugins import SolverSpec

class RaisingModel:
    def solve(self, x=1):
        if x == 0:
            raise InvalidInputError("x", x, "an integer >= 1")
        return {}["missing"]

class NotAResultModel:
    def solve(self):
        return {"latency": -1}

@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="RaisingModel", factory=RaisingModel),
            SolverSpec(name="NotAResultModel", factory=NotAResultModel)]
"""


def test_solver_exceptions_propagate_unless_checked(fake_dists, fresh_host):
    fake_dists("mlsysim-faulty", "faulty", FAULTY_SOLVERS)
    fresh_host()
    import mlsysim

    with pytest.raises(KeyError):  # documented: plain solve() calls are not wrapped
        mlsysim.RaisingModel().solve()
    with pytest.raises(PluginError, match=r"RaisingModel \(mlsysim-faulty\) raised KeyError") as info:
        checked("RaisingModel").solve()
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(InvalidInputError, match="x=0"):  # mlsysim's own errors pass through unchanged
        checked(mlsysim.RaisingModel).solve(x=0)
    with pytest.raises(PluginError, match="returned dict, not an mlsysim Result"):
        checked(mlsysim.NotAResultModel()).solve()
    # a keyword the solver does not take is the caller's error, named with the closest ones, not the plugin's
    with pytest.raises(UnknownArgumentError, match=r"^y=2 .*RaisingModel\.solve\(\): x$"):
        checked("RaisingModel").solve(y=2)


# --------------------------------------------------------------------------- the CLI tells the user


def _cli(args):
    from click.testing import CliRunner

    from mlsysim_cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_lists_every_fault_and_keeps_going(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD)
    fake_dists("mlsysim-none", "none_hook", HEADER + "\n@hookimpl\ndef mlsysim_solvers():\n    return None\n")
    fake_dists("mlsysim-args", "args", HEADER + "\n@hookimpl\ndef mlsysim_solvers(config):\n    return []\n")
    fake_dists(
        "mlsysim-noclass",
        "noclass",
        HEADER + "\n@hookimpl\ndef mlsysim_solvers():\n    return [SolverSpec(name='BadModel', factory=BadModel())]\n",
    )
    fake_dists("mlsysim-quitter", "quitter", "raise SystemExit(2)\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        fresh_host()
    result = _cli(["plugins"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "active" in lines["good"] and "GoodModel" in lines["good"]
    for name, why in (
        ("none_hook", "returned NoneType"),
        ("args", "config"),
        ("noclass", "expected a class"),
        ("quitter", "SystemExit"),
    ):
        assert "failed" in lines[name] and why in lines[name], lines[name]
    data = {d["name"]: d for d in json.loads(_cli(["plugins", "--json"]).output)}
    assert data["noclass"]["status"] == "failed" and data["good"]["solvers"] == ["GoodModel"]
    assert all(isinstance(d["import_seconds"], float) for d in data.values())
