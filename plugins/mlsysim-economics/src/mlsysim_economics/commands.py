"""``mlsysim cost`` (and ``mlsysim sweep cost``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from mlsysim_cli.api import Param, SolverCommand
from mlsysim_fleet.scale import with_nodes

COST = SolverCommand(
    name="cost",
    solver="EconomicsModel",
    summary="What does owning and running CLUSTER for some days cost (CapEx share, energy, TCO)?",
    example="mlsysim cost Research_256 --days 30 --datacenter Hyperscale_Typical",
    sweep_example="mlsysim sweep cost --cluster Research_256,Production_2K --days 365 --datacenter Quebec,Virginia "
    "--csv -",
    params=(
        Param("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        Param("duration_days", "--days", "float", required=True, help="Days of operation."),
        Param(
            "datacenter",
            "--datacenter",
            "datacenter",
            help="Datacenter key, or a grid key (a typical datacenter there).",
        ),
        Param("kwh_price", "--kwh-price", "float", help="Electricity price in USD/kWh (default: the grid's)."),
        Param("utilization", "--utilization", "float", help="Node power position between idle (0) and max (1)."),
        Param("cloud_rate", "--cloud-rate", "float", help="Cloud price per accelerator-hour (USD), for buy vs rent."),
        Param(
            "workload",
            "--from",
            "result",
            help="A train or serve result (FILE from mlsysim train/serve ... --json): price that work, as "
            "workload= does in Python.",
        ),
        Param(
            "nodes",
            "--nodes",
            "int",
            help="Use this many nodes of the cluster's kind instead of its count.",
            modifies="fleet",
            apply=with_nodes,
        ),
    ),
    key_fields=(
        "tco",
        "capex",
        "opex",
        "opex_energy",
        "opex_maintenance",
        "cost_per_gpu_hour",
        "capex_total",
        "facility_energy",
        "it_power",
        "electricity_price",
        "pue",
        "accelerators",
        "cloud_cost",
        "cheaper",
        "breakeven",
    ),
    pareto=(("tco", "min"), ("accelerators", "max")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days ({r.accelerators} accelerators)",
)
