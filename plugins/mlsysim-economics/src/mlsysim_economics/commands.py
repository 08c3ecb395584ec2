"""``mlsysim cost`` (and ``mlsysim sweep cost``), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

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
from mlsysim_registry.prices import TERMS

#: the fields ``mlsysim cost`` shows first (after the per-token ones with a serving workload)
KEY_FIELDS = (
    "owned_note",
    "tco",
    "capex",
    "opex",
    "opex_energy",
    "opex_maintenance",
    "cost_per_gpu_hour",
    "rental_estimate",
    "rental_note",
    "capex_total",
    "facility_energy",
    "it_power",
    "electricity_price",
    "pue",
    "accelerators",
    "rent",
    "rent_term",
    "cloud_rate",
    "cloud_cost",
    "cheaper",
    "breakeven",
    "breakeven_utilization",
)

COST = SolverCommand(
    name="cost",
    solver="EconomicsModel",
    summary="What does owning and running CLUSTER for some days cost (CapEx share, energy, TCO)?",
    example="mlsysim cost Research_256 --days 30 --datacenter Hyperscale_Typical --rent aws-p5",
    sweep_example="mlsysim sweep cost --cluster Research_256,Production_2K --days 365 --datacenter Quebec,Virginia "
    "--csv -",
    params=(
        CLUSTER,
        DAYS,
        DATACENTER,
        Param("kwh_price", "--kwh-price", "float", help="Electricity price in USD/kWh (default: the grid's)."),
        UTILIZATION,
        Param("cloud_rate", "--cloud-rate", "float", help="Cloud price per accelerator-hour (USD), for buy vs rent."),
        Param(
            "rent",
            "--rent",
            "str",
            help="A rental of the price catalog (mlsysim catalog prices), e.g. aws-p5: its list price for buy vs rent.",
        ),
        Param("rent_term", "--rent-term", "choice", choices=TERMS, help="The rental's term (default on_demand)."),
        Param(
            "rental_years",
            "--rental-years",
            "float",
            help="Committed term (years) of the rental estimate: what a GPU cloud would charge (default 3).",
        ),
        STEPS,
        from_result("price that work"),
        NODES,
        DECODE_CLUSTER,
    ),
    key_fields=KEY_FIELDS,
    key_fields_of=serving_first(
        (
            "cost_per_million_tokens",
            "cost_per_million_input_tokens",
            "cost_per_million_output_tokens",
            "tokens_per_second",
            "input_tokens_per_second",
            "token_rate_basis",
            "replicas",
            "replica_accelerators",
        ),
        KEY_FIELDS,
    ),
    pareto=(("tco", "min"), ("accelerators", "max")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days ({r.accelerators} accelerators)",
)
