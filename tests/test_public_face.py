"""`import mlsysim` is cheap and lazy; names resolve to the host's objects."""

import subprocess
import sys

import mlsysim


def test_import_does_not_load_plugins_or_pint():
    code = (
        "import sys, mlsysim; bad=[m for m in sys.modules if m.startswith(('pint','mlsysim_single','mlsysim_serv',"
        "'mlsysim_distr','mlsysim_econ','mlsysim_sust','mlsysim_rel','pluggy'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names():
    from mlsysim.hardware.types import HardwareNode

    assert mlsysim.HardwareNode is HardwareNode
    assert isinstance(mlsysim.Hardware.Cloud.H100, HardwareNode)
    q = mlsysim.Q_(1, "GB")
    assert q.to("MB").magnitude == 1000
    assert mlsysim.ureg is q._REGISTRY


def test_unknown_lowercase_attribute():
    import pytest

    with pytest.raises(AttributeError):
        mlsysim.not_a_thing


def test_unknown_names_are_attribute_errors_and_builtins_name_their_distribution(fresh_host, monkeypatch):
    import importlib.metadata

    import pytest

    assert not hasattr(mlsysim, "NotAThing") and not hasattr(mlsysim, "__not_a_dunder__")
    with pytest.raises(ImportError, match="cannot import name 'NotAThing'"):
        from mlsysim import NotAThing  # noqa: F401
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "distributed")
    fresh_host()
    with pytest.raises(
        mlsysim.SolverNotInstalledError,
        match=r"'mlsysim-distributed', whose plugin 'distributed' is "
        r"disabled by MLSYSIM_DISABLE_PLUGINS; enable it by removing it from MLSYSIM_DISABLE_PLUGINS",
    ):
        from mlsysim import DistributedModel  # noqa: F401
    assert mlsysim.__version__ == importlib.metadata.version("mlsysim-core")


def test_plugin_discovery_imports_no_solver_catalog_or_command_code():
    """Finding the plugins loads their plugin modules only: no pint/numpy (the catalog), no click
    (commands), no solver module, no validation harness; those come on first use."""
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); import mlsysim_core.plugins as p; p.solvers(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pint', 'numpy', 'click') "
        "or m.endswith(('.solver', '.harness', '.command', '.commands'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
