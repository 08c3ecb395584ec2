"""EconomicsModel passes the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_fleets, impostor_results, ints, num, qnum

C, DC = mlsysim.Systems.Clusters, mlsysim.Infra.Datacenters


#: The result fields ``workload=`` is read by (another solver's result, duck-typed).
CONSUMED = (("tokens_per_second", "1/s"), ("time_to_train", "d"), ("step_time", "ms"), ("latency", "ms"))


class TestEconomicsContract(SolverContract):
    solver = "EconomicsModel"
    distribution = "mlsysim-economics"
    readme = Path(__file__).parents[1] / "README.md"
    result_arguments = ("workload",)

    def arguments(self):
        grids = catalog_values("grids")
        return {
            "fleet": (catalog_values("clusters") + extreme_fleets(), True),
            "duration_days": (num(1e-9, 1e5) + qnum(1e-6, 1e6, "h"), True),
            "kwh_price": (num(0, 10) + qnum(0, 10, "USD/kWh"), False),
            "datacenter": (catalog_values("datacenters") + grids, True),
            "grid": (grids, False),
            "mfu": (num(0, 1), False),
            "amortization_years": (num(1e-3, 50) + qnum(1, 1e5, "d"), False),
            "infrastructure_multiplier": (num(0, 10), False),
            "utilization": (num(0, 1), False),
            "maintenance_rate": (num(0, 1), False),
            "unit_cost": (num(0, 1e7) + qnum(0, 1e7, "USD"), False),
            "host_cost": (num(0, 1e6), False),
            "network_cost": (num(0, 1e9), False),
            "pue": (num(1, 3), False),
            "cloud_rate": (num(0, 100) + qnum(0, 100, "USD/h"), False),
            "workload": (impostor_results(CONSUMED), False),
            "tokens_per_query": (num(1, 1e5), False),
            "steps": (ints(1, 10**7), False),
        }

    def examples(self):
        dc = list(DC)[0]
        return [
            dict(fleet=C.Research_256, duration_days=30, datacenter=dc),
            dict(fleet=C.Research_256, duration_days=365, datacenter=dc, kwh_price=0.1, cloud_rate=2.0),
        ]

    def sweep_grid(self):
        dc = list(DC)[0]
        return dict(
            fleet=[C.Research_256, C.Frontier_8K],
            duration_days=[1, 30, 0, 365.5],
            datacenter=dc,
            utilization=[0.2, 1.0, 1.5],
            kwh_price=[None, 0.08],
        )
