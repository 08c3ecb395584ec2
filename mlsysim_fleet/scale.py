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


def with_gpus(fleet: Any, gpus: int) -> Any:
    """``fleet`` resized to ``gpus`` accelerators of its node's kind (``--gpus`` of train): a multiple of the
    node's g accelerators is that many whole nodes (as ``--nodes``); fewer than g is one node of which ``gpus``
    accelerators run the job: a node of ``gpus`` accelerators with the server's per-accelerator parts (NICs, the
    GPU and NIC failure parts) and its power and host cost in proportion (gpus/g of each); its intra-node link
    and host are the server's. Anything else (more than g, not a multiple) is an InvalidInputError naming
    ``gpus`` and the valid counts."""
    import attrs

    from mlsysim_core.errors import InvalidInputError
    from mlsysim_core.validate import integer

    n = integer("gpus", gpus, 1, 1 << 30)
    node = fleet.node
    g = node.accelerators_per_node
    if n % g == 0 and (n == g or fleet.fabric is not None):
        return attrs.evolve(fleet, count=n // g, name=f"{fleet.name} [{n} GPUs: {n // g} nodes]")
    if n > g and fleet.fabric is None:
        raise InvalidInputError("gpus", n, f"1 to {g}: {fleet.name} has no fabric between nodes (one node)")
    if n > g:
        raise InvalidInputError(
            "gpus", n, f"1 to {g} (accelerators of one {node.name}) or a multiple of {g} (whole nodes)"
        )
    share = n / g

    def part(count: int) -> int:  # a per-accelerator part (count == g) scales; a per-server one stays
        return n if count == g else count

    one = attrs.evolve(
        node,
        name=f"{node.name} [{n} of its {g} accelerators]",
        accelerators_per_node=n,
        nics_per_node=part(node.nics_per_node),
        power_max=None if node.power_max is None else node.power_max * share,
        power_idle=None if node.power_idle is None else node.power_idle * share,
        host_cost=None if node.host_cost is None else node.host_cost * share,
        components=tuple(attrs.evolve(c, count=part(c.count)) for c in node.components),
    )
    return attrs.evolve(fleet, node=one, count=1, name=f"{fleet.name} [{n} of one node's {g} GPUs]")
