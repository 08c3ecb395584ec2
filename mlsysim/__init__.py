"""mlsysim: first-principles (analytical) modelling of machine-learning systems.

``import mlsysim`` is cheap: the catalog (``Hardware``, ``Models``, ``Systems``, ``Infra``), the unit
registry (``ureg``, ``Q_``) and the solvers (``SingleNodeModel``, ``ServingModel``, ...) are looked
up on first use. Solvers come from installed plugins; one that is not installed raises an
ImportError naming the distribution to install.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

_CATALOG = ("Hardware", "Models", "Systems", "Infra")
_TYPES = (
    "HardwareNode", "ComputeCore", "MemoryHierarchy", "IOInterconnect", "Workload", "TransformerWorkload",
    "CNNWorkload", "NetworkFabric", "Node", "Fleet", "Cluster", "GridProfile", "Datacenter", "Component",
    "PRECISION_BYTES",
)
_UNITS = ("ureg", "Q_", "Quantity")
_ERRORS = ("MlsysimError", "InvalidInputError", "UnknownEntryError", "CatalogError", "PluginError",
           "SolverNotInstalledError", "InfeasibleError")
_CORE = {
    "load_catalog": ("mlsysim_core.catalog", "load_catalog"),
    "catalog": ("mlsysim_core.catalog", "catalog"),
    "plugins": ("mlsysim_core.plugins", "records"),
    "solvers": ("mlsysim_core.plugins", "solvers"),
    "Result": ("mlsysim_core.results", "Result"),
    "result": ("mlsysim_core.results", "result"),
    "measure": ("mlsysim_core.results", "measure"),
    "hookimpl": ("mlsysim_core.hookspecs", "hookimpl"),
    "SolverSpec": ("mlsysim_core.plugins", "SolverSpec"),
    "Entry": ("mlsysim_core.catalog", "Entry"),
    "sweep": ("mlsysim_core.sweep", "sweep"),
    "SweepResult": ("mlsysim_core.sweep", "SweepResult"),
    "plot_roofline": ("mlsysim_single_node.plots", "plot_roofline"),
    "plot_sweep": ("mlsysim_plots", "plot_sweep"),
    "plot_pareto": ("mlsysim_plots", "plot_pareto"),
    "plot_scaling": ("mlsysim_distributed.plots", "plot_scaling"),
    "plot_carbon": ("mlsysim_sustainability.plots", "plot_carbon"),
    "plot_step_breakdown": ("mlsysim_distributed.plots", "plot_step_breakdown"),
}
_SUBMODULES = ("hardware",)

__all__ = [*_CATALOG, *_TYPES, *_UNITS, *_ERRORS, *_CORE]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _CATALOG:
        from mlsysim_core.catalog import catalog

        return getattr(catalog(), name)
    if name in _TYPES:
        return getattr(importlib.import_module("mlsysim_core.types"), name)
    if name in _UNITS:
        return getattr(importlib.import_module("mlsysim_core.units"), name)
    if name in _ERRORS:
        return getattr(importlib.import_module("mlsysim_core.errors"), name)
    if name in _CORE:
        module, attr = _CORE[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"mlsysim.{name}")
    if name[:1].isupper() and not name.startswith("__"):
        from mlsysim_core.plugins import get_solver

        return get_solver(name)
    raise AttributeError(f"module 'mlsysim' has no attribute {name!r}")


def __dir__() -> list[str]:
    from mlsysim_core.plugins import solvers

    return sorted({*__all__, *solvers()})
