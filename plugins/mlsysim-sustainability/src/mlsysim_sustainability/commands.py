"""``mlsysim carbon`` (and ``mlsysim sweep carbon``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import Param, SolverCommand
from mlsysim_fleet.params import (
    CLUSTER,
    DATACENTER,
    DAYS,
    DECODE_CLUSTER,
    NODES,
    STEPS,
    UTILIZATION,
    from_result,
    serving_first,
)


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    if "datacenter" not in varied:
        return None  # the Pareto front
    from .plots import plot_carbon

    return plot_carbon(points)


#: the fields ``mlsysim carbon`` shows first (after the per-token ones with a serving workload)
KEY_FIELDS = (
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
    "water_onsite",
    "water_offsite",
    "offsite_water_known",
    "carbon_intensity",
    "pue",
    "region_name",
    "datacenter_name",
    "embodied_source",
)

CARBON = SolverCommand(
    name="carbon",
    solver="SustainabilityModel",
    summary="How much energy, carbon and water does running CLUSTER for some days take, and where?",
    example="mlsysim carbon Research_256 --days 30 --datacenter Quebec",
    sweep_example="mlsysim sweep carbon --cluster Research_256 --days 30 --datacenter Quebec,Virginia,Poland,Norway "
    "--plot carbon.png",
    params=(
        CLUSTER,
        DAYS,
        DATACENTER,
        UTILIZATION,
        Param(
            "boundary",
            "--boundary",
            "choice",
            "facility",
            choices=("accelerator", "it", "facility"),
            help="Energy counted in the headline: accelerator TDP (model cards), IT (whole nodes) or facility (x PUE).",
        ),
        STEPS,
        from_result("the footprint of that work"),
        NODES,
        DECODE_CLUSTER,
    ),
    key_fields=KEY_FIELDS,
    key_fields_of=serving_first(
        (
            "energy_per_million_tokens",
            "carbon_per_million_tokens",
            "energy_per_query",
            "carbon_per_query",
            "tokens_per_second",
            "replicas",
        ),
        KEY_FIELDS,
    ),
    # water_onsite: known on every grid (off-site water is unknown where the grid states no water intensity)
    pareto=(("carbon_footprint", "min"), ("water_onsite", "min")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days in {r.region_name}",
    sweep_plot=_sweep_plot,
)
