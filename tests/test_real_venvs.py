"""Real virtualenvs, real entry points: install distributions from their folders with pip, the way a
user would, and check what `import mlsysim` and `mlsysim plugins` see.

Two venvs are built once per test session (about 30 s; skip them locally with
``MLSYSIM_SKIP_REAL_VENVS=1`` or ``-m "not real_venv"``; CI runs them):

* ``solvers``: mlsysim-core + mlsysim-serving + mlsysim-power-efficiency (third-party style) +
  a copy of ``templates/solver-plugin`` + a deliberately broken plugin, with pytest and hypothesis;
* ``catalog``: mlsysim-core + mlsysim-catalog-example (kept out of the development venv because
  its H100 override would change the numbers other tests compute with; see docs/catalogs.md).

Every local project is copied to a temporary folder and built into a wheel once (no build/ or
egg-info written into the checkout); pip takes the dependencies from the configured index.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)

pytestmark = [
    pytest.mark.real_venv,
    pytest.mark.skipif(
        os.environ.get("MLSYSIM_SKIP_REAL_VENVS", "") not in ("", "0"), reason="MLSYSIM_SKIP_REAL_VENVS is set"
    ),
    pytest.mark.skipif(PYTHON is None, reason="python3.11 not found"),
]

_IGNORE = shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "dist", ".venv*", ".hypothesis")

BROKEN_PYPROJECT = """
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "mlsysim-broken-example"
version = "0.0.1"
dependencies = ["mlsysim-core"]

[project.entry-points.mlsysim]
broken = "mlsysim_broken_example"

