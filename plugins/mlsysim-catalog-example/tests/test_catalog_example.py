"""The example catalog against the default one: documented precedence, conflict warnings, choosing
with environment variables, disabling the default catalog, and provenance in `mlsysim catalog`.

Each test builds its own plugin host from two explicit entry points (the default catalog and this
plugin), so the tests mean the same whether or not this distribution is installed (it is not in the
development environment: its H100 override would change other plugins' numbers).
"""

from __future__ import annotations

import importlib
import json
import textwrap
import warnings
from pathlib import Path

import pytest

from mlsysim_core import plugins
from mlsysim_core.catalog import build
from mlsysim_core.errors import CatalogError, UnknownEntryError
from mlsysim_core.plugins import PluginConflictWarning, PluginHost

SRC = Path(__file__).resolve().parents[1] / "src"
EXAMPLE_FILE = SRC / "mlsysim_catalog_example" / "data" / "example_lab.toml"
LAB_TDP_H100 = 500.0  # this lab's power cap (W)
DATASHEET_TDP_H100 = 700.0  # vendor "up to 700 W", the default catalog's


class _Dist:
    def __init__(self, name: str, version: str):
        self.name, self.version = name, version


class _EntryPoint:
    """What the host reads from an importlib.metadata entry point."""

    def __init__(self, name: str, value: str, dist: str, version: str):
        self.name, self.value, self.dist = name, value, _Dist(dist, version)

    def load(self):
        return importlib.import_module(self.value)


DEFAULT_EP = _EntryPoint("default_catalog", "mlsysim_registry.provider", "mlsysim-core", "0.2.0")
READER_EP = _EntryPoint("catalog_reader", "mlsysim_registry.reader", "mlsysim-core", "0.2.0")
CATALOG_CLI_EP = _EntryPoint("catalog_cli", "mlsysim_registry.cli_plugin", "mlsysim-core", "0.2.0")
EXAMPLE_EP = _EntryPoint("catalog_example", "mlsysim_catalog_example.plugin", "mlsysim-catalog-example", "0.1.0")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.syspath_prepend(str(SRC))
    monkeypatch.delenv("MLSYSIM_CATALOG_PRIORITY", raising=False)
    monkeypatch.delenv("MLSYSIM_DISABLE_PLUGINS", raising=False)


def make_host(*eps):
    return PluginHost(entry_points=eps or (DEFAULT_EP, READER_EP, EXAMPLE_EP))


def build_quiet(host, files=()):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat = build(host, list(files))
    return cat, [w for w in caught if issubclass(w.category, PluginConflictWarning)]


def test_plugin_wins_over_default_and_the_warning_names_both():
    with pytest.warns(PluginConflictWarning) as rec:
        cat = build(make_host(), [])
    msgs = [str(w.message) for w in rec if "'H100'" in str(w.message)]
    assert len(msgs) == 1
    assert (
        "plugin 'catalog_example' (mlsysim-catalog-example) and plugin 'default_catalog' (mlsysim-core); "
        "using the one from plugin 'catalog_example'"
    ) in msgs[0]
    h100 = cat.Hardware.Cloud.H100
    assert h100.tdp.to("W").magnitude == LAB_TDP_H100
    assert h100.memory.capacity.to("GiB").magnitude == pytest.approx(79.65, abs=0.01)  # as the part reports
    assert cat.Hardware.H100_SXM is h100  # the override's alias
    assert cat.entry("hardware", "H100").provider == "catalog_example"
    # the addition, and the default catalog's other entries, are all there
    assert cat.Hardware.Cloud.LabX1.compute.peak("fp8") == pytest.approx(1e15)
    assert cat.entry("hardware", "A100").provider == "default_catalog"
    # references resolve against the merged catalog: the default DGX H100 now holds the lab H100
    assert cat.Systems.Nodes.DGX_H100.accelerator is h100
    assert cat.Systems.Nodes.Lab_4xH100.accelerator is h100
    # only H100 is contested
    assert [(w.section, w.key) for w, _ in cat.shadowed] == [("hardware", "H100")]


