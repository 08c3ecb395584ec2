"""Command-line parameters the fleet-level commands share (train, cost, carbon, reliability): one
definition each, so the flag, its kind and its help read the same in every command.

Imports only the public CLI API: command declarations import this module when the command line starts.
"""

from __future__ import annotations

from mlsysim_cli.api import Param

from .scale import with_nodes

CLUSTER = Param("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key (mlsysim catalog systems).")
DAYS = Param(
    "duration_days",
    "--days",
    "float",
    help="Days of operation (may be left out with --from a train result: its time to train).",
)
DATACENTER = Param(
    "datacenter", "--datacenter", "datacenter", help="Datacenter key, or a grid key (a typical datacenter there)."
)
STEPS = Param(
    "steps",
    "--steps",
    "int",
    help="Training steps, with --from a train result that has no time to train (run without --tokens).",
)
UTILIZATION = Param("utilization", "--utilization", "float", help="Node power position between idle (0) and max (1).")
NODES = Param(
    "nodes",
    "--nodes",
    "int",
    help="Use this many nodes of the cluster's kind instead of its count.",
    modifies="fleet",
    apply=with_nodes,
)


def from_result(what: str) -> Param:
    """``--from FILE``: a train or serve result read back, as ``workload=`` in Python; ``what`` ends the help."""
    return Param(
        "workload",
        "--from",
        "result",
        help=f"A train or serve result (FILE from mlsysim train/serve ... --json): {what}, "
        "as workload= does in Python.",
    )
