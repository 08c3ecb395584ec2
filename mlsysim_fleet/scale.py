"""A cluster rescaled on the command line (``--nodes`` of train, cost and carbon).

Imports only on call: command declarations import this module when the command line starts.
"""

from __future__ import annotations

from typing import Any


def with_nodes(fleet: Any, nodes: int) -> Any:
    """``fleet`` with ``nodes`` nodes of its kind: the same cluster, scaled (accelerators = nodes x per node)."""
    import attrs

    from mlsysim_core.validate import integer

    n = integer("nodes", nodes, 1, 1 << 30)
    return attrs.evolve(fleet, count=n, name=f"{fleet.name} [{n} nodes]")
