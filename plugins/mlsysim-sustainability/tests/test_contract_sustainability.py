"""SustainabilityModel passes the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_fleets, impostor_results, ints, num, qnum

C, DC = mlsysim.Systems.Clusters, mlsysim.Infra.Datacenters


#: The result fields ``workload=`` is read by (another solver's result, duck-typed).
CONSUMED = (("tokens_per_second", "1/s"), ("time_to_train", "d"), ("step_time", "ms"), ("latency", "ms"))


class TestSustainabilityContract(SolverContract):
    solver = "SustainabilityModel"
    distribution = "mlsysim-sustainability"
    readme = Path(__file__).parents[1] / "README.md"
    result_arguments = ("workload",)

    strict_flags = ("embodied",)

    def arguments(self):
        grids = catalog_values("grids")
        return {
            "fleet": (catalog_values("clusters") + extreme_fleets(), True),
            "duration_days": (num(1e-9, 1e5) + qnum(1e-6, 1e6, "h"), True),
            "datacenter": (catalog_values("datacenters") + grids, True),
            "mfu": (num(0, 1), False),
            "embodied_carbon_per_device": (num(0, 1e4) + qnum(0, 1e4, "kg"), False),
            "utilization": (num(0, 1), False),
            "grid": (grids, False),
            "pue": (num(1, 3), False),
            "wue": (num(0, 10) + qnum(0, 10, "L/kWh"), False),
            "embodied": ([True, False], False),
            "service_life_years": (num(0.1, 20), False),
            "workload": (impostor_results(CONSUMED), False),
            "tokens_per_query": (num(1, 1e5), False),
            "queries": (num(0, 1e12), False),
            "steps": (ints(1, 10**7), False),
        }

    def examples(self):
        dc = list(DC)[0]
        return [
            dict(fleet=C.Research_256, duration_days=30, datacenter=dc),
            dict(fleet=C.Research_256, duration_days=365, datacenter=dc, utilization=0.5),
        ]

    def sweep_grid(self):
        dc = list(DC)[0]
        return dict(
            fleet=[C.Research_256, C.Frontier_8K],
            duration_days=[1, 30, 0, 365.5],
            datacenter=dc,
            utilization=[0.2, 1.0, 1.5],
            pue=[None, 1.1],
        )