@pytest.mark.parametrize("setting", ["default_catalog=300", "mlsysim-core=300", "catalog_example=-5"])
def test_env_priority_gives_the_default_back(monkeypatch, setting):
    monkeypatch.setenv("MLSYSIM_CATALOG_PRIORITY", setting)
    cat, conflicts = build_quiet(make_host())
    assert cat.Hardware.Cloud.H100.tdp.to("W").magnitude == DATASHEET_TDP_H100
    assert cat.entry("hardware", "H100").provider == "default_catalog"
    assert len(conflicts) == 1 and "using the one from plugin 'default_catalog'" in str(conflicts[0].message)
    # the addition stays, and the lab node now refers to the winning (default) H100
    assert "LabX1" in cat.Hardware
    assert cat.Systems.Nodes.Lab_4xH100.accelerator is cat.Hardware.Cloud.H100


def test_tie_goes_to_the_first_plugin_in_order(monkeypatch):
    monkeypatch.setenv("MLSYSIM_CATALOG_PRIORITY", "catalog_example=0")  # same as the default catalog
    cat, _ = build_quiet(make_host())
    assert cat.entry("hardware", "H100").provider == "default_catalog"  # built-ins come first


def test_module_attribute_sets_priority_and_env_overrides_it(monkeypatch):
    module = importlib.import_module("mlsysim_catalog_example.plugin")
    assert module.MLSYSIM_CATALOG_PRIORITY == 100
    monkeypatch.setattr(module, "MLSYSIM_CATALOG_PRIORITY", -1)
    cat, _ = build_quiet(make_host())
    assert cat.entry("hardware", "H100").provider == "default_catalog"
    monkeypatch.setenv("MLSYSIM_CATALOG_PRIORITY", "catalog_example=500")
    cat, _ = build_quiet(make_host())
    assert cat.entry("hardware", "H100").provider == "catalog_example"


def test_user_file_beats_every_plugin(tmp_path):
    text = EXAMPLE_FILE.read_text()
    start = text.index("[hardware.H100]")
    h100 = text[start : text.index("\n\n", start)].replace('capacity = "81559 MiB"', 'capacity = "79 GB"')
    user = tmp_path / "mine.toml"
    user.write_text(h100 + "\n")
    cat, conflicts = build_quiet(make_host(), [user])
    assert cat.Hardware.Cloud.H100.memory.capacity.to("GB").magnitude == pytest.approx(79)
    assert cat.entry("hardware", "H100").provider == "<user>"
    assert conflicts == []  # the user's own file replaces entries on purpose: no warning
    assert sorted(lost[2] for e, lost in cat.shadowed if e.provider == "<user>") == [
        "catalog_example",
        "default_catalog",
    ]


def test_disabling_the_default_catalog_leaves_a_self_contained_example(monkeypatch, tmp_path):
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "default_catalog")
    host = make_host()
    assert {r.name: r.status for r in host.records()} == {
        "default_catalog": "disabled",
        "catalog_reader": "active",  # files are still read: the reader is its own plugin
        "catalog_example": "active",
    }
    cat, conflicts = build_quiet(host)
    assert conflicts == []
    assert sorted(e.key for e in cat.all_entries()) == ["H100", "LabX1", "Lab_4xH100"]
    assert cat.Hardware.Cloud.H100.tdp.to("W").magnitude == LAB_TDP_H100
    with pytest.raises(UnknownEntryError, match="no hardware.Cloud named 'A100'"):
        cat.Hardware.Cloud.A100
    # A catalog that refers to a default entry fails clearly when the default catalog is off:
    user = tmp_path / "refers.toml"
    user.write_text(
        textwrap.dedent("""
        [nodes.MyA100Box]
        name = "A100 box"
        accelerator = "A100"
        accelerators_per_node = 8
        source = "test"
    """)
    )
    with pytest.raises(
        CatalogError,
        match=r"refers\.toml:4: \[nodes\.MyA100Box\] field 'accelerator': "
        r"refers to hardware entry 'A100', which does not exist",
    ):
        build(host, [user])


