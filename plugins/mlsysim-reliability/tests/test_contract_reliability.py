"""ReliabilityModel passes the solver contract (mlsysim_core.testing)."""

from __future__ import annotations

import random
from pathlib import Path

import mlsysim
from mlsysim_core.testing import SolverContract, catalog_values, extreme_fleets, ints, num, qnum
from mlsysim_core.types import Component

C = mlsysim.Systems.Clusters


def _trainings():
    """A DistributedModel result for ``training=`` where that plugin is installed (tested alone: none)."""
    try:
        solver = mlsysim.DistributedModel()
    except ImportError:
        return []
    return [solver.solve(mlsysim.Models.Language.Llama3_8B, C.Research_256, batch_size=256, tp_size=8, zero_stage=1)]


class TestReliabilityContract(SolverContract):
    solver = "ReliabilityModel"
    distribution = "mlsysim-reliability"
    readme = Path(__file__).parents[1] / "README.md"

    def arguments(self):
        rng = random.Random(7)
        hours = qnum(1e-3, 1e9, "h")
        return {
            "fleet": (catalog_values("clusters") + extreme_fleets(), True),
            "job_duration_hours": (num(1e-6, 1e6) + qnum(1e-3, 1e6, "h"), True),
            "checkpoint_time_s": (num(1e-6, 1e5) + qnum(1e-6, 1e5, "s"), False),
            "avg_recovery_time_s": (num(0, 1e5), False),
            "restart_time_s": (num(0, 1e5) + qnum(0, 1e5, "s"), False),
            "node_mtbf": (num(1e-3, 1e9) + hours, False),
            "fleet_mtbf": (num(1e-3, 1e9) + hours, False),
            "component_mttf": (
                [
                    {rng.choice(["gpu", "GPU", "psu", "nic", "x"]): rng.choice(hours) for _ in range(rng.randrange(4))}
                    for _ in range(30)
                ],
                False,
            ),
            "components": (
                [
                    [
                        Component(
                            part=rng.choice(["gpu", "psu"]), count=rng.choice(ints(1, 64)), mttf=rng.choice(hours)
                        )
                        for _ in range(rng.randrange(4))
                    ]
                    for _ in range(30)
                ],
                False,
            ),
            "checkpoint_interval": (num(1e-3, 1e7) + qnum(1e-3, 1e7, "s"), False),
            "training": ([None, None, *_trainings()], False),
            "storage": ([None, None] + catalog_values("storage"), False),
            "asynchronous_checkpoint": ([False, True], False),
        }

    def never_completes(self, result):
        return result.goodput < 1e-290  # time / goodput overflows: the job never finishes

    def examples(self):
        return [
            dict(fleet=C.Frontier_8K, job_duration_hours=100),
            dict(fleet=C.Research_256, job_duration_hours=720, checkpoint_time_s=60),
        ]

    def sweep_grid(self):
        return dict(
            fleet=[C.Research_256, C.Frontier_8K],
            job_duration_hours=[1, 720, 0, 1e4],
            checkpoint_time_s=[10, 60.5, -1],
            restart_time_s=[None, 600],
        )
