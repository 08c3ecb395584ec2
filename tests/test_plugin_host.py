"""Plugin loading through real entry points (fake installed distributions): the host survives
every kind of broken plugin, reports it by name, and keeps serving the rest."""

from __future__ import annotations

import pytest

from mlsysim_core.errors import SolverNotInstalledError
from mlsysim_core.plugins import PluginConflictWarning, PluginWarning

GOOD = """
from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec

class {cls}:
    def solve(self):
        return 42

@hookimpl
def mlsysim_solvers():
    return [SolverSpec(name="{cls}", factory={cls}, summary="test solver")]
"""


def _status(host, name):
    return {r.name: r for r in host.records()}[name]


def test_good_plugin_is_found(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD.format(cls="GoodModel"))
    host = fresh_host()
    assert _status(host, "good").status == "active"
    assert _status(host, "good").distribution == "mlsysim-good"
    import mlsysim

    assert mlsysim.GoodModel().solve() == 42
    from mlsysim import GoodModel  # noqa: F401 - from-import goes through the same lookup


def test_import_error_is_isolated(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD.format(cls="GoodModel"))
    fake_dists("mlsysim-broken", "broken", "import does_not_exist_anywhere\n")
    with pytest.warns(PluginWarning, match="broken"):
        host = fresh_host()
    rec = _status(host, "broken")
    assert rec.status == "failed" and "does_not_exist_anywhere" in rec.error
    assert "GoodModel" in host.solvers()


def test_raising_hook_is_blamed_on_its_plugin(fake_dists, fresh_host):
    fake_dists("mlsysim-good", "good", GOOD.format(cls="GoodModel"))
    fake_dists(
        "mlsysim-raiser",
        "raiser",
        """
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_solvers():
            raise RuntimeError("boom")
    """,
    )
    host = fresh_host()
    with pytest.warns(PluginWarning, match="raiser"):
        solvers = host.solvers()
    assert "GoodModel" in solvers
    rec = _status(host, "raiser")
    assert rec.status == "failed" and "boom" in rec.error


def test_wrong_return_type_is_reported(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-wrongtype",
        "wrongtype",
        """
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_solvers():
            return ["not a SolverSpec"]
    """,
    )
    host = fresh_host()
    with pytest.warns(PluginWarning, match="wrongtype"):
        host.solvers()
    assert "SolverSpec" in _status(host, "wrongtype").error


def test_unknown_hook_name_is_reported(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-typo",
        "typo",
        """
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_solver():
            return []
    """,
    )
    with pytest.warns(PluginWarning, match="mlsysim_solver"):
        host = fresh_host()
    assert _status(host, "typo").status == "failed"
    assert "unknown hook" in _status(host, "typo").error


def test_duplicate_solver_name_keeps_first_and_names_both(fake_dists, fresh_host):
    fake_dists("mlsysim-aaa", "aaa", GOOD.format(cls="DupModel"))
    fake_dists("mlsysim-bbb", "bbb", GOOD.format(cls="DupModel"))
    host = fresh_host()
    with pytest.warns(PluginConflictWarning, match="mlsysim-aaa.*mlsysim-bbb"):
        solvers = host.solvers()
    assert solvers["DupModel"].distribution == "mlsysim-aaa"


def test_catalog_entries_hook_routes_each_entry_to_its_section(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-pycat",
        "pycat",
        """
        from mlsysim_core import hookimpl
        from mlsysim_core.catalog import Entry
        from mlsysim_core.types import GridProfile, NetworkFabric

        @hookimpl
        def mlsysim_catalog_entries():
            grid = GridProfile(name="Lab grid", carbon_intensity="50 g/kWh", source="test")
            fabric = NetworkFabric(name="Lab fabric", bandwidth="400 Gbit/s", source="test")
            return [Entry(section="grids", key="Lab_Grid", value=grid),
                    Entry(section="fabrics", key="Lab_Fabric", value=fabric)]
    """,
    )
    host = fresh_host()
    from mlsysim_core.plugins import catalog

    cat = catalog()
    assert cat.Infra.Grids.Lab_Grid.carbon_intensity.to("g/kWh").magnitude == 50
    assert cat.Systems.Fabrics.Lab_Fabric.bandwidth.to("Gbit/s").magnitude == 400
    assert cat.entry("fabrics", "Lab_Fabric").provider == "pycat"
    assert _status(host, "pycat").provides == ("mlsysim_catalog_entries",)


def test_invalid_catalog_number_fails_only_that_provider(fake_dists, fresh_host, tmp_path):
    fake_dists(
        "mlsysim-badcat",
        "badcat",
        """
        from pathlib import Path
        from mlsysim_core import hookimpl
        @hookimpl
        def mlsysim_catalog_files():
            return [Path(__file__).with_name("badcat.toml")]
    """,
        files={
            "badcat.toml": """
        [hardware.NegChip]
        category = "Cloud"
        name = "Negative chip"
        peak_flops = { fp16 = "100 TFLOP/s" }
        memory = { capacity = "-80 GB", bandwidth = "1 TB/s" }
        source = "test"
    """
        },
    )
    host = fresh_host()
    from mlsysim_core.plugins import catalog

    with pytest.warns(PluginWarning, match="badcat.toml:.*NegChip.*capacity"):
        cat = catalog()
    assert _status(host, "badcat").status == "failed"
    assert "NegChip" not in cat.Hardware
    assert len(cat.Hardware) > 10  # the default catalog still works


def test_disable_list(fake_dists, fresh_host, monkeypatch):
    fake_dists("mlsysim-good", "good", GOOD.format(cls="GoodModel"))
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "good, something-else")
    host = fresh_host()
    assert _status(host, "good").status == "disabled"
    assert "GoodModel" not in host.solvers()
    import mlsysim

    assert not hasattr(mlsysim, "GoodModel")  # a plugin's solver is unknown while the plugin is off
    with pytest.raises(SolverNotInstalledError, match=r"plugin good \(mlsysim-good\) is disabled: enable it"):
        host.get_solver("GoodModel")


def test_missing_builtin_solver_names_distribution(fresh_host, monkeypatch):
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "distributed,mlsysim-distributed")
    fresh_host()
    with pytest.raises(ImportError, match="mlsysim-distributed"):
        from mlsysim import DistributedModel  # noqa: F401


def test_order_is_deterministic(fake_dists, fresh_host):
    fake_dists("mlsysim-zzz", "zzz", GOOD.format(cls="ZModel"))
    fake_dists("mlsysim-aaa", "aaa", GOOD.format(cls="AModel"))
    names = [r.name for r in fresh_host().records()]
    assert names[0] == "default_catalog"
    others = [n for n in names if n in ("aaa", "zzz")]
    assert others == ["aaa", "zzz"]
