"""``mlsysim carbon`` (and ``mlsysim sweep carbon``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import Param, SolverCommand
from mlsysim_fleet.scale import with_nodes


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    if "datacenter" not in varied:
        return None  # the Pareto front
    from .plots import plot_carbon

    return plot_carbon(points)


CARBON = SolverCommand(
    name="carbon",
    solver="SustainabilityModel",
    summary="How much energy, carbon and water does running CLUSTER for some days take, and where?",
    example="mlsysim carbon Research_256 --days 30 --datacenter Quebec",
    sweep_example="mlsysim sweep carbon --cluster Research_256 --days 30 --datacenter Quebec,Virginia,Poland,Norway "
    "--plot carbon.png",
    params=(
        Param("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        Param("duration_days", "--days", "float", required=True, help="Days of operation."),
        Param(
            "datacenter",
            "--datacenter",
            "datacenter",
            help="Datacenter key, or a grid key (a typical datacenter there).",
        ),
        Param("utilization", "--utilization", "float", help="Node power position between idle (0) and max (1)."),
        Param(
            "boundary",
            "--boundary",
            "choice",
            "facility",
            choices=("accelerator", "it", "facility"),
            help="Energy counted in the headline: accelerator TDP (model cards), IT (whole nodes) or facility (x PUE).",
        ),
        Param(
            "workload",
            "--from",
            "result",
            help="A train or serve result (FILE from mlsysim train/serve ... --json): the footprint of that "
            "work, as workload= does in Python.",
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
        "carbon_footprint",
        "operational_carbon",
        "embodied_carbon",
        "energy",
        "boundary",
        "accelerator_energy",
        "it_energy",
        "facility_energy",
        "accelerator_carbon",
        "it_carbon",
        "facility_carbon",
        "water_usage",
        "carbon_intensity",
        "pue",
        "region_name",
        "datacenter_name",
        "embodied_source",
    ),
    pareto=(("carbon_footprint", "min"), ("water_usage", "min")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days in {r.region_name}",
    sweep_plot=_sweep_plot,
)
