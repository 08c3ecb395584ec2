"""The explorer's pages: the dedicated ones (a starting example and the fields shown first) and a
generic page, ``solver/<Name>``, for every installed solver, third-party ones too."""

from __future__ import annotations

import mlsysim

from .pages import FleetPage, Page
from .sweep import SweepPage

PAGES: dict[str, Page] = {
    p.slug: p
    for p in (
        Page(
            "roofline",
            "Roofline",
            "one model step on one accelerator, placed on the roofline",
            ("SingleNodeModel",),
            {"model": "Llama3_8B", "hardware": "H100", "batch_size": "64"},
        ),
        Page(
            "serving",
            "Serving",
            "LLM serving: time to first token, inter-token latency, KV cache, memory fit",
            ("ServingModel",),
            {"model": "Llama3_8B", "hardware": "H100", "seq_len": "2048"},
        ),
        Page(
            "training",
            "Training",
            "a parallel training layout: step breakdown, memory per GPU, MFU",
            ("DistributedModel",),
            {
                "model": "Llama3_70B",
                "fleet": "Research_256",
                "batch_size": "256",
                "tp_size": "8",
                "pp_size": "4",
                "microbatch_count": "8",
            },
            (
                "step_time",
                "throughput",
                "tokens_per_second",
                "mfu",
                "scaling_efficiency",
                "bubble_fraction",
                "compute_latency",
                "pipeline_bubble_latency",
                "exposed_communication_latency",
                "optimizer_time",
                "memory_per_gpu",
                "memory_capacity",
                "feasible",
                "parallelism",
                "total_accelerators",
                "time_to_train",
            ),
        ),
        FleetPage(
            "fleet",
            "Fleet",
            "cost, energy, carbon, water and reliability of a fleet for a duration",
            ("EconomicsModel", "SustainabilityModel", "ReliabilityModel"),
            {"fleet": "Research_256", "days": "30", "datacenter": "Hyperscale_Typical"},
            durations={"duration_days": "d", "job_duration_hours": "h"},
            keys={
                "EconomicsModel": (
                    "tco",
                    "capex",
                    "opex",
                    "opex_energy",
                    "cost_per_gpu_hour",
                    "facility_energy",
                    "it_power",
                    "electricity_price",
                    "pue",
                ),
                "SustainabilityModel": (
                    "carbon_footprint",
                    "operational_carbon",
                    "embodied_carbon",
                    "facility_energy",
                    "water_usage",
                    "carbon_intensity",
                    "pue",
                    "region_name",
                ),
                "ReliabilityModel": (
                    "fleet_mtbf",
                    "failures_per_day",
                    "failure_probability",
                    "optimal_checkpoint_interval",
                    "goodput",
                    "expected_completion_time",
                ),
            },
        ),
        SweepPage(
            "sweep",
            "Sweep",
            "any solver over a grid of inputs, with the Pareto front of two objectives",
            (),
            {
                "solver": "ServingModel",
                "model": "Llama3_70B",
                "hardware": "H100,H200",
                "seq_len": "2048",
                "batch_size": "1,8,64",
                "tp_size": "4,8",
            },
            objectives={"DistributedModel": (("step_time", "min"), ("mfu", "max"))},  # its command's: memory_per_gpu
        ),
    )
}


def solver_page(name: str) -> Page:
    """The generic page of any installed solver; its example is empty (the form asks for the required fields)."""
    return Page(f"solver/{name}", name, mlsysim.solvers()[name].summary, (name,), {})


def page(slug: str) -> Page:
    if slug.startswith("solver/"):
        name = slug.split("/", 1)[1]
        if name not in mlsysim.solvers():
            raise KeyError(slug)
        return solver_page(name)
    return PAGES[slug]
