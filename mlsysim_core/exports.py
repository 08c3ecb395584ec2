"""What ``import mlsysim`` re-exports from the host: public name -> module that defines it.

The public face (``mlsysim/__init__.py``) reads this table; the host reads it to refuse a plugin
solver whose name would be hidden behind one of these names. Plain data: importing it is free.
"""

from __future__ import annotations

#: ``mlsysim.Hardware`` ... : namespaces of the process-wide catalog.
CATALOG_NAMESPACES = ("Hardware", "Models", "Systems", "Infra")

_BY_MODULE = {
    "mlsysim_core.types": (
        "HardwareNode",
        "ComputeCore",
        "MemoryHierarchy",
        "IOInterconnect",
        "Workload",
        "TransformerWorkload",
        "CNNWorkload",
        "NetworkFabric",
        "Node",
        "Fleet",
        "Cluster",
        "GridProfile",
        "Datacenter",
        "Component",
        "StorageTier",
        "PRECISION_BYTES",
    ),
    "mlsysim_core.units": ("ureg", "Q_", "Quantity"),
    "mlsysim_core.errors": (
        "MlsysimError",
        "InvalidInputError",
        "UnknownEntryError",
        "CatalogError",
        "PluginError",
        "SolverNotInstalledError",
        "InfeasibleError",
    ),
    "mlsysim_core.plugins": ("load_catalog", "catalog", "solvers"),
    "mlsysim_core.results": ("Result", "result", "measure"),
    "mlsysim_core.hookspecs": ("hookimpl",),
    "mlsysim_core.records": ("SolverSpec",),
    "mlsysim_core.solver": ("Solver",),
    "mlsysim_core.catalog": ("Entry",),
    "mlsysim_core.sweep": ("sweep", "SweepResult"),
    "mlsysim_plots": ("plot_pareto",),
}

#: public name -> (module, attribute in it); ``mlsysim.plugins`` is the list of plugin records.
EXPORTS: dict[str, tuple[str, str]] = {
    **{name: (module, name) for module, names in _BY_MODULE.items() for name in names},
    "plugins": ("mlsysim_core.plugins", "records"),
}
#: Names a plugin solver may not take (``mlsysim.<name>`` would not reach it).
RESERVED = frozenset({*CATALOG_NAMESPACES, *EXPORTS})