def test_a_plugin_catalog_referring_to_a_missing_default_entry_is_marked_failed(monkeypatch, tmp_path):
    """The same mistake in a plugin's file: that plugin is failed with the error, nothing half-loaded."""
    (tmp_path / "refplug.py").write_text(
        textwrap.dedent(f"""
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_catalog_files():
            return [{str(tmp_path / "refplug.toml")!r}]
    """)
    )
    (tmp_path / "refplug.toml").write_text(
        textwrap.dedent("""
        [hardware.Extra]
        category = "Cloud"
        name = "Extra"
        peak_flops = { fp16 = "1 TFLOP/s" }
        memory = { capacity = "1 GB", bandwidth = "1 GB/s" }
        source = "test"

        [nodes.Box]
        name = "Box"
        accelerator = "A100"
        accelerators_per_node = 2
        source = "test"
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "default_catalog")
    host = make_host(DEFAULT_EP, READER_EP, EXAMPLE_EP, _EntryPoint("refplug", "refplug", "mlsysim-refplug", "1.0"))
    with pytest.warns(plugins.PluginWarning, match="refplug.toml:.*Box.*accelerator.*'A100'"):
        cat = build(host, [])
    assert {r.name: r.status for r in host.records()}["refplug"] == "failed"
    assert "Extra" not in cat.Hardware and "H100" in cat.Hardware


def test_disabling_the_example_restores_the_default(monkeypatch):
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "catalog_example")
    cat, conflicts = build_quiet(make_host())
    assert conflicts == [] and "LabX1" not in cat.Hardware
    assert cat.Hardware.Cloud.H100.tdp.to("W").magnitude == DATASHEET_TDP_H100


@pytest.fixture
def installed_host():
    """Make the two-plugin host the process-wide one (as if installed), then restore."""
    saved = plugins._host
    plugins.reset(make_host(DEFAULT_EP, READER_EP, CATALOG_CLI_EP, EXAMPLE_EP))
    yield
    plugins.reset(saved)


def _header_line(key: str) -> int:
    return EXAMPLE_FILE.read_text().splitlines().index(f"[hardware.{key}]") + 1


def test_public_face_and_cli_show_provenance(installed_host):
    from click.testing import CliRunner

    import mlsysim
    from mlsysim_cli import main

    with pytest.warns(PluginConflictWarning, match="H100"):
        assert mlsysim.Hardware.Cloud.H100.tdp.to("W").magnitude == LAB_TDP_H100
    out = CliRunner().invoke(main, ["catalog", "hardware", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    assert rows["H100"]["provider"] == "catalog_example"
    assert Path(rows["H100"]["file"]) == EXAMPLE_FILE
    assert rows["H100"]["line"] == _header_line("H100")
    assert rows["LabX1"]["provider"] == "catalog_example" and rows["LabX1"]["line"] == _header_line("LabX1")
    assert rows["A100"]["provider"] == "default_catalog"
    assert Path(rows["A100"]["file"]).name == "hardware.toml" and rows["A100"]["line"] > 0
    systems = {r["key"]: r for r in json.loads(CliRunner().invoke(main, ["catalog", "systems", "--json"]).stdout)}
    assert systems["Lab_4xH100"]["provider"] == "catalog_example"
    plug = {r["name"]: r for r in json.loads(CliRunner().invoke(main, ["plugins", "--json"]).stdout)}
    assert plug["catalog_example"]["status"] == "active"
    assert plug["catalog_example"]["provides"] == ["mlsysim_catalog_files"]


def test_the_file_validates_on_its_own():
    from mlsysim_registry.toml_files import read_file

    raws = read_file(EXAMPLE_FILE)
    assert [(r.section, r.key) for r in raws] == [("hardware", "H100"), ("hardware", "LabX1"), ("nodes", "Lab_4xH100")]
    assert all(r.table["source"] for r in raws)
    assert "HYPOTHETICAL" in {r.key: r for r in raws}["LabX1"].table["source"]


def test_check_reports_the_override_without_failing(installed_host):
    from click.testing import CliRunner

    from mlsysim_cli import main

    # --check must see a fresh build's warnings
    plugins.reset(make_host(DEFAULT_EP, READER_EP, CATALOG_CLI_EP, EXAMPLE_EP))
    out = CliRunner().invoke(main, ["catalog", "--check", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["problems"] == []
    assert any("H100" in o and "catalog_example" in o for o in report["overrides"])