[tool.setuptools]
py-modules = ["mlsysim_broken_example"]
"""
BROKEN_MODULE = 'raise RuntimeError("mlsysim-broken-example fails on purpose at import")\n'


def _env(**extra: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLSYSIM_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "COV_"))
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _run(cmd: list, cwd: Path | None = None, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


class Venv:
    def __init__(self, path: Path):
        self.path = path
        self.python = path / "bin" / "python"
        self.mlsysim = path / "bin" / "mlsysim"

    def py(self, code: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return _run([self.python, "-c", textwrap.dedent(code)], check=check, **env)

    def json(self, code: str, **env: str):
        return json.loads(self.py(code, **env).stdout.strip().splitlines()[-1])

    def plugins(self, **env: str) -> dict:
        out = _run([self.mlsysim, "plugins", "--json"], **env)
        return {d["name"]: d for d in json.loads(out.stdout)}


def _copy_host(dst: Path) -> Path:
    dst.mkdir()
    for name in (
        "mlsysim",
        "mlsysim_core",
        "mlsysim_registry",
        "mlsysim_plots",
        "mlsysim_fleet",
        "mlsysim_cli",
        "mlsysim_uncertainty",
        "mlsysim_physics",
    ):
        shutil.copytree(REPO / name, dst / name, ignore=_IGNORE)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dst / name)
    return dst


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict:
    """Copies of every project the venvs install (the template renamed nowhere: it is installed as is)."""
    root = tmp_path_factory.mktemp("src")
    src = {"host": _copy_host(root / "host")}
    for dist in ("mlsysim-serving", "mlsysim-power-efficiency", "mlsysim-catalog-example"):
        src[dist] = shutil.copytree(REPO / "plugins" / dist, root / dist, ignore=_IGNORE)
    src["template"] = shutil.copytree(REPO / "templates" / "solver-plugin", root / "template", ignore=_IGNORE)
    broken = root / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "mlsysim_broken_example.py").write_text(BROKEN_MODULE)
    src["broken"] = broken
    return src


@pytest.fixture(scope="session")
def wheels(sources, tmp_path_factory) -> dict:
    """One wheel per local project, built once (pip wheel --no-deps)."""
    out = tmp_path_factory.mktemp("wheels")
    _run([PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, *sources.values()])
    built = {p.name.split("-")[0]: p for p in out.glob("*.whl")}
    names = {
        "host": "mlsysim_core",
        "mlsysim-serving": "mlsysim_serving",
        "mlsysim-power-efficiency": "mlsysim_power_efficiency",
        "mlsysim-catalog-example": "mlsysim_catalog_example",
        "template": "mlsysim_arithmetic_intensity",
        "broken": "mlsysim_broken_example",
    }
    return {key: built[name] for key, name in names.items()}


def _make_venv(path: Path, *requirements) -> Venv:
    _run([PYTHON, "-m", "venv", path])
    venv = Venv(path)
    _run([venv.python, "-m", "pip", "install", "-q", *requirements])
    return venv


@pytest.fixture(scope="session")
def solvers_venv(wheels, tmp_path_factory) -> Venv:
    w = wheels
    # pytest and hypothesis (not the whole [test] extra) to run the template's own tests there
    return _make_venv(
        tmp_path_factory.mktemp("venv") / "solvers",
        w["host"],
        w["mlsysim-serving"],
        w["mlsysim-power-efficiency"],
        w["template"],
        w["broken"],
        "pytest>=8",
        "hypothesis>=6.100",
    )


@pytest.fixture(scope="session")
def template_venv(wheels, tmp_path_factory) -> Venv:
    """The host and the template plugin only (and matplotlib, for --plot)."""
    return _make_venv(
        tmp_path_factory.mktemp("venv") / "template", wheels["host"], wheels["template"], "matplotlib>=3.7"
    )


@pytest.fixture(scope="session")
def catalog_venv(wheels, tmp_path_factory) -> Venv:
    return _make_venv(tmp_path_factory.mktemp("venv") / "catalog", wheels["host"], wheels["mlsysim-catalog-example"])


# --------------------------------------------------------------------------- (a) host + one solver


def test_only_what_is_installed_is_available(solvers_venv):
    got = solvers_venv.json("""
        import json, warnings
        warnings.simplefilter("ignore")          # the broken plugin's PluginWarning (tested below)
        import mlsysim
        from mlsysim import ServingModel
        r = ServingModel().solve(model=mlsysim.Models.Language.Llama3_8B, hardware=mlsysim.Hardware.Cloud.H100,
                                 seq_len=2048, batch_size=1)
        try:
            from mlsysim import DistributedModel
            missing = None
        except ImportError as exc:
            missing = str(exc)
        print(json.dumps({"feasible": r.feasible, "ttft_ms": r.ttft.to("ms").magnitude,
                          "itl_ms": r.itl.to("ms").magnitude, "missing": missing}))
    """)
    assert got["feasible"] is True and got["ttft_ms"] > 0 and got["itl_ms"] > 0
    assert got["missing"] and "mlsysim-distributed" in got["missing"]
    assert "pip install -e plugins/mlsysim-distributed" in got["missing"]  # not on the package index yet
    plugins = solvers_venv.plugins()
    assert plugins["serving"]["status"] == "active" and plugins["serving"]["solvers"] == ["ServingModel"]
    for absent in ("single_node", "distributed", "economics", "sustainability", "reliability", "catalog_example"):
        assert absent not in plugins


# --------------------------------------------------------------------------- (b) third-party solvers


def test_third_party_solver_found_through_its_entry_point(solvers_venv):
    row = solvers_venv.plugins()["power_efficiency"]
    assert row["status"] == "active"
    assert row["distribution"] == "mlsysim-power-efficiency" and row["version"] == "0.1.0"
    assert row["solvers"] == ["PowerEfficiencyModel"] and row["module"] == "mlsysim_power_efficiency.plugin"
    got = solvers_venv.json("""
        import json, warnings
        warnings.simplefilter("ignore")
        import mlsysim
        from mlsysim import PowerEfficiencyModel
        r = PowerEfficiencyModel().solve(mlsysim.Hardware.Cloud.H100)
        print(json.dumps({"fpw": r["flops_per_watt"].to("TFLOPs/s/kW").magnitude, "precision": r.precision}))
    """)
    assert got["fpw"] == pytest.approx(989.5 / 0.7) and got["precision"] == "bf16"  # 1413.6 TFLOP/s per kW


def test_template_installs_is_found_and_its_tests_pass(solvers_venv, sources):
    row = solvers_venv.plugins()["arithmetic_intensity"]
    assert row["status"] == "active" and row["solvers"] == ["ArithmeticIntensityModel"]
    assert row["distribution"] == "mlsysim-arithmetic-intensity"
    # the template's own tests, run from its (copied) folder against the installed distribution
    out = _run(
        [solvers_venv.python, "-m", "pytest", "-q", "-p", "no:randomly", "tests"],
        cwd=sources["template"],
        check=False,
        MLSYSIM_DISABLE_PLUGINS="broken",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout


def _commands(help_text: str) -> set[str]:
    """The command names of a click help page."""
    body = help_text.split("Commands:", 1)[1]
    return {line.split()[0] for line in body.splitlines() if line.startswith("  ") and not line.startswith("   ")}


def test_template_alone_brings_its_command_and_sweep(template_venv, tmp_path):
    host_only = {"catalog", "plugins", "sweep", "validate"}  # the host distribution's own groups
    top = _commands(_run([template_venv.mlsysim, "--help"]).stdout)
    assert "arithmetic-intensity" in top and top - {"arithmetic-intensity"} <= host_only and "sweep" in top
    assert _commands(_run([template_venv.mlsysim, "sweep", "--help"]).stdout) == {"arithmetic-intensity"}
    # 1e9 FLOP over 1e8 B: I = 10 FLOP/B; H100 (3.35 TB/s): memory bound, attainable 10 x 3.35 TB/s = 33.5 TFLOP/s;
    # 1e12 FLOP: I = 1e4 > ridge 989.5 / 3.35 = 295 FLOP/B: compute bound at the 989.5 TFLOP/s bf16 peak
    doc = json.loads(
        _run(
            [
                template_venv.mlsysim,
                "sweep",
                "arithmetic-intensity",
                "--hardware",
                "H100",
                "--flops",
                "1e9,1e12",
                "--bytes",
                "1e8",
                "--json",
                "-",
            ]
        ).stdout
    )
    assert doc["solver"] == "ArithmeticIntensityModel" and doc["sweep"]["flops"] == [1e9, 1e12]
    got = [(p["inputs"]["flops"], p["result"]["bottleneck"], p["result"]["attainable_flops"]) for p in doc["points"]]
    assert got == [
        (1e9, "Memory", {"value": pytest.approx(33.5), "unit": "TFLOP/s"}),
        (1e12, "Compute", {"value": pytest.approx(989.5), "unit": "TFLOP/s"}),
    ]
    assert [p["pareto"] for p in doc["points"]] == [True, True]
    png = tmp_path / "x.png"
    out = _run(
        [
            template_venv.mlsysim,
            "sweep",
            "arithmetic-intensity",
            "--hardware",
            "H100,A100",
            "--flops",
            "1e9,1e12",
            "--bytes",
            "1e8",
            "--plot",
            png,
        ]
    )
    assert f"wrote {png}" in out.stderr and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    one = json.loads(
        _run(
            [template_venv.mlsysim, "arithmetic-intensity", "h100", "--flops", "1e9", "--bytes", "1e8", "--json"]
        ).stdout
    )
    assert one["inputs"] == {"hardware": "H100", "flops": 1e9, "bytes_moved": 1e8, "precision": None}
    assert one["result"] == doc["points"][0]["result"]


def test_the_template_readme_shows_what_its_commands_print(template_venv, tmp_path):
    """Each ``$ mlsysim ...`` block of templates/solver-plugin/README.md is what the command prints where only the
    host and the template are installed (standard output, then standard error), run in an empty folder: the
    template is in no development environment, so tools/doc_outputs.py cannot check it."""
    text = (REPO / "templates" / "solver-plugin" / "README.md").read_text()
    blocks = re.findall(r"^```\n\$ (mlsysim [^\n]*)\n(.*?)^```$", text, flags=re.S | re.M)
    assert len(blocks) == 2
    for command, shown in blocks:
        out = _run([template_venv.mlsysim, *shlex.split(command)[1:]], cwd=tmp_path)
        assert out.stdout + out.stderr == shown, command


# --------------------------------------------------------------------------- (d) a broken plugin


def test_broken_plugin_is_reported_and_everything_else_works(solvers_venv):
    plugins = solvers_venv.plugins()
    broken = plugins["broken"]
    assert broken["status"] == "failed" and broken["distribution"] == "mlsysim-broken-example"
    assert broken["error"] == "RuntimeError: mlsysim-broken-example fails on purpose at import"
    assert all(r["status"] == "active" for n, r in plugins.items() if n != "broken")
    table = _run([solvers_venv.mlsysim, "plugins"]).stdout
    assert "broken" in table and "failed" in table and "fails on purpose" in table
    # using mlsysim warns once, naming the plugin, and works
    out = solvers_venv.py("""
        import mlsysim
        from mlsysim import PowerEfficiencyModel
        print(PowerEfficiencyModel().solve(mlsysim.Hardware.Cloud.A100).flops_per_watt.to("TFLOPs/s/kW").magnitude)
    """)
    assert float(out.stdout.split()[-1]) == pytest.approx(312 / 0.4)  # A100: 312 TFLOP/s bf16 / 0.4 kW
    assert out.stderr.count("PluginWarning") == 1 and "'broken' (mlsysim-broken-example) failed" in out.stderr


def test_disable_env_var_turns_the_broken_plugin_off(solvers_venv):
    plugins = solvers_venv.plugins(MLSYSIM_DISABLE_PLUGINS="broken")
    assert plugins["broken"]["status"] == "disabled" and plugins["broken"]["error"] == ""
    out = solvers_venv.py(
        "import mlsysim; mlsysim.ServingModel; mlsysim.Hardware.Cloud.H100", MLSYSIM_DISABLE_PLUGINS="broken"
    )
    assert "Warning" not in out.stderr
    # disabling by distribution name, and several at once
    plugins = solvers_venv.plugins(MLSYSIM_DISABLE_PLUGINS="mlsysim-broken-example, serving")
    assert plugins["broken"]["status"] == "disabled" and plugins["serving"]["status"] == "disabled"
    out = solvers_venv.py(
        "from mlsysim import ServingModel", check=False, MLSYSIM_DISABLE_PLUGINS="mlsysim-broken-example,serving"
    )
    assert out.returncode == 1 and "mlsysim-serving" in out.stderr and "disabled" in out.stderr


# --------------------------------------------------------------------------- (c) an alternative catalog

CATALOG_PROBE = """
    import json, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import mlsysim
        hw = mlsysim.Hardware
        cat = mlsysim.catalog()
    h100 = cat.entry("hardware", "H100")
    print(json.dumps({
        "h100_tdp": hw.Cloud.H100.tdp.to("W").magnitude,
        "h100_provider": h100.provider,
        "dgx_h100_tdp": mlsysim.Systems.Nodes.DGX_H100.accelerator.tdp.to("W").magnitude
                          if "DGX_H100" in mlsysim.Systems.Nodes else None,
        "labx1": "LabX1" in hw,
        "a100": "A100" in hw,
        "keys": len(cat.all_entries()),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }))
