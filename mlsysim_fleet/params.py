"""Command-line parameters the fleet-level commands share (train, cost, carbon, reliability): one
definition each, so the flag, its kind and its help read the same in every command.

Imports only the public CLI API: command declarations import this module when the command line starts.
"""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import Param

from .scale import with_gpus, with_nodes

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
DECODE_CLUSTER = Param(
    "decode_fleet",
    "--decode-cluster",
    "cluster",
    help="With --from a serve --disagg result whose pools run on two accelerators: the decode pool's cluster "
    "(CLUSTER then holds the prefill pool); both at one site.",
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
GPUS = Param(
    "gpus",
    "--gpus",
    "int",
    help="Use this many accelerators of the cluster's node kind: whole nodes (a multiple of its accelerators per "
    "node) or part of one node (e.g. --gpus 1); replaces the cluster's size (not with --nodes).",
    modifies="fleet",
    apply=with_gpus,
    excludes=("nodes",),
)


def serving_first(serving: tuple[str, ...], key_fields: tuple[str, ...]):  # noqa: ANN201 - a key_fields_of hook
    """A ``key_fields_of`` hook: with a serving workload priced (the result's ``tokens_per_second`` set) the
    ``serving`` fields (per token) lead, then ``key_fields``; otherwise ``key_fields``. Reads a result or its
    ``to_dict()``."""
    lead = serving + tuple(k for k in key_fields if k not in serving)

    def key_fields_of(result: Any) -> tuple[str, ...]:
        tps = (
            result.get("tokens_per_second") if isinstance(result, dict) else getattr(result, "tokens_per_second", None)
        )
        return key_fields if tps is None else lead

    return key_fields_of


def from_result(what: str) -> Param:
    """``--from FILE``: a train or serve result read back, as ``workload=`` in Python; ``what`` ends the help."""
    return Param(
        "workload",
        "--from",
        "result",
        help=f"A train or serve result (FILE from mlsysim train/serve ... --json): {what}, "
        "as workload= does in Python.",
    )
