"""mlsysim: first-principles (analytical) modelling of machine-learning systems.

``import mlsysim`` is cheap: the catalog (``Hardware``, ``Models``, ``Systems``, ``Infra``), the unit
registry (``ureg``, ``Q_``) and the solvers (``SingleNodeModel``, ``ServingModel``, ...) are looked
up on first use. Solvers come from installed plugins; a built-in one that is not installed raises
an ImportError naming the distribution to install; any other unknown name is an AttributeError.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlsysim_core.exports import CATALOG_NAMESPACES, EXPORTS

#: The solvers shipped from this repository, and the distribution that provides each.
BUILTIN_SOLVERS = {
    "SingleNodeModel": "mlsysim-single-node",
    "Engine": "mlsysim-single-node",
    "ServingModel": "mlsysim-serving",
    "DistributedModel": "mlsysim-distributed",
    "EconomicsModel": "mlsysim-economics",
    "SustainabilityModel": "mlsysim-sustainability",
    "ReliabilityModel": "mlsysim-reliability",
    "PowerEfficiencyModel": "mlsysim-power-efficiency",
}
#: Pictures from outside the host: mlsysim_plots (shipped by mlsysim-core) and the built-in solvers' plugins.
BUILTIN_PLOTS = {
    "plot_sweep": "mlsysim_plots",
    "plot_roofline": "mlsysim_single_node.plots",
    "plot_scaling": "mlsysim_distributed.plots",
    "plot_step_breakdown": "mlsysim_distributed.plots",
    "plot_carbon": "mlsysim_sustainability.plots",
}
#: Functions of built-in plugins (no hook provides functions: a third party's stay in its own package).
BUILTIN_FUNCTIONS = {
    "plan_training": ("mlsysim_planner", "mlsysim-planner"),
    "plan_serving": ("mlsysim_planner", "mlsysim-planner"),
}
_SUBMODULES = ("hardware",)

__all__ = [*CATALOG_NAMESPACES, *EXPORTS, *BUILTIN_PLOTS, *BUILTIN_FUNCTIONS]


def __getattr__(name: str) -> Any:
    if name in CATALOG_NAMESPACES:
        from mlsysim_core.plugins import catalog

        return getattr(catalog(), name)
    if name in EXPORTS:
        module, attr = EXPORTS[name]
        return getattr(importlib.import_module(module), attr)
    if name in BUILTIN_PLOTS:
        return getattr(importlib.import_module(BUILTIN_PLOTS[name]), name)
    if name in BUILTIN_FUNCTIONS:
        module, distribution = BUILTIN_FUNCTIONS[name]
        try:
            return getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            from mlsysim_core.plugins import host

            raise host().not_installed(name, distribution) from None
    if name in _SUBMODULES:
        return importlib.import_module(f"mlsysim.{name}")
    if name == "__version__":
        from importlib.metadata import version

        return version("mlsysim-core")
    if name[:1].isupper():
        from mlsysim_core.plugins import host

        h = host()
        if name in h.solvers():
            return h.get_solver(name)
        if name in BUILTIN_SOLVERS:
            raise h.not_installed(name, BUILTIN_SOLVERS[name])
        from mlsysim_core.errors import did_you_mean

        hint = did_you_mean(name, sorted({*__all__, *h.solvers()}))
        raise AttributeError(f"module 'mlsysim' has no attribute {name!r}{hint}")
    raise AttributeError(f"module 'mlsysim' has no attribute {name!r}")


def __dir__() -> list[str]:
    from mlsysim_core.plugins import solvers

    return sorted({*__all__, *solvers()})