"""
LAB_CAP, DATASHEET = 500.0, 700.0  # the example's power-capped H100 vs the default catalog's TDP (W)


def test_catalog_plugin_overrides_and_adds_with_documented_precedence(catalog_venv):
    got = catalog_venv.json(CATALOG_PROBE)
    assert got["h100_tdp"] == LAB_CAP and got["h100_provider"] == "catalog_example"
    assert got["dgx_h100_tdp"] == LAB_CAP  # the default node now holds the overriding H100
    assert got["labx1"] and got["a100"]
    assert got["warnings"] == [
        "PluginConflictWarning: catalog hardware entry 'H100' is provided by plugin 'catalog_example' "
        "(mlsysim-catalog-example) and plugin 'default_catalog' (mlsysim-core); using the one from plugin "
        "'catalog_example' (mlsysim-catalog-example) (higher priority or earlier in plugin order)"
    ]


def test_catalog_choice_by_environment(catalog_venv):
    default_first = catalog_venv.json(CATALOG_PROBE, MLSYSIM_CATALOG_PRIORITY="default_catalog=300")
    assert default_first["h100_tdp"] == DATASHEET and default_first["h100_provider"] == "default_catalog"
    assert default_first["labx1"] and len(default_first["warnings"]) == 1
    only_example = catalog_venv.json(CATALOG_PROBE, MLSYSIM_DISABLE_PLUGINS="default_catalog")
    assert only_example["h100_tdp"] == LAB_CAP and only_example["keys"] == 3
    assert not only_example["a100"] and only_example["warnings"] == []
    only_default = catalog_venv.json(CATALOG_PROBE, MLSYSIM_DISABLE_PLUGINS="catalog_example")
    assert only_default["h100_tdp"] == DATASHEET and not only_default["labx1"] and only_default["warnings"] == []


def test_catalog_cli_shows_where_each_entry_came_from(catalog_venv):
    out = _run([catalog_venv.mlsysim, "catalog", "--json"])
    rows = {(r["section"], r["key"]): r for r in json.loads(out.stdout)}
    h100, labx1, a100 = rows["hardware", "H100"], rows["hardware", "LabX1"], rows["hardware", "A100"]
    assert h100["provider"] == labx1["provider"] == "catalog_example"
    assert h100["file"].endswith("site-packages/mlsysim_catalog_example/data/example_lab.toml")
    lines = Path(h100["file"]).read_text().splitlines()
    assert lines[h100["line"] - 1] == "[hardware.H100]" and lines[labx1["line"] - 1] == "[hardware.LabX1]"
    assert a100["provider"] == "default_catalog" and a100["file"].endswith("mlsysim_registry/data/hardware.toml")
    assert rows["nodes", "Lab_4xH100"]["provider"] == "catalog_example"
    assert "PluginConflictWarning" not in out.stdout  # warnings go to stderr, JSON stays clean
    assert "'H100'" in out.stderr


# --------------------------------------------------------------------------- (d) cached discovery


def test_cached_discovery_sees_a_plugin_installed_and_removed_after_it(template_venv, wheels, tmp_path):
    """``mlsysim plugins`` from the cached entry-point list (mlsysim_core.discovery) lists what a scan lists,
    before and after a plugin is installed into the venv and after it is removed again."""
    folders = [template_venv.path / "bin", *template_venv.path.glob("lib/python*/site-packages")]
    cache = {"XDG_CACHE_HOME": str(tmp_path)}

    def listed(**env: str) -> dict:
        newest = max(f.stat().st_mtime for f in folders)  # pip just wrote there: a list is kept 2 s later
        time.sleep(max(0.0, newest + 2.1 - time.time()))
        return {
            k: {f: v for f, v in row.items() if f != "import_seconds"}
            for k, row in template_venv.plugins(**env).items()
        }

    before = listed(**cache)
    assert list(tmp_path.glob("mlsysim/plugins-*.json")), "the list was not written"
    assert listed(**cache) == before == listed(MLSYSIM_NO_CATALOG_CACHE="1") and "power_efficiency" not in before
    _run([template_venv.python, "-m", "pip", "install", "-q", "--no-deps", wheels["mlsysim-power-efficiency"]])
    try:
        after = listed(**cache)
        assert after["power_efficiency"]["status"] == "active" and after == listed(**cache) == listed(
            MLSYSIM_NO_CATALOG_CACHE="1"
        )
    finally:
        _run([template_venv.python, "-m", "pip", "uninstall", "-y", "-q", "mlsysim-power-efficiency"])
    assert listed(**cache) == before
